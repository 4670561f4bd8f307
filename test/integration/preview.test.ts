import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'csv-parse/sync';
import * as vscode from 'vscode';
import type { SweepApi } from '../../src/vscode/api';
import type { PreviewSnapshot } from '../../src/vscode/previewPanel';
import { note } from './context';
import { listFiles, sweepApi, tempSiblings, waitFor, wsPath } from './helpers';

interface Truth {
	rows: number;
	bytes: number;
	symbols: Record<string, { rows: number; qty: number }>;
}
const truthOf = (csv: string): Truth => JSON.parse(fs.readFileSync(`${csv}.truth.json`, 'utf8'));

/** The first records of a file, parsed independently of Sweep (csv-parse on its first 64 KB). */
function firstRecords(file: string, n: number): string[][] {
	const fd = fs.openSync(file, 'r');
	const buf = Buffer.alloc(64 * 1024);
	const got = fs.readSync(fd, buf, 0, buf.length, 0);
	fs.closeSync(fd);
	const text = buf.subarray(0, got).toString('utf8');
	return (parse(text.slice(0, text.lastIndexOf('\n') + 1), { relax_column_count: true }) as string[][]).slice(0, n);
}

/** The preview tab of `file` is open (the read-only custom editor, not a text editor). */
function previewTabOpen(file: string): boolean {
	return vscode.window.tabGroups.all.some((g) =>
		g.tabs.some(
			(t) =>
				t.input instanceof vscode.TabInputCustom && t.input.viewType === 'sweep.preview' && t.input.uri.fsPath === file,
		),
	);
}

describe('Sweep: Preview CSV in the extension host', () => {
	let api: SweepApi;
	const big = () => wsPath('big', 'trades-big.csv');
	const small = () => wsPath('data', 'small.csv');
	const scratch = () => wsPath('preview-cases');

	before(async () => {
		api = await sweepApi();
		fs.mkdirSync(scratch(), { recursive: true });
	});
	after(() => fs.rmSync(scratch(), { recursive: true, force: true }));
	afterEach(async () => {
		await vscode.commands.executeCommand('workbench.action.closeAllEditors');
	});

	it('opens a file over 50 MB by Uri: dialect, header, first records; the profile says symbol is a good partition column', async () => {
		const file = big();
		const size = fs.statSync(file).size;
		assert.ok(size > 50 * 1024 * 1024, `input is over 50 MB (${size} bytes)`);
		const shown = await vscode.commands.executeCommand<PreviewSnapshot | undefined>(
			'sweep.preview',
			vscode.Uri.file(file),
		);
		assert.ok(shown?.head, 'sweep.preview returned what the preview shows');
		assert.ok(previewTabOpen(file), 'the preview is open as the Sweep Preview custom editor');
		const expected = firstRecords(file, 6);
		assert.deepEqual(shown.head.header, expected[0]);
		assert.deepEqual(
			shown.rows.slice(0, 5).map((r) => r.fields),
			expected.slice(1, 6),
		);
		assert.equal(shown.head.size, size);
		assert.ok(shown.head.headBytes <= 4 * 1024 * 1024, 'read a bounded head');
		assert.equal(shown.head.dialect?.delimiter, ',');
		assert.equal(shown.head.dialect?.lineEndings, 'LF');
		assert.equal(shown.problem, undefined);
		assert.ok(shown.html.includes("default-src 'none'"), 'strict CSP');
		assert.ok(!/https?:\/\//.test(shown.html), 'nothing remote');

		const done = await api.whenPreviewProfiled(file);
		assert.ok(done?.profile?.done, `the profile finished (${done?.profileState})`);
		const truth = truthOf(file);
		const p = done.profile;
		assert.ok(
			Math.abs(p.rows.estimate - truth.rows) / truth.rows < 0.03,
			`rows ≈ ${p.rows.estimate} (truly ${truth.rows})`,
		);
		const sym = p.columns.find((c) => c.name === 'symbol')!;
		const symbols = Object.keys(truth.symbols).length;
		assert.equal(sym.hint.level, 'good');
		assert.ok(
			Math.abs(sym.distinctEstimate - symbols) / symbols < 0.2,
			`symbols ≈ ${sym.distinctEstimate} (truly ${symbols})`,
		);
		assert.equal(p.columns.find((c) => c.name === 'trade_id')!.hint.level, 'bad');
		assert.equal(p.columns.find((c) => c.name === 'timestamp')!.type, 'datetime');
		note(
			`${(size / 2 ** 20).toFixed(0)} MiB: ${p.exact ? 'read whole' : `${p.blocksDone} blocks`}, rows ≈ ${p.rows.estimate.toLocaleString('en-US')} (${truth.rows.toLocaleString('en-US')}), symbol ≈ ${sym.distinctEstimate} (${symbols}), profile ${p.elapsedMs} ms`,
		);

		// Scrolling loads more rows, continuing the file.
		const more = await api.previewMessage(file, { type: 'more' });
		assert.ok(more && more.rowsLoaded > shown.rowsLoaded, 'more rows on scroll');
		assert.ok(more.rows[shown.rowsLoaded].line > shown.rows[shown.rowsLoaded - 1].line, 'the next page follows on');
	});

	it('Run from the panel starts the same extraction as the commands, with the renames and date() chosen there', async () => {
		const file = small();
		const truth = truthOf(file);
		await vscode.commands.executeCommand('sweep.preview', vscode.Uri.file(file));
		const after = await api.previewMessage(file, {
			type: 'run',
			setup: { partitionBy: ['ticker', 'date(timestamp)'], mapping: { ticker: 'symbol' } },
		});
		assert.equal(after?.run?.state, 'done', `the run finished (${after?.run?.text})`);
		const m = after.run.manifest!;
		assert.equal(m.rowsRead, truth.rows);
		assert.equal(m.rowsWritten, truth.rows);
		assert.deepEqual(m.partitionBy, ['ticker', 'date(timestamp)']);
		assert.ok(m.columns.includes('ticker') && !m.columns.includes('symbol'), 'the rename applied');
		const outDir = wsPath('data', 'processed', 'small');
		assert.equal(path.resolve(m.outDir!), outDir);
		const files = listFiles(outDir).filter((f) => !f.startsWith('_'));
		assert.equal(files.length, m.partitions.length);
		assert.ok(
			files.every((f) => /\+2024-03-1\d\.csv$/.test(f)),
			`one file per symbol per day (${files.slice(0, 3)})`,
		);
		const perSymbol = new Map<string, number>();
		for (const part of m.partitions) perSymbol.set(part.key[0], (perSymbol.get(part.key[0]) ?? 0) + part.rows);
		for (const [s, t] of Object.entries(truth.symbols)) assert.equal(perSymbol.get(s), t.rows, s);
		assert.match(fs.readFileSync(path.join(outDir, files[0]), 'utf8').split('\n')[0], /^trade_id,timestamp,ticker,/);
		assert.deepEqual(tempSiblings(outDir), []);
		assert.match(after.run.text, /Extracted [\d,]+ rows into [\d,]+ partitions/);
	});

	it('Cancel in the panel stops the run and leaves the previous output as it was', async () => {
		const file = big();
		await vscode.commands.executeCommand('sweep.preview', vscode.Uri.file(file));
		const outDir = wsPath('big', 'processed', 'trades-big');
		const before = fs.existsSync(path.join(outDir, '_manifest.json'))
			? fs.readFileSync(path.join(outDir, '_manifest.json'), 'utf8')
			: undefined;
		const running = api.previewMessage(file, { type: 'run', setup: { partitionBy: ['symbol'], mapping: {} } });
		await waitFor(
			() => api.previews().find((p) => p.file === file)?.run?.state === 'running' && api.isRunning(),
			'the run',
		);
		await api.previewMessage(file, { type: 'cancelRun' });
		const after = await running;
		if (after?.run?.state === 'done') {
			note('the run finished before Cancel took effect (a fast machine): nothing to check');
			return;
		}
		assert.equal(after?.run?.state, 'cancelled', after?.run?.text);
		const now = fs.existsSync(path.join(outDir, '_manifest.json'))
			? fs.readFileSync(path.join(outDir, '_manifest.json'), 'utf8')
			: undefined;
		assert.equal(now, before, 'the previous output is untouched');
		assert.deepEqual(tempSiblings(outDir), []);
	});

	it('"Use these settings for this folder" writes them to the workspace settings', async () => {
		const file = small();
		await vscode.commands.executeCommand('sweep.preview', vscode.Uri.file(file));
		await api.previewMessage(file, {
			type: 'save',
			setup: { partitionBy: ['ticker'], mapping: { ticker: 'symbol' } },
		});
		const config = vscode.workspace.getConfiguration('sweep', vscode.Uri.file(file));
		try {
			assert.deepEqual(config.inspect('partitionBy')?.workspaceValue, ['ticker']);
			assert.deepEqual(config.inspect('columnMapping')?.workspaceValue, { ticker: 'symbol' });
		} finally {
			await config.update('partitionBy', undefined, vscode.ConfigurationTarget.Workspace);
			await config.update('columnMapping', undefined, vscode.ConfigurationTarget.Workspace);
		}
	});

	const bad: [string, Buffer | string, RegExp][] = [
		['empty.csv', '', /is empty/],
		['header-only.csv', 'a,b,c\n', /header and no records/],
		['utf16.csv', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('a,b\n1,2\n', 'utf16le')]), /UTF-16/],
		['binary.csv', Buffer.from(Array.from({ length: 8192 }, (_, i) => (i * 131) % 256)), /binary/],
		['runaway.csv', `a,b\n1,"open\n${'x,y\n'.repeat(1_200_000)}`, /probably never closes/],
	];
	for (const [name, content, message] of bad) {
		it(`${name}: one sentence, Run disabled with the reason, nothing crashes`, async () => {
			const file = path.join(scratch(), name);
			fs.writeFileSync(file, content);
			const shown = await vscode.commands.executeCommand<PreviewSnapshot | undefined>(
				'sweep.preview',
				vscode.Uri.file(file),
			);
			assert.ok(shown, 'the preview opened');
			assert.match(shown.problem ?? '', message);
			assert.equal(shown.runBlocked, shown.problem);
			const notices = api.notifications().length;
			const after = await api.previewMessage(file, { type: 'run', setup: { partitionBy: ['a'], mapping: {} } });
			assert.equal(after?.run, undefined, 'no run started');
			assert.equal(api.isRunning(), false);
			assert.match(api.notifications().slice(notices).at(-1)?.text ?? '', message, 'Run says why it cannot');
		});
	}

	it('a file deleted while its preview is open: one sentence, Run disabled', async () => {
		const file = path.join(scratch(), 'doomed.csv');
		fs.copyFileSync(small(), file);
		const shown = await vscode.commands.executeCommand<PreviewSnapshot | undefined>(
			'sweep.preview',
			vscode.Uri.file(file),
		);
		assert.equal(shown?.problem, undefined);
		fs.rmSync(file);
		const gone = await waitFor(
			() => api.previews().find((p) => p.file === file && p.runBlocked),
			'the preview to notice the file is gone',
		);
		assert.match(gone.problem ?? '', /was deleted or moved/);
		const more = await api.previewMessage(file, { type: 'more' });
		assert.ok(more, 'scrolling further does not crash');
	});
});
