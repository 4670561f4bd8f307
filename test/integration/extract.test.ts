import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Manifest } from '../../src/engine/types';
import type { SweepApi } from '../../src/vscode/api';
import { e2eContext, note } from './context';
import {
	listFiles,
	runCli,
	setWorkspaceSetting,
	sweepApi,
	tempSiblings,
	waitFor,
	watchNewThreads,
	wsPath,
} from './helpers';

/** `<csv>.truth.json` written by scripts/gen-trades.mjs beside each generated file. */
interface Truth {
	rows: number;
	bytes: number;
	symbols: Record<string, { rows: number; qty: number }>;
}
const truthOf = (csv: string): Truth => JSON.parse(fs.readFileSync(`${csv}.truth.json`, 'utf8'));

/** The manifest without what README "What Sweep guarantees" lets differ between runs (config, times) and the in-memory outDir. */
function comparable(m: Manifest): unknown {
	const { config: _c, startedAt: _s, durationMs: _d, outDir: _o, ...rest } = m;
	return { ...rest, source: { ...rest.source, path: path.resolve(rest.source.path) } };
}

/** Asserts that two output folders hold the same files with the same bytes (the manifests compared apart). */
function assertSameOutput(actualDir: string, expectedDir: string): number {
	const actual = listFiles(actualDir);
	const expected = listFiles(expectedDir);
	assert.deepEqual(actual, expected, 'same file names');
	let bytes = 0;
	for (const f of expected) {
		const a = fs.readFileSync(path.join(actualDir, f));
		const b = fs.readFileSync(path.join(expectedDir, f));
		if (f === '_manifest.json') {
			assert.deepEqual(comparable(JSON.parse(a.toString())), comparable(JSON.parse(b.toString())), 'manifests');
			continue;
		}
		assert.ok(a.equals(b), `${f}: ${a.length} bytes from VS Code, ${b.length} from the CLI, or different content`);
		bytes += a.length;
	}
	return bytes;
}

/** Checks a manifest against the generator's truth: every row, every symbol, in order of first appearance. */
function assertMatchesTruth(m: Manifest, truth: Truth): void {
	assert.equal(m.source.bytes, truth.bytes);
	assert.equal(m.rowsRead, truth.rows);
	assert.equal(m.rowsRejected, 0);
	assert.equal(m.rowsWritten + m.rowsRejected + m.rowsFilteredOut, m.rowsRead);
	assert.deepEqual(
		m.partitions.map((p) => [p.key.join('+'), p.rows]),
		Object.entries(truth.symbols).map(([s, t]) => [s, t.rows]),
	);
	for (const p of m.partitions) assert.equal(p.stats.quantity, truth.symbols[p.key[0]].qty, `qty of ${p.key[0]}`);
}

describe('Extract Partitions in the extension host', () => {
	let api: SweepApi;
	const trades = () => wsPath('data', 'trades.csv');
	const big = () => wsPath('big', 'trades-big.csv');

	before(async () => {
		api = await sweepApi();
	});

	afterEach(async () => {
		await setWorkspaceSetting('workers', undefined);
		await setWorkspaceSetting('chunkSize', undefined);
		await vscode.commands.executeCommand('workbench.action.closeAllEditors');
	});

	it('on the open CSV writes exactly the bytes `node dist/cli.js extract` writes, in worker threads', async () => {
		const truth = truthOf(trades());
		assert.ok(truth.rows >= 200_000, `a few hundred thousand rows (${truth.rows})`);
		// Two workers and several chunks, so the pool really splits the file; the same settings for the CLI.
		await setWorkspaceSetting('workers', 2);
		await setWorkspaceSetting('chunkSize', 25_000);
		await waitFor(() => api.config()?.workers === 2 && api.config()?.chunkSize === 25_000, 'settings applied');
		await vscode.window.showTextDocument(vscode.Uri.file(trades()));

		const threads = watchNewThreads();
		const manifest = await vscode.commands.executeCommand<Manifest | undefined>('sweep.extract', undefined, {
			interactive: false,
		});
		const seen = threads.stop();
		assert.ok(manifest, `sweep.extract returned the manifest (last error: ${JSON.stringify(api.lastError())})`);
		const outDir = wsPath('data', 'processed', 'trades');
		assert.equal(path.resolve(manifest.outDir ?? outDir), outDir, 'default output folder');
		assert.equal(manifest.config.workers, 2);
		assert.equal(manifest.config.chunkSize, 25_000);
		assert.deepEqual(manifest.config.sources, { workers: 'setting', chunkSize: 'setting' });
		assertMatchesTruth(manifest, truth);
		assert.deepEqual(api.lastManifest()?.rowsRead, manifest.rowsRead, 'SweepApi.lastManifest()');
		assert.ok(
			seen.maxWorkers >= 2,
			`2 worker threads ran in the extension host at once (most seen: ${seen.maxWorkers}; new threads: ${seen.names.join(', ')})`,
		);

		const cliOut = path.join(e2eContext().sessionDir, 'cli-out', 'trades');
		const cli = await runCli([
			'extract',
			trades(),
			'--out',
			cliOut,
			'--workers',
			'2',
			'--chunk-size',
			'25000',
			'--json',
		]);
		assert.equal(cli.code, 0, `CLI exit status (stderr: ${cli.stderr})`);
		const bytes = assertSameOutput(outDir, cliOut);
		assert.ok(bytes > truth.bytes * 0.9, `partition files hold the data (${bytes} bytes)`);
		note(
			`${manifest.partitions.length} partition files, ${bytes.toLocaleString('en-US')} bytes, identical to the CLI's; ` +
				`worker threads at once in the extension host: ${seen.maxWorkers} (new threads: ${seen.names.join(', ')})`,
		);
		assert.deepEqual(tempSiblings(outDir), [], 'no temporary folder left');
	});

	it('extracts a file over 50 MB by Uri (the Explorer context menu path) while the host stays responsive', async () => {
		const file = big();
		const size = fs.statSync(file).size;
		assert.ok(size > 50 * 1024 * 1024, `input is over 50 MB (${size} bytes)`);
		const uri = vscode.Uri.file(file);
		// The Explorer calls a command with the clicked Uri and the list of selected Uris.
		const run = vscode.commands.executeCommand<Manifest | undefined>('sweep.extract', uri, [uri]);
		let finished = false;
		void Promise.resolve(run).then(
			() => {
				finished = true;
			},
			() => {
				finished = true;
			},
		);
		await waitFor(() => api.isRunning() || finished, 'the run to start', 30_000, 10);
		let answeredDuringRun = false;
		if (!finished) {
			// Another command answers while the run goes on: the work is off the extension host's thread.
			const report = await vscode.commands.executeCommand<string>('sweep.showConfiguration');
			assert.match(report, /^System Configuration:/);
			answeredDuringRun = api.isRunning() && !finished;
			if (answeredDuringRun) {
				assert.match(api.statusBar().text, /^\$\(loading~spin\) Sweep \d+%$/, 'status bar shows the run');
			}
		}
		const manifest = await run;
		assert.ok(manifest, `sweep.extract returned the manifest (last error: ${JSON.stringify(api.lastError())})`);
		assert.ok(answeredDuringRun, 'sweep.showConfiguration answered while the extraction was still running');
		note(
			`${(size / 2 ** 20).toFixed(1)} MiB, ${manifest.rowsRead.toLocaleString('en-US')} rows; another command answered mid-run`,
		);
		assertMatchesTruth(manifest, truthOf(file));
		const outDir = wsPath('big', 'processed', 'trades-big');
		assert.equal(
			listFiles(outDir).filter((f) => f.endsWith('.csv') && !f.startsWith('_')).length,
			manifest.partitions.length,
		);
		assert.deepEqual(tempSiblings(outDir), []);
		assert.equal(api.isRunning(), false);
		await waitFor(() => !api.statusBar().text.includes('%'), 'status bar back to the figures');
	});

	it('extracts the active tab of a file too large for an editor model (over 50 MB)', async () => {
		const uri = vscode.Uri.file(big());
		await vscode.commands.executeCommand('vscode.open', uri);
		await waitFor(() => {
			const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input as { uri?: vscode.Uri } | undefined;
			return input?.uri?.fsPath === uri.fsPath;
		}, 'the big file as the active tab');
		const manifestFile = path.join(wsPath('big', 'processed', 'trades-big'), '_manifest.json');
		const before = fs.existsSync(manifestFile) ? fs.statSync(manifestFile).mtimeMs : 0;
		const manifest = await vscode.commands.executeCommand<Manifest | undefined>('sweep.extract', undefined, {
			interactive: false,
		});
		assert.ok(
			manifest,
			`sweep.extract (no argument) used the active tab (last error: ${JSON.stringify(api.lastError())})`,
		);
		assert.equal(path.resolve(manifest.source.path), uri.fsPath);
		const after = fs.statSync(manifestFile).mtimeMs;
		assert.ok(after > before, 'the output folder was replaced by the new run');
	});
});
