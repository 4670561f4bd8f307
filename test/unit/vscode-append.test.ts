import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Manifest } from '../../src/engine/types';
import { fake, run, setSetting, tradesCsv, Uri, useExtension, writeFile } from './helpers/vscodeFake';

/**
 * **Sweep: Append to Existing Output…** (`sweep.append`) in plain Node against the `vscode` stand-in, on the real
 * engine: the output's own settings apply whatever the `sweep.*` settings say now (docs/append.md), and a refused
 * append is one line with nothing written. (The QuickPick of output folders is exercised in the real-VS-Code suite.)
 */
describe('vscode: appending to an output', function () {
	this.timeout(120_000);
	const h = useExtension();

	it("appends with the output's settings, not the current sweep.* settings; the result is one run over both files", async () => {
		const all = tradesCsv(3000).split('\n');
		const header = all[0];
		const cut = 1700;
		const day1 = writeFile('data/day1.csv', `${all.slice(0, cut + 1).join('\n')}\n`);
		const day2 = writeFile('data/day2.csv', `${[header, ...all.slice(cut + 1)].join('\n').replace(/\n*$/, '\n')}`);
		const whole = writeFile('data/whole.csv', `${all.join('\n').replace(/\n*$/, '\n')}`);
		const outDir = path.join(fake.ws, 'out', 'daily');
		const first = await run<Manifest | undefined>('sweep.extract', Uri.file(day1), { outDir, notify: false });
		assert.ok(first, JSON.stringify(h.api.lastError()));
		// Settings that would change the output: an append ignores them (the output is flat, plain CSV).
		await setSetting('layout', 'hive');
		await setSetting('compression', 'gzip');
		await setSetting('maxRowsPerFile', 10);
		try {
			const m = await run<Manifest | undefined>('sweep.append', Uri.file(day2), { outDir, notify: false });
			assert.ok(m, JSON.stringify(h.api.lastError()));
			assert.equal(m.inputs?.length, 2);
			assert.equal(m.layout, 'flat');
			assert.equal(m.output?.compression, 'none');
		} finally {
			await setSetting('layout', undefined);
			await setSetting('compression', undefined);
			await setSetting('maxRowsPerFile', undefined);
		}
		const ref = path.join(fake.ws, 'out', 'one-run');
		assert.ok(await run<Manifest | undefined>('sweep.extract', Uri.file(whole), { outDir: ref, notify: false }));
		const names = fs.readdirSync(ref).filter((n) => !n.startsWith('_'));
		assert.deepEqual(
			fs
				.readdirSync(outDir)
				.filter((n) => !n.startsWith('_'))
				.sort(),
			names.sort(),
		);
		for (const n of names) {
			assert.ok(fs.readFileSync(path.join(outDir, n)).equals(fs.readFileSync(path.join(ref, n))), `${n}: same bytes`);
		}

		// The same file again: refused (duplicate-input), the output as it was.
		const manifestBefore = fs.readFileSync(path.join(outDir, '_manifest.json'));
		assert.equal(await run('sweep.append', Uri.file(day2), { outDir, notify: false }), undefined);
		assert.equal(h.api.lastError()?.code, 'duplicate-input');
		assert.match(h.api.lastError()?.message ?? '', /allow-duplicate-input/);
		assert.ok(fs.readFileSync(path.join(outDir, '_manifest.json')).equals(manifestBefore));
		// allowDuplicateInput adds it anyway.
		const again = await run<Manifest | undefined>('sweep.append', Uri.file(day2), {
			outDir,
			notify: false,
			allowDuplicateInput: true,
		});
		assert.equal(again?.inputs?.length, 3);
	});

	it('refuses a file that is not a CSV, and a folder that is not a Sweep output (one line, nothing written)', async () => {
		assert.equal(await run('sweep.append', Uri.file(writeFile('notes.txt', 'x')), { outDir: fake.ws }), undefined);
		const foreign = path.join(fake.ws, 'foreign');
		fs.mkdirSync(foreign, { recursive: true });
		fs.writeFileSync(path.join(foreign, 'mine.txt'), 'keep');
		const day = writeFile('data/d.csv', tradesCsv(10));
		assert.equal(await run('sweep.append', Uri.file(day), { outDir: foreign, notify: false }), undefined);
		assert.equal(h.api.lastError()?.code, 'output-foreign');
		assert.deepEqual(fs.readdirSync(foreign), ['mine.txt']);
	});
});
