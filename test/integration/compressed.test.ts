import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import * as vscode from 'vscode';
import type { Manifest } from '../../src/engine/types';
import type { SweepApi } from '../../src/vscode/api';
import { note } from './context';
import { EXTENSION_ID, listFiles, sweepApi, tempSiblings, watchNewThreads, wsPath } from './helpers';

/** The `when` clause of a menu item of the installed extension's package.json. */
function whenOf(menu: string, command: string): string {
	const pkg = vscode.extensions.getExtension(EXTENSION_ID)!.packageJSON as {
		contributes: { menus: Record<string, { command: string; when?: string }[]> };
	};
	const item = pkg.contributes.menus[menu].find((m) => m.command === command);
	assert.ok(item?.when, `${menu} has ${command} with a when clause`);
	return item.when;
}

/** The regular expression a `resourceFilename =~ /…/flags` clause tests file names with. */
function filenameRegex(when: string): RegExp {
	const m = /resourceFilename =~ \/(.*)\/([a-z]*)/.exec(when);
	assert.ok(m, `the when clause tests the file name: ${when}`);
	return new RegExp(m[1], m[2]);
}

describe('Compressed CSV files in the extension host', () => {
	let api: SweepApi;
	const dir = () => wsPath('compressed');

	before(async () => {
		api = await sweepApi();
		fs.mkdirSync(dir(), { recursive: true });
	});

	it('offers Extract on .csv.gz, .tsv.gz, .csv.zst, .tsv.zst in any case, in the Explorer, the editor title and the palette', () => {
		for (const [menu, command] of [
			['explorer/context', 'sweep.extract'],
			['explorer/context', 'sweep.extractWithOrders'],
			['editor/title', 'sweep.extract'],
			['commandPalette', 'sweep.extract'],
		] as const) {
			const re = filenameRegex(whenOf(menu, command));
			for (const name of ['t.csv', 't.TSV', 't.csv.gz', 'T.CSV.GZ', 't.tsv.gz', 't.csv.zst', 't.tsv.ZST']) {
				assert.ok(re.test(name), `${menu} ${command} offered on ${name}`);
			}
			for (const name of ['t.gz', 't.zst', 't.txt.gz', 't.csv.bz2', 't.json']) {
				assert.ok(!re.test(name), `${menu} ${command} not offered on ${name}`);
			}
		}
		const setting = (
			vscode.extensions.getExtension(EXTENSION_ID)!.packageJSON as {
				contributes: { configuration: { properties: Record<string, { enum?: string[]; default?: unknown }> } };
			}
		).contributes.configuration.properties['sweep.compression'];
		assert.deepEqual(setting.enum, ['none', 'gzip', 'zstd']);
		assert.equal(setting.default, 'none');
	});

	it('extracts a .csv.gz from the Explorer (by Uri) into processed/<name>/, byte for byte the plain file’s partitions', async () => {
		const plain = path.join(dir(), 'trades.csv');
		fs.copyFileSync(wsPath('data', 'trades.csv'), plain);
		const gz = path.join(dir(), 'trades-gz.csv.gz');
		fs.writeFileSync(gz, zlib.gzipSync(fs.readFileSync(plain), { level: 6 }));

		const expected = await vscode.commands.executeCommand<Manifest | undefined>(
			'sweep.extract',
			vscode.Uri.file(plain),
			[vscode.Uri.file(plain)],
		);
		assert.ok(expected, `plain run (last error: ${JSON.stringify(api.lastError())})`);

		// The Explorer calls a command with the clicked Uri and the list of selected Uris.
		const uri = vscode.Uri.file(gz);
		const threads = watchNewThreads();
		const manifest = await vscode.commands.executeCommand<Manifest | undefined>('sweep.extract', uri, [uri]);
		const seen = threads.stop();
		assert.ok(
			manifest,
			`sweep.extract on the .csv.gz returned the manifest (last error: ${JSON.stringify(api.lastError())})`,
		);
		const outDir = path.join(dir(), 'processed', 'trades-gz');
		assert.equal(path.resolve(manifest.outDir ?? ''), outDir, 'default folder drops .csv.gz');
		assert.equal(manifest.source.compression, 'gzip');
		assert.equal(manifest.source.bytes, fs.statSync(gz).size);
		assert.equal(manifest.source.decompressedBytes, fs.statSync(plain).size);
		assert.equal(manifest.rowsRead, expected.rowsRead);

		const plainOut = path.join(dir(), 'processed', 'trades');
		const files = listFiles(plainOut).filter((f) => f !== '_manifest.json');
		assert.deepEqual(
			listFiles(outDir).filter((f) => f !== '_manifest.json'),
			files,
		);
		for (const f of files) {
			assert.ok(fs.readFileSync(path.join(outDir, f)).equals(fs.readFileSync(path.join(plainOut, f))), f);
		}
		assert.deepEqual(tempSiblings(outDir), [], 'no temporary folder left');
		note(
			`.csv.gz (${fs.statSync(gz).size.toLocaleString('en-US')} bytes) gave ${files.length} files identical to the plain run; ` +
				`new threads during the run: ${seen.names.join(', ')}`,
		);
	});

	it('writes gzip partitions with sweep.compression = "gzip" that decompress to the plain ones', async () => {
		const plain = path.join(dir(), 'trades.csv');
		const config = vscode.workspace.getConfiguration('sweep', vscode.Uri.file(plain));
		await config.update('compression', 'gzip', vscode.ConfigurationTarget.Workspace);
		try {
			const outDir = path.join(dir(), 'gz-out');
			const manifest = await vscode.commands.executeCommand<Manifest | undefined>(
				'sweep.extract',
				vscode.Uri.file(plain),
				{
					outDir,
					force: true,
					interactive: false,
				},
			);
			assert.ok(manifest, `run (last error: ${JSON.stringify(api.lastError())})`);
			assert.deepEqual(manifest.output, { compression: 'gzip', compressionLevel: 6 });
			const plainOut = path.join(dir(), 'processed', 'trades');
			for (const p of manifest.partitions) {
				assert.ok(p.file?.endsWith('.csv.gz'), p.file ?? 'no file');
				const back = zlib.gunzipSync(fs.readFileSync(path.join(outDir, p.file!)));
				assert.ok(back.equals(fs.readFileSync(path.join(plainOut, p.file!.slice(0, -3)))), p.file!);
			}
		} finally {
			await config.update('compression', undefined, vscode.ConfigurationTarget.Workspace);
		}
	});
});
