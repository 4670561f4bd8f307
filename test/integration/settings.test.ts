import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { ResolvedConfig } from '../../src/config';
import type { SweepApi } from '../../src/vscode/api';
import { setWorkspaceSetting, statusFigures, sweepApi, waitFor } from './helpers';

/** Settings edited the way a user edits them: in the workspace's .vscode/settings.json (and once the user's). */
describe('settings take effect without a reload', () => {
	let api: SweepApi;
	/** The figures with no setting: detected (or Node's os fallback on a loaded machine, README "Workers and chunk size"). */
	let detected: ResolvedConfig;

	before(async () => {
		api = await sweepApi();
		detected = api.config()!;
		assert.ok(
			detected.sources.workers !== 'setting' && detected.sources.chunkSize !== 'setting',
			'starts without settings',
		);
	});

	afterEach(async () => {
		await setWorkspaceSetting('workers', undefined);
		await setWorkspaceSetting('chunkSize', undefined);
		await vscode.workspace.getConfiguration('sweep').update('workers', undefined, vscode.ConfigurationTarget.Global);
	});

	const statusIs = (workers: number, chunkSize: number) =>
		waitFor(
			() => api.statusBar().text.endsWith(statusFigures(workers, chunkSize)),
			() => `status bar "${statusFigures(workers, chunkSize)}" (it reads "${api.statusBar().text}")`,
		);

	it('sweep.workers and sweep.chunkSize in the workspace settings change the status bar at once', async () => {
		// A value different from the detected one, so the change is visible.
		const workers = detected.workers === 3 ? 4 : 3;
		await setWorkspaceSetting('workers', workers);
		await statusIs(workers, detected.chunkSize);
		await setWorkspaceSetting('chunkSize', 120_000);
		await statusIs(workers, 120_000);
		const c = api.config()!;
		assert.deepEqual(c.sources, { workers: 'setting', chunkSize: 'setting' });
		assert.deepEqual(c.labels, { workers: 'setting sweep.workers', chunkSize: 'setting sweep.chunkSize' });
		assert.match(api.statusBar().tooltip, new RegExp(`Workers: ${workers} \\(setting sweep\\.workers\\)`));
		const report = await vscode.commands.executeCommand<string>('sweep.showConfiguration');
		assert.match(report, new RegExp(`^  Workers: ${workers} \\(setting sweep\\.workers\\)$`, 'm'));
		assert.match(report, /^ {2}Chunk Size: 120,000 \(setting sweep\.chunkSize\)$/m);
	});

	it('the workspace value wins over the user value; clearing it falls back to the user value', async () => {
		await vscode.workspace.getConfiguration('sweep').update('workers', 5, vscode.ConfigurationTarget.Global);
		await statusIs(5, detected.chunkSize);
		await setWorkspaceSetting('workers', 2);
		await statusIs(2, detected.chunkSize);
		await setWorkspaceSetting('workers', undefined);
		await statusIs(5, detected.chunkSize);
	});

	for (const [key, bad] of [
		['workers', -1],
		['workers', 2.5],
		['chunkSize', 'eight'],
		['chunkSize', 1e3 + 0.5],
	] as const) {
		it(`a bad value (sweep.${key} = ${JSON.stringify(bad)}) is ignored with a warning naming it`, async () => {
			await setWorkspaceSetting(key, bad);
			const warning = await waitFor(
				() => api.config()?.warnings.find((w) => w.includes(`sweep.${key}`) && w.includes(JSON.stringify(bad))),
				`a warning about sweep.${key} = ${JSON.stringify(bad)}`,
			);
			// The detected figure stays; the warning shows in the tooltip and the report.
			await statusIs(detected.workers, detected.chunkSize);
			assert.equal(api.config()!.sources[key], detected.sources[key]);
			assert.ok(api.statusBar().tooltip.includes('sweep.'), 'tooltip lists the warning');
			const report = await vscode.commands.executeCommand<string>('sweep.showConfiguration');
			assert.ok(report.split('\n').includes(`  Warning: ${warning}`), `report has "  Warning: ${warning}"`);
		});
	}

	it('a value above the maximum is clamped with a warning', async () => {
		await setWorkspaceSetting('workers', 1000);
		await statusIs(256, detected.chunkSize);
		assert.ok(
			api.config()!.warnings.some((w) => w.includes('1000') || w.includes('1,000')),
			'clamp warning',
		);
	});

	it('clearing the settings returns to the detected figures and no warning', async () => {
		await setWorkspaceSetting('workers', 7);
		await setWorkspaceSetting('chunkSize', -5);
		await statusIs(7, detected.chunkSize);
		await setWorkspaceSetting('workers', undefined);
		await setWorkspaceSetting('chunkSize', undefined);
		await statusIs(detected.workers, detected.chunkSize);
		const c = api.config()!;
		assert.deepEqual(c.sources, detected.sources);
		assert.deepEqual(c.warnings, detected.warnings);
	});

	it('"auto", 0 and null mean "not set"', async () => {
		for (const value of ['auto', 0, null]) {
			await setWorkspaceSetting('workers', 9);
			await statusIs(9, detected.chunkSize);
			await setWorkspaceSetting('workers', value);
			await statusIs(detected.workers, detected.chunkSize);
			assert.deepEqual(api.config()!.warnings, detected.warnings, `no warning for ${JSON.stringify(value)}`);
		}
	});
});
