import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'csv-parse/sync';
import * as fc from 'fast-check';
import { extract } from '../../src/engine';
import { bomLength, firstRecordEnd, LF } from '../../src/engine/dialect';
import { AppendJournal, JOURNAL, recoverAppend, UndoIncomplete } from '../../src/engine/journal';
import type { ExtractOptions, Manifest, PartitionStats } from '../../src/engine/types';
import { byteDiff, readOutput } from './helpers/compare';
import { expectSweepError, generateTrades } from './helpers/engine';
import { diffSnapshots, leftovers, makeTmp, REPO_ROOT, removeTmp, snapshot } from './helpers/fsutil';
import { type CsvCase, csvCase, describeCase } from './helpers/gen-csv';

/**
 * The journal a killed append leaves in `out`: the current manifest's SHA-256, each listed file's size before the
 * append, and the files it was about to create (the caller then grows and creates them as that append would have).
 */
async function journalOfKilledAppend(out: string, sizes: Record<string, number>, creates: string[]): Promise<void> {
	const manifestSha = createHash('sha256')
		.update(fs.readFileSync(path.join(out, '_manifest.json')))
		.digest('hex');
	const j = await AppendJournal.begin(out, manifestSha, sizes);
	await j.willCreate(creates);
	await j.detach();
}

/**
 * Appending (docs/append.md): a file split into 2–5 "days", extracted day by day with `append`, gives the output
 * of one run over the whole file — partition files byte for byte, the manifest's partitions, counts and stats,
 * and `_rejects.csv` row for row with each row's line counted in the file it came from. And every failed append
 * leaves the folder exactly as it was.
 *
 * Replay a failure with SWEEP_FC_SEED=<seed> SWEEP_FC_PATH=<path>; more cases with SWEEP_FC_RUNS=<factor>.
 */

const factor = Number(process.env.SWEEP_FC_RUNS ?? '1') || 1;
const seed = process.env.SWEEP_FC_SEED ? Number(process.env.SWEEP_FC_SEED) : undefined;
const replayPath = process.env.SWEEP_FC_PATH || undefined;

/** A file cut into days at record boundaries: each day is the header plus some records. */
interface Days {
	days: Buffer[];
	/** Line breaks in each day's records (to map a day's reject lines to the whole file's). */
	dataLines: number[];
}

function countLF(b: Buffer): number {
	let n = 0;
	for (let i = b.indexOf(LF); i !== -1; i = b.indexOf(LF, i + 1)) n++;
	return n;
}

/** Cuts `input` into `fractions.length + 1` days at the record boundaries nearest the given fractions. */
function splitDays(input: Buffer, delimiter: string, fractions: number[]): Days {
	const d = delimiter.charCodeAt(0);
	const bom = bomLength(input, 'input');
	const headerLen = firstRecordEnd(input.subarray(bom), d);
	if (headerLen < 0) {
		// A header alone, without a line break: every day is that file.
		return { days: fractions.map(() => input).concat([input]), dataLines: fractions.map(() => 0).concat([0]) };
	}
	const header = input.subarray(bom, bom + headerLen);
	const ends: number[] = [];
	let at = bom + headerLen;
	const dataStart = at;
	while (at < input.length) {
		const e = firstRecordEnd(input.subarray(at), d);
		at = e < 0 ? input.length : at + e;
		ends.push(at);
	}
	const cuts = [
		...new Set(
			fractions.map((f) => (ends.length === 0 ? dataStart : (ends[Math.floor(f * ends.length)] ?? input.length))),
		),
	]
		.concat(fractions.map(() => -1))
		.slice(0, fractions.length)
		.map((c) => (c < 0 ? input.length : c))
		.sort((a, b) => a - b);
	const days: Buffer[] = [];
	const dataLines: number[] = [];
	let from = dataStart;
	cuts.forEach((cut, i) => {
		const body = input.subarray(from, Math.max(from, cut));
		days.push(i === 0 ? Buffer.concat([input.subarray(0, bom), header, body]) : Buffer.concat([header, body]));
		dataLines.push(countLF(body));
		from = Math.max(from, cut);
	});
	const body = input.subarray(from);
	days.push(Buffer.concat([header, body]));
	dataLines.push(countLF(body));
	return { days, dataLines };
}

const close = (a: number | undefined, b: number | undefined) =>
	a === b || (a !== undefined && b !== undefined && Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b)));

/** Stats equal, sums of floating-point numbers up to their last digits (their order of addition differs). */
function assertStatsEqual(a: PartitionStats, b: PartitionStats, what: string): void {
	assert.deepEqual(Object.keys(a).sort(), Object.keys(b).sort(), `${what}: stats fields`);
	for (const k of ['firstTimestamp', 'lastTimestamp', 'minPrice', 'maxPrice'] as const) {
		assert.equal(a[k], b[k], `${what}: ${k}`);
	}
	for (const k of ['quantity', 'vwap', 'notional', 'pricedQuantity'] as const) {
		assert.ok(close(a[k], b[k]), `${what}: ${k} ${a[k]} vs ${b[k]}`);
	}
}

interface RejectRow {
	line: number;
	/** The row's text after its line number. */
	rest: Buffer;
}

function rejectRows(buf: Buffer | undefined): RejectRow[] {
	if (!buf) return [];
	const rows = parse(buf, {
		encoding: 'latin1',
		record_delimiter: '\n',
		relax_column_count: true,
		info: true,
	}) as unknown as { record: string[]; info: { bytes: number } }[];
	const out: RejectRow[] = [];
	for (let i = 1; i < rows.length; i++) {
		const text = buf.subarray(rows[i - 1].info.bytes, rows[i].info.bytes);
		const comma = text.indexOf(',');
		out.push({ line: Number(text.subarray(0, comma).toString('latin1')), rest: text.subarray(comma) });
	}
	return out;
}

/**
 * Asserts that `outDir` (built by appending `days`) is the output of one run over the whole file (`refDir`):
 * the same files, partition files byte for byte, `_rejects.csv` with each row's line counted in its own day,
 * the manifest's partitions, counts and stats, and one `inputs` entry per day.
 */
function assertSameAsOneRun(outDir: string, refDir: string, d: Days, dayFiles: string[], context: string): void {
	const out = readOutput(outDir);
	const ref = readOutput(refDir);
	assert.deepEqual([...out.keys()].sort(), [...ref.keys()].sort(), `files\n${context}`);
	for (const [name, bytes] of ref) {
		if (name.startsWith('_')) continue;
		const actual = out.get(name) as Buffer;
		if (!actual.equals(bytes)) assert.fail(`${name}: ${byteDiff(actual, bytes)}\n${context}`);
	}
	const m = JSON.parse((out.get('_manifest.json') as Buffer).toString('utf8')) as Manifest;
	const r = JSON.parse((ref.get('_manifest.json') as Buffer).toString('utf8')) as Manifest;
	for (const k of ['columns', 'partitionBy', 'orders', 'rowsRead', 'rowsWritten', 'rowsRejected'] as const) {
		assert.deepEqual(m[k], r[k], `manifest ${k}\n${context}`);
	}
	for (const k of [
		'rowsFilteredOut',
		'rejects',
		'eol',
		'mapping',
		'layout',
		'maxRowsPerFile',
		'selectedColumns',
		'keepPartitionColumns',
		'sourceColumns',
	] as const) {
		assert.deepEqual(m[k], r[k], `manifest ${k}\n${context}`);
	}
	// Its own size: reject lines are counted in their own day, so they may have fewer digits than in one run.
	assert.equal(m.rejectsBytes, out.get('_rejects.csv')?.length, `manifest rejectsBytes\n${context}`);
	assert.equal(m.partitions.length, r.partitions.length, `partitions\n${context}`);
	m.partitions.forEach((p, i) => {
		const q = r.partitions[i];
		const { stats: ps, ...pRest } = p;
		const { stats: qs, ...qRest } = q;
		assert.deepEqual(pRest, qRest, `partition ${i}\n${context}`);
		if (p.file !== null) assert.equal(p.bytes, fs.statSync(path.join(outDir, p.file)).size, `${p.file} bytes`);
		assertStatsEqual(ps, qs, `partition ${JSON.stringify(p.key)}\n${context}`);
	});
	// One entry per day, in order, with its counts; their sums are the output's.
	const inputs = m.inputs ?? [];
	assert.equal(inputs.length, d.days.length, `inputs\n${context}`);
	inputs.forEach((e, i) => {
		assert.equal(e.path, dayFiles[i]);
		assert.equal(e.bytes, d.days[i].length);
		assert.equal(e.sha256, createHash('sha256').update(d.days[i]).digest('hex'));
	});
	for (const k of ['rowsRead', 'rowsWritten', 'rowsRejected', 'rowsFilteredOut'] as const) {
		assert.equal(
			inputs.reduce((s, e) => s + e[k], 0),
			m[k],
			`Σ inputs ${k}\n${context}`,
		);
	}
	// _rejects.csv: the one run's rows, in order, each with the line in its own day (the day's line + the lines of
	// the days before it, headers not counted twice).
	const refRows = rejectRows(ref.get('_rejects.csv'));
	const expected: Buffer[] = [];
	let row = 0;
	let offset = 0;
	inputs.forEach((e, i) => {
		for (let k = 0; k < e.rejects; k++, row++) {
			const rr = refRows[row];
			assert.ok(rr, `reject row ${row} of input ${i + 1} exists in the one run\n${context}`);
			expected.push(Buffer.concat([Buffer.from(String(rr.line - offset)), rr.rest]));
		}
		offset += d.dataLines[i];
	});
	assert.equal(row, refRows.length, `reject rows\n${context}`);
	const refRejects = ref.get('_rejects.csv');
	if (refRejects) {
		const want = Buffer.concat([Buffer.from('line,reason,raw\n'), ...expected]);
		const got = out.get('_rejects.csv') as Buffer;
		if (!got.equals(want)) assert.fail(`_rejects.csv: ${byteDiff(got, want)}\n${context}`);
	}
	assert.deepEqual(leftovers(outDir), [], `no temporary folders\n${context}`);
}

/** Extracts `days` one by one into `outDir` (the first a normal run, the others appends). */
async function appendDays(
	dir: string,
	outDir: string,
	dayFiles: string[],
	base: Omit<ExtractOptions, 'input'>,
	repeatOptions: boolean,
): Promise<void> {
	for (let i = 0; i < dayFiles.length; i++) {
		const opts: ExtractOptions =
			i === 0
				? { ...base, input: dayFiles[0], outDir }
				: {
						input: dayFiles[i],
						outDir,
						workers: base.workers,
						chunkSize: base.chunkSize,
						append: true,
						// Days can be equal (a header alone twice); the duplicate check has tests of its own.
						allowDuplicateInput: true,
						// The output's own settings apply when none are given; given again, they must agree.
						...(repeatOptions
							? {
									delimiter: base.delimiter,
									partitionBy: base.partitionBy,
									mapping: base.mapping,
									ordersFile: base.ordersFile,
									layout: base.layout,
									keepPartitionColumns: base.keepPartitionColumns,
									maxRowsPerFile: base.maxRowsPerFile,
									columns: base.columns,
								}
							: {}),
					};
		await extract(opts);
		assert.ok(!fs.existsSync(path.join(outDir, JOURNAL)), 'the journal is gone after each run');
	}
	void dir;
}

/** How many cases drew each output option (printed after the property tests: they must have been exercised). */
const drawn = { cases: 0, hive: 0, capped: 0, columns: 0 };

async function checkCase(
	c: CsvCase,
	fractions: number[],
	combos: [number, number][],
	repeatOptions: boolean,
): Promise<void> {
	const dir = makeTmp('sweep-append-');
	drawn.cases++;
	if (c.layout === 'hive') drawn.hive++;
	if (c.maxRowsPerFile != null) drawn.capped++;
	if (c.columns && c.columns.length > 0) drawn.columns++;
	try {
		const all = path.join(dir, `all${c.ext}`);
		fs.writeFileSync(all, c.input);
		let ordersFile: string | null = null;
		if (c.orders) {
			ordersFile = path.join(dir, 'orders.csv');
			fs.writeFileSync(ordersFile, c.orders);
		}
		// With the case's output options (hive layout, capped files, a column selection) when it draws them.
		const options = {
			delimiter: c.delimiter,
			partitionBy: c.partitionBy,
			mapping: c.mapping,
			ordersFile,
			layout: c.layout,
			keepPartitionColumns: c.keepPartitionColumns,
			maxRowsPerFile: c.maxRowsPerFile,
			columns: c.columns,
		};
		const refDir = path.join(dir, 'ref');
		await extract({ ...options, input: all, outDir: refDir, workers: 1, chunkSize: 1_000_000 });
		const d = splitDays(c.input, c.delimiter, fractions);
		const dayFiles = d.days.map((b, i) => {
			const f = path.join(dir, `day${i + 1}${c.ext}`);
			fs.writeFileSync(f, b);
			return f;
		});
		for (const [workers, chunkSize] of combos) {
			const outDir = path.join(dir, `out-${workers}-${chunkSize}`);
			const context = `workers ${workers}, chunk size ${chunkSize}, ${d.days.length} days (${d.days.map((b) => JSON.stringify(b.toString('latin1'))).join(' | ')})\n${describeCase(c)}`;
			try {
				await appendDays(dir, outDir, dayFiles, { ...options, workers, chunkSize }, repeatOptions);
			} catch (e) {
				throw new Error(`append threw ${(e as Error).message}\n${context}`, { cause: e });
			}
			assertSameAsOneRun(outDir, refDir, d, dayFiles, context);
		}
	} finally {
		removeTmp(dir);
	}
}

const fractionsArb = fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), {
	minLength: 1,
	maxLength: 4,
});

describe('engine: append (property tests: days appended one by one = one run over the whole file)', function () {
	this.timeout(600_000);
	after(() => {
		console.log(
			`      (${drawn.cases} cases: ${drawn.hive} hive, ${drawn.capped} with --max-rows-per-file, ${drawn.columns} with --columns)`,
		);
	});

	it('at workers 1, 2, 3 × chunk sizes 1, 3 and 1,000,000', async () => {
		const combos: [number, number][] = [1, 2, 3].flatMap((w) => [1, 3, 1_000_000].map((k): [number, number] => [w, k]));
		await fc.assert(
			fc.asyncProperty(csvCase, fractionsArb, fc.boolean(), (c, f, repeat) => checkCase(c, f, combos, repeat)),
			{ numRuns: Math.ceil(3 * factor), seed, path: replayPath, interruptAfterTimeLimit: 300_000 },
		);
	});

	it('for many more files at one random worker count and chunk size each', async () => {
		const combo = fc.tuple(fc.constantFrom(1, 2, 3), fc.constantFrom(1, 2, 17, 1_000_000));
		await fc.assert(
			fc.asyncProperty(csvCase, fractionsArb, combo, fc.boolean(), (c, f, [w, k], repeat) =>
				checkCase(c, f, [[w, k]], repeat),
			),
			{ numRuns: Math.ceil(25 * factor), seed, path: replayPath, interruptAfterTimeLimit: 300_000 },
		);
	});
});

describe('engine: append', function () {
	this.timeout(300_000);
	let dir: string;
	beforeEach(() => {
		dir = makeTmp('sweep-append-');
	});
	afterEach(() => removeTmp(dir));

	const write = (name: string, text: string | Buffer) => {
		const f = path.join(dir, name);
		fs.writeFileSync(f, text);
		return f;
	};
	const run = (input: string, outDir: string, more: Partial<ExtractOptions> = {}) =>
		extract({ input, outDir, workers: 2, chunkSize: 7, ...more });

	it('trades over three days: the same files, counts and stats as one run (case collisions included)', async () => {
		const all = path.join(dir, 'all.csv');
		generateTrades(all, 30_000, ['--seed', '7', '--symbols', '60']);
		const text = fs.readFileSync(all, 'latin1');
		const firstSymbol = text.split('\n')[1].split(',')[2];
		// Keys equal ignoring case to one of day 1 and to each other, first seen in the last day: `~2` as in one run.
		const extra = [
			`T1,2024-03-12T10:00:00Z,${firstSymbol.toLowerCase()},B,10,5,X,R`,
			'T2,2024-03-12T10:00:01Z,Qx,S,12,5,X,R',
			'T3,2024-03-12T10:00:02Z,qX,S,13,5,X,R',
		];
		const whole = Buffer.from(`${text}${extra.join('\n')}\n`, 'latin1');
		const wholeFile = write('whole.csv', whole);
		const ref = path.join(dir, 'ref');
		await run(wholeFile, ref, { workers: 1, chunkSize: 100_000 });
		const d = splitDays(whole, ',', [0.3, 0.7]);
		const files = d.days.map((b, i) => write(`day${i + 1}.csv`, b));
		const out = path.join(dir, 'out');
		await run(files[0], out);
		await run(files[1], out, { append: true });
		const m = await run(files[2], out, { append: true, workers: 1, chunkSize: 1_000 });
		assert.equal(m.inputs?.length, 3);
		assert.ok(fs.existsSync(path.join(out, `${firstSymbol.toLowerCase()}~2.csv`)), 'a case collision with day 1');
		assert.ok(fs.existsSync(path.join(out, 'qX~2.csv')), 'a case collision within the last day');
		assert.ok(m.partitions.some((p) => p.stats.vwap !== undefined && p.stats.notional !== undefined));
		assertSameAsOneRun(out, ref, d, files, 'trades over three days');
	});

	it('refuses a missing folder, a folder Sweep did not write, a corrupt or older manifest: exit 2, nothing written', async () => {
		const day = write('d.csv', 'symbol,n\nA,1\n');
		const none = await expectSweepError(run(day, path.join(dir, 'none'), { append: true }), 'output-invalid');
		assert.match(none.message, /does not exist/);
		assert.equal(none.exitCode, 2);
		const foreign = path.join(dir, 'foreign');
		fs.mkdirSync(foreign);
		fs.writeFileSync(path.join(foreign, 'x.txt'), 'x');
		await expectSweepError(run(day, foreign, { append: true }), 'output-foreign');
		const out = path.join(dir, 'out');
		await run(day, out);
		const good = fs.readFileSync(path.join(out, '_manifest.json'), 'utf8');
		const day2 = write('d2.csv', 'symbol,n\nB,2\n');
		fs.writeFileSync(path.join(out, '_manifest.json'), good.slice(0, 50));
		const corrupt = await expectSweepError(run(day2, out, { append: true }), 'manifest-invalid');
		assert.match(corrupt.message, /not valid JSON/);
		const { inputs: _i, ...old } = JSON.parse(good) as Manifest;
		fs.writeFileSync(path.join(out, '_manifest.json'), JSON.stringify(old));
		const older = await expectSweepError(run(day2, out, { append: true }), 'manifest-invalid');
		assert.match(older.message, /without append support/);
		fs.writeFileSync(path.join(out, '_manifest.json'), JSON.stringify({ ...JSON.parse(good), version: 7 }));
		assert.match((await expectSweepError(run(day2, out, { append: true }), 'manifest-invalid')).message, /version 7/);
		assert.equal(fs.readFileSync(path.join(out, 'A.csv'), 'utf8'), 'symbol,n\nA,1\n', 'nothing written');
	});

	it('keeps the extension of an output written before .csv was lower-cased (A.CSV): new partitions take it too', async () => {
		const out = path.join(dir, 'upper');
		await run(write('T.CSV', 'symbol,n\nA,1\n'), out);
		assert.deepEqual(fs.readdirSync(out).sort(), ['A.csv', '_manifest.json']);
		// As an earlier version wrote it.
		fs.renameSync(path.join(out, 'A.csv'), path.join(out, 'A.CSV'));
		const m = JSON.parse(fs.readFileSync(path.join(out, '_manifest.json'), 'utf8')) as Manifest;
		m.partitions[0].file = 'A.CSV';
		fs.writeFileSync(path.join(out, '_manifest.json'), JSON.stringify(m));
		await run(write('T2.CSV', 'symbol,n\nA,2\nB,3\n'), out, { append: true });
		assert.deepEqual(fs.readdirSync(out).sort(), ['A.CSV', 'B.CSV', '_manifest.json']);
		assert.equal(fs.readFileSync(path.join(out, 'A.CSV'), 'utf8'), 'symbol,n\nA,1\nA,2\n');
		// A new output from the same input: lower case.
		await run(write('T3.CSV', 'symbol,n\nA,2\n'), path.join(dir, 'lower'));
		assert.deepEqual(fs.readdirSync(path.join(dir, 'lower')).sort(), ['A.csv', '_manifest.json']);
	});

	it('refuses a different header, partition columns, delimiter or orders, naming the difference', async () => {
		const out = path.join(dir, 'out');
		await run(write('d1.csv', 'symbol,px\nA,1\n'), out);
		const before = snapshot(out);
		const hdr = await expectSweepError(
			run(write('d2.csv', 'symbol,price\nB,2\n'), out, { append: true }),
			'append-mismatch',
		);
		assert.match(hdr.message, /column 2 is "price".*the output's is "px"/);
		assert.equal(hdr.exitCode, 2);
		const extra = await expectSweepError(
			run(write('d3.csv', 'symbol,px,x\nB,2,3\n'), out, { append: true }),
			'append-mismatch',
		);
		assert.match(extra.message, /column 3 is "x" after mapping, the output's is nothing/);
		const by = await expectSweepError(
			run(write('d4.csv', 'symbol,px\nB,2\n'), out, { append: true, partitionBy: ['px'] }),
			'append-mismatch',
		);
		assert.match(by.message, /partitioned by symbol, not by px/);
		const delim = await expectSweepError(
			run(write('d5.csv', 'symbol;px\nB;2\n'), out, { append: true, delimiter: ';' }),
			'append-mismatch',
		);
		assert.match(delim.message, /delimiter is ","/);
		// The same file with ';' and no delimiter given: read with the output's ',', its header is one column; the error
		// names the delimiters, not the column.
		const sniffed = await expectSweepError(
			run(write('d6.csv', 'symbol;px\nB;2\n'), out, { append: true }),
			'append-mismatch',
		);
		assert.match(sniffed.message, /d6\.csv to .*: its delimiter is ",", and .*d6\.csv's looks like ";"/);
		const orders = await expectSweepError(
			run(write('d7.csv', 'symbol,px\nB,2\n'), out, { append: true, ordersFile: write('o.csv', 'symbol\nB\n') }),
			'append-mismatch',
		);
		assert.match(orders.message, /without an orders file/);
		// A mapping makes another header the same output columns: accepted.
		await run(write('d8.csv', 'ticker,px\nB,2\n'), out, { append: true, mapping: { symbol: 'ticker' } });
		assert.equal(fs.readFileSync(path.join(out, 'B.csv'), 'utf8'), 'symbol,px\nB,2\n');
		assert.equal(diffSnapshots(before, snapshot(out)).includes('changed A.csv'), false);
	});

	it('orders: the output keeps its orders file; another key set is refused', async () => {
		const orders = write('orders.csv', 'symbol\nA\nC\n');
		const out = path.join(dir, 'out');
		await run(write('d1.csv', 'symbol,n\nA,1\nB,2\n'), out, { ordersFile: orders });
		const m = await run(write('d2.csv', 'symbol,n\nC,3\nB,4\nA,5\n'), out, { append: true });
		assert.deepEqual(
			m.partitions.map((p) => [p.key[0], p.rows]),
			[
				['A', 2],
				['C', 1],
			],
		);
		assert.equal(m.rowsFilteredOut, 2);
		fs.writeFileSync(orders, 'symbol\nA\n');
		const e = await expectSweepError(run(write('d3.csv', 'symbol,n\nA,6\n'), out, { append: true }), 'append-mismatch');
		assert.match(e.message, /other keys than when the output was made \(1 keys now, 2 then\)/);
	});

	it('refuses an input already in the output (same file at once, a copy after reading, rolled back); --allow-duplicate-input adds it', async () => {
		const out = path.join(dir, 'out');
		const d1 = write('d1.csv', 'symbol,n\nA,1\n');
		const d2 = write('d2.csv', 'symbol,n\nA,2\nB,3\n');
		await run(d1, out);
		await run(d2, out, { append: true });
		const before = snapshot(out);
		const same = await expectSweepError(run(d2, out, { append: true }), 'duplicate-input');
		assert.match(same.message, /added by the 2nd of its 2 runs, from .*d2\.csv/);
		assert.match(same.message, /--allow-duplicate-input/);
		assert.equal(same.exitCode, 2);
		const copy = write('copy.csv', fs.readFileSync(d1));
		const e = await expectSweepError(run(copy, out, { append: true }), 'duplicate-input');
		assert.match(e.message, /added by the 1st of its 2 runs, from .*d1\.csv/);
		assert.equal(diffSnapshots(before, snapshot(out)), '', 'the output is as it was');
		const m = await run(copy, out, { append: true, allowDuplicateInput: true });
		assert.equal(m.inputs?.length, 3);
		assert.equal(fs.readFileSync(path.join(out, 'A.csv'), 'utf8'), 'symbol,n\nA,1\nA,2\nA,1\n');
	});

	// Before reading, an input is taken for a listed one by its path and stamp (sameFile.ts): a rewrite of the same size
	// whose modification time was put back (`touch -d`, `rsync -t`) was refused as "the same content".
	it('an input rewritten in place (same size, modification time put back) is not taken for the one listed', async () => {
		const out = path.join(dir, 'out');
		const d2 = write('d2.csv', 'symbol,n\nA,2\nB,3\n');
		await run(write('d1.csv', 'symbol,n\nA,1\n'), out);
		const m2 = await run(d2, out, { append: true });
		assert.equal(m2.inputs?.[1].ctime, fs.statSync(d2).ctime.toISOString(), 'the manifest lists its change time');
		const was = fs.statSync(d2);
		await new Promise((r) => setTimeout(r, 20)); // a change time the manifest's milliseconds can tell apart
		fs.writeFileSync(d2, 'symbol,n\nA,7\nB,8\n');
		fs.utimesSync(d2, was.atime, was.mtime);
		assert.equal(fs.statSync(d2).mtime.toISOString(), m2.inputs?.[1].mtime, 'same path, size and modification time');
		const m3 = await run(d2, out, { append: true });
		assert.equal(m3.inputs?.length, 3);
		assert.equal(fs.readFileSync(path.join(out, 'A.csv'), 'utf8'), 'symbol,n\nA,1\nA,2\nA,7\n');
		// Untouched since, it is the file listed: refused at once.
		const again = await expectSweepError(run(d2, out, { append: true }), 'duplicate-input');
		assert.match(again.message, /added by the 3rd of its 3 runs/);
	});

	it('refuses a partition file changed by hand (naming it) unless force; refuses a file it did not write', async () => {
		const out = path.join(dir, 'out');
		await run(write('d1.csv', 'symbol,n\nA,1\nB,2\n'), out);
		fs.appendFileSync(path.join(out, 'B.csv'), 'B,99\n');
		const d2 = write('d2.csv', 'symbol,n\nB,3\n');
		const e = await expectSweepError(run(d2, out, { append: true }), 'output-modified');
		assert.match(e.message, /B\.csv was changed since Sweep wrote it \(18 bytes, the manifest says 13\)/);
		assert.equal(e.exitCode, 2);
		await run(d2, out, { append: true, force: true });
		assert.equal(fs.readFileSync(path.join(out, 'B.csv'), 'utf8'), 'symbol,n\nB,2\nB,99\nB,3\n');
		fs.writeFileSync(path.join(out, 'notes.txt'), 'mine');
		const f = await expectSweepError(run(write('d3.csv', 'symbol,n\nC,4\n'), out, { append: true }), 'output-modified');
		assert.match(f.message, /notes\.txt is in the output folder but not in its _manifest\.json/);
		fs.unlinkSync(path.join(out, 'A.csv'));
		fs.unlinkSync(path.join(out, 'notes.txt'));
		const g = await expectSweepError(run(write('d4.csv', 'symbol,n\nC,4\n'), out, { append: true }), 'output-modified');
		assert.match(g.message, /A\.csv is listed in _manifest\.json but is missing/);
	});

	it('a failed append (max-rejects, worker crash, cancel at random moments) leaves every file as it was', async () => {
		const all = path.join(dir, 'all.csv');
		generateTrades(all, 60_000, ['--seed', '11']);
		const text = fs.readFileSync(all, 'latin1');
		const nl = text.indexOf('\n');
		const mid = text.indexOf('\n', Math.floor(text.length / 2));
		const d1 = write('d1.csv', text.slice(0, mid + 1));
		const d2 = write('d2.csv', `${text.slice(0, nl + 1)}${text.slice(mid + 1)}bad row\n`);
		const out = path.join(dir, 'out');
		await run(write('seed.csv', `${text.slice(0, nl + 1)}broken\n`), out, { workers: 1, chunkSize: 1000 });
		await run(d1, out, { append: true, workers: 1, chunkSize: 1000 });
		const before = snapshot(out);
		const check = (what: string) => {
			assert.equal(diffSnapshots(before, snapshot(out)), '', `${what}: the output is as it was`);
			assert.deepEqual(leftovers(out), []);
		};
		await expectSweepError(run(d2, out, { append: true, maxRejects: 0 }), 'max-rejects');
		check('max-rejects');
		// The real worker that crashes on its fifth chunk, after some chunks were appended.
		process.env.SWEEP_TEST_REAL_WORKER = path.join(__dirname, '..', '..', 'src', 'engine', 'worker.js');
		try {
			const crash = path.join(REPO_ROOT, 'test', 'fixtures', 'worker-crash-later.js');
			await expectSweepError(run(d2, out, { append: true, workerScript: crash, chunkSize: 100 }), 'worker-failed');
			check('worker crash');
		} finally {
			delete process.env.SWEEP_TEST_REAL_WORKER;
		}
		for (const ms of [0, 5, 20, 60, 150, 300]) {
			const ac = new AbortController();
			const p = extract({ input: d2, outDir: out, workers: 2, chunkSize: 500, append: true }, { signal: ac.signal });
			setTimeout(() => ac.abort(), ms);
			try {
				await p;
				// Finished before the cancel: a whole append. Put the folder back for the next round.
				fs.rmSync(out, { recursive: true });
				fs.mkdirSync(out);
				for (const [k, v] of before) fs.writeFileSync(path.join(out, k), v, { flag: 'w' });
			} catch (e) {
				assert.equal((e as { code?: string }).code, 'aborted', String(e));
				check(`cancel after ${ms} ms`);
			}
		}
	});

	it('an append killed before it commits is undone by the next run (journal), one that committed is kept', async () => {
		const out = path.join(dir, 'out');
		await run(write('d1.csv', 'symbol,n\nA,1\nB,2\n'), out);
		const before = snapshot(out);
		// What a killed append leaves: grown files, a new file, and its journal (sizes from before).
		const sizes = {
			'A.csv': fs.statSync(path.join(out, 'A.csv')).size,
			'B.csv': fs.statSync(path.join(out, 'B.csv')).size,
		};
		await journalOfKilledAppend(out, sizes, ['C.csv']);
		fs.appendFileSync(path.join(out, 'A.csv'), 'A,3\n');
		fs.writeFileSync(path.join(out, 'C.csv'), 'symbol,n\nC,4\n');
		fs.writeFileSync(path.join(out, '_manifest.json.next'), '{');
		// The journal of a live process (this one) is not touched by anyone else...
		assert.equal(await recoverAppend(out), 'rolled-back');
		assert.equal(diffSnapshots(before, snapshot(out)), '', 'rolled back to exactly the old bytes');
		// ...and the next run undoes a journal left behind before anything else.
		await journalOfKilledAppend(out, sizes, []);
		fs.appendFileSync(path.join(out, 'B.csv'), 'B,5\n');
		const m = await run(write('d2.csv', 'symbol,n\nB,6\n'), out, { append: true });
		assert.equal(fs.readFileSync(path.join(out, 'B.csv'), 'utf8'), 'symbol,n\nB,2\nB,6\n');
		assert.equal(m.rowsRead, 3);
		// Killed while it wrote its first journal: only the journal's `.next` file is left; the next append goes on.
		fs.writeFileSync(path.join(out, `${JOURNAL}.next`), '{"manifestSha256":');
		await run(write('d2b.csv', 'symbol,n\nB,7\n'), out, { append: true });
		assert.equal(fs.readFileSync(path.join(out, 'B.csv'), 'utf8'), 'symbol,n\nB,2\nB,6\nB,7\n');
		assert.ok(!fs.existsSync(path.join(out, `${JOURNAL}.next`)));
		// A journal whose manifest was already replaced: the append had committed; only the journal goes.
		const after = snapshot(out);
		await (await AppendJournal.begin(out, 'not-the-current-manifest', { 'A.csv': 0 })).detach();
		assert.equal(await recoverAppend(out), 'completed');
		assert.equal(diffSnapshots(after, snapshot(out)), '');
		// A fresh extract into the folder undoes a left journal too, before it starts.
		const sha = createHash('sha256')
			.update(fs.readFileSync(path.join(out, '_manifest.json')))
			.digest('hex');
		await (await AppendJournal.begin(out, sha, {})).detach();
		fs.writeFileSync(path.join(out, 'Z.csv'), 'x');
		fs.appendFileSync(path.join(out, JOURNAL), `${JSON.stringify({ created: ['Z.csv'] })}\n`);
		await run(write('d3.csv', 'symbol,n\nQ,1\n'), out);
		assert.deepEqual(fs.readdirSync(out).sort(), ['Q.csv', '_manifest.json']);
	});
});

/**
 * Appending with every output option (hive layout, year/month/hour/hash partitions, --max-rows-per-file, --columns,
 * --keep-partition-columns, gzip and zstd output) and compressed input: day 2 appended to day 1's output is one run
 * over day 1 + day 2 (day 2's header dropped), at 1 and 3 workers. Plain files are compared byte for byte;
 * compressed ones decompress to the plain run's bytes and grow by appended members/frames (their first bytes are
 * day 1's file, untouched).
 */
describe('engine: append with output options (day 1 + appended day 2 = one run over both)', function () {
	this.timeout(600_000);
	let dir: string;
	let whole: string;
	let days: string[];
	let d: Days;
	before(() => {
		dir = makeTmp('sweep-append-opts-');
		const all = path.join(dir, 'all.csv');
		generateTrades(all, 12_000, ['--seed', '23', '--symbols', '40']);
		const text = fs.readFileSync(all);
		d = splitDays(text, ',', [0.55]);
		whole = all;
		days = d.days.map((b, i) => {
			const f = path.join(dir, `day${i + 1}.csv`);
			fs.writeFileSync(f, b);
			return f;
		});
	});
	after(() => removeTmp(dir));

	const zlib = require('node:zlib') as typeof import('node:zlib');
	const hasZstd = typeof (zlib as { zstdCompressSync?: unknown }).zstdCompressSync === 'function';
	const decompress = (name: string, b: Buffer): Buffer => {
		if (name.endsWith('.gz')) return zlib.gunzipSync(b);
		if (name.endsWith('.zst')) {
			const fzstd = require('fzstd') as typeof import('fzstd');
			return Buffer.from(fzstd.decompress(b));
		}
		return b;
	};

	const configs: { name: string; opts: Partial<ExtractOptions>; skip?: string }[] = [
		{ name: 'flat', opts: {} },
		{
			name: 'hive by month(timestamp), hash(symbol, 4), --max-rows-per-file 97',
			opts: { layout: 'hive', partitionBy: ['month(timestamp)', 'hash(symbol, 4)'], maxRowsPerFile: 97 },
		},
		{
			name: 'hive by symbol, --columns, --keep-partition-columns, --max-rows-per-file 50',
			opts: {
				layout: 'hive',
				partitionBy: ['symbol', 'hour(timestamp) as h'],
				columns: ['timestamp', 'symbol', 'price', 'qty'],
				keepPartitionColumns: true,
				maxRowsPerFile: 50,
			},
		},
		{ name: 'gzip output', opts: { compress: 'gzip' } },
		{
			name: 'gzip output, hive by year(timestamp), --max-rows-per-file 300',
			opts: { compress: 'gzip', layout: 'hive', partitionBy: ['year(timestamp)', 'symbol'], maxRowsPerFile: 300 },
		},
		{
			name: 'zstd output, flat, --max-rows-per-file 200',
			opts: { compress: 'zstd', maxRowsPerFile: 200 },
			skip: hasZstd ? undefined : `this Node (${process.version}) has no zstd`,
		},
	];

	for (const cfg of configs) {
		for (const workers of [1, 3]) {
			it(`${cfg.name}, ${workers} worker(s)`, async function () {
				if (cfg.skip) {
					console.log(`      (skipped: ${cfg.skip})`);
					this.skip();
				}
				const ref = path.join(dir, `ref-${configs.indexOf(cfg)}-${workers}`);
				const out = path.join(dir, `out-${configs.indexOf(cfg)}-${workers}`);
				await extract({ ...cfg.opts, input: whole, outDir: ref, workers, chunkSize: 333 });
				await extract({ ...cfg.opts, input: days[0], outDir: out, workers, chunkSize: 333 });
				const day1 = readOutput(out);
				// Given again (they agree) at 1 worker; left out (the manifest's apply) at 3.
				const again = workers === 1 ? cfg.opts : {};
				const m = await extract({ ...again, input: days[1], outDir: out, workers, chunkSize: 101, append: true });
				assert.equal(m.inputs?.length, 2);
				const got = readOutput(out);
				const want = readOutput(ref);
				assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort(), 'the same files');
				const compressed = cfg.opts.compress !== undefined;
				for (const [name, bytes] of want) {
					if (name.startsWith('_')) continue;
					const actual = got.get(name) as Buffer;
					if (compressed) {
						const a = decompress(name, actual);
						const b = decompress(name, bytes);
						if (!a.equals(b)) assert.fail(`${name} decompressed: ${byteDiff(a, b)}`);
						const before = day1.get(name);
						if (before) assert.ok(actual.subarray(0, before.length).equals(before), `${name}: day 1's bytes kept`);
					} else if (!actual.equals(bytes)) assert.fail(`${name}: ${byteDiff(actual, bytes)}`);
				}
				const r = JSON.parse((want.get('_manifest.json') as Buffer).toString('utf8')) as Manifest;
				const a = JSON.parse((got.get('_manifest.json') as Buffer).toString('utf8')) as Manifest;
				for (const k of [
					'columns',
					'sourceColumns',
					'selectedColumns',
					'keepPartitionColumns',
					'partitionBy',
					'partitionNames',
					'layout',
					'maxRowsPerFile',
					'output',
					'rowsRead',
					'rowsWritten',
					'rowsRejected',
					'rowsFilteredOut',
					'eol',
				] as const) {
					assert.deepEqual(a[k], r[k], `manifest ${k}`);
				}
				assert.equal(a.partitions.length, r.partitions.length);
				a.partitions.forEach((p, i) => {
					const q = r.partitions[i];
					assert.deepEqual(p.key, q.key);
					assert.equal(p.file, q.file);
					assert.equal(p.rows, q.rows);
					const files = (x: typeof p) => (x.files ?? []).map((f) => [f.file, f.rows]);
					assert.deepEqual(files(p), files(q), `files of ${p.key}`);
					for (const f of p.files ?? [{ file: p.file as string, bytes: p.bytes }]) {
						assert.equal(f.bytes, got.get(f.file)?.length, `${f.file}: bytes in the manifest`);
					}
					if (!compressed) assert.equal(p.bytes, q.bytes);
					assertStatsEqual(p.stats, q.stats, `partition ${p.key}`);
				});
			});
		}
	}

	it('compressed input: day 2 as .csv.gz appends the same rows; its SHA-256 is of the bytes on disk', async () => {
		const out = path.join(dir, 'out-gz-input');
		const ref = path.join(dir, 'ref-0-1');
		if (!fs.existsSync(ref)) await extract({ input: whole, outDir: ref, workers: 1, chunkSize: 333 });
		await extract({ input: days[0], outDir: out, workers: 2, chunkSize: 500 });
		const gz = path.join(dir, 'day2.csv.gz');
		fs.writeFileSync(gz, zlib.gzipSync(fs.readFileSync(days[1])));
		const m = await extract({ input: gz, outDir: out, workers: 2, chunkSize: 500, append: true });
		const last = m.inputs?.[1];
		assert.equal(last?.sha256, createHash('sha256').update(fs.readFileSync(gz)).digest('hex'));
		assert.equal(last?.bytes, fs.statSync(gz).size);
		const got = readOutput(out);
		for (const [name, bytes] of readOutput(ref)) {
			if (!name.startsWith('_')) assert.ok(got.get(name)?.equals(bytes), name);
		}
		// The same content uncompressed is a different file (its own hash): not a duplicate.
		const dup = await expectSweepError(
			extract({ input: gz, outDir: out, workers: 1, chunkSize: 500, append: true }),
			'duplicate-input',
		);
		assert.match(dup.message, /day2\.csv\.gz/);
	});

	it('a killed append in hive layout with capped files is undone: grown parts truncated, new parts and folders gone', async () => {
		const out = path.join(dir, 'out-hive-killed');
		await extract({
			input: days[0],
			outDir: out,
			workers: 1,
			chunkSize: 1000,
			layout: 'hive',
			maxRowsPerFile: 40,
		});
		const m = JSON.parse(fs.readFileSync(path.join(out, '_manifest.json'), 'utf8')) as Manifest;
		const lastFile = (m.partitions[0].files ?? []).at(-1)?.file as string;
		const sizes = Object.fromEntries(
			m.partitions.flatMap((p) => p.files ?? []).map((f) => [f.file, fs.statSync(path.join(out, f.file)).size]),
		);
		const newPart = lastFile.replace(/part-\d+/, 'part-09999');
		await journalOfKilledAppend(out, sizes, [newPart, 'symbol=NEWKEY/part-00001.csv', '_rejects.csv']);
		fs.appendFileSync(path.join(out, lastFile), 'grown\n');
		fs.writeFileSync(path.join(out, newPart), 'x');
		fs.mkdirSync(path.join(out, 'symbol=NEWKEY'));
		fs.writeFileSync(path.join(out, 'symbol=NEWKEY', 'part-00001.csv'), 'y');
		fs.writeFileSync(path.join(out, '_rejects.csv'), 'line,reason,raw\n');
		// The next run (an append of day 2) first undoes it, then appends as if it had never happened.
		const next = await extract({ input: days[1], outDir: out, workers: 2, chunkSize: 700, append: true });
		assert.equal(next.inputs?.length, 2);
		assert.ok(!fs.existsSync(path.join(out, 'symbol=NEWKEY')), 'the killed append’s folder is gone');
		assert.ok(!fs.existsSync(path.join(out, newPart)));
		assert.ok(!fs.existsSync(path.join(out, JOURNAL)));
		const ref = path.join(dir, 'ref-hive-killed');
		await extract({ input: whole, outDir: ref, workers: 1, chunkSize: 1000, layout: 'hive', maxRowsPerFile: 40 });
		const got = readOutput(out);
		for (const [name, bytes] of readOutput(ref)) {
			if (!name.startsWith('_')) assert.ok(got.get(name)?.equals(bytes), `${name}: one run's bytes`);
		}
	});

	it('refuses --format parquet to a CSV output, and --format csv to a Parquet output (exit 2, nothing written)', async () => {
		const pq = path.join(dir, 'out-parquet');
		const m0 = await extract({ input: days[0], outDir: pq, workers: 1, chunkSize: 2000, format: 'parquet' });
		const p0 = m0.partitions.find((p) => p.file !== null);
		assert.equal(p0?.bytes, fs.statSync(path.join(pq, p0?.file as string)).size, 'a Parquet file’s own size');
		const before = snapshot(pq);
		const e = await expectSweepError(
			extract({ input: days[1], outDir: pq, workers: 1, chunkSize: 2000, append: true, format: 'csv' }),
			'append-mismatch',
		);
		assert.equal(e.exitCode, 2);
		assert.match(e.message, /its files are Parquet, not csv/);
		assert.equal(diffSnapshots(before, snapshot(pq)), '', 'nothing written');
		const csv = path.join(dir, 'out-csv-for-parquet');
		await extract({ input: days[0], outDir: csv, workers: 1, chunkSize: 2000 });
		const f = await expectSweepError(
			extract({ input: days[1], outDir: csv, workers: 1, chunkSize: 2000, append: true, format: 'parquet' }),
			'append-mismatch',
		);
		assert.match(f.message, /its files are CSV, not parquet/);
	});

	it('refuses output options that differ from the output’s, naming the difference (exit 2, nothing written)', async () => {
		const out = path.join(dir, 'out-mismatch');
		await extract({
			input: days[0],
			outDir: out,
			workers: 1,
			chunkSize: 1000,
			layout: 'hive',
			compress: 'gzip',
			maxRowsPerFile: 100,
			columns: ['timestamp', 'symbol', 'price'],
		});
		const before = snapshot(out);
		const tryWith = async (more: Partial<ExtractOptions>, re: RegExp) => {
			const e = await expectSweepError(
				extract({ input: days[1], outDir: out, workers: 1, chunkSize: 1000, append: true, ...more }),
				'append-mismatch',
			);
			assert.equal(e.exitCode, 2);
			assert.match(e.message, re);
			assert.equal(diffSnapshots(before, snapshot(out)), '', 'nothing written');
		};
		await tryWith({ layout: 'flat' }, /its layout is hive, not flat/);
		await tryWith({ compress: 'none' }, /gzip-compressed, not none/);
		await tryWith({ compress: 'gzip', compressLevel: 9 }, /level 6, not 9/);
		await tryWith({ maxRowsPerFile: 99 }, /at most 100 rows, not 99/);
		await tryWith(
			{ columns: ['timestamp', 'price'] },
			/--columns "timestamp","price"|timestamp,symbol,price, not timestamp,price/,
		);
		await tryWith({ keepPartitionColumns: true }, /leaves the partition columns out/);
		await tryWith({ partitionBy: ['venue'] }, /partitioned by symbol, not by venue/);
		// The same options given again agree.
		const m = await extract({
			input: days[1],
			outDir: out,
			workers: 1,
			chunkSize: 1000,
			append: true,
			layout: 'hive',
			compress: 'gzip',
			compressLevel: 6,
			maxRowsPerFile: 100,
			columns: ['timestamp', 'symbol', 'price'],
		});
		assert.equal(m.inputs?.length, 2);
	});
});

/** True when this process can set and clear `chattr +i` / `+a` in the temporary folder (root, a file system with it). */
function canChattr(): boolean {
	if (process.platform !== 'linux' || process.getuid?.() !== 0) return false;
	const probe = makeTmp('sweep-chattr-');
	try {
		const f = path.join(probe, 'f');
		fs.writeFileSync(f, 'x');
		if (spawnSync('chattr', ['+i', f]).status !== 0) return false;
		return spawnSync('chattr', ['-i', f]).status === 0;
	} finally {
		removeTmp(probe);
	}
}

/**
 * Files an append cannot write to or put back (docs/append.md "Files Sweep cannot write"): refused before anything
 * is written; an undo that cannot put a file back names it, keeps the journal and says what to do; a file the append
 * never grew does not stop an undo; a later extract (which replaces the folder) is not blocked by such a journal.
 */
describe('engine: append and files it cannot write (chattr +i / +a, as root)', function () {
	this.timeout(300_000);
	let dir: string;
	before(function () {
		if (!canChattr()) this.skip();
	});
	beforeEach(() => {
		dir = makeTmp('sweep-append-ro-');
	});
	afterEach(() => {
		// Always undone, whatever failed: an immutable file cannot be deleted.
		spawnSync('chattr', ['-R', '-i', '-a', dir]);
		removeTmp(dir);
	});

	const write = (name: string, text: string) => {
		const f = path.join(dir, name);
		fs.writeFileSync(f, text);
		return f;
	};
	const chattr = (flag: string, file: string) =>
		assert.equal(spawnSync('chattr', [flag, file]).status, 0, `chattr ${flag} ${file}`);
	const run = (input: string, outDir: string, more: Partial<ExtractOptions> = {}) =>
		extract({ input, outDir, workers: 2, chunkSize: 7, ...more });

	it('an immutable or append-only partition file is refused up front: exit 2, naming it, nothing written', async () => {
		const out = path.join(dir, 'out');
		await run(write('d1.csv', 'symbol,x\nA,1\nB,2\n'), out);
		const before = snapshot(out);
		const day2 = write('d2.csv', 'symbol,x\nA,3\nB,4\n');
		for (const flag of ['+i', '+a']) {
			chattr(flag, path.join(out, 'B.csv'));
			const e = await expectSweepError(run(day2, out, { append: true }), 'output-invalid');
			assert.equal(e.exitCode, 2);
			assert.match(e.message, /cannot write to .*B\.csv \(permission denied/);
			assert.equal(diffSnapshots(before, snapshot(out)), '', `${flag}: nothing written`);
			assert.deepEqual(leftovers(out), []);
			chattr(flag.replace('+', '-'), path.join(out, 'B.csv'));
		}
		// A folder it cannot create files in (the journal, new partitions) too.
		chattr('+i', out);
		const e = await expectSweepError(run(day2, out, { append: true }), 'output-invalid');
		assert.match(e.message, /cannot create files in/);
		chattr('-i', out);
		await run(day2, out, { append: true });
		assert.equal(fs.readFileSync(path.join(out, 'B.csv'), 'utf8'), 'symbol,x\nB,2\nB,4\n');
	});

	it('an undo leaves files it never grew alone, even unwritable ones (the folder is not stuck)', async () => {
		const out = path.join(dir, 'out');
		await run(write('d1.csv', 'symbol,x\nA,1\nB,2\n'), out);
		const before = snapshot(out);
		const sizes = {
			'A.csv': fs.statSync(path.join(out, 'A.csv')).size,
			'B.csv': fs.statSync(path.join(out, 'B.csv')).size,
		};
		// A killed append that grew A.csv and created C.csv; B.csv, untouched, is immutable now.
		await journalOfKilledAppend(out, sizes, ['C.csv']);
		fs.appendFileSync(path.join(out, 'A.csv'), 'A,3\n');
		fs.writeFileSync(path.join(out, 'C.csv'), 'symbol,x\nC,5\n');
		chattr('+i', path.join(out, 'B.csv'));
		assert.equal(await recoverAppend(out), 'rolled-back');
		assert.equal(diffSnapshots(before, snapshot(out)), '');
	});

	it('an undo that cannot put a file back names it and keeps the journal; the next append refuses, an extract replaces', async () => {
		const out = path.join(dir, 'out');
		await run(write('d1.csv', 'symbol,x\nA,1\nB,2\n'), out);
		const sizes = { 'A.csv': 13, 'B.csv': 13 };
		const killed = async () => {
			await journalOfKilledAppend(out, sizes, ['C.csv']);
			fs.appendFileSync(path.join(out, 'A.csv'), 'A,3\n');
			fs.appendFileSync(path.join(out, 'B.csv'), 'B,4\n');
			fs.writeFileSync(path.join(out, 'C.csv'), 'symbol,x\nC,5\n');
			chattr('+i', path.join(out, 'B.csv'));
		};
		await killed();
		// The undo puts back what it can, names what it cannot, and keeps the journal.
		const u = await recoverAppend(out).then(
			() => assert.fail('the undo cannot succeed'),
			(e: unknown) => e,
		);
		assert.ok(u instanceof UndoIncomplete, String(u));
		assert.deepEqual(u.files, [path.join(out, 'B.csv')]);
		assert.match(u.message, /cannot truncate .*B\.csv back to 13 bytes \(permission denied\)/);
		assert.equal(fs.readFileSync(path.join(out, 'A.csv'), 'utf8'), 'symbol,x\nA,1\n');
		assert.ok(!fs.existsSync(path.join(out, 'C.csv')));
		assert.ok(fs.existsSync(path.join(out, JOURNAL)));
		// An append refuses (exit 2) in plain words: which file, and what to do.
		const day2 = write('d2.csv', 'symbol,x\nA,6\n');
		const e = await expectSweepError(run(day2, out, { append: true }), 'output-modified');
		assert.equal(e.exitCode, 2);
		assert.match(e.message, /could not be undone completely: cannot truncate .*B\.csv back to 13 bytes/);
		assert.match(e.message, /chattr -i/);
		assert.match(e.message, /without --append/);
		// Once the file can be written, the next append finishes the undo and goes on.
		chattr('-i', path.join(out, 'B.csv'));
		await run(day2, out, { append: true });
		assert.equal(fs.readFileSync(path.join(out, 'A.csv'), 'utf8'), 'symbol,x\nA,1\nA,6\n');
		assert.equal(fs.readFileSync(path.join(out, 'B.csv'), 'utf8'), 'symbol,x\nB,2\n');
		assert.ok(!fs.existsSync(path.join(out, JOURNAL)));
		// A new extract replaces the whole folder: such a journal does not block it (it says so in a warning).
		await run(write('d1.csv', 'symbol,x\nA,1\nB,2\n'), out);
		assert.equal(fs.readFileSync(path.join(out, 'B.csv'), 'utf8'), 'symbol,x\nB,2\n');
		await killed();
		const m = await run(write('d3.csv', 'symbol,x\nQ,1\n'), out);
		assert.ok(
			m.warnings?.some((w) => /interrupted append .* could not be undone .*B\.csv.*replaces the folder anyway/.test(w)),
			String(m.warnings),
		);
		assert.deepEqual(fs.readdirSync(out).sort(), ['Q.csv', '_manifest.json']);
	});

	it('a live append whose undo fails says what failed, names the file and what to do', async () => {
		const out = path.join(dir, 'out');
		const all = path.join(dir, 'all.csv');
		generateTrades(all, 60_000, ['--seed', '3', '--symbols', '5']);
		await run(all, out, { chunkSize: 64 * 1024 });
		const sizes = new Map(fs.readdirSync(out).map((f) => [f, fs.statSync(path.join(out, f)).size]));
		// The same content under another name: found a duplicate by its hash once read, so the append is undone.
		const copy = path.join(dir, 'copy.csv');
		fs.copyFileSync(all, copy);
		// As soon as a file has grown: it becomes immutable and the run is cancelled (or, should it have finished
		// first, refused as a duplicate): either way the append is undone, and that file cannot be put back.
		let frozen: string | null = null;
		const stop = new AbortController();
		const freeze = () => {
			if (frozen) return;
			for (const [f, size] of sizes) {
				if (!f.endsWith('.csv') || f.startsWith('_')) continue;
				const p = path.join(out, f);
				if (fs.statSync(p).size > size) {
					chattr('+i', p);
					frozen = p;
					stop.abort();
					return;
				}
			}
		};
		const poll = setInterval(freeze, 1);
		const e = await expectSweepError(
			extract(
				{ input: copy, outDir: out, workers: 1, chunkSize: 64 * 1024, append: true },
				{ onProgress: freeze, signal: stop.signal },
			),
			'io',
		).finally(() => clearInterval(poll));
		assert.ok(frozen, 'a file had grown while the append ran');
		assert.match(e.message, /already in|cancel/i);
		assert.match(e.message, /failed too: cannot truncate \S+ back to \d+ bytes /);
		assert.ok(e.message.includes(frozen as string), e.message);
		assert.match(e.message, /chattr -i/);
		assert.ok(fs.existsSync(path.join(out, JOURNAL)));
		chattr('-i', frozen as string);
		assert.equal(await recoverAppend(out), 'rolled-back');
		for (const [f, size] of sizes) assert.equal(fs.statSync(path.join(out, f)).size, size, f);
	});
});
