import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Manifest } from '../../src/engine/types';
import type { SweepApi } from '../../src/vscode/api';
import { e2eContext, note } from './context';
import { listFiles, runCli, suiteSettings, sweepApi, wsPath } from './helpers';

/** `<csv>.truth.json` written by scripts/gen-trades.mjs beside each generated file. */
interface Truth {
	rows: number;
	symbols: Record<string, { rows: number; qty: number }>;
}

/**
 * `sweep.layout: "hive"` (README "Output for other engines") in a real VS Code: the settings reach the engine, the
 * folders are `symbol=…/day=…/part-0000N.csv`, and the bytes are the CLI's with the same options.
 */
describe('Hive layout from the settings, in the extension host', () => {
	let api: SweepApi;
	const trades = () => wsPath('data', 'trades.csv');
	const applySettings = suiteSettings([
		['layout', 'hive'],
		['partitionBy', ['symbol', 'date(timestamp) as day']],
		['maxRowsPerFile', 5000],
		['workers', 2],
	]);

	before(async () => {
		api = await sweepApi();
	});

	it('writes symbol=…/day=…/part-0000N.csv with the partition columns in the folders, as the CLI does', async () => {
		await applySettings(api);
		const outDir = path.join(e2eContext().sessionDir, 'hive-vscode');
		const manifest = await vscode.commands.executeCommand<Manifest | undefined>(
			'sweep.extract',
			vscode.Uri.file(trades()),
			{
				interactive: false,
				outDir,
				force: true,
			},
		);
		assert.ok(manifest, `sweep.extract returned the manifest (last error: ${JSON.stringify(api.lastError())})`);
		assert.equal(manifest.layout, 'hive');
		assert.equal(manifest.maxRowsPerFile, 5000);
		assert.deepEqual(manifest.partitionNames, ['symbol', 'day']);
		assert.ok(!manifest.columns.includes('symbol'), `symbol is left out of the files: ${manifest.columns.join(',')}`);
		const truth: Truth = JSON.parse(fs.readFileSync(`${trades()}.truth.json`, 'utf8'));
		assert.equal(manifest.rowsWritten, truth.rows);
		const perSymbol = new Map<string, number>();
		for (const p of manifest.partitions) {
			assert.ok(p.files && p.files.length >= 1, `${p.key.join('+')} lists its files`);
			assert.match(p.files[0].file, /^symbol=[^/]+\/day=\d{4}-\d{2}-\d{2}\/part-00001\.csv$/);
			for (const f of p.files) {
				assert.ok(f.rows <= 5000, `${f.file}: ${f.rows} rows`);
				const text = fs.readFileSync(path.join(outDir, f.file), 'latin1');
				assert.ok(text.startsWith(`${manifest.columns.join(',')}\n`), `${f.file} starts with the header`);
			}
			perSymbol.set(p.key[0], (perSymbol.get(p.key[0]) ?? 0) + p.rows);
		}
		assert.deepEqual(
			Object.fromEntries(perSymbol),
			Object.fromEntries(Object.entries(truth.symbols).map(([s, t]) => [s, t.rows])),
		);

		const cliOut = path.join(e2eContext().sessionDir, 'hive-cli');
		const cli = await runCli([
			'extract',
			trades(),
			'--out',
			cliOut,
			'--force',
			'--layout',
			'hive',
			'--partition-by',
			'symbol,date(timestamp) as day',
			'--max-rows-per-file',
			'5000',
		]);
		assert.equal(cli.code, 0, `CLI exit status (stderr: ${cli.stderr})`);
		const files = listFiles(outDir).filter((f) => f !== '_manifest.json');
		assert.deepEqual(
			files,
			listFiles(cliOut).filter((f) => f !== '_manifest.json'),
			'same files as the CLI',
		);
		for (const f of files) {
			assert.ok(
				fs.readFileSync(path.join(outDir, f)).equals(fs.readFileSync(path.join(cliOut, f))),
				`${f}: same bytes`,
			);
		}
		note(`hive layout: ${manifest.partitions.length} partitions in ${files.length} files, identical to the CLI's`);
	});
});
