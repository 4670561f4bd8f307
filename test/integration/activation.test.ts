import * as assert from 'node:assert/strict';
import * as os from 'node:os';
import * as vscode from 'vscode';
import { note } from './context';
import { count, EXTENSION_ID, statusFigures, sweepApi, waitFor } from './helpers';

/** The detection rules of README "Workers and chunk size", written out again here so the test does not lean on the code it checks. */
function expectedWorkers(cores: number): number {
	if (cores <= 2) return 1;
	if (cores <= 4) return cores - 1;
	return Math.min(cores - 2, 16);
}
function expectedChunkSize(availableBytes: number): number {
	const rows = Math.round((availableBytes * 0.05) / 10240 / 10_000) * 10_000;
	return Math.min(500_000, Math.max(10_000, rows));
}

describe('activation and status bar', () => {
	it('activates in the extension host and returns the SweepApi', async () => {
		const ext = vscode.extensions.getExtension(EXTENSION_ID);
		assert.ok(ext, `${EXTENSION_ID} is loaded`);
		const api = await sweepApi();
		assert.equal(ext.isActive, true);
		for (const fn of ['statusBar', 'config', 'whenReady', 'lastManifest', 'isRunning'] as const) {
			assert.equal(typeof api[fn], 'function', `SweepApi.${fn}`);
		}
		assert.equal(api.isRunning(), false);
	});

	it('registers the commands of package.json', async () => {
		const all = new Set(await vscode.commands.getCommands(true));
		for (const id of [
			'sweep.extract',
			'sweep.extractWithOrders',
			'sweep.showConfiguration',
			'sweep.redetect',
			'sweep.showSummary',
		]) {
			assert.ok(all.has(id), `command ${id} registered`);
		}
	});

	it('detects the system (README "Workers and chunk size") when nothing overrides it', async () => {
		const api = await sweepApi();
		const config = api.config();
		assert.ok(config, 'a resolved configuration once detection is done');
		// systeminformation taking over 2 s (a loaded machine) falls back to Node's os module (README "Workers and chunk size"): still
		// detection, labelled as such, with the same rules.
		const fellBack = config.system.method !== 'systeminformation';
		if (fellBack) note(`detection fell back to ${config.system.method}: ${config.system.fallbackReason}`);
		const source = fellBack ? 'fallback' : 'detected';
		assert.deepEqual(config.sources, { workers: source, chunkSize: source });
		assert.ok(config.cpuCount !== null && config.cpuCount >= 1, `cpuCount ${config.cpuCount}`);
		assert.ok(config.cpuCount <= os.availableParallelism(), 'never more cores than the process may use');
		assert.ok(config.availableMemoryBytes !== null && config.availableMemoryBytes > 0);
		assert.equal(config.workers, expectedWorkers(config.cpuCount));
		assert.equal(config.chunkSize, expectedChunkSize(config.availableMemoryBytes));
		assert.equal(config.enableParallel, config.workers > 1);
		assert.equal(config.warnings.length, fellBack ? 1 : 0, `warnings: ${JSON.stringify(config.warnings)}`);
	});

	it('shows the resolved figures in the status bar, with cores, memory and sources in the tooltip', async () => {
		const api = await sweepApi();
		const config = api.config()!;
		const expected = `$(server-process) ${statusFigures(config.workers, config.chunkSize)}`;
		// The item is redrawn on the detection event; give it a moment after whenReady().
		await waitFor(
			() => api.statusBar().text === expected,
			() => `status bar text ${JSON.stringify(expected)}, not ${JSON.stringify(api.statusBar().text)}`,
		);
		const { tooltip } = api.statusBar();
		assert.match(tooltip, new RegExp(`CPU cores: ${config.cpuCount}\\b`));
		assert.match(tooltip, /Available memory: [\d,]+\.\d\d GB/);
		const how = config.system.method === 'systeminformation' ? 'detected' : 'fallback: os';
		assert.ok(tooltip.includes(`Workers: ${config.workers} (${how})`), `tooltip: ${tooltip}`);
		assert.ok(tooltip.includes(`Chunk size: ${count(config.chunkSize)} rows (${how})`), `tooltip: ${tooltip}`);
	});
});
