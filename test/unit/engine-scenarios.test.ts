import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'csv-parse/sync';
import {
	defaultOutDir,
	type ExtractOptions,
	type ExtractProgress,
	extract,
	inspectHeader,
	SweepError,
} from '../../src/engine';
import { assertMatchesReference, checkRejectsFile, readOutput } from './helpers/compare';
import { expectSweepError } from './helpers/engine';
import { diffSnapshots, isInside, leftovers, makeTmp, removeTmp, snapshot } from './helpers/fsutil';
import { reference } from './reference';

/** Scenarios from issue 3 and README "What extraction does", through the engine API, each in its own temp folder. */

let tmp: string;
const b = (s: string) => Buffer.from(s, 'latin1');
const text = (m: Map<string, Buffer>) => Object.fromEntries([...m].map(([k, v]) => [k, v.toString('latin1')]));

/** Writes `content` to `name` in the test's folder and returns its path. */
function file(name: string, content: string | Buffer): string {
	const p = path.join(tmp, name);
	fs.writeFileSync(p, typeof content === 'string' ? b(content) : content);
	return p;
}

/** Extracts with small defaults; `out` is a folder name inside the test's folder. */
function run(input: string, out: string, opts: Partial<ExtractOptions> = {}) {
	return extract({ input, outDir: path.join(tmp, out), workers: 1, chunkSize: 1000, ...opts });
}

/** Writes a previous output (by a real run) and returns its snapshot. */
async function previousOutput(out: string): Promise<Map<string, Buffer>> {
	const prev = file(`prev-${out}.csv`, 'symbol,n\nOLD,1\nKEEP,2\n');
	await run(prev, out);
	return snapshot(path.join(tmp, out));
}

/** The previous output is still there byte for byte, and no temporary/old sibling is left. */
function assertUntouched(out: string, before: Map<string, Buffer>): void {
	const dir = path.join(tmp, out);
	assert.equal(diffSnapshots(before, snapshot(dir)), '', 'previous output unchanged');
	assert.deepEqual(leftovers(dir), [], 'no .sweep-tmp-*/.sweep-old-* sibling');
}

describe('engine: scenarios', function () {
	this.timeout(120_000);
	beforeEach(() => {
		tmp = makeTmp('sweep-scen-');
	});
	afterEach(() => removeTmp(tmp));

	describe('rejects', () => {
		const input = [
			'symbol,n\n', // 1
			'A,1\n', // 2
			'"ab"c,2\n', // 3: text after a closing quote
			'"x"y,"multi\nline"\n', // 4-5: ditto; its record still ends at the next LF outside quotes
			'B,"q"\r\n', // 6
			'A,1,2\n', // 7: too many fields
			'\n', // 8: blank line, one field
			'A\n', // 9: too few
			'ab"c,3\n', // 10: a quote inside an unquoted field is data
			'C,"open\nrest', // 11-12: unterminated quote at EOF
		].join('');
		const rejects: [number, string][] = [
			[3, '"ab"c,2'],
			[4, '"x"y,"multi\nline"'],
			[7, 'A,1,2'],
			[8, ''],
			[9, 'A'],
			[11, 'C,"open\nrest'],
		];

		for (const [workers, chunkSize] of [
			[1, 1000],
			[2, 1],
			[3, 2],
		]) {
			it(`rejects ragged rows, text after a closing quote and an unterminated final quote with their lines (workers ${workers}, chunk ${chunkSize})`, async () => {
				const p = file('in.csv', input);
				const m = await run(p, 'out', { workers, chunkSize });
				const files = readOutput(path.join(tmp, 'out'));
				assert.deepEqual(text(new Map([...files].filter(([k]) => k !== '_manifest.json' && k !== '_rejects.csv'))), {
					'A.csv': 'symbol,n\nA,1\n',
					'B.csv': 'symbol,n\nB,"q"\r\n',
					'ab%22c.csv': 'symbol,n\nab"c,3\n',
				});
				checkRejectsFile(
					files.get('_rejects.csv') as Buffer,
					rejects.map(([line, raw]) => ({ line, raw: b(raw) })),
				);
				assert.equal(m.rowsRead, 9);
				assert.equal(m.rowsRejected, 6);
				assert.equal(m.rowsWritten, 3);
				assert.equal(m.rejects, '_rejects.csv');
			});
		}

		it('rejects an unterminated quote that runs to a final line break (raw without or with that break)', async () => {
			const p = file('in.csv', 'symbol,n\nA,1\nB,"x\ny\n');
			const m = await run(p, 'out', { chunkSize: 1 });
			assert.equal(m.rowsRejected, 1);
			const rows = parse(fs.readFileSync(path.join(tmp, 'out', '_rejects.csv')), { from_line: 2 }) as string[][];
			assert.equal(rows.length, 1);
			assert.equal(rows[0][0], '3');
			assert.ok(['B,"x\ny', 'B,"x\ny\n'].includes(rows[0][2]), JSON.stringify(rows[0][2]));
		});

		it('writes no _rejects.csv and rejects: null when nothing is rejected', async () => {
			const m = await run(file('in.csv', 'symbol,n\nA,1\n'), 'out');
			assert.equal(m.rejects, null);
			assert.equal(fs.existsSync(path.join(tmp, 'out', '_rejects.csv')), false);
		});
	});

	describe('inputs that stop before writing', () => {
		it('empty file: input-empty (exit 2), nothing written', async () => {
			const p = file('empty.csv', '');
			const e = await expectSweepError(extract({ input: p, workers: 1, chunkSize: 10 }), 'input-empty');
			assert.equal(e.exitCode, 2);
			assert.deepEqual(fs.readdirSync(tmp), ['empty.csv'], 'not even the default processed/ folder');
		});

		it('missing file: input-missing (exit 2)', async () => {
			const e = await expectSweepError(run(path.join(tmp, 'nope.csv'), 'out'), 'input-missing');
			assert.equal(e.exitCode, 2);
			assert.deepEqual(fs.readdirSync(tmp), []);
		});

		it('UTF-16 input (by its BOM): input-encoding (exit 2)', async () => {
			for (const bom of [
				[0xff, 0xfe],
				[0xfe, 0xff],
			]) {
				const p = file('u16.csv', Buffer.concat([Buffer.from(bom), Buffer.from('symbol,n\nA,1\n', 'utf16le')]));
				const e = await expectSweepError(run(p, 'out'), 'input-encoding');
				assert.equal(e.exitCode, 2);
				assert.equal(fs.existsSync(path.join(tmp, 'out')), false);
			}
		});

		it('unknown partition column: missing-column naming it and the header, nothing written', async () => {
			const p = file('in.csv', 'ticker,n\nA,1\n');
			const e = await expectSweepError(run(p, 'out', { partitionBy: ['symbol'] }), 'missing-column');
			assert.equal(e.exitCode, 2);
			assert.equal(e.details.column, 'symbol');
			assert.deepEqual(e.details.header, ['ticker', 'n']);
			assert.deepEqual(fs.readdirSync(tmp), ['in.csv']);
		});

		it('unknown mapped column: missing-column, nothing written, previous output untouched', async () => {
			const before = await previousOutput('out');
			const p = file('in.csv', 'ticker,n\nA,1\n');
			const e = await expectSweepError(run(p, 'out', { mapping: { symbol: 'sym' } }), 'missing-column');
			assert.equal(e.exitCode, 2);
			assert.equal(e.details.column, 'sym');
			assertUntouched('out', before);
		});

		it('unknown date(COL) column: missing-column', async () => {
			const p = file('in.csv', 'symbol,n\nA,1\n');
			const e = await expectSweepError(run(p, 'out', { partitionBy: ['date(timestamp)'] }), 'missing-column');
			assert.equal(e.details.column, 'timestamp');
		});

		it('an orders file without the partition column: bad-orders (exit 2), nothing written', async () => {
			const p = file('in.csv', 'symbol,n\nA,1\n');
			const o = file('orders.csv', 'id,ticker\n1,A\n');
			const e = await expectSweepError(run(p, 'out', { ordersFile: o }), 'bad-orders');
			assert.equal(e.exitCode, 2);
			assert.equal(fs.existsSync(path.join(tmp, 'out')), false);
		});
	});

	describe('header and columns', () => {
		for (const content of ['symbol,n\n', 'symbol,n', 'symbol,n\r\n', '\xef\xbb\xbfsymbol,n\n']) {
			it(`header only (${JSON.stringify(content)}): zero partitions, rowsRead 0, a manifest written`, async () => {
				const p = file('in.csv', content);
				const m = await run(p, 'out');
				assert.deepEqual(m.partitions, []);
				assert.equal(m.rowsRead, 0);
				assert.equal(m.rowsWritten, 0);
				assert.deepEqual(m.source.header, ['symbol', 'n']);
				assert.deepEqual(fs.readdirSync(path.join(tmp, 'out')), ['_manifest.json']);
			});
		}

		it('mapping renames the header (quoted only where needed), keeps other columns and source.header', async () => {
			const p = file('in.csv', 'ticker;"px";"a;b";note\r\nA;1;2;x\nB;3;4;"y\r\nz"\n');
			const opts = { mapping: { symbol: 'ticker', 'pr"ice': 'px' }, delimiter: null };
			const m = await run(p, 'out', opts);
			assert.equal(m.source.delimiter, ';');
			assert.deepEqual(m.source.header, ['ticker', 'px', 'a;b', 'note']);
			assert.deepEqual(m.columns, ['symbol', 'pr"ice', 'a;b', 'note']);
			assert.deepEqual(text(readOutput(path.join(tmp, 'out'))), {
				'A.csv': 'symbol;"pr""ice";"a;b";note\r\nA;1;2;x\n',
				'B.csv': 'symbol;"pr""ice";"a;b";note\r\nB;3;4;"y\r\nz"\n',
				'_manifest.json': fs.readFileSync(path.join(tmp, 'out', '_manifest.json'), 'latin1'),
			});
		});

		for (const [delim, name] of [
			[',', 'comma'],
			[';', 'semicolon'],
			['\t', 'tab'],
			['|', 'pipe'],
		]) {
			it(`sniffs the ${name} delimiter and keeps the input's extension`, async () => {
				const d = delim;
				const ext = d === '\t' ? '.tsv' : '.csv';
				const content = `symbol${d}price${d}"x${d}y"\nA${d}1${d}2\nB${d}"3,5"${d}4\n"A"${d}5${d}6\n`;
				const p = file(`in${ext}`, content);
				const m = await run(p, 'out', { delimiter: null });
				assert.equal(m.source.delimiter, d);
				const ref = reference(b(content), { delimiter: d, ext });
				assertMatchesReference(path.join(tmp, 'out'), ref, { input: p, partitionBy: ['symbol'] }, m);
				assert.ok(fs.existsSync(path.join(tmp, 'out', `A${ext}`)));
			});
		}
	});

	describe('keys', () => {
		it('date(timestamp) partitions by trading day and rejects values that are not dates', async () => {
			const content = [
				'timestamp,symbol,price,qty\n',
				'2024-03-15T13:30:00Z,A,10,100\n', // 2
				'yesterday,A,10,100\n', // 3
				'2024-03-15T20:00:00.000Z,B,5,10\n', // 4
				',A,1,1\n', // 5
				'2024-03-18T13:30:00Z,A,12,300\n', // 6
				'15/03/2024,A,1,1\n', // 7
			].join('');
			const p = file('in.csv', content);
			const partitionBy = ['symbol', 'date(timestamp)'];
			const m = await run(p, 'out', { partitionBy, chunkSize: 2, workers: 2 });
			const ref = reference(b(content), { delimiter: ',', partitionBy });
			assertMatchesReference(path.join(tmp, 'out'), ref, { input: p, partitionBy }, m);
			assert.deepEqual(
				m.partitions.map((x) => [x.key, x.file]),
				[
					[['A', '2024-03-15'], 'A+2024-03-15.csv'],
					[['B', '2024-03-15'], 'B+2024-03-15.csv'],
					[['A', '2024-03-18'], 'A+2024-03-18.csv'],
				],
			);
			assert.deepEqual(
				ref.rejects.map((r) => r.line),
				[3, 5, 7],
			);
		});

		it('orders filter: only ordered keys kept, order keys with no rows listed with rows 0 and file null', async () => {
			const content = 'ticker,n\nA,1\nB,2\nC,3\nA,4\nb,5\nA,1,2\n';
			const p = file('in.csv', content);
			// The same mapping applies to the orders file; values match exactly (case counts).
			const orders = 'id,ticker,qty\n1,A,5\n2,NOTRADES,1\n3,A,7\n4,B,1\n5,"Z,z",1\n';
			const o = file('orders.csv', orders);
			const mapping = { symbol: 'ticker' };
			for (const [workers, chunkSize] of [
				[1, 1000],
				[2, 1],
			]) {
				const out = `out-${workers}`;
				const m = await run(p, out, { mapping, ordersFile: o, workers, chunkSize });
				const ref = reference(b(content), { delimiter: ',', mapping, orders: b(orders) });
				assertMatchesReference(path.join(tmp, out), ref, { input: p, partitionBy: ['symbol'], ordersPath: o }, m);
				assert.equal(m.rowsFilteredOut, 2);
				assert.equal(m.rowsRejected, 1);
				assert.deepEqual(m.orders?.keys, 4);
				assert.deepEqual(
					m.partitions.map((x) => [x.key[0], x.file, x.rows]),
					[
						['A', 'A.csv', 2],
						['B', 'B.csv', 1],
						['NOTRADES', null, 0],
						['Z,z', null, 0],
					],
				);
			}
		});

		it('orders with date(COL): the orders file holds COL, its values taken to the day', async () => {
			const content = 'symbol,timestamp\nA,2024-03-15T10:00:00Z\nA,2024-03-16T10:00:00Z\n';
			const orders = 'symbol,timestamp\nA,2024-03-16T23:00:00Z\nA,2024-03-17\n';
			const p = file('in.csv', content);
			const o = file('orders.csv', orders);
			const partitionBy = ['symbol', 'date(timestamp)'];
			const m = await run(p, 'out', { partitionBy, ordersFile: o });
			const ref = reference(b(content), { delimiter: ',', partitionBy, orders: b(orders) });
			assertMatchesReference(path.join(tmp, 'out'), ref, { input: p, partitionBy, ordersPath: o }, m);
			assert.deepEqual(
				m.partitions.map((x) => [x.key, x.rows]),
				[
					[['A', '2024-03-16'], 1],
					[['A', '2024-03-17'], 0],
				],
			);
		});

		it('hostile keys stay inside the folder, are safe on every OS and round-trip through the manifest', async () => {
			const keys = [
				'../x',
				'/abs',
				'C:\\x',
				'CON',
				'con.txt',
				'a:b',
				'',
				'k'.repeat(300),
				'AAPL',
				'aapl',
				'.hidden',
				'_x',
				'trailing. ',
				'..',
				'.',
				'nul',
				'LPT1.txt',
				'a/b\\c*d?e"f<g>h|i',
				'x'.repeat(200) + 'é'.repeat(40),
				'\u0000',
				'~empty',
				'_manifest',
				'_rejects',
				'日本',
			];
			const content = `symbol,n\n${[...keys, ...keys].map((k, i) => `"${k.replace(/"/g, '""')}",${i}\n`).join('')}`;
			const bytes = Buffer.from(content, 'utf8');
			const p = file('in.csv', bytes);
			const outDir = path.join(tmp, 'out');
			const m = await run(p, 'out', { workers: 2, chunkSize: 3 });
			assertMatchesReference(outDir, reference(bytes, { delimiter: ',' }), { input: p, partitionBy: ['symbol'] }, m);
			assert.deepEqual(fs.readdirSync(tmp).sort(), ['in.csv', 'out'], 'nothing written outside the output folder');
			assert.equal(m.partitions.length, keys.length);
			const lower = new Set<string>();
			for (const part of m.partitions) {
				const name = part.file as string;
				assert.ok(isInside(outDir, path.join(outDir, name)), `${name} inside`);
				assert.match(
					name,
					/^[A-Za-z0-9%~+][A-Za-z0-9.%~+_-]*\.csv$/,
					`${name}: portable characters, no leading _ or .`,
				);
				assert.ok(Buffer.byteLength(name) <= 124, `${name}: at most 120 bytes before the extension`);
				const stem = name.split('.')[0];
				assert.doesNotMatch(stem, /^(CON|PRN|AUX|NUL|COM[1-9]|LPT[1-9])$/i, `${name}: not a Windows device`);
				assert.ok(!lower.has(name.toLowerCase()), `${name}: unique ignoring case`);
				lower.add(name.toLowerCase());
				// Round trip: the file named for a key holds exactly that key's records.
				const rows = parse(fs.readFileSync(path.join(outDir, name)), { from_line: 2 }) as string[][];
				assert.equal(rows.length, 2, `${name} rows`);
				for (const r of rows) assert.equal(r[0], part.key[0], `${name} holds ${JSON.stringify(part.key[0])}`);
			}
			assert.deepEqual(
				m.partitions.map((x) => x.key[0]),
				keys,
				'keys in order of first appearance',
			);
			const names = Object.fromEntries(m.partitions.map((x) => [x.key[0], x.file]));
			assert.equal(names.AAPL, 'AAPL.csv');
			assert.equal(names.aapl, 'aapl~2.csv');
			assert.equal(names.CON, 'CON~.csv');
			assert.equal(names['../x'], '%2E.%2Fx.csv');
			assert.equal(names[''], '~empty.csv');
			assert.equal(names._manifest, '%5Fmanifest.csv');
		});

		it('keys that are not valid UTF-8 get keyHex and a percent-encoded name', async () => {
			const bytes = Buffer.concat([b('symbol,n\n'), Buffer.from([0xff, 0x41]), b(',1\n')]);
			const p = file('in.csv', bytes);
			const m = await run(p, 'out');
			assert.deepEqual(m.partitions[0].key, ['\ufffdA']);
			assert.deepEqual(m.partitions[0].keyHex, ['ff41']);
			assert.equal(m.partitions[0].file, '%FFA.csv');
			assertMatchesReference(path.join(tmp, 'out'), reference(bytes, { delimiter: ',' }), {
				input: p,
				partitionBy: ['symbol'],
			});
		});
	});

	describe('encoding, sniffing, progress, inspectHeader', () => {
		it('bytes that are not valid UTF-8 pass through unchanged by default and stop the run under strictUtf8', async () => {
			const bytes = Buffer.concat([b('symbol,note\nA,ok\nA,'), Buffer.from([0xc3, 0x28]), b('\nB,fine\n')]);
			const p = file('in.csv', bytes);
			const m = await run(p, 'out');
			assertMatchesReference(
				path.join(tmp, 'out'),
				reference(bytes, { delimiter: ',' }),
				{
					input: p,
					partitionBy: ['symbol'],
				},
				m,
			);
			const before = snapshot(path.join(tmp, 'out'));
			const e = await expectSweepError(run(p, 'out', { strictUtf8: true, chunkSize: 1 }), 'invalid-utf8');
			assert.equal(e.exitCode, 1);
			assert.equal(e.details.line, 3);
			assertUntouched('out', before);
		});

		it('sniffs past delimiters inside quoted header names', async () => {
			const p = file('in.csv', '"a,b,c";symbol;"d,e"\n"1,2";A;x\n3;B;y\n');
			const m = await run(p, 'out', { delimiter: null });
			assert.equal(m.source.delimiter, ';');
			assert.deepEqual(m.source.header, ['a,b,c', 'symbol', 'd,e']);
			assert.equal(m.rowsWritten, 2);
		});

		it('takes a given delimiter over sniffing', async () => {
			const p = file('in.csv', 'symbol;x,y\nA;1,2\n');
			const m = await run(p, 'out', { delimiter: ';' });
			assert.deepEqual(m.columns, ['symbol', 'x,y']);
			assert.equal(fs.readFileSync(path.join(tmp, 'out', 'A.csv'), 'latin1'), 'symbol;x,y\nA;1,2\n');
		});

		it('reports progress that only grows and stays within the file', async () => {
			const lines = ['symbol,n', ...Array.from({ length: 20_000 }, (_, i) => `S${i % 7},${i}`)];
			const p = file('in.csv', `${lines.join('\n')}\n`);
			const seen: ExtractProgress[] = [];
			const m = await extract(
				{ input: p, outDir: path.join(tmp, 'out'), workers: 2, chunkSize: 100 },
				{ onProgress: (pr) => seen.push({ ...pr }) },
			);
			assert.equal(m.rowsRead, 20_000);
			for (let i = 1; i < seen.length; i++) {
				assert.ok(seen[i].bytesRead >= seen[i - 1].bytesRead, 'bytesRead grows');
				assert.ok(seen[i].rowsRead >= seen[i - 1].rowsRead, 'rowsRead grows');
			}
			for (const pr of seen) {
				assert.equal(pr.totalBytes, fs.statSync(p).size);
				assert.ok(pr.bytesRead <= pr.totalBytes && pr.rowsRead <= 20_000);
			}
		});

		it('takes workers and chunk size from a pending configuration; a rejected one stops the run, nothing written', async () => {
			const lines = ['symbol,n', ...Array.from({ length: 5000 }, (_, i) => `S${i % 5},${i}`)];
			const p = file('in.csv', `${lines.join('\n')}\n`);
			let settle: (c: { workers: number; chunkSize: number }) => void = () => undefined;
			const pendingConfig = new Promise<{ workers: number; chunkSize: number }>((resolve) => {
				settle = resolve;
			});
			const run = extract({ input: p, outDir: path.join(tmp, 'out'), pendingConfig });
			setTimeout(() => settle({ workers: 2, chunkSize: 100 }), 50);
			const m = await run;
			assert.deepEqual([m.config.workers, m.config.chunkSize, m.rowsWritten], [2, 100, 5000]);
			const reference = await extract({ input: p, outDir: path.join(tmp, 'ref'), workers: 1, chunkSize: 5000 });
			const [a, b] = [snapshot(path.join(tmp, 'ref')), snapshot(path.join(tmp, 'out'))];
			a.delete('_manifest.json');
			b.delete('_manifest.json');
			assert.equal(diffSnapshots(a, b), '', 'the same partition files as a run given its figures up front');
			assert.equal(reference.rowsWritten, 5000);

			const before = await previousOutput('prev');
			const failed = extract({
				input: p,
				outDir: path.join(tmp, 'prev'),
				pendingConfig: Promise.reject(new SweepError('usage', 'workers must be a positive integer (got 0).')),
			});
			await expectSweepError(failed, 'usage');
			assertUntouched('prev', before);
		});

		it('inspectHeader gives the header, the sniffed delimiter and a few sample records', async () => {
			const p = file('in.csv', '\xef\xbb\xbfticker;"px";note\r\nA;1;"x\r\ny"\r\nB;2;z\r\n');
			const h = await inspectHeader(p);
			assert.deepEqual(h.header, ['ticker', 'px', 'note']);
			assert.equal(h.delimiter, ';');
			assert.deepEqual(h.sample.slice(0, 2), [
				['A', '1', 'x\r\ny'],
				['B', '2', 'z'],
			]);
			await expectSweepError(inspectHeader(file('e.csv', '')), 'input-empty');
			await expectSweepError(inspectHeader(path.join(tmp, 'none.csv')), 'input-missing');
			// The run's own input checks: a folder, a file under /proc (its size means nothing).
			assert.match((await expectSweepError(inspectHeader(tmp), 'input-missing')).message, /is a folder/);
			const proc = await expectSweepError(inspectHeader('/proc/self/status'), 'input-empty');
			assert.match(proc.message, /\/proc or \/sys/);
			assert.equal(defaultOutDir(p), path.join(tmp, 'processed', 'in'));
			// Always under the input's own folder, never `.`/`..` (a hostile campaign: `n/.zst` went to the parent's
			// `processed/n` and replaced n.csv's output; `..csv` named `processed` itself).
			for (const [name, want] of [
				['t.csv.gz', 't'],
				['T.TSV.ZST', 'T'],
				['.gz', '.gz'],
				['.zst', '.zst'],
				['..csv', '..csv'],
				['.csv', '.csv'],
				['..csv.gz', '..csv'],
				['a.b.csv', 'a.b'],
			])
				assert.equal(defaultOutDir(path.join(tmp, 'n', name)), path.join(tmp, 'n', 'processed', want), name);
		});
	});

	describe('stats', () => {
		it('first/last timestamp, min/max price, quantity and VWAP per partition, after mapping', async () => {
			const content = [
				'ts,sym,px,size,other\n',
				'2024-03-15T13:30:00Z,A,10,100,x\n',
				'2024-03-15T13:31:00Z,B,5,10,x\n',
				'2024-03-15T13:32:00Z,A,12,300,x\n',
				'2024-03-15T13:33:00Z,A,11,100,x\n',
			].join('');
			const p = file('in.csv', content);
			const mapping = { timestamp: 'ts', symbol: 'sym', price: 'px', quantity: 'size' };
			for (const [workers, chunkSize] of [
				[1, 1000],
				[2, 1],
			]) {
				const m = await run(p, `out-${workers}`, { mapping, workers, chunkSize });
				const a = m.partitions[0].stats;
				assert.equal(a.firstTimestamp, '2024-03-15T13:30:00Z');
				assert.equal(a.lastTimestamp, '2024-03-15T13:33:00Z');
				assert.equal(a.minPrice, 10);
				assert.equal(a.maxPrice, 12);
				assert.equal(a.quantity, 500);
				assert.ok(Math.abs((a.vwap as number) - 11.4) < 1e-9, `vwap ${a.vwap}`);
				assert.equal(a.notional, 5700, 'Σ price × quantity, kept so that an append merges VWAP exactly');
				assert.equal(a.pricedQuantity, 500);
				assert.deepEqual(m.partitions[1].stats, {
					firstTimestamp: '2024-03-15T13:31:00Z',
					lastTimestamp: '2024-03-15T13:31:00Z',
					minPrice: 5,
					maxPrice: 5,
					quantity: 10,
					vwap: 5,
					notional: 50,
					pricedQuantity: 10,
				});
			}
			const plain = await run(file('plain.csv', 'symbol,n\nA,1\n'), 'plain');
			assert.deepEqual(plain.partitions[0].stats, {}, 'no stats columns, no stats');
			const qty = await run(file('qty.csv', 'symbol,qty\nA,1\nA,2\n'), 'qty');
			assert.deepEqual(qty.partitions[0].stats, { quantity: 3 }, 'qty counts as quantity');
		});

		it("prices and quantities in every form: each one's value is Number()'s of its trimmed text", async () => {
			// The workers parse numbers from the bytes (chunkProcessor.ts parseNumber) and fall back to Number() for
			// anything unusual; either way a value must equal Number(text.trim()), and text that is not a number
			// (or is empty) must count as no value.
			const forms = ['1.', '.5', '-.5', '+3', '-0', '007', '1e5', ' 12 ', '1.2.3', '12345678901234567'];
			forms.push('123456789012345.5', '0.1234567890123456789012345', '1.25', '-187.23', '.', '-', '+', 'abc');
			forms.push('0x10', '', '9007199254740993', '3.14159265358979', '100000000000000000000000', '5.000', '-0.0');
			const rows = forms.map((v, i) => `S${i},${v},${v}\n`).join('');
			const p = file('forms.csv', `symbol,price,qty\n${rows}`);
			for (const [workers, chunkSize] of [
				[1, 1000],
				[2, 3],
			]) {
				const m = await run(p, `forms-${workers}`, { workers, chunkSize });
				for (const [i, v] of forms.entries()) {
					const n = v.trim() === '' ? Number.NaN : Number(v);
					// Compared as the manifest file (JSON) holds them: -0 is 0. The VWAP (notional / priced quantity) is not
					// checked; the notional and priced quantity are kept only when the latter is not 0.
					const want = Number.isNaN(n)
						? {}
						: n === 0
							? { minPrice: 0, maxPrice: 0, quantity: 0 }
							: { minPrice: n, maxPrice: n, quantity: n, notional: n * n, pricedQuantity: n };
					const got = m.partitions.find((part) => part.key[0] === `S${i}`)?.stats as
						| Record<string, unknown>
						| undefined;
					assert.ok(got, `${JSON.stringify(v)}: its partition`);
					const { vwap: _vwap, ...rest } = got;
					assert.deepEqual(JSON.parse(JSON.stringify(rest)), want, `${JSON.stringify(v)} (${workers} workers)`);
				}
			}
		});
	});

	describe('big records and limits', () => {
		it('a record longer than any read buffer still works (3 MB quoted field with line breaks)', async () => {
			const big = `"${'x'.repeat(1_000_000)}\n${'y,'.repeat(500_000)}\r\n${'""'.repeat(250_000)}"`;
			const content = `symbol,blob\nA,1\nB,${big}\r\nA,${big}\n`;
			const bytes = b(content);
			const p = file('in.csv', bytes);
			for (const [workers, chunkSize] of [
				[1, 1],
				[2, 1000],
			]) {
				const m = await run(p, `out-${workers}`, { workers, chunkSize });
				assertMatchesReference(
					path.join(tmp, `out-${workers}`),
					reference(bytes, { delimiter: ',' }),
					{
						input: p,
						partitionBy: ['symbol'],
					},
					m,
				);
			}
		});

		it('a record over the byte cap stops the run (record-too-large, exit 1) naming its line, output untouched', async () => {
			const before = await previousOutput('out');
			const content = `symbol,n\nA,1\nB,2\nC,"${'z'.repeat(5000)}"\nD,4\n`;
			const p = file('in.csv', content);
			const e = await expectSweepError(run(p, 'out', { maxChunkBytes: 1024, chunkSize: 1 }), 'record-too-large');
			assert.equal(e.exitCode, 1);
			assert.equal(e.details.line, 4);
			assert.match(e.message, /\b4\b/, 'the message names line 4');
			assertUntouched('out', before);
		});

		it('an early stray quote fails fast naming the line where it opened', async () => {
			const lines = ['symbol,n', 'A,1', 'B,"oops', ...Array.from({ length: 400 }, (_, i) => `R${i},${i}`)];
			const p = file('in.csv', `${lines.join('\n')}\n`);
			const e = await expectSweepError(run(p, 'out', { maxChunkBytes: 2048, chunkSize: 10 }), 'record-too-large');
			assert.equal(e.details.line, 3);
			assert.equal(fs.existsSync(path.join(tmp, 'out')), false);
			assert.deepEqual(leftovers(path.join(tmp, 'out')), []);
		});

		it('max-rejects: more rejects than allowed stops the run (exit 1), output untouched', async () => {
			const before = await previousOutput('out');
			const p = file('in.csv', 'symbol,n\nA,1\nB\nC\nD\nE,5\n');
			const e = await expectSweepError(run(p, 'out', { maxRejects: 2, chunkSize: 1, workers: 2 }), 'max-rejects');
			assert.equal(e.exitCode, 1);
			assertUntouched('out', before);
			// It names the reject over the limit (the third, line 5), whatever the chunk size: with one chunk, not the last.
			assert.match(e.message, /over the limit on line 5: expected 2 fields, found 1/);
			const more = file('more.csv', 'symbol,n\nA,1\nB\nC\nD\nE,5\nF\n');
			const whole = await expectSweepError(
				run(more, 'out', { maxRejects: 2, chunkSize: 1000, workers: 1 }),
				'max-rejects',
			);
			assert.match(whole.message, /over the limit on line 5: /);
			const ok = await run(p, 'out2', { maxRejects: 3 });
			assert.equal(ok.rowsRejected, 3, 'exactly at the limit is fine');
		});

		it('max-partitions: more partitions than allowed stops the run (exit 1), output untouched', async () => {
			const before = await previousOutput('out');
			const p = file('in.csv', 'symbol,n\nA,1\nB,2\nC,3\nA,4\n');
			const e = await expectSweepError(run(p, 'out', { maxPartitions: 2 }), 'max-partitions');
			assert.equal(e.exitCode, 1);
			// It names the file, the key that would be one too many and the lines of the chunk it is on.
			assert.match(e.message, /in\.csv: more than 2 partitions — key "C", on one of lines \d+–\d+, would be number 3/);
			assertUntouched('out', before);
			const ok = await run(p, 'out2', { maxPartitions: 3 });
			assert.equal(ok.partitions.length, 3);
		});
	});

	describe('the output folder', () => {
		it('refuses an existing non-empty folder Sweep did not write (output-foreign, exit 2) unless force', async () => {
			const out = path.join(tmp, 'out');
			fs.mkdirSync(out);
			fs.writeFileSync(path.join(out, 'mine.txt'), 'precious');
			const p = file('in.csv', 'symbol,n\nA,1\n');
			const e = await expectSweepError(run(p, 'out'), 'output-foreign');
			assert.equal(e.exitCode, 2);
			assert.deepEqual(fs.readdirSync(out), ['mine.txt']);
			assert.equal(fs.readFileSync(path.join(out, 'mine.txt'), 'utf8'), 'precious');
			await run(p, 'out', { force: true });
			assert.deepEqual(fs.readdirSync(out).sort(), ['A.csv', '_manifest.json'], 'force replaces the folder');
			assert.deepEqual(leftovers(out), []);
		});

		it('accepts an existing empty folder without force', async () => {
			fs.mkdirSync(path.join(tmp, 'out'));
			await run(file('in.csv', 'symbol,n\nA,1\n'), 'out');
			assert.deepEqual(fs.readdirSync(path.join(tmp, 'out')).sort(), ['A.csv', '_manifest.json']);
		});

		it("re-running over Sweep's own output replaces it entirely (no stale partitions or rejects)", async () => {
			const out = path.join(tmp, 'out');
			await run(file('one.csv', 'symbol,n\nA,1\nB,2\nB\n'), 'out');
			assert.deepEqual(fs.readdirSync(out).sort(), ['A.csv', 'B.csv', '_manifest.json', '_rejects.csv']);
			const m = await run(file('two.csv', 'symbol,n\nC,3\n'), 'out');
			assert.deepEqual(fs.readdirSync(out).sort(), ['C.csv', '_manifest.json']);
			assert.equal(m.rejects, null);
			assert.deepEqual(leftovers(out), []);
		});

		it('writes to <input folder>/processed/<input name> by default', async () => {
			const p = file('trades.csv', 'symbol,n\nA,1\n');
			const m = await extract({ input: p, workers: 1, chunkSize: 10 });
			const out = path.join(tmp, 'processed', 'trades');
			assert.equal(path.resolve(m.outDir as string), out);
			assert.deepEqual(fs.readdirSync(out).sort(), ['A.csv', '_manifest.json']);
		});

		it('recovers at start: removes a stale .sweep-tmp-* sibling and restores a lone .sweep-old-* folder', async () => {
			const out = path.join(tmp, 'out');
			// A run killed mid-way: its temporary folder holds a lock naming it, untouched for over 10 s.
			const dead = `${out}.sweep-tmp-5a1e5a1e5a1e`;
			fs.mkdirSync(dead);
			fs.writeFileSync(`${dead}/x.csv`, 'x');
			fs.writeFileSync(`${dead}/.sweep-lock`, JSON.stringify({ id: 'w', host: 'elsewhere', pid: 1, since: '' }));
			const long = new Date(Date.now() - 60_000);
			fs.utimesSync(`${dead}/.sweep-lock`, long, long);
			await run(file('in.csv', 'symbol,n\nA,1\n'), 'out');
			assert.deepEqual(leftovers(out), [], 'stale temporary folder cleaned up');
			// A crash between the two renames leaves <out> missing and <out>.sweep-old-<id> holding the old output.
			const before = snapshot(out);
			fs.renameSync(out, `${out}.sweep-old-c4a5edc4a5ed`);
			// A run that fails during the run leaves the folder as it was before it: the restored old output.
			const e = await expectSweepError(
				run(file('two.csv', 'symbol,n\nB,1\nC,2\n'), 'out', { maxPartitions: 1 }),
				'max-partitions',
			);
			assert.equal(e.exitCode, 1);
			assert.ok(fs.existsSync(out), 'the old output was put back');
			assertUntouched('out', before);
		});
	});
});
