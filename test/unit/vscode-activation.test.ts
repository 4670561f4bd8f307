// biome-ignore-all lint/suspicious/noTemplateCurlyInString: VS Code-style ${…} variables in settings, on purpose.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Manifest } from '../../src/engine/types';
import { describeExtension, fake, pkg, run, setSetting, tradesCsv, Uri, until, writeFile } from './helpers/vscodeFake';

describeExtension('vscode: activation, commands and the status bar', (h) => {
	it('activate() returns at once, with the status bar showing, before detection loads systeminformation', async () => {
		console.log(`      (activate() took ${h.activateMs.toFixed(2)} ms against the stand-in)`);
		assert.equal(h.siLoadedAtActivate, false, 'systeminformation is not loaded during activate()');
		assert.equal(fake.statusItems.length, 1);
		const item = fake.statusItems[0];
		assert.equal(item.id, 'sweep.config');
		assert.equal(item.name, 'Sweep');
		assert.equal(item.command, 'sweep.showConfiguration');
		assert.equal(item.visible, true);
		assert.equal(h.api.config(), undefined, 'detection has not run yet');
		assert.equal(item.text, '$(server-process) Sweep: detecting…');
		await h.api.whenReady();
		assert.ok(h.siRequests.length > 0, 'detection loaded systeminformation after activation');
		const config = h.api.config()!;
		assert.ok(config);
		await until(() => item.text !== '$(server-process) Sweep: detecting…', 'status bar update');
		const w = config.workers;
		assert.equal(
			item.text,
			`$(server-process) ${w} worker${w === 1 ? '' : 's'} · ${config.chunkSize.toLocaleString('en-US')} rows`,
		);
		assert.deepEqual(h.api.statusBar().text, item.text);
	});

	it('registers exactly the commands of package.json, every disposable in h.context.subscriptions', () => {
		const declared = (pkg.contributes.commands as { command: string }[]).map((c) => c.command).sort();
		assert.deepEqual([...fake.commands.keys()].sort(), declared);
		assert.ok(h.context.subscriptions.length >= declared.length + 4);
	});

	it('Show System Configuration writes the System Configuration report to the Sweep log line by line and returns it', async () => {
		const before = fake.log.length;
		const report = await run<string>('sweep.showConfiguration');
		assert.match(report, /^System Configuration:\n {2}CPU Cores: \d+\n {2}Workers: \d+\n/);
		assert.deepEqual(
			fake.log.slice(before),
			report.split('\n').map((l) => `[info] ${l}`),
		);
		const again = await run<string>('sweep.redetect');
		assert.equal(again.split('\n')[0], 'System Configuration:');
	});

	it('a bad sweep.workers is ignored, shown in the tooltip and logged once, not on every re-resolve', async () => {
		await setSetting('workers', -1);
		const tip = h.api.statusBar().tooltip;
		assert.match(tip, /setting sweep\.workers = -1 is not a positive integer; ignored/);
		await setSetting('chunkSize', 50_000);
		await run('sweep.showConfiguration');
		h.api.config();
		const logged = fake.log.filter((l) => l.startsWith('[warning]') && l.includes('sweep.workers = -1'));
		assert.equal(logged.length, 1, logged.join('\n'));
		assert.match(h.api.statusBar().text, / · 50,000 rows$/, 'the change applied at once');
	});

	it('deactivate() cancels a running extraction and resolves when it has stopped', async () => {
		const a = writeFile('big/a.csv', tradesCsv(150_000));
		await setSetting('chunkSize', 10_000);
		const running = run<Manifest | undefined>('sweep.extract', Uri.file(a), { notify: false });
		await until(
			() => h.api.isRunning() && fake.progress[fake.progress.length - 1]?.reports.length > 1,
			'run under way',
			30_000,
		);
		await h.ext.deactivate();
		assert.equal(h.api.isRunning(), false);
		assert.equal(await running, undefined);
		assert.equal(h.api.lastError()?.code, 'aborted');
		// Nothing left: no temporary folder or lock, and not the `processed` folder the run created on its way to the
		// output (a failed or cancelled run removes the folders it created, README "What extraction does").
		assert.deepEqual(
			fs.readdirSync(path.join(fake.ws, 'big')).filter((n) => n !== 'a.csv'),
			[],
		);
	});
});
