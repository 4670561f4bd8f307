import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { parse } from 'csv-parse/sync';
import { extract, type Manifest, SweepError } from '../../src/engine';
import { hasNativeZstd as hasZstd } from '../../src/engine/compression';
import { convertPartition, schemaElement } from '../../src/engine/parquet/convert';
import {
	type ColumnType,
	classify,
	decideTypes,
	F_BAD_UTF8,
	F_SEEN,
	mergeClassification,
	newClassification,
	parseDate,
	parseTimestamp,
	T_BOOL,
	T_DATE,
	T_DOUBLE,
	T_INT,
	T_TS_LOCAL,
	T_TS_UTC,
} from '../../src/engine/parquet/types';
import { parseOutputFormat, parseParquetCompression, parseParquetTypes } from '../../src/rules';
import { requireCli, runCli } from './helpers/cli';
import { expectSweepError, type GeneratorPrng, generateTrades, importGenerator } from './helpers/engine';
import { diffSnapshots, leftovers, makeTmp, removeTmp, snapshot } from './helpers/fsutil';

/** The generator's seedable PRNG (scripts/gen-trades.mjs), loaded from its ES module in before(). */
let mulberry32: GeneratorPrng['mulberry32'];
before(async () => {
	({ mulberry32 } = await importGenerator());
});

const bytes = (s: string) => Buffer.from(s, 'utf8');
const cls = (s: string) => classify(bytes(s), 0, bytes(s).length);

describe('parquet: option rules (src/rules/output.ts)', () => {
	it('accepts the words in any case, defaults when absent, refuses anything else in one sentence', () => {
		assert.deepEqual(parseOutputFormat(' Parquet '), { ok: true, value: 'parquet' });
		assert.deepEqual(parseOutputFormat(undefined), { ok: true, value: 'csv' });
		assert.deepEqual(parseParquetTypes(null), { ok: true, value: 'infer' });
		assert.deepEqual(parseParquetTypes('STRING'), { ok: true, value: 'string' });
		assert.deepEqual(parseParquetCompression(''), { ok: true, value: 'snappy' });
		assert.deepEqual(parseParquetCompression('zstd'), { ok: true, value: 'zstd' });
		assert.deepEqual(parseOutputFormat('xml'), { ok: false, problem: 'is not csv or parquet' });
		assert.deepEqual(parseParquetCompression(3), { ok: false, problem: 'is not snappy, zstd, gzip or none' });
	});

	it('the engine refuses a bad value as a usage error in the rule words', async () => {
		const e = await expectSweepError(
			extract({ input: 'nope.csv', workers: 1, chunkSize: 1, format: 'xml' as never }),
			'usage',
		);
		assert.equal(e.message, 'format "xml" is not csv or parquet');
	});
});

describe('parquet: type rules', () => {
	it('classifies each value by the documented rules', () => {
		const cases: [string, number][] = [
			['0', T_INT | T_DOUBLE],
			['-42', T_INT | T_DOUBLE],
			['9223372036854775807', T_INT | T_DOUBLE],
			['-9223372036854775808', T_INT | T_DOUBLE],
			['9223372036854775808', T_DOUBLE],
			['007', 0],
			['-0', T_DOUBLE],
			['+5', 0],
			['3.25', T_DOUBLE],
			['1e10', T_DOUBLE],
			['-1.5E-3', T_DOUBLE],
			['1e999', 0],
			['.5', 0],
			['5.', 0],
			['true', T_BOOL],
			['FALSE', T_BOOL],
			['True', T_BOOL],
			['tRue', 0],
			['yes', 0],
			['2024-02-29', T_DATE],
			['2023-02-29', 0],
			['2024-13-01', 0],
			['2024-03-11T13:30:00.123Z', T_TS_UTC],
			['2024-03-11 13:30:00+02:00', T_TS_UTC],
			['2024-03-11T13:30-0500', T_TS_UTC],
			['2024-03-11T13:30:00.123456', T_TS_LOCAL],
			['2024-03-11T13:30:00.1234567', 0],
			['2024-03-11T24:00:00', 0],
			['2024-03-11T13:30:00Q', 0],
			['AAPL', 0],
			['12:30', 0],
		];
		for (const [v, want] of cases) assert.equal(cls(v), want, v);
	});

	it('parses timestamps to exact microseconds, converting zones to UTC', () => {
		const us = (s: string) => {
			const t = parseTimestamp(bytes(s), 0, bytes(s).length)!;
			return BigInt(t.ms) * 1000n + BigInt(t.micros);
		};
		assert.equal(us('1970-01-01T00:00:00Z'), 0n);
		assert.equal(us('1970-01-01T00:00:00.000001Z'), 1n);
		assert.equal(us('1970-01-01T02:00:00+02:00'), 0n);
		assert.equal(us('1969-12-31T23:59:59.999999Z'), -1n);
		assert.equal(us('2024-03-11T13:30:18.230Z'), BigInt(Date.parse('2024-03-11T13:30:18.230Z')) * 1000n);
		assert.equal(us('0099-01-01T00:00:00Z'), BigInt(new Date('0099-01-01T00:00:00Z').getTime()) * 1000n);
		assert.equal(parseDate(bytes('1970-01-02'), 0, 10), 1);
		assert.equal(parseDate(bytes('0001-01-01'), 0, 10), -719162);
	});

	it('decides a column by all its values, whatever the order or grouping', () => {
		const values = [
			['1', '2', '', '3.5'],
			['7', 'true'],
			['2024-01-01T00:00:00Z', '2024-01-01T00:00:00'],
			['', ''],
		];
		const one = (col: number, vs: string[]) => {
			const c = newClassification(4);
			for (const v of vs) {
				c[2 * col] &= cls(v);
				c[2 * col + 1] |= F_SEEN;
			}
			return c;
		};
		const whole = newClassification(4);
		const parts: Int32Array[] = [];
		values.forEach((vs, col) => {
			const nonEmpty = vs.filter((v) => v !== '');
			mergeClassification(whole, one(col, nonEmpty));
			for (const v of nonEmpty.reverse()) parts.push(one(col, [v]));
		});
		const merged = newClassification(4);
		for (const p of parts.reverse()) mergeClassification(merged, p);
		assert.deepEqual(decideTypes(whole, 'infer'), ['double', 'string', 'string', 'string']);
		assert.deepEqual(decideTypes(merged, 'infer'), decideTypes(whole, 'infer'));
		assert.deepEqual(decideTypes(whole, 'string'), ['string', 'string', 'string', 'string']);
		const bad = newClassification(1);
		bad[1] |= F_BAD_UTF8;
		assert.deepEqual(decideTypes(bad, 'infer'), ['binary']);
		assert.deepEqual(decideTypes(bad, 'string'), ['binary']);
	});
});

// ---------------------------------------------------------------------------------------------------------------

/** A seeded generator of a typed CSV: every kind of column, quoting, empties, unicode, invalid UTF-8, rejects. */
function typedCsv(rows: number, seed: number): Buffer {
	const rnd = mulberry32(seed);
	const pick = <T>(a: T[]) => a[Math.floor(rnd() * a.length)];
	const keys = ['AAPL', 'MSFT', 'Ünï', 'a b', 'x/y', 'ZZ'];
	const notes = ['plain', 'with,comma', 'say "hi"', 'two\nlines', 'ünïcödé ✓', '', '""', ' spaced '];
	const lines: Buffer[] = [bytes('ticker,id,px,flag,day,ts,tsl,note,mixed,raw\r\n')];
	for (let i = 0; i < rows; i++) {
		const q = (v: string) => (/[,"\n\r]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v);
		const note = pick(notes);
		const fields = [
			pick(keys),
			rnd() < 0.1 ? '' : String(Math.floor((rnd() - 0.5) * 2 ** 40)),
			rnd() < 0.5 ? String(Math.floor(rnd() * 1000)) : (rnd() * 1000).toFixed(4),
			rnd() < 0.05 ? '' : pick(['true', 'false', 'TRUE']),
			`20${10 + Math.floor(rnd() * 15)}-0${1 + Math.floor(rnd() * 9)}-1${Math.floor(rnd() * 9)}`,
			new Date(Date.UTC(2024, 0, 1) + Math.floor(rnd() * 1e10)).toISOString(),
			`2024-03-1${Math.floor(rnd() * 9)} 0${Math.floor(rnd() * 9)}:30:0${Math.floor(rnd() * 9)}.${String(Math.floor(rnd() * 1e6)).padStart(6, '0')}`,
			note === '""' ? '""' : q(note),
			i === rows - 7 ? 'late-text' : String(i),
			'bytes',
		];
		let line = bytes(`${fields.join(',')}${i % 3 === 0 ? '\r\n' : '\n'}`);
		if (i === Math.floor(rows / 2))
			line = Buffer.concat([
				bytes('ZZ,1,2,true,2020-01-01,2020-01-01T00:00:00Z,'),
				bytes('2020-01-01 00:00:00,x,1,'),
				Buffer.from([0xff, 0xfe]),
				bytes('\n'),
			]);
		lines.push(line);
		if (i % 97 === 5) lines.push(bytes('AAPL,not,enough\n')); // rejected: field count
	}
	return Buffer.concat(lines);
}

/** Expected value of one CSV field (raw, as csv-parse gives it) for a column of the given type. */
function expected(type: string, v: string | Buffer, quotedEmpty: boolean): unknown {
	const t = Buffer.isBuffer(v) ? v.toString('latin1') : v;
	if (t === '') return type === 'string' && quotedEmpty ? '' : null;
	switch (type) {
		case 'int64':
			return BigInt(t);
		case 'double':
			return Number(t);
		case 'boolean':
			return t.toLowerCase() === 'true';
		case 'date':
			return t;
		case 'timestamp':
			return String(BigInt(Date.parse(t)) * 1000n);
		case 'timestamp_local': {
			const m = /^(.{19})(?:\.(\d+))?$/.exec(t)!;
			const frac = (m[2] ?? '').padEnd(6, '0');
			return String(BigInt(Date.parse(`${m[1].replace(' ', 'T')}Z`)) * 1000n + BigInt(frac));
		}
		case 'binary':
			return Buffer.from(t, 'latin1').toString('hex');
		default:
			return Buffer.from(t, 'latin1').toString('utf8');
	}
}

/** DuckDB SELECT list turning each column into a JS-comparable value. */
function duckSelect(m: Manifest): string {
	return m
		.parquet!.columns.map(({ name, type }) => {
			const c = `"${name.replaceAll('"', '""')}"`;
			if (type === 'timestamp' || type === 'timestamp_local') return `epoch_us(${c})::VARCHAR`;
			if (type === 'date') return `${c}::VARCHAR`;
			if (type === 'binary') return `lower(hex(${c}))`;
			return c;
		})
		.join(', ');
}

async function duckRows(file: string, m: Manifest): Promise<unknown[][]> {
	const { DuckDBInstance } = await import('@duckdb/node-api');
	const db = await DuckDBInstance.create(':memory:', { threads: '1' });
	const con = await db.connect();
	const r = await con.runAndReadAll(`SELECT ${duckSelect(m)} FROM read_parquet('${file.replaceAll("'", "''")}')`);
	const rows = r.getRowsJS() as unknown[][];
	con.closeSync();
	db.closeSync();
	return rows;
}

/** The CSV reference: every partition's records as fields (raw bytes as latin1), plus which fields were `""`. */
function csvPartition(file: string): { values: string[][]; quotedEmpty: boolean[][] } {
	const text = fs.readFileSync(file).toString('latin1');
	const records = parse(text, { raw: true, record_delimiter: ['\r\n', '\n'] }) as unknown as {
		record: string[];
		raw: string;
	}[];
	const values: string[][] = [];
	const quotedEmpty: boolean[][] = [];
	for (const { record, raw } of records.slice(1)) {
		values.push(record);
		// A field is `""` when the raw record has an empty quoted field at that position.
		const flags: boolean[] = [];
		let i = 0;
		for (let k = 0; k < record.length; k++) {
			flags.push(raw.startsWith('""', i) && record[k] === '');
			if (raw[i] === '"') {
				i++;
				while (i < raw.length) {
					if (raw[i] === '"' && raw[i + 1] === '"') i += 2;
					else if (raw[i] === '"') break;
					else i++;
				}
				i++;
			} else while (i < raw.length && raw[i] !== ',' && raw[i] !== '\n' && raw[i] !== '\r') i++;
			i++;
		}
		quotedEmpty.push(flags);
	}
	return { values, quotedEmpty };
}

function comparable(v: unknown): unknown {
	if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
	return v;
}

describe('parquet: round trip', function () {
	this.timeout(600_000);
	let tmp: string;
	before(() => {
		tmp = makeTmp('sweep-parquet-');
		fs.writeFileSync(path.join(tmp, 'typed.csv'), typedCsv(1200, 7));
		fs.writeFileSync(path.join(tmp, 'orders.csv'), 'symbol\nAAPL\nÜnï\nx/y\nNOPE\n');
	});
	after(() => removeTmp(tmp));

	for (const mode of ['infer', 'string'] as const) {
		it(`${mode}: DuckDB and hyparquet read every value and NULL as the CSV holds it, identical files for workers 1/2/3 × chunk sizes`, async () => {
			const input = path.join(tmp, 'typed.csv');
			const common = { input, mapping: { symbol: 'ticker' }, partitionBy: ['symbol'] };
			const csvOut = path.join(tmp, `csv-${mode}`);
			const csvManifest = await extract({ ...common, outDir: csvOut, workers: 1, chunkSize: 1000 });
			const outs: { dir: string; m: Manifest }[] = [];
			// [workers, chunk size, conversions at a time (default: the workers)]
			for (const [workers, chunkSize, conversions] of [
				[1, 1_000_000],
				[2, 1],
				[3, 17],
				[2, 250],
				[1, 250, 3],
			]) {
				const dir = path.join(tmp, `pq-${mode}-${workers}-${chunkSize}-${conversions ?? workers}`);
				const m = await extract({
					...common,
					outDir: dir,
					workers,
					chunkSize,
					conversions,
					format: 'parquet',
					parquetTypes: mode,
				});
				outs.push({ dir, m });
			}
			const first = outs[0];
			const types = first.m.parquet!.columns.map((c) => c.type);
			if (mode === 'infer') {
				assert.deepEqual(types, [
					'string',
					'int64',
					'double',
					'boolean',
					'date',
					'timestamp',
					'timestamp_local',
					'string',
					'string',
					'binary',
				]);
			} else
				assert.deepEqual(types, [
					'string',
					'string',
					'string',
					'string',
					'string',
					'string',
					'string',
					'string',
					'string',
					'binary',
				]);
			// Same rows, rejects and partitions as the CSV run; files end in .parquet; no temporary CSV is left.
			assert.equal(first.m.rowsWritten, csvManifest.rowsWritten);
			assert.equal(first.m.rowsRejected, csvManifest.rowsRejected);
			assert.ok(first.m.rowsRejected > 0);
			assert.deepEqual(
				first.m.partitions.map((p) => [p.key, p.rows, p.file]),
				csvManifest.partitions.map((p) => [p.key, p.rows, p.file!.replace(/\.csv$/, '.parquet')]),
			);
			assert.deepEqual(
				fs.readFileSync(path.join(first.dir, '_rejects.csv')),
				fs.readFileSync(path.join(csvOut, '_rejects.csv')),
			);
			for (const { dir, m } of outs) {
				const names = fs.readdirSync(dir).sort();
				assert.deepEqual(names, fs.readdirSync(first.dir).sort());
				assert.ok(!names.some((n) => n.includes('sweep-csv')), 'no temporary CSV left');
				assert.deepEqual(m.parquet, first.m.parquet);
				for (const p of m.partitions)
					assert.ok(
						fs.readFileSync(path.join(dir, p.file!)).equals(fs.readFileSync(path.join(first.dir, p.file!))),
						`${dir}/${p.file} is byte-identical`,
					);
			}
			const { parquetReadObjects } = await import('hyparquet');
			for (const p of csvManifest.partitions) {
				const ref = csvPartition(path.join(csvOut, p.file!));
				const pq = path.join(first.dir, p.file!.replace(/\.csv$/, '.parquet'));
				const got = await duckRows(pq, first.m);
				assert.equal(got.length, ref.values.length, `${pq}: row count`);
				const raw = fs.readFileSync(pq);
				const objs = await parquetReadObjects({
					file: raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length),
					utf8: false,
				});
				assert.equal(objs.length, ref.values.length, `${pq}: row count (hyparquet)`);
				for (let r = 0; r < ref.values.length; r++) {
					for (let c = 0; c < types.length; c++) {
						const want = expected(types[c], ref.values[r][c], ref.quotedEmpty[r][c]);
						assert.deepEqual(comparable(got[r][c]), want, `${pq} row ${r} column ${c} (${types[c]}), DuckDB`);
						const h = objs[r][first.m.parquet!.columns[c].name] as unknown;
						if (types[c] === 'string' || types[c] === 'binary') {
							const hv =
								h === null ? null : Buffer.from(h as Uint8Array).toString(types[c] === 'binary' ? 'hex' : 'utf8');
							assert.deepEqual(hv, want, `${pq} row ${r} column ${c}, hyparquet`);
						} else if (types[c] === 'int64' || types[c] === 'double' || types[c] === 'boolean') {
							assert.deepEqual(h, want, `${pq} row ${r} column ${c}, hyparquet`);
						} else assert.equal(h === null, want === null, `${pq} row ${r} column ${c} NULL, hyparquet`);
					}
				}
			}
		});
	}

	it('orders filter: only the order keys, types decided from the rows kept', async () => {
		const input = path.join(tmp, 'typed.csv');
		const dir = path.join(tmp, 'pq-orders');
		const m = await extract({
			input,
			outDir: dir,
			workers: 2,
			chunkSize: 50,
			mapping: { symbol: 'ticker' },
			ordersFile: path.join(tmp, 'orders.csv'),
			format: 'parquet',
		});
		assert.deepEqual(m.partitions.map((p) => [p.key[0], p.file]).sort(), [
			['AAPL', 'AAPL.parquet'],
			['NOPE', null],
			['x/y', 'x%2Fy.parquet'],
			['Ünï', '%C3%9Cn%C3%AF.parquet'],
		]);
		assert.equal(m.partitions.find((p) => p.key[0] === 'NOPE')?.file, null);
		// The row with invalid UTF-8 is in ZZ, which the orders drop: `raw` is text here.
		assert.equal(m.parquet!.columns[9].type, 'string');
		assert.ok(m.rowsFilteredOut > 0);
	});

	it('conversions: that many partitions are converted at a time, on more threads than phase 1 had', async () => {
		// Phase 1 in one chunk (one worker); the conversions then start a second and a third worker. The threads of a
		// run name themselves in SWEEP_THREAD_ROLES (src/engine/threadRole.ts; Linux's /proc/thread-self).
		if (!fs.existsSync('/proc/thread-self')) {
			console.log('      (skipped: counting threads needs /proc/thread-self, Linux only)');
			return;
		}
		const input = path.join(tmp, 'typed.csv');
		const workersOf = async (conversions: number | undefined): Promise<number> => {
			const roles = path.join(tmp, `roles-${conversions}`);
			process.env.SWEEP_THREAD_ROLES = roles;
			try {
				const dir = path.join(tmp, `pq-conversions-${conversions}`);
				const m = await extract({
					input,
					outDir: dir,
					mapping: { symbol: 'ticker' },
					workers: 1,
					chunkSize: 1_000_000,
					conversions,
					format: 'parquet',
				});
				assert.ok(m.partitions.length >= 3, 'enough partitions to convert at once');
			} finally {
				delete process.env.SWEEP_THREAD_ROLES;
			}
			return fs
				.readFileSync(roles, 'utf8')
				.split('\n')
				.filter((l) => l.endsWith(' worker')).length;
		};
		assert.equal(await workersOf(undefined), 1);
		assert.equal(await workersOf(3), 3);
		const bad = await expectSweepError(
			extract({
				input,
				outDir: path.join(tmp, 'pq-bad'),
				workers: 1,
				chunkSize: 10,
				conversions: 0,
				format: 'parquet',
			}),
			'usage',
		);
		assert.match(bad.message, /conversions/);
	});
});

describe('parquet: bad input and unsupported combinations', function () {
	this.timeout(120_000);
	let tmp: string;
	beforeEach(() => {
		tmp = makeTmp('sweep-parquet-bad-');
	});
	afterEach(() => removeTmp(tmp));

	it('duplicate or empty column names stop before writing (exit 2 class)', async () => {
		for (const header of ['symbol,a,a', 'symbol,,b']) {
			const input = path.join(tmp, 'dup.csv');
			fs.writeFileSync(input, `${header}\nX,1,2\n`);
			const out = path.join(tmp, 'out');
			const e = await expectSweepError(
				extract({ input, outDir: out, workers: 1, chunkSize: 10, format: 'parquet' }),
				'bad-header',
			);
			assert.match(e.message, /Parquet output needs/);
			assert.ok(!fs.existsSync(out), 'nothing written');
		}
	});

	it('zstd needs a Node with zlib zstd; otherwise a usage error naming the Node version', async () => {
		const input = path.join(tmp, 'in.csv');
		fs.writeFileSync(input, 'symbol,n\nA,1\nB,2\n');
		const run = extract({
			input,
			outDir: path.join(tmp, 'o'),
			workers: 1,
			chunkSize: 10,
			format: 'parquet',
			compress: 'zstd',
		});
		if (hasZstd()) {
			const m = await run;
			assert.equal(m.parquet!.compression, 'zstd');
		} else {
			const e = await expectSweepError(run, 'usage');
			assert.ok(e instanceof SweepError && e.message.includes(process.versions.node));
		}
	});

	it('CLI: bad values and flags without --format parquet exit 2 with one line', async () => {
		requireCli();
		const input = path.join(tmp, 'in.csv');
		fs.writeFileSync(input, 'symbol,n\nA,1\n');
		for (const args of [
			['--format', 'xml'],
			['--parquet-types', 'infer'],
			['--format', 'parquet', '--parquet-types', 'numbers'],
			['--compress', 'snappy'],
			['--format', 'parquet', '--compress', 'lz4'],
		]) {
			const r = await runCli(['extract', input, '--out', path.join(tmp, 'o'), ...args]);
			assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
			assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
			assert.ok(!fs.existsSync(path.join(tmp, 'o')));
		}
	});

	it('CLI: gzip and none codecs are written and read back by DuckDB', async () => {
		requireCli();
		const input = path.join(tmp, 'in.csv');
		fs.writeFileSync(input, 'symbol,n,t\nA,1,x\nB,2,\nA,3,"q""q"\n');
		for (const codec of ['gzip', 'none']) {
			const out = path.join(tmp, codec);
			const r = await runCli([
				'extract',
				input,
				'--out',
				out,
				'--format',
				'parquet',
				'--compress',
				codec,
				'--json',
				'--workers',
				'1',
			]);
			assert.equal(r.code, 0, r.stderr);
			const m = JSON.parse(r.stdout) as Manifest;
			const rows = await duckRows(path.join(out, 'A.parquet'), m);
			assert.deepEqual(rows, [
				['A', 1n, 'x'],
				['A', 3n, 'q"q'],
			]);
		}
	});
});

describe('parquet: cancel and failure during conversion', function () {
	this.timeout(300_000);
	let tmp: string;
	beforeEach(() => {
		tmp = makeTmp('sweep-parquet-cancel-');
	});
	afterEach(() => removeTmp(tmp));

	it('a cancel while partitions are converted leaves the previous output exactly as it was', async () => {
		const input = path.join(tmp, 'in.csv');
		const lines = ['symbol,n,x'];
		for (let i = 0; i < 60_000; i++) lines.push(`S${i % 40},${i},v${i % 7}`);
		fs.writeFileSync(input, `${lines.join('\n')}\n`);
		const out = path.join(tmp, 'out');
		await extract({ input, outDir: out, workers: 1, chunkSize: 1000, format: 'parquet' });
		const before = snapshot(out);
		const ac = new AbortController();
		const run = extract(
			{ input, outDir: out, workers: 2, chunkSize: 1000, format: 'parquet', force: true },
			{ signal: ac.signal },
		);
		// Abort as soon as the first Parquet file of the new run appears in its temporary folder (phase 2 has begun).
		const started = Date.now();
		for (;;) {
			const tmpDir = fs.readdirSync(tmp).find((n) => n.startsWith('out.sweep-tmp-'));
			if (tmpDir && fs.readdirSync(path.join(tmp, tmpDir)).some((n) => n.endsWith('.parquet'))) break;
			assert.ok(Date.now() - started < 120_000, 'conversion phase seen');
			await new Promise((r) => setTimeout(r, 2));
		}
		ac.abort();
		const t = Date.now();
		await expectSweepError(run, 'aborted');
		console.log(`      cancelled in ${Date.now() - t} ms`);
		assert.equal(diffSnapshots(before, snapshot(out)), '');
		assert.deepEqual(leftovers(out), []);
	});

	it('a write failure while converting (file-size limit) exits 1 and leaves the previous output', async () => {
		requireCli();
		const input = path.join(tmp, 'in.csv');
		const lines = ['symbol,n,x'];
		for (let i = 0; i < 30_000; i++)
			lines.push(`S${i % 3},${i},${((i * 2654435761) >>> 0).toString(16).padStart(8, '0').repeat(3)}`);
		fs.writeFileSync(input, `${lines.join('\n')}\n`);
		// The largest temporary CSV, from a CSV run; the limit lets it be written but not its Parquet file, which is
		// larger here (string columns of unique values, no compression: a 4-byte length per value instead of a comma).
		const csv = await extract({ input, outDir: path.join(tmp, 'csv'), workers: 1, chunkSize: 1000 });
		const largest = Math.max(...csv.partitions.map((p) => fs.statSync(path.join(tmp, 'csv', p.file!)).size));
		const out = path.join(tmp, 'out');
		fs.mkdirSync(out);
		fs.writeFileSync(path.join(out, '_manifest.json'), '{}');
		const before = snapshot(out);
		// --force: `{}` is not a Sweep manifest, so the folder is replaced only when forced (and kept when the run fails).
		const args = [
			'extract',
			input,
			'--out',
			out,
			'--force',
			'--format',
			'parquet',
			'--parquet-types',
			'string',
			'--compress',
			'none',
		];
		const r = await runCli([...args, '--workers', '1'], { shellPrefix: `ulimit -f ${Math.ceil(largest / 1024) + 1};` });
		assert.match(r.stderr, /file-size limit/);
		assert.equal(r.code, 1, r.stderr);
		assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
		assert.equal(diffSnapshots(before, snapshot(out)), '');
		assert.deepEqual(leftovers(out), []);
	});
});

describe('parquet: 5,000 partitions within the memory bound', function () {
	this.timeout(900_000);
	it('the CLI child stays under 300 MB peak RSS', async function () {
		requireCli();
		if (!fs.existsSync('/usr/bin/time')) {
			console.log('      skipped: /usr/bin/time (GNU time) is needed to measure the child peak RSS');
			this.skip();
		}
		const tmp = makeTmp('sweep-parquet-5k-');
		try {
			const input = path.join(tmp, 'many.csv');
			const lines = ['symbol,id,price,ts'];
			for (let i = 0; i < 100_000; i++)
				lines.push(`K${(i * 7919) % 5000},${i},${(i % 1000) / 8},2024-01-01T00:00:${String(i % 60).padStart(2, '0')}Z`);
			fs.writeFileSync(input, `${lines.join('\n')}\n`);
			const out = path.join(tmp, 'out');
			const rss = path.join(tmp, 'rss');
			execFileSync(
				'/usr/bin/time',
				[
					'-f',
					'%M',
					'-o',
					rss,
					process.execPath,
					'dist/cli.js',
					'extract',
					input,
					'--out',
					out,
					'--format',
					'parquet',
					'--workers',
					'2',
				],
				{ stdio: 'ignore' },
			);
			const m = JSON.parse(fs.readFileSync(path.join(out, '_manifest.json'), 'utf8')) as Manifest;
			assert.equal(m.partitions.length, 5000);
			assert.equal(fs.readdirSync(out).filter((f) => f.endsWith('.parquet')).length, 5000);
			const peakMB = Number(fs.readFileSync(rss, 'utf8').trim().split('\n').pop()) / 1024;
			console.log(`      peak RSS of the CLI child: ${peakMB.toFixed(0)} MB`);
			assert.ok(peakMB < 300, `peak RSS ${peakMB} MB`);
		} finally {
			removeTmp(tmp);
		}
	});
});

describe('parquet: with the hive layout, capped files, a column selection and a compressed input', function () {
	this.timeout(600_000);
	let tmp: string;
	before(() => {
		tmp = makeTmp('sweep-parquet-hive-');
	});
	after(() => removeTmp(tmp));

	it('DuckDB reads back from the Parquet files exactly the rows and keys of the CSV run, files identical for 1 and 3 workers', async () => {
		const plain = path.join(tmp, 'trades.csv');
		generateTrades(plain, 6000, ['--symbols', '7', '--days', '3']);
		const gz = path.join(tmp, 'trades.csv.gz');
		fs.writeFileSync(gz, zlib.gzipSync(fs.readFileSync(plain)));
		const common = {
			partitionBy: ['symbol', 'date(timestamp) as day'],
			layout: 'hive' as const,
			maxRowsPerFile: 250,
			columns: ['timestamp', 'price', 'qty', 'side'],
		};
		const csvDir = path.join(tmp, 'csv');
		const csv = await extract({ ...common, input: plain, outDir: csvDir, workers: 1, chunkSize: 100_000 });
		const runs: Manifest[] = [];
		for (const [workers, chunkSize] of [
			[1, 100_000],
			[3, 333],
		]) {
			const outDir = path.join(tmp, `pq-${workers}`);
			runs.push(await extract({ ...common, input: gz, outDir, workers, chunkSize, format: 'parquet' }));
		}
		const [m1, m3] = runs;
		assert.equal(m1.format, 'parquet');
		assert.equal(m1.source.compression, 'gzip');
		assert.deepEqual(
			m1.parquet!.columns.map((c) => [c.name, c.type]),
			[
				['timestamp', 'timestamp'],
				['price', 'double'],
				['qty', 'int64'],
				['side', 'string'],
			],
		);
		// The same files as the CSV run, with .parquet; the same rows per file.
		const files = (m: Manifest) => m.partitions.flatMap((p) => (p.files ?? []).map((f) => [f.file, f.rows]));
		assert.deepEqual(
			files(m1),
			files(csv).map(([f, r]) => [String(f).replace(/\.csv$/, '.parquet'), r]),
		);
		assert.ok(
			files(m1).some(([f]) => String(f).endsWith('/part-00002.parquet')),
			'some partition has several parts',
		);
		for (const [f] of files(m1)) {
			const a = fs.readFileSync(path.join(tmp, 'pq-1', String(f)));
			assert.ok(a.equals(fs.readFileSync(path.join(tmp, 'pq-3', String(f)))), `${f}: same bytes at 1 and 3 workers`);
		}
		assert.equal(m3.rowsWritten, csv.rowsWritten);
		const { DuckDBInstance } = await import('@duckdb/node-api');
		const db = await DuckDBInstance.create(':memory:', { threads: '1' });
		const con = await db.connect();
		const q = (dir: string, ext: string, reader: string) =>
			`SELECT symbol, day, timestamp::TIMESTAMPTZ AS ts, price::DOUBLE AS price, qty::BIGINT AS qty, side::VARCHAR AS side FROM ${reader}('${path.join(tmp, dir).replaceAll("'", "''")}/**/*.${ext}', hive_partitioning=true${ext === 'csv' ? ', all_varchar=true' : ''})`;
		const pq = q('pq-3', 'parquet', 'read_parquet');
		const cs = q('csv', 'csv', 'read_csv');
		const count = async (sql: string) => Number((await con.runAndReadAll(sql)).getRowsJS()[0][0]);
		assert.equal(await count(`SELECT count(*) FROM (${pq})`), csv.rowsWritten);
		assert.equal(await count(`SELECT count(*) FROM (${pq} EXCEPT ALL ${cs})`), 0, 'every Parquet row is a CSV row');
		assert.equal(await count(`SELECT count(*) FROM (${cs} EXCEPT ALL ${pq})`), 0, 'every CSV row is a Parquet row');
		con.closeSync();
		db.closeSync();
	});
});

describe('parquet: the hand-written encoder against hyparquet-writer (the reference)', function () {
	this.timeout(300_000);
	let tmp: string;
	before(() => {
		tmp = makeTmp('sweep-parquet-enc-');
	});
	after(() => removeTmp(tmp));

	it('a wide file whose footer metadata is encoded as it goes (and an append to it) has the same bytes as one held whole', () => {
		// Wide files encode their row groups' metadata every METADATA_OBJECTS column chunks (a 10,000-column partition
		// kept it as objects: 2.2 GB); the footer must come out byte for byte the same.
		const columns = Array.from({ length: 40 }, (_, c) => `c${c}`);
		const types: ColumnType[] = columns.map((_, c) => (c % 3 === 0 ? 'int64' : c % 3 === 1 ? 'double' : 'string'));
		const line = (r: number) =>
			columns.map((_, c) => (c % 3 === 0 ? r * c : c % 3 === 1 ? `${r}.${c}` : `s${r % 7}`)).join(',');
		const part = (from: number, to: number) => {
			let t = `${columns.join(',')}\n`;
			for (let r = from; r < to; r++) t += `${line(r)}\n`;
			return t;
		};
		fs.writeFileSync(path.join(tmp, 'wide1.csv'), part(0, 3000));
		fs.writeFileSync(path.join(tmp, 'wide2.csv'), part(3000, 4100));
		const run = (name: string, metadataObjects: number | undefined) => {
			const dst = path.join(tmp, `${name}.parquet`);
			const base = {
				delimiter: 0x2c,
				columns,
				types,
				codec: 'snappy' as const,
				rowGroupRows: 50,
				rowGroupBytes: 1 << 20,
			};
			const more = metadataObjects === undefined ? {} : { metadataObjects };
			convertPartition({ ...base, ...more, src: path.join(tmp, 'wide1.csv'), dst, createdBy: 'test' });
			const first = fs.readFileSync(dst);
			const at = first.length - 8 - first.readUInt32LE(first.length - 8);
			convertPartition({ ...base, ...more, src: path.join(tmp, 'wide2.csv'), dst, createdBy: 'test', append: { at } });
			return { first, whole: fs.readFileSync(dst) };
		};
		const held = run('wide-held', undefined);
		for (const every of [40, 40 * 3, 40 * 7]) {
			const got = run(`wide-${every}`, every);
			assert.ok(got.first.equals(held.first), `metadata encoded every ${every} chunks: the file differs`);
			assert.ok(got.whole.equals(held.whole), `metadata encoded every ${every} chunks: the appended file differs`);
		}
	});

	/** Writes `csv` (header + records), converts it, writes `values` with hyparquet-writer; both read back equal. */
	async function compare(
		name: string,
		columns: string[],
		types: ColumnType[],
		csv: string | Buffer,
		values: unknown[][],
		rowGroupRows: number,
	): Promise<{ row_groups: { columns: { meta_data?: { encodings: string[] } }[] }[] }> {
		const src = path.join(tmp, `${name}.csv`);
		const dst = path.join(tmp, `${name}.parquet`);
		fs.writeFileSync(src, csv);
		const r = convertPartition({
			src,
			dst,
			delimiter: 0x2c,
			columns,
			types,
			codec: 'snappy',
			rowGroupRows,
			rowGroupBytes: 64 << 20,
			createdBy: 'test',
		});
		assert.equal(r.rows, values[0].length);
		const { parquetWriteBuffer } = await import('hyparquet-writer');
		const ref = parquetWriteBuffer({
			columnData: columns.map((c, i) => ({ name: c, data: values[i] as never })),
			schema: [
				{ name: 'root', num_children: columns.length },
				...columns.map((c, i) => schemaElement(c, types[i])),
			] as never,
			rowGroupSize: rowGroupRows,
		});
		const { parquetReadObjects, parquetMetadata } = await import('hyparquet');
		const mineRaw = fs.readFileSync(dst);
		const mine = mineRaw.buffer.slice(mineRaw.byteOffset, mineRaw.byteOffset + mineRaw.length);
		const [a, b] = [await parquetReadObjects({ file: mine }), await parquetReadObjects({ file: ref })];
		assert.equal(a.length, b.length, `${name}: rows`);
		for (let i = 0; i < a.length; i++) assert.deepEqual(a[i], b[i], `${name}: row ${i}`);
		const [ma, mb] = [parquetMetadata(mine), parquetMetadata(ref)];
		assert.equal(ma.row_groups.length, mb.row_groups.length, `${name}: row groups`);
		for (let g = 0; g < ma.row_groups.length; g++)
			for (let c = 0; c < columns.length; c++)
				assert.deepEqual(
					ma.row_groups[g].columns[c].meta_data?.statistics,
					mb.row_groups[g].columns[c].meta_data?.statistics,
					`${name}: statistics of row group ${g}, column ${columns[c]}`,
				);
		return ma as never;
	}

	it('every type, NULLs, empty and quoted text, big integers, exponents, -0, dictionary and PLAIN text chunks', async () => {
		const rnd = seeded(11);
		const columns = ['id', 'cat', 'n', 'x', 'b', 'd', 'ts', 'local', 'bin'];
		const types: ColumnType[] = [
			'string',
			'string',
			'int64',
			'double',
			'boolean',
			'date',
			'timestamp',
			'timestamp_local',
			'binary',
		];
		const cats = ['a', 'b"q', 'ünï', 'x,y', ''];
		const lines = [columns.join(',')];
		const values: unknown[][] = columns.map(() => []);
		const quote = (s: string) => (/[",\n]/.test(s) || s === '' ? `"${s.replaceAll('"', '""')}"` : s);
		const rows: Buffer[] = [];
		for (let i = 0; i < 3000; i++) {
			const f: (string | Buffer)[] = [];
			const put = (c: number, text: string | Buffer, v: unknown) => {
				f.push(text);
				values[c].push(v);
			};
			put(0, `ID${(i * 7919) % 100003}`, `ID${(i * 7919) % 100003}`);
			const cat = rnd() < 0.1 ? null : cats[Math.floor(rnd() * cats.length)];
			put(1, cat === null ? '' : quote(cat), cat);
			const big = [9223372036854775807n, -9223372036854775808n, 123456789012345678n, -42n, 0n][i % 5];
			const n = rnd() < 0.1 ? null : i % 3 === 0 ? big : BigInt(Math.floor(rnd() * 2e6) - 1e6);
			put(2, n === null ? '' : String(n), n);
			const xs = ['-0', '1.5e300', '2.25', '-0.000001', '12345678901234567890.5', '0.1'];
			const xt = rnd() < 0.1 ? null : xs[i % xs.length];
			put(3, xt === null ? '' : xt, xt === null ? null : Number(xt));
			const bt = ['true', 'FALSE', 'True', ''][i % 4];
			put(4, bt, bt === '' ? null : bt.toLowerCase() === 'true');
			const day = Math.floor(rnd() * 80000) - 40000;
			const iso = new Date(day * 86_400_000).toISOString().slice(0, 10);
			const dOk = rnd() < 0.9 && !iso.startsWith('-') && !iso.startsWith('+');
			put(5, dOk ? iso : '', dOk ? new Date(day * 86_400_000) : null);
			// Microseconds from year 68 to about 9900, with sub-millisecond digits.
			const us = BigInt(Math.floor(rnd() * 3e17)) - 60_000_000_000_000_000n;
			const sub = ((us % 1000n) + 1000n) % 1000n;
			const tsText = `${new Date(Number((us - sub) / 1000n)).toISOString().slice(0, 23)}${String(sub).padStart(3, '0')}Z`;
			put(6, tsText, us);
			put(7, tsText.slice(0, -1), us);
			const bin = i % 7 === 0 ? null : Buffer.from([0xff, i & 0xff, 0x22, 0x2c]);
			put(
				8,
				bin === null
					? ''
					: Buffer.concat([
							Buffer.from('"'),
							Buffer.from(bin.toString('latin1').replaceAll('"', '""'), 'latin1'),
							Buffer.from('"'),
						]),
				bin === null ? null : new Uint8Array(bin),
			);
			rows.push(
				Buffer.concat(
					f
						.flatMap((x, k) => [k ? Buffer.from(',') : Buffer.alloc(0), Buffer.isBuffer(x) ? x : Buffer.from(x)])
						.concat([Buffer.from('\n')]),
				),
			);
		}
		const csv = Buffer.concat([Buffer.from(`${lines[0]}\n`), ...rows]);
		await compare('types', columns, types, csv, values, 1500);
	});

	it('a text chunk whose dictionary outgrows its bound mid-chunk falls back to PLAIN with every value kept', async () => {
		const values: string[] = [];
		// 150,000 repeats keep the dictionary worth it until it reaches its 65,536-entry bound, mid-chunk.
		for (let i = 0; i < 230_000; i++) values.push(i < 150_000 ? `k${i % 5}` : `u${i}`);
		const m = await compare('dict', ['v'], ['string'], `v\n${values.join('\n')}\n`, [values], 250_000);
		assert.deepEqual(m.row_groups[0].columns[0].meta_data?.encodings, ['PLAIN'], 'fell back to PLAIN');
	});

	it('cuts row groups by rows and by CSV bytes, across read-window refills and a record larger than the window', async () => {
		const rnd = seeded(5);
		const text: string[] = [];
		const nums: bigint[] = [];
		const lens: number[] = [];
		for (let i = 0; i < 4000; i++) {
			// 10-byte records (groups cut by rows), then 50-byte ones (cut by bytes: exactly 20,000 per group), then
			// mostly short ones with a few of 1-30 KB and one of 200 KB (more than the 64 KB read window).
			nums.push(BigInt(i * 37 - 5000));
			const width = i < 1000 ? 10 : i < 2000 ? 50 : 0;
			const pad = (t: string) => t + 'x'.repeat(Math.max(0, width - `${t},${nums[i]}\n`.length));
			const len = i === 2500 ? 200_000 : rnd() < 0.02 ? 1000 + Math.floor(rnd() * 30_000) : Math.floor(rnd() * 40);
			const t = width ? pad(`v${i}`) : `v${i}${'x'.repeat(len)}`;
			text.push(t);
			lens.push(`${t},${nums[i]}\n`.length);
		}
		const csv = `t,n\n${text.map((t, i) => `${t},${nums[i]}`).join('\n')}\n`;
		const src = path.join(tmp, 'cut.csv');
		const dst = path.join(tmp, 'cut.parquet');
		fs.writeFileSync(src, csv);
		const rowGroupRows = 450;
		const rowGroupBytes = 20_000;
		const r = convertPartition({
			src,
			dst,
			delimiter: 0x2c,
			columns: ['t', 'n'],
			types: ['string', 'int64'],
			codec: 'snappy',
			rowGroupRows,
			rowGroupBytes,
			readWindow: 1 << 16,
			createdBy: 'test',
		});
		// The documented rule: a group takes records while it has fewer than rowGroupRows and the next one keeps it
		// within rowGroupBytes of CSV (a group always takes at least one record).
		const want: number[] = [];
		let rows = 0;
		let bytes = 0;
		for (const len of lens) {
			if (rows > 0 && (rows === rowGroupRows || bytes + len > rowGroupBytes)) {
				want.push(rows);
				rows = bytes = 0;
			}
			rows++;
			bytes += len;
		}
		want.push(rows);
		assert.equal(r.rows, 4000);
		assert.equal(r.rowGroups, want.length);
		const { parquetReadObjects, parquetMetadata } = await import('hyparquet');
		const raw = fs.readFileSync(dst);
		const file = raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length);
		assert.deepEqual(
			parquetMetadata(file).row_groups.map((g) => Number(g.num_rows)),
			want,
		);
		const back = await parquetReadObjects({ file });
		assert.equal(back.length, 4000);
		for (let i = 0; i < 4000; i++) assert.deepEqual(back[i], { t: text[i], n: nums[i] }, `row ${i}`);
	});
});

function seeded(seed: number): () => number {
	let s = seed >>> 0;
	return () => {
		s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
		return s / 4294967296;
	};
}
