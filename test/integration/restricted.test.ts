import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Manifest } from '../../src/engine/types';
import type { PreviewSnapshot } from '../../src/vscode/previewPanel';
import { statusFigures, sweepApi, waitFor, wsPath } from './helpers';

/**
 * Runs in a session of its own, in a folder that is NOT trusted (no --disable-workspace-trust). package.json
 * declares `untrustedWorkspaces: limited` with restrictedConfigurations sweep.outputDirectory and sweep.ordersFile.
 * The harness wrote .vscode/settings.json with workspace values of both (which must be ignored) and
 * sweep.workers = 2 (which is not restricted and must apply).
 */
describe('Restricted Mode (untrusted workspace)', () => {
	it('the workspace is not trusted and Sweep still activates', async () => {
		assert.equal(vscode.workspace.isTrusted, false, 'the folder opened in Restricted Mode');
		const api = await sweepApi();
		assert.equal(vscode.extensions.getExtension('sweep-dev.sweep')?.isActive, true);
		assert.ok(api.config(), 'detection ran');
	});

	it('workspace values of settings that are not restricted still apply (sweep.workers = 2)', async () => {
		const api = await sweepApi();
		const c = api.config()!;
		assert.equal(c.workers, 2);
		assert.equal(c.sources.workers, 'setting');
		await waitFor(() => api.statusBar().text.endsWith(statusFigures(2, c.chunkSize)), 'status bar with 2 workers');
	});

	it('the workspace values of sweep.outputDirectory and sweep.ordersFile are ignored, with a message saying so', async () => {
		const api = await sweepApi();
		const input = wsPath('data', 'trades.csv');
		const manifest = await vscode.commands.executeCommand<Manifest | undefined>(
			'sweep.extract',
			vscode.Uri.file(input),
			{
				interactive: false,
			},
		);
		assert.ok(manifest, `extraction ran (last error: ${JSON.stringify(api.lastError())})`);
		const defaultOut = wsPath('data', 'processed', 'trades');
		assert.equal(path.resolve(manifest.outDir!), defaultOut, 'the default output folder, not the workspace value');
		assert.ok(fs.existsSync(path.join(defaultOut, '_manifest.json')));
		assert.equal(fs.existsSync(wsPath('workspace-chose-this')), false, 'nothing written where the workspace said');
		assert.equal(manifest.orders, null, 'the workspace orders file was not used');
		assert.equal(manifest.rowsFilteredOut, 0);
		const texts = api.notifications().map((n) => n.text);
		for (const key of ['outputDirectory', 'ordersFile']) {
			assert.ok(
				texts.some((t) => t.includes('Restricted Mode') && t.includes(`sweep.${key}`)),
				`a message says the workspace value of sweep.${key} is ignored (messages: ${JSON.stringify(texts)})`,
			);
		}
		assert.match(api.statusBar().tooltip, /Restricted Mode/, 'the tooltip says so too');
	});

	it('the preview opens, offers neither workspace value, and its Run follows the same rules', async () => {
		const api = await sweepApi();
		const input = wsPath('data', 'trades.csv');
		const shown = await vscode.commands.executeCommand<PreviewSnapshot | undefined>(
			'sweep.preview',
			vscode.Uri.file(input),
		);
		assert.ok(shown?.head && shown.problem === undefined, `the preview shows the file (${shown?.problem})`);
		assert.equal(shown.ordersFile, undefined, 'the workspace orders file is not offered');
		assert.equal(path.resolve(shown.outDir), wsPath('data', 'processed', 'trades'), 'the default output folder');
		const after = await api.previewMessage(input, { type: 'run', setup: { partitionBy: ['symbol'], mapping: {} } });
		assert.equal(after?.run?.state, 'done', after?.run?.text);
		assert.equal(path.resolve(after.run.manifest!.outDir!), wsPath('data', 'processed', 'trades'));
		assert.equal(after.run.manifest!.orders, null);
		assert.equal(fs.existsSync(wsPath('workspace-chose-this')), false, 'nothing written where the workspace said');
	});
});
