// biome-ignore-all lint/suspicious/noTemplateCurlyInString: VS Code-style ${…} variables in settings, on purpose.
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Manifest } from '../../src/engine/types';
import {
	describeExtension,
	type FakeQuickPick,
	fake,
	lastShown,
	run,
	setSetting,
	tradesCsv,
	Uri,
	writeFile,
} from './helpers/vscodeFake';

describeExtension('vscode: questions asked during an extraction', (h) => {
	it('a missing partition column offers the header columns with samples; the save button stores the pick', async () => {
		const input = writeFile('data/cols.csv', tradesCsv(50));
		await setSetting('partitionBy', ['ticker']);
		let picked: FakeQuickPick | undefined;
		fake.quickPick = (qp) => {
			picked = qp;
			qp.pressItemButton('venue');
		};
		const m = await run<Manifest | undefined>('sweep.extract', Uri.file(input), { notify: false });
		assert.ok(picked, 'a quick pick was shown');
		assert.match(picked.placeholder ?? '', /has no column "ticker"/);
		const symbol = picked.items.find((i) => i.label === 'symbol');
		assert.equal(symbol?.detail, 'e.g. AAPL');
		assert.equal(symbol?.buttons?.length, 1, 'a save button per item');
		assert.ok(m, JSON.stringify(h.api.lastError()));
		assert.deepEqual(m.partitionBy, ['venue']);
		assert.deepEqual(fake.settings.workspace.partitionBy, ['venue'], 'saved to the workspace settings');
	});

	it('accepting an item uses it once; without a pick or with interactive: false nothing runs', async () => {
		const input = writeFile('data/cols2.csv', tradesCsv(50));
		await setSetting('partitionBy', ['ticker', 'date(ts)']);
		let picks = 0;
		fake.quickPick = (qp) => {
			picks++;
			qp.accept(picks === 1 ? 'symbol' : 'timestamp');
		};
		const m = await run<Manifest | undefined>('sweep.extract', Uri.file(input), { notify: false });
		assert.equal(picks, 2, 'one pick per missing column');
		assert.deepEqual(m?.partitionBy, ['symbol', 'date(timestamp)']);
		assert.deepEqual(fake.settings.workspace.partitionBy, ['ticker', 'date(ts)'], 'not saved');

		fake.quickPick = (qp) => qp.hide();
		assert.equal(await run('sweep.extract', Uri.file(input)), undefined);
		assert.equal(h.api.lastError()?.code, 'cancelled');

		const shown = fake.shown.length;
		assert.equal(await run('sweep.extract', Uri.file(input), { interactive: false }), undefined);
		assert.equal(h.api.lastError()?.code, 'missing-column');
		assert.equal(fake.shown[shown].kind, 'error');
		assert.deepEqual(fake.shown[shown].items, ['Show Log']);
		assert.match(fake.shown[shown].text, /^Sweep: Partition column "ticker" is not in the header/);

		const direct = await run<Manifest | undefined>('sweep.extract', Uri.file(input), {
			partitionBy: ['side'],
			notify: false,
		});
		assert.deepEqual(direct?.partitionBy, ['side'], 'the partitionBy option answers it');
	});

	it('another process (a second window, a terminal) holding the output folder: one clear line, nothing written', async () => {
		const input = writeFile('data/held.csv', tradesCsv(20));
		const outDir = path.join(fake.ws, 'data', 'processed', 'held');
		fs.mkdirSync(path.dirname(outDir), { recursive: true });
		// The other window: a separate process that holds the output folder's run lock until it is killed.
		const runLock = require.resolve('../../src/engine/runLock');
		const holder = spawn(
			process.execPath,
			[
				'-e',
				`require(${JSON.stringify(runLock)}).acquireRunLock(${JSON.stringify(outDir)}); console.log('held'); setInterval(() => {}, 1000);`,
			],
			{ stdio: ['ignore', 'pipe', 'inherit'] },
		);
		try {
			await new Promise<void>((resolve, reject) => {
				holder.stdout.once('data', () => resolve());
				holder.once('exit', (code) => reject(new Error(`the lock holder exited (${code})`)));
			});
			assert.equal(await run('sweep.extract', Uri.file(input)), undefined);
			assert.equal(h.api.lastError()?.code, 'output-locked');
			assert.equal(lastShown().kind, 'error');
			assert.deepEqual(lastShown().items, ['Show Log']);
			assert.ok(!lastShown().text.includes('\n'));
			assert.match(
				lastShown().text,
				new RegExp(
					`^Sweep: Another Sweep run holds the output folder .*held \\(host ${os.hostname()}, pid ${holder.pid}, since .*\\); wait for it to finish or choose another folder\\.$`,
				),
			);
			assert.ok(!fs.existsSync(outDir), 'nothing written');
		} finally {
			holder.kill('SIGKILL');
		}
	});

	it('a foreign output folder asks before replacing; force answers it', async () => {
		const input = writeFile('data/foreign.csv', tradesCsv(30));
		const junk = writeFile('data/processed/foreign/keep.txt', 'mine');
		assert.equal(await run('sweep.extract', Uri.file(input)), undefined, 'dismissed');
		assert.equal(lastShown().modal, true);
		assert.deepEqual(lastShown().items, ['Replace']);
		assert.match(lastShown().text, /was not written by Sweep/);
		assert.ok(fs.existsSync(junk));
		assert.equal(await run('sweep.extract', Uri.file(input), { force: false }), undefined);
		assert.equal(h.api.lastError()?.code, 'output-foreign');
		assert.ok(fs.existsSync(junk));
		fake.answer = (m) => (m.modal ? 'Replace' : undefined);
		const m = await run<Manifest | undefined>('sweep.extract', Uri.file(input), { notify: false });
		assert.equal(m?.rowsRead, 30);
		assert.equal(fs.existsSync(junk), false, 'replaced');
	});

	it('a dirty editor is saved first after asking; saveDirty answers it', async () => {
		const input = writeFile('data/dirty.csv', tradesCsv(10));
		let saves = 0;
		fake.documents = [{ uri: Uri.file(input), isDirty: true, save: async () => ++saves > 0 }];
		assert.equal(await run('sweep.extract', Uri.file(input)), undefined);
		assert.match(lastShown().text, /dirty\.csv has unsaved changes/);
		assert.deepEqual(lastShown().items, ['Save and Extract']);
		assert.equal(lastShown().modal, true);
		assert.equal(saves, 0);
		fake.answer = (m) => (m.modal ? 'Save and Extract' : undefined);
		assert.ok(await run('sweep.extract', Uri.file(input), { notify: false }));
		assert.equal(saves, 1);
		fake.answer = () => undefined;
		assert.ok(await run('sweep.extract', Uri.file(input), { notify: false, saveDirty: true }));
		assert.equal(saves, 2);
		assert.equal(await run('sweep.extract', Uri.file(input), { saveDirty: false }), undefined);
		assert.equal(h.api.lastError()?.code, 'cancelled');
	});

	it('orders: the argument, then the picker starting at the last orders file of this workspace', async () => {
		const input = writeFile('data/trades.csv', tradesCsv(500));
		const orders = writeFile('orders/o.csv', 'order_id,symbol\n1,AAPL\n2,MSFT\n3,NOPE\n');
		const m = await run<Manifest | undefined>('sweep.extractWithOrders', Uri.file(input), Uri.file(orders), {
			notify: false,
		});
		assert.equal(m?.orders?.keys, 3);
		assert.deepEqual(
			m?.partitions.map((p) => [p.key[0], p.file]),
			[
				['AAPL', 'AAPL.csv'],
				['MSFT', 'MSFT.csv'],
				['NOPE', null],
			],
		);
		assert.equal(h.context.workspaceState.get('sweep.lastOrdersFile'), orders);

		fake.openDialog = (o) => [o.defaultUri!];
		const again = await run<Manifest | undefined>('sweep.extractWithOrders', Uri.file(input), [Uri.file(input)]);
		assert.equal(fake.openDialogCalls[fake.openDialogCalls.length - 1].defaultUri?.fsPath, orders);
		assert.equal(again?.orders?.keys, 3);
		assert.match(lastShown().text, / · \d[\d,]* not in orders$/);

		const calls = fake.openDialogCalls.length;
		await setSetting('ordersFile', '${workspaceFolder}/orders/o.csv');
		assert.ok(await run('sweep.extractWithOrders', Uri.file(input), { notify: false }));
		assert.equal(fake.openDialogCalls.length, calls, 'sweep.ordersFile skips the picker');

		fake.openDialog = () => undefined;
		await setSetting('ordersFile', null);
		assert.equal(await run('sweep.extractWithOrders', Uri.file(input)), undefined);
		assert.equal(h.api.lastError()?.code, 'cancelled');
	});
});
