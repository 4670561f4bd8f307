import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Manifest } from '../../src/engine/types';
import type { SweepApi } from '../../src/vscode/api';
import { e2eContext, note } from './context';
import { listFiles, runCli, sleep, sweepApi, wsPath } from './helpers';

/**
 * **Sweep: Append to Existing Output…** in a real VS Code (docs/append.md): day 1 extracted, then day 2 appended
 * through the command — the folder picked in its QuickPick of the workspace's Sweep outputs, most recent first — gives
 * the files of one CLI run over day 1 + day 2, byte for byte, and a manifest listing both inputs.
 */
describe('Append to an existing output from the command, in the extension host', () => {
	let api: SweepApi;
	before(async () => {
		api = await sweepApi();
	});

	it('appends day 2 to the output picked in the QuickPick: the same bytes as one run over both days', async () => {
		const ctx = e2eContext();
		const text = fs.readFileSync(wsPath('data', 'trades.csv'), 'latin1');
		const nl = text.indexOf('\n');
		const cut = text.indexOf('\n', Math.floor(text.length * 0.6));
		const dayDir = path.join(ctx.sessionDir, 'append-days');
		fs.mkdirSync(dayDir, { recursive: true });
		const day1 = path.join(dayDir, 'day1.csv');
		const day2 = path.join(dayDir, 'day2.csv');
		fs.writeFileSync(day1, text.slice(0, cut + 1), 'latin1');
		fs.writeFileSync(day2, `${text.slice(0, nl + 1)}${text.slice(cut + 1)}`, 'latin1');
		// In the workspace, so that the command's QuickPick finds it; written last, so it is offered first.
		const outDir = wsPath('processed', 'append-e2e');
		const first = await vscode.commands.executeCommand<Manifest | undefined>('sweep.extract', vscode.Uri.file(day1), {
			interactive: false,
			outDir,
			force: true,
		});
		assert.ok(first, `day 1 extracted (last error: ${JSON.stringify(api.lastError())})`);

		const pending = vscode.commands.executeCommand<Manifest | undefined>('sweep.append', vscode.Uri.file(day2), {
			interactive: false,
		});
		// The QuickPick of output folders: accept its first (most recent) item once it shows.
		let settled = false;
		void pending.then(
			() => {
				settled = true;
			},
			() => {
				settled = true;
			},
		);
		for (let i = 0; i < 100 && !settled; i++) {
			await sleep(300);
			await vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem');
		}
		const manifest = await pending;
		assert.ok(manifest, `sweep.append returned the manifest (last error: ${JSON.stringify(api.lastError())})`);
		assert.equal(manifest.outDir, outDir, 'the most recent output folder was offered first');
		assert.equal(manifest.inputs?.length, 2);
		assert.deepEqual(
			manifest.inputs?.map((i) => i.path),
			[day1, day2],
		);

		const cliOut = path.join(ctx.sessionDir, 'append-cli-one-run');
		const cli = await runCli(['extract', wsPath('data', 'trades.csv'), '--out', cliOut, '--force']);
		assert.equal(cli.code, 0, `CLI exit status (stderr: ${cli.stderr})`);
		const files = listFiles(outDir).filter((f) => f !== '_manifest.json');
		assert.deepEqual(
			files,
			listFiles(cliOut).filter((f) => f !== '_manifest.json'),
			'same files as one run',
		);
		for (const f of files) {
			assert.ok(
				fs.readFileSync(path.join(outDir, f)).equals(fs.readFileSync(path.join(cliOut, f))),
				`${f}: same bytes`,
			);
		}
		const one = JSON.parse(fs.readFileSync(path.join(cliOut, '_manifest.json'), 'utf8')) as Manifest;
		assert.equal(manifest.rowsWritten, one.rowsWritten);
		assert.deepEqual(
			manifest.partitions.map((p) => [p.key, p.file, p.rows, p.bytes]),
			one.partitions.map((p) => [p.key, p.file, p.rows, p.bytes]),
		);

		// The same day again is refused (exit 2 in the CLI; here the command's error), the output unchanged.
		const before = fs.readFileSync(path.join(outDir, '_manifest.json'));
		const again = await vscode.commands.executeCommand<Manifest | undefined>('sweep.append', vscode.Uri.file(day2), {
			interactive: false,
			outDir,
		});
		assert.equal(again, undefined);
		assert.equal(api.lastError()?.code, 'duplicate-input');
		assert.ok(fs.readFileSync(path.join(outDir, '_manifest.json')).equals(before), 'the output is as it was');
		fs.rmSync(outDir, { recursive: true, force: true });
		note(`append from the command: ${files.length} files identical to one CLI run over both days`);
	});
});
