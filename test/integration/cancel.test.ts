import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Manifest } from '../../src/engine/types';
import type { SweepApi } from '../../src/vscode/api';
import { note } from './context';
import { setWorkspaceSetting, sleep, snapshot, sweepApi, tempSiblings, waitFor, wsPath } from './helpers';

describe('cancelling a run', () => {
	let api: SweepApi;
	const input = () => wsPath('big', 'trades-big.csv');
	const outDir = () => wsPath('big', 'processed', 'trades-big');

	before(async () => {
		api = await sweepApi();
	});

	after(async () => {
		await setWorkspaceSetting('chunkSize', undefined);
	});

	it('leaves the previous output intact and no temporary folder', async () => {
		// A complete output first (an earlier test may have made one; this test does not rely on it).
		if (!fs.existsSync(path.join(outDir(), '_manifest.json'))) {
			const first = await vscode.commands.executeCommand<Manifest | undefined>(
				'sweep.extract',
				vscode.Uri.file(input()),
			);
			assert.ok(first, `first run finished (last error: ${JSON.stringify(api.lastError())})`);
		}
		const before = snapshot(outDir());
		assert.ok(Object.keys(before).length > 10, 'the previous output has partition files');

		// Small chunks make the run long enough to be caught in the middle on any machine.
		await setWorkspaceSetting('chunkSize', 10_000);
		await waitFor(() => api.config()?.chunkSize === 10_000, 'chunk size 10,000');
		const run = vscode.commands.executeCommand<Manifest | undefined>('sweep.extract', vscode.Uri.file(input()), {
			notify: false,
		});
		// Wait for the first progress (status bar percentage), so the engine is really writing its temporary folder.
		await waitFor(() => /Sweep \d+%/.test(api.statusBar().text), 'the run to report progress', 60_000, 5);
		const sawTemp = tempSiblings(outDir()).some((n) => n.includes('.sweep-tmp-'));
		assert.equal(api.cancel(), true, 'SweepApi.cancel() found a running extraction (the Cancel button path)');
		const result = await run;
		assert.equal(result, undefined, 'a cancelled run returns no manifest');
		assert.equal(api.lastError()?.code, 'aborted');
		assert.ok(
			api.notifications().some((n) => /cancelled/i.test(n.text)),
			'the user is told the run was cancelled',
		);
		assert.equal(api.isRunning(), false);
		assert.deepEqual(tempSiblings(outDir()), [], 'no .sweep-tmp-* (or .sweep-old-*) folder is left');
		assert.deepEqual(snapshot(outDir()), before, 'every file of the previous output is as it was');
		await waitFor(() => !api.statusBar().text.includes('%'), 'status bar back to the figures');
		note(`temporary folder present when cancelled: ${sawTemp}; stopped cleanly, previous output unchanged`);
	});

	it('cancelled at random moments, again and again: never a half-written folder, never a temporary one', async () => {
		// The workspace CSV (300,000 rows); every run uses the same settings, so a run that finishes before its cancel
		// writes the same partition files again: only _manifest.json (its times) may differ.
		const small = wsPath('data', 'trades.csv');
		const smallOut = wsPath('data', 'processed', 'trades-cancel-loop');
		const opts = { notify: false, outDir: smallOut, partitionBy: ['symbol'], force: true };
		const first = await vscode.commands.executeCommand<Manifest | undefined>(
			'sweep.extract',
			vscode.Uri.file(small),
			opts,
		);
		assert.ok(first, `first run finished (last error: ${JSON.stringify(api.lastError())})`);
		const withoutManifest = (snap: Record<string, string>) => {
			const { ['_manifest.json']: _, ...rest } = snap;
			return rest;
		};
		const before = withoutManifest(snapshot(smallOut));
		let seed = Number(process.env.SWEEP_E2E_CANCEL_SEED ?? Date.now() % 100_000);
		const random = () => {
			seed = (seed * 48271) % 2147483647;
			return seed / 2147483647;
		};
		const startSeed = seed;
		const longest = Math.max(first.durationMs, 200);
		let cancelled = 0;
		let finished = 0;
		for (let i = 0; i < 20; i++) {
			const run = vscode.commands.executeCommand<Manifest | undefined>('sweep.extract', vscode.Uri.file(small), opts);
			await sleep(Math.floor(random() * longest * 1.2));
			api.cancel();
			const result = await run;
			if (result) finished++;
			else {
				assert.equal(
					api.lastError()?.code,
					'aborted',
					`iteration ${i} (seed ${startSeed}): ${JSON.stringify(api.lastError())}`,
				);
				cancelled++;
			}
			assert.deepEqual(tempSiblings(smallOut), [], `iteration ${i} (seed ${startSeed}): no temporary folder left`);
			assert.deepEqual(
				withoutManifest(snapshot(smallOut)),
				before,
				`iteration ${i} (seed ${startSeed}): a whole output in place`,
			);
			const manifest = JSON.parse(fs.readFileSync(path.join(smallOut, '_manifest.json'), 'utf8')) as Manifest;
			assert.equal(manifest.rowsRead, first.rowsRead, `iteration ${i}: the manifest in place describes a complete run`);
		}
		note(`20 runs cancelled at random moments (seed ${startSeed}): ${cancelled} cancelled, ${finished} finished first`);
	});

	it('cancel() is false when nothing runs', async () => {
		assert.equal(api.isRunning(), false);
		assert.equal(api.cancel(), false);
	});
});
