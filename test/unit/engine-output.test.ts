import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { extract } from '../../src/engine';
import { partitionFile } from '../../src/engine/layout';
import type { Manifest } from '../../src/engine/types';
import { requireCli, runCli } from './helpers/cli';
import { assertMatchesReference, readOutput } from './helpers/compare';
import { expectSweepError, generateTrades } from './helpers/engine';
import { makeTmp, removeTmp } from './helpers/fsutil';
import { reference } from './reference';

/**
 * Output for other engines (README "Output for other engines"): hive layout, time grains and hash buckets, capped
 * files, column selection. The random cases run in engine-property.test.ts; here: the bad input of the contract,
 * a realistic file at several worker counts and chunk sizes, and DuckDB reading a hive output back.
 */

const b = (s: string) => Buffer.from(s, 'utf8');

describe('engine: output for other engines', function () {
	this.timeout(300_000);
	let dir: string;
	before(() => {
		dir = makeTmp('sweep-output-');
	});
	after(() => removeTmp(dir));

	it('refuses bad options with exit 2 and one line, before writing anything', async () => {
		requireCli();
		const input = path.join(dir, 'bad.csv');
		fs.writeFileSync(input, 'symbol,ts,price\nA,2024-03-15T10:00:00Z,1\n');
		const cases: [string[], RegExp][] = [
			[['--partition-by', 'foo(ts)'], /foo\(ts\): unknown function foo\(\)/],
			[['--partition-by', 'hash(symbol, 0)'], /N must be a whole number from 1 to 100,000 \(got 0\)/],
			[['--partition-by', 'hash(symbol, x)'], /N must be a whole number from 1 to 100,000 \(got x\)/],
			[['--partition-by', 'hash(symbol)'], /hash needs a bucket count/],
			[['--partition-by', 'date(ts) as a/b'], /"a\/b" is not a valid name/],
			[['--partition-by', 'date(ts) as d,month(ts) as D'], /are both named D/],
			[['--partition-by', 'date(nope)'], /Partition column "nope" is not in the header[^\n]*"price"\.\n/],
			[
				['--partition-by', 'date(ts) as'],
				/"date\(ts\) as" is not in the header.* write FN\(COL\) or FN\(COL\) as NAME/,
			],
			[
				['--partition-by', 'date(ts'],
				/"date\(ts" is not in the header.* with FN one of date, year, month, hour, or hash/,
			],
			[['--max-rows-per-file', '0'], /--max-rows-per-file "0" is not a whole number >= 1/],
			[['--max-rows-per-file', '1.5'], /--max-rows-per-file "1.5" is not a whole number >= 1/],
			[['--max-rows-per-file', '-3'], /--max-rows-per-file "-3" is not a whole number >= 1/],
			[['--columns', 'price,nope'], /Column "nope" in --columns is not in the header/],
			[['--columns', 'price,price'], /--columns "price,price": names column "price" twice/],
			[['--columns', 'price,'], /--columns "price,": has an empty column name/],
			[['--layout', 'tree'], /--layout "tree" is not flat or hive/],
			[['--layout', 'hive', '--columns', 'symbol'], /No columns are left to write/],
			[['--layout', 'hive', '--partition-by', 'symbol,date(ts) as price'], /also hold a column "price"/],
		];
		for (const [args, message] of cases) {
			const out = path.join(dir, 'never');
			const r = await runCli(['extract', input, '--out', out, ...args]);
			assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
			assert.match(r.stderr, message, args.join(' '));
			assert.match(r.stderr, /^sweep: error: [^\n]+\n$/, `one line: ${JSON.stringify(r.stderr)}`);
			assert.equal(r.stdout, '');
			assert.ok(!fs.existsSync(out), `${args.join(' ')}: nothing written`);
		}
		// The same problems through the engine's API are SweepErrors that exit 2.
		for (const opts of [
			{ partitionBy: ['hash(symbol, 0)'] },
			{ maxRowsPerFile: 0 },
			{ columns: ['nope'] },
			{ layout: 'tree' as 'hive' },
		]) {
			const e = await expectSweepError(
				extract({ input, outDir: path.join(dir, 'never'), workers: 1, chunkSize: 10, ...opts }),
				Object.hasOwn(opts, 'columns') ? 'missing-column' : 'usage',
			);
			assert.equal(e.exitCode, 2);
			assert.ok(!fs.existsSync(path.join(dir, 'never')));
		}
	});

	it("takes the input's extension, .csv and .tsv in lower case, other extensions as they are", async () => {
		const cases: [string, string][] = [
			['T.CSV', 'A.csv'],
			['T.Tsv', 'A.tsv'],
			['t.csv', 'A.csv'],
			['T.DAT', 'A.DAT'],
			['noext', 'A.csv'],
		];
		for (const [name, want] of cases) {
			const input = path.join(dir, name);
			fs.writeFileSync(input, name.toLowerCase().endsWith('.tsv') ? 'symbol\tn\nA\t1\n' : 'symbol,n\nA,1\n');
			const m = await extract({ input, outDir: path.join(dir, `ext-${name}`), workers: 1, chunkSize: 10 });
			assert.equal(m.partitions[0].file, want, name);
		}
		// Compressed: the suffix goes first (gzip from Node's zlib).
		const gz = path.join(dir, 'Y.CSV.GZ');
		fs.writeFileSync(gz, zlib.gzipSync('symbol,n\nA,1\n'));
		const m = await extract({ input: gz, outDir: path.join(dir, 'ext-gz'), workers: 1, chunkSize: 10 });
		assert.equal(m.partitions[0].file, 'A.csv');
	});

	it('names parts in one place: flat and hive, with and without a cap', () => {
		assert.equal(partitionFile('flat', 'AAPL', null, '.csv'), 'AAPL.csv');
		assert.equal(partitionFile('flat', 'AAPL', 1, '.csv'), 'AAPL-00001.csv');
		assert.equal(
			partitionFile('hive', 'symbol=AAPL/day=2024-03-15', null, '.csv'),
			'symbol=AAPL/day=2024-03-15/data.csv',
		);
		assert.equal(partitionFile('hive', 'symbol=AAPL', 12345, '.tsv'), 'symbol=AAPL/part-12345.tsv');
	});

	it('writes the same hive output, capped and with a selection, for any worker count and chunk size', async () => {
		const input = path.join(dir, 'trades.csv');
		generateTrades(input, 20_000);
		const partitionBy = ['symbol', 'date(timestamp)'];
		const opts = { layout: 'hive' as const, maxRowsPerFile: 97, columns: ['price', 'timestamp', 'symbol'] };
		const ref = reference(fs.readFileSync(input), { delimiter: ',', partitionBy, ...opts });
		assert.ok(ref.files.size > 100, `${ref.files.size} files`);
		let first: Map<string, Buffer> | null = null;
		for (const [workers, chunkSize] of [
			[1, 1_000_000],
			[2, 7],
			[3, 1000],
		]) {
			const outDir = path.join(dir, `hive-${workers}-${chunkSize}`);
			const m = await extract({ input, outDir, workers, chunkSize, partitionBy, ...opts });
			assertMatchesReference(outDir, ref, { input, partitionBy }, m);
			assert.deepEqual(m.columns, ['price', 'timestamp']);
			assert.equal(m.layout, 'hive');
			assert.deepEqual(m.partitionNames, ['symbol', 'timestamp_date']);
			const files = readOutput(outDir);
			files.delete('_manifest.json');
			if (first === null) first = files;
			else assert.deepEqual([...files.keys()], [...first.keys()]);
		}
	});

	it("hive with the key column in the middle: quoted fields at both runs' edges keep their bytes, with and without the scan", async () => {
		// The key column between two runs of kept columns (the hive layout's usual shape, which the worker cuts in two
		// pieces per record): quoted and plain records mixed, so that both the scanner's records and the byte loop's
		// (records with quotes) take that path; CRLF, and a last record without a line ending.
		const input = path.join(dir, 'middle.csv');
		const rows = [
			'"a,1",AAPL,"x""y",2',
			'b2,AAPL,plain,3',
			'"c3",MSFT,n,"4"',
			'e5,MSFT,"",6',
			...Array.from({ length: 40 }, (_, i) => `r${i},${i % 3 ? 'AAPL' : 'MSFT'},v${i},${i}`),
			'"z""9",AAPL,"q",5',
		];
		fs.writeFileSync(input, b(`id,symbol,note,v\r\n${rows.join('\r\n')}`));
		const ref = reference(fs.readFileSync(input), { delimiter: ',', partitionBy: ['symbol'], layout: 'hive' });
		const aapl = ref.files.get('symbol=AAPL/data.csv');
		assert.ok(aapl?.toString().startsWith('id,note,v\r\n"a,1","x""y",2\r\nb2,plain,3\r\n'), String(aapl));
		assert.ok(aapl?.toString().endsWith('"z""9","q",5\r\n'), String(aapl));
		for (const [workers, chunkSize] of [
			[1, 1_000_000],
			[2, 1],
			[3, 5],
		]) {
			const outDir = path.join(dir, `middle-${workers}-${chunkSize}`);
			const m = await extract({ input, outDir, workers, chunkSize, partitionBy: ['symbol'], layout: 'hive' });
			assertMatchesReference(outDir, ref, { input, partitionBy: ['symbol'] }, m);
		}
	});

	it('DuckDB reads back every row and key value of a hive output with awkward values', async function () {
		let duck: typeof import('@duckdb/node-api');
		try {
			duck = require('@duckdb/node-api');
		} catch (e) {
			console.log(`      (skipped: @duckdb/node-api does not load here: ${(e as Error).message})`);
			this.skip();
		}
		const symbols = ['BRK/B', 'x=y', 'a b', '%41', 'é', '', 'AAPL', 'aapl', 'a.', 'q"x', '__HIVE_DEFAULT_PARTITION__'];
		const rows: string[][] = [];
		let csv = 'symbol,timestamp,price,note\n';
		symbols.forEach((s, i) => {
			for (let k = 0; k < 3; k++) {
				const ts = `2024-03-1${5 + k}T1${i % 10}:00:00Z`;
				const row = [s, ts, `${i}.${k}`, `n${i},${k}`];
				rows.push(row);
				const q = (v: string) => (/[",\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v);
				csv += `${row.map(q).join(',')}\n`;
			}
		});
		const input = path.join(dir, 'awkward.csv');
		fs.writeFileSync(input, b(csv));
		const outDir = path.join(dir, 'duck-out');
		const m: Manifest = await extract({
			input,
			outDir,
			workers: 2,
			chunkSize: 2,
			partitionBy: ['symbol', 'date(timestamp) as day'],
			layout: 'hive',
			maxRowsPerFile: 1,
		});
		assert.equal(m.rowsWritten, rows.length);
		const db = await duck.DuckDBInstance.create(':memory:');
		const conn = await db.connect();
		const glob = `${outDir.replaceAll("'", "''")}/**/*.csv`;
		const result = await conn.runAndReadAll(
			`SELECT symbol, day, timestamp, price, note FROM read_csv('${glob}', hive_partitioning=true, all_varchar=true, hive_types_autocast=false)`,
		);
		const got = result
			.getRows()
			.map((r) => r.map((v) => (v === null ? null : String(v))))
			.map((r) => JSON.stringify(r))
			.sort();
		const expected = rows
			.map(([s, ts, price, note]) => JSON.stringify([s === '' ? null : s, ts.slice(0, 10), ts, price, note]))
			.sort();
		assert.deepEqual(got, expected);
		conn.closeSync();
	});

	it('a hive value too long for a folder name is cut at a whole UTF-8 character: DuckDB still reads the dataset', async function () {
		let duck: typeof import('@duckdb/node-api');
		try {
			duck = require('@duckdb/node-api');
		} catch (e) {
			console.log(`      (skipped: @duckdb/node-api does not load here: ${(e as Error).message})`);
			this.skip();
		}
		const long = ['é'.repeat(60), `x${'é'.repeat(60)}`, `${'€'.repeat(40)}`, 'AAPL'];
		const input = path.join(dir, 'long-values.csv');
		fs.writeFileSync(input, `symbol,price\n${long.map((v, i) => `${v},${i}\n`).join('')}`);
		const outDir = path.join(dir, 'long-out');
		const m: Manifest = await extract({ input, outDir, workers: 1, chunkSize: 10, layout: 'hive' });
		assert.equal(m.rowsWritten, long.length);
		for (const p of m.partitions) {
			const folder = decodeURIComponent(String(p.file).split('/')[0].slice('symbol='.length));
			assert.ok(!folder.includes('\ufffd'), `${p.file} decodes to whole characters`);
			assert.ok(Buffer.from(folder, 'utf8').length <= 120, `${p.file} is short`);
		}
		const db = await duck.DuckDBInstance.create(':memory:');
		const conn = await db.connect();
		const glob = `${outDir.replaceAll("'", "''")}/**/*.csv`;
		const result = await conn.runAndReadAll(
			`SELECT symbol, count(*) AS n FROM read_csv('${glob}', hive_partitioning=true, all_varchar=true) GROUP BY ALL`,
		);
		const rows = result.getRows();
		assert.equal(rows.length, long.length);
		assert.ok(rows.some((r) => r[0] === 'AAPL'));
		conn.closeSync();
	});
});
