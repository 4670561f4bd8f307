// biome-ignore-all lint/suspicious/noTemplateCurlyInString: VS Code-style ${…} variables in settings, on purpose.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Manifest } from '../../src/engine/types';
import {
	describeExtension,
	fake,
	lastShown,
	run,
	setSetting,
	tradesCsv,
	Uri,
	vscodeFake,
	writeFile,
} from './helpers/vscodeFake';

describeExtension('vscode: extracting a file', (h) => {
	it('extracts a file by Uri, returns the manifest, reports rows and partitions, and the status bar comes back', async () => {
		const input = writeFile('data/trades.csv', tradesCsv(2000));
		const seen: string[] = [];
		const item = fake.statusItems[0];
		const watch = setInterval(() => seen.push(item.text), 1);
		const m = await run<Manifest | undefined>('sweep.extract', Uri.file(input), [Uri.file(input)]);
		clearInterval(watch);
		assert.ok(m, JSON.stringify(h.api.lastError()));
		assert.equal(m.rowsRead, 2000);
		assert.equal(m.partitions.length, 5);
		assert.equal(m.outDir, path.join(fake.ws, 'data', 'processed', 'trades'));
		assert.ok(fs.existsSync(path.join(m.outDir, 'AAPL.csv')));
		assert.equal(lastShown().text, 'Extracted 2,000 rows into 5 partitions in ' + lastShown().text.split(' in ')[1]);
		assert.match(lastShown().text, /^Extracted 2,000 rows into 5 partitions in \d+\.\d s$/);
		assert.deepEqual(lastShown().items, ['Open Folder', 'Show Summary']);
		assert.ok(
			seen.some((t) => /^\$\(loading~spin\) Sweep \d+%$/.test(t)),
			'spinner during the run',
		);
		assert.doesNotMatch(item.text, /loading/);
		assert.equal(h.api.lastManifest()?.rowsRead, 2000);
		assert.match(fake.progress[fake.progress.length - 1].title, /Sweep: extracting trades\.csv/);
		assert.ok(
			fake.log.some((l) => l.includes('  partition by: symbol')),
			'settings in force are logged',
		);
	});

	it('the active tab is the target when no Uri is given; other files are refused', async () => {
		const input = writeFile('data/Tab.CSV', tradesCsv(10));
		vscodeFake.window.tabGroups.activeTabGroup.activeTab = { input: { uri: Uri.file(input) } };
		try {
			const m = await run<Manifest | undefined>('sweep.extract', undefined, { notify: false });
			assert.equal(m?.rowsRead, 10);
			assert.equal(m?.outDir, path.join(fake.ws, 'data', 'processed', 'Tab'));
			vscodeFake.window.tabGroups.activeTabGroup.activeTab = { input: { uri: Uri.file(writeFile('notes.txt', 'x')) } };
			assert.equal(await run('sweep.extract'), undefined);
			assert.equal(
				lastShown().text,
				'Sweep extracts .csv and .tsv files (also .gz or .zst compressed); notes.txt is neither.',
			);
			assert.equal(lastShown().kind, 'error');
		} finally {
			vscodeFake.window.tabGroups.activeTabGroup.activeTab = undefined;
		}
		assert.equal(await run('sweep.extract'), undefined);
		assert.match(lastShown().text, /open or select a \.csv or \.tsv file/);
	});

	it('outputDirectory understands ${workspaceFolder} and ${fileBasenameNoExtension}', async () => {
		const input = writeFile('data/vars.csv', tradesCsv(20));
		await setSetting('outputDirectory', '${workspaceFolder}/out/${fileBasenameNoExtension}-parts');
		const m = await run<Manifest | undefined>('sweep.extract', Uri.file(input), { notify: false });
		assert.equal(m?.outDir, path.join(fake.ws, 'out', 'vars-parts'));
		assert.ok(fs.existsSync(path.join(fake.ws, 'out', 'vars-parts', '_manifest.json')));
	});

	it('errors show the one-line cause with Show Log; the log has the details', async () => {
		const missing = path.join(fake.ws, 'data', 'missing.csv');
		assert.equal(await run('sweep.extract', Uri.file(missing)), undefined);
		assert.equal(h.api.lastError()?.code, 'input-missing');
		assert.equal(lastShown().kind, 'error');
		assert.deepEqual(lastShown().items, ['Show Log']);
		assert.ok(!lastShown().text.includes('\n'));
		assert.ok(fake.log.some((l) => l.startsWith('[error] [input-missing]')));
	});
});
