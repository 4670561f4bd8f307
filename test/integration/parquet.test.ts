import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Manifest } from '../../src/engine/types';
import type { SweepApi } from '../../src/vscode/api';
import { e2eContext, note } from './context';
import { runCli, suiteSettings, sweepApi, wsPath } from './helpers';

/**
 * `sweep.format: "parquet"` (README "Parquet output") in a real VS Code: the setting reaches the engine, whose
 * workers load the Parquet writer (dist/parquet.js) from the installed extension, and the files are the CLI's.
 */
describe('Parquet output from the settings, in the extension host', () => {
	let api: SweepApi;
	const trades = () => wsPath('data', 'trades.csv');
	const applySettings = suiteSettings([
		['format', 'parquet'],
		['layout', 'hive'],
		['partitionBy', ['symbol']],
		['workers', 2],
	]);

	before(async () => {
		api = await sweepApi();
	});

	it('writes symbol=…/data.parquet, typed, byte for byte the CLI’s', async () => {
		await applySettings(api);
		const outDir = path.join(e2eContext().sessionDir, 'parquet-vscode');
		const manifest = await vscode.commands.executeCommand<Manifest | undefined>(
			'sweep.extract',
			vscode.Uri.file(trades()),
			{ interactive: false, outDir, force: true },
		);
		assert.ok(manifest, `sweep.extract returned the manifest (last error: ${JSON.stringify(api.lastError())})`);
		assert.equal(manifest.format, 'parquet');
		assert.equal(manifest.output?.compression, 'snappy');
		const types = Object.fromEntries((manifest.parquet?.columns ?? []).map((c) => [c.name, c.type]));
		assert.equal(types.timestamp, 'timestamp');
		assert.equal(types.price, 'double');
		assert.equal(types.symbol, undefined, 'symbol is in the folders, not the files');
		const cliOut = path.join(e2eContext().sessionDir, 'parquet-cli');
		const cli = await runCli([
			'extract',
			trades(),
			'--out',
			cliOut,
			'--force',
			'--format',
			'parquet',
			'--layout',
			'hive',
		]);
		assert.equal(cli.code, 0, `CLI exit status (stderr: ${cli.stderr})`);
		for (const p of manifest.partitions) {
			assert.ok(p.file, `${p.key[0]} has a file`);
			assert.match(p.file, /^symbol=[^/]+\/data\.parquet$/);
			const bytes = fs.readFileSync(path.join(outDir, p.file));
			assert.equal(bytes.subarray(0, 4).toString('latin1'), 'PAR1', `${p.file} starts as Parquet`);
			assert.equal(bytes.subarray(-4).toString('latin1'), 'PAR1', `${p.file} ends as Parquet`);
			assert.ok(bytes.equals(fs.readFileSync(path.join(cliOut, p.file))), `${p.file}: same bytes as the CLI's`);
		}
		note(`parquet: ${manifest.partitions.length} files, ${manifest.rowsWritten} rows, identical to the CLI's`);
	});
});
