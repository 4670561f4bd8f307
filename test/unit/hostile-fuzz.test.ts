import * as assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import * as fs from 'node:fs';
import { open } from 'node:fs/promises';
import * as path from 'node:path';
import * as fc from 'fast-check';
import { extract, isSweepError } from '../../src/engine';
import { BufferPool } from '../../src/engine/bufferPool';
import { readChunks } from '../../src/engine/chunkReader';
import { ROOT } from '../fixtures/hostile/env';
import { checkOutput, invalidUtf8Lines, outputBytes, splitRecords } from '../fixtures/hostile/oracle';
import { hangGuard } from './helpers/engine';
import { diffSnapshots, leftovers, makeTmp, removeTmp, snapshot } from './helpers/fsutil';

/**
 * Issue 7, fuzzing: valid CSVs are mutated (quotes flipped or inserted, CR/LF/NUL inserted, truncation, duplicated
 * delimiters, invalid UTF-8 sequences) and every case is extracted at workers 1 and 2 and three chunk sizes, and
 * once more with strictUtf8. On every case: no crash (only SweepError), no hang, rowsRead = rowsWritten +
 * rowsRejected + rowsFilteredOut, every input record in exactly one partition file or in _rejects.csv (checked
 * from the outputs, re-parsed), identical output folders, and a run that stops leaves the previous output as it was.
 *
 * More runs: HOSTILE_FC_RUNS=<n>. Replay: HOSTILE_FC_SEED=<seed> (fast-check prints seed and path). A failing
 * case prints its input as base64: save it as test/unit/hostile-regressions/<name>.json (see the README there),
 * and it is replayed on every run.
 */

const RUNS = Number(process.env.HOSTILE_FC_RUNS ?? '40') || 40;
const SEED = process.env.HOSTILE_FC_SEED ? Number(process.env.HOSTILE_FC_SEED) : undefined;
const REGRESSIONS = path.join(ROOT, 'test', 'unit', 'hostile-regressions');
const HEADER = 'id,symbol,price,qty,note';
/** Per extract; a hang guard only. */
const HANG_MS = 60_000;

const SYMBOLS = ['AAPL', 'MSFT', 'aapl', 'X', '', 'é', 'a,b', 'q"t', 'two\nlines', 'CON', '..', 'x/y'];
const NOTES = ['', 'plain', 'with, comma', 'say "hi"', 'line\nbreak', 'crlf\r\ninside', 'bare\rcr', '日本', 'ok'];

function field(v: string): string {
	return /[",\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v;
}

interface Row {
	symbol: number;
	price: number;
	qty: number;
	note: number;
	crlf: boolean;
}

const rowArb: fc.Arbitrary<Row> = fc.record({
	symbol: fc.nat(SYMBOLS.length - 1),
	price: fc.integer({ min: 1, max: 99999 }),
	qty: fc.integer({ min: 1, max: 500 }),
	note: fc.nat(NOTES.length - 1),
	crlf: fc.boolean(),
});

/** A valid CSV: maybe a BOM, the header, 0–30 rows, mixed line endings, maybe no final line break. */
const baseArb = fc
	.record({
		bom: fc.integer({ min: 0, max: 9 }),
		crlfHeader: fc.boolean(),
		rows: fc.array(rowArb, { maxLength: 30 }),
		finalBreak: fc.boolean(),
	})
	.map(({ bom, crlfHeader, rows, finalBreak }) => {
		let text = (bom === 0 ? '\ufeff' : '') + HEADER + (crlfHeader ? '\r\n' : '\n');
		rows.forEach((r, i) => {
			const rec = [String(i + 1), field(SYMBOLS[r.symbol]), (r.price / 100).toFixed(2), String(r.qty)];
			rec.push(field(NOTES[r.note]));
			text += rec.join(',');
			if (i < rows.length - 1 || finalBreak) text += r.crlf ? '\r\n' : '\n';
		});
		return Buffer.from(text, 'utf8');
	});

const INVALID_UTF8 = [[0xff], [0xc3], [0xed, 0xa0, 0x80], [0xc0, 0xaf], [0xf0, 0x9f, 0x98], [0x80], [0xfe]];

type Mutation =
	| { kind: 'insert-quote' | 'delete-quote' | 'truncate' | 'dup-delimiter' | 'delete-byte'; at: number }
	| { kind: 'insert'; at: number; bytes: number[] };

const at = fc.integer({ min: 0, max: 1_000_000 });
const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
	fc.record({ kind: fc.constant('insert-quote' as const), at }),
	fc.record({ kind: fc.constant('delete-quote' as const), at }),
	fc.record({ kind: fc.constant('dup-delimiter' as const), at }),
	fc.record({ kind: fc.constant('delete-byte' as const), at }),
	{ arbitrary: fc.record({ kind: fc.constant('truncate' as const), at }), weight: 1 },
	fc.record({
		kind: fc.constant('insert' as const),
		at,
		bytes: fc.constantFrom([0x0d], [0x0a], [0x0d, 0x0a], [0x00], [0x2c, 0x2c], ...INVALID_UTF8),
	}),
	fc.record({ kind: fc.constant('insert' as const), at, bytes: fc.constantFrom(...INVALID_UTF8) }),
);

function mutate(base: Buffer, mutations: Mutation[]): Buffer {
	let buf = base;
	for (const m of mutations) {
		const pos = Math.min(buf.length, Math.floor((m.at / 1_000_000) * (buf.length + 1)));
		switch (m.kind) {
			case 'insert-quote':
				buf = Buffer.concat([buf.subarray(0, pos), Buffer.from('"'), buf.subarray(pos)]);
				break;
			case 'insert':
				buf = Buffer.concat([buf.subarray(0, pos), Buffer.from(m.bytes), buf.subarray(pos)]);
				break;
			case 'delete-quote':
			case 'dup-delimiter': {
				const c = m.kind === 'delete-quote' ? 0x22 : 0x2c;
				let i = buf.indexOf(c, pos);
				if (i === -1) i = buf.lastIndexOf(c, pos);
				if (i === -1) break;
				buf =
					m.kind === 'delete-quote'
						? Buffer.concat([buf.subarray(0, i), buf.subarray(i + 1)])
						: Buffer.concat([buf.subarray(0, i), Buffer.from(','), buf.subarray(i)]);
				break;
			}
			case 'delete-byte':
				if (pos < buf.length) buf = Buffer.concat([buf.subarray(0, pos), buf.subarray(pos + 1)]);
				break;
			case 'truncate':
				buf = buf.subarray(0, pos);
				break;
		}
	}
	return buf;
}

const caseArb = fc
	.tuple(baseArb, fc.array(mutationArb, { minLength: 1, maxLength: 6 }))
	.map(([base, mutations]) => ({ input: mutate(base, mutations), mutations }));

/** A Sweep output folder that every run starts from: a failed run must leave exactly this. */
let template = '';
let templateSnap: Map<string, Buffer>;
let scratch = '';

function describeInput(input: Buffer, note = ''): string {
	return `${note}input (base64, ${input.length} bytes): ${input.toString('base64')}\ninput (text): ${JSON.stringify(input.toString('latin1'))}`;
}

type Outcome = { ok: true; outDir: string } | { ok: false; code: string; line?: number; message: string };

async function run(
	dir: string,
	input: string,
	label: string,
	opts: { workers: number; chunkSize: number; strictUtf8?: boolean },
	ctx: string,
): Promise<Outcome> {
	const outDir = path.join(dir, `out-${label}`);
	fs.cpSync(template, outDir, { recursive: true });
	try {
		await hangGuard(extract({ input, outDir, ...opts }), HANG_MS, `extract ${label}`);
		assert.deepEqual(leftovers(outDir), [], `no temporary folder left (${label})${ctx}`);
		return { ok: true, outDir };
	} catch (e) {
		if (!isSweepError(e))
			assert.fail(`${label}: extract threw something that is not a SweepError: ${(e as Error)?.stack ?? e}${ctx}`);
		const diff = diffSnapshots(templateSnap, snapshot(outDir));
		assert.equal(diff, '', `${label}: a run that stops (${e.code}) leaves the previous output as it was${ctx}`);
		assert.deepEqual(leftovers(outDir), [], `no temporary folder left (${label}, ${e.code})${ctx}`);
		return { ok: false, code: e.code, line: e.details.line, message: e.message };
	}
}

const bomLength = (b: Buffer) => (b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf ? 3 : 0);

/**
 * How a run must end, judged by the header alone (README "What extraction does"; the generator's data holds no `; TAB |`, so the
 * sniffed delimiter is always the comma): null = it completes, else the SweepError code of a header that cannot be
 * used.
 */
function headerOutcome(input: Buffer): string | null {
	if (input.length === 0) return 'input-empty';
	if ((input[0] === 0xff && input[1] === 0xfe) || (input[0] === 0xfe && input[1] === 0xff)) return 'input-encoding';
	const header = splitRecords(input, bomLength(input), input.length, 0x2c)[0];
	if (header === undefined) return 'bad-header';
	if (header.bad !== null) return 'bad-header';
	if (header.fields.length === 1 && header.fields[0].toString('latin1').trim() === '') return 'bad-header';
	const symbols = header.fields.filter((f) => f.equals(Buffer.from('symbol'))).length;
	if (symbols === 0) return 'missing-column';
	return symbols > 1 ? 'bad-mapping' : null;
}

/** Runs every check of the campaign on one input. */
async function checkCase(input: Buffer, note = ''): Promise<void> {
	const dir = fs.mkdtempSync(path.join(scratch, 'case-'));
	const ctx = `\n${describeInput(input, note)}`;
	try {
		const file = path.join(dir, 'input.csv');
		fs.writeFileSync(file, input);
		const plain: [string, number, number][] = [
			['w1-c1', 1, 1],
			['w2-c3', 2, 3],
			['w2-c1000', 2, 1000],
		];
		const outcomes: Outcome[] = [];
		for (const [label, workers, chunkSize] of plain) {
			outcomes.push(await run(dir, file, label, { workers, chunkSize }, ctx));
		}
		const first = outcomes[0];
		for (const o of outcomes)
			assert.deepEqual(o.ok ? 'ok' : o.code, first.ok ? 'ok' : first.code, `every configuration agrees${ctx}`);
		const expected0 = headerOutcome(input);
		assert.equal(first.ok ? null : first.code, expected0, `outcome (${first.ok ? 'ok' : first.message})${ctx}`);
		if (!first.ok) return;
		checkOutput(input, first.outDir, `w1-c1${ctx}`);
		const expected = outputBytes(first.outDir);
		for (const [i, o] of outcomes.entries()) {
			if (!o.ok || i === 0) continue;
			checkOutput(input, o.outDir, `${plain[i][0]}${ctx}`);
			assert.deepEqual(outputBytes(o.outDir), expected, `${plain[i][0]} writes the same bytes as w1-c1${ctx}`);
		}

		// strictUtf8: stops on the first line with invalid bytes (line 1 for any in the header; with two workers, any
		// line that has some), or writes exactly what the default does.
		const header = splitRecords(input, bomLength(input), input.length, 0x2c)[0];
		const headerBad = !isUtf8(input.subarray(0, header.end));
		const badLines = headerBad ? [1] : invalidUtf8Lines(input, header.end);
		for (const [label, workers, chunkSize] of [
			['strict-w1-c2', 1, 2],
			['strict-w2-c1', 2, 1],
		] as [string, number, number][]) {
			const o = await run(dir, file, label, { workers, chunkSize, strictUtf8: true }, ctx);
			if (badLines.length === 0) {
				assert.ok(o.ok, `${label}: valid UTF-8 completes (${o.ok ? '' : o.message})${ctx}`);
				assert.deepEqual(outputBytes(o.outDir), expected, `${label}: same bytes as without strictUtf8${ctx}`);
				continue;
			}
			assert.ok(!o.ok, `${label}: invalid UTF-8 on line(s) ${badLines.join(', ')} stops the run${ctx}`);
			assert.equal(o.code, 'invalid-utf8', `${label}: ${o.message}${ctx}`);
			if (workers === 1) assert.equal(o.line, badLines[0], `${label}: names the first bad line: ${o.message}${ctx}`);
			else assert.ok(badLines.includes(o.line!), `${label}: names a line with invalid bytes: ${o.message}${ctx}`);
			assert.match(o.message, new RegExp(`line ${o.line}\\b`), `${label}: the message names the line${ctx}`);
		}
	} finally {
		removeTmp(dir);
	}
}

/**
 * The main thread's chunk reader on its own, at tiny read sizes and byte caps (extract reads whole chunks at a time,
 * so small files never make it carry a quote or a CRLF across reads): it cuts only at record ends, keeps every chunk
 * within the byte cap, loses and duplicates no byte, and stops with record-too-large exactly when a record is over
 * the byte cap, naming the first such record's line.
 */
async function checkReader(
	input: Buffer,
	file: string,
	o: { readSize: number; maxChunkBytes: number; chunkSize: number },
	ctx: string,
): Promise<void> {
	const header = splitRecords(input, 0, input.length, 0x2c)[0];
	if (header === undefined) return;
	const firstLine = 1 + input.subarray(0, header.end).filter((c) => c === 0x0a).length;
	const records = splitRecords(input, header.end, input.length, 0x2c, firstLine);
	const ends = new Map(records.map((r, i) => [r.end, i + 1]));
	// A record's size counts its line ending; README: one over the cap stops the run, naming its first line.
	const tooLarge = records.find((r) => r.end - r.start > o.maxChunkBytes);
	const what = `readSize ${o.readSize}, maxChunkBytes ${o.maxChunkBytes}, chunkSize ${o.chunkSize}${ctx}`;
	const fh = await open(file, 'r');
	const pieces: Buffer[] = [];
	let next = 0; // index of the next record expected to start a chunk
	try {
		const chunks = readChunks(fh, {
			file,
			start: header.end,
			size: input.length,
			startLine: firstLine,
			delimiter: 0x2c,
			buffers: new BufferPool(4),
			...o,
		});
		let last = false;
		for await (const c of chunks) {
			assert.ok(!last, `no chunk after the last one: ${what}`);
			last = c.isLast;
			pieces.push(Buffer.from(Buffer.from(c.bytes, c.offset, c.length)));
			const upTo = ends.get(c.endOffset);
			assert.ok(upTo !== undefined, `chunk ${c.seq} ends at ${c.endOffset}, a record end: ${what}`);
			assert.equal(c.fileOffset, records[next].start, `chunk ${c.seq} starts at its first record: ${what}`);
			assert.ok(c.length <= o.maxChunkBytes, `chunk ${c.seq} is within the byte cap: ${what}`);
			next = upTo;
		}
		assert.equal(next, records.length, `every record was handed out: ${what}`);
		// isLast matters when the file's last record has no line ending (or is an unterminated quote).
		const tail = records[records.length - 1];
		if (tail && tail.end === tail.contentEnd)
			assert.ok(last, `the chunk with the unended last record is isLast: ${what}`);
		assert.ok(
			Buffer.concat(pieces).equals(input.subarray(header.end)),
			`the chunks are the data, byte for byte: ${what}`,
		);
		assert.equal(tooLarge, undefined, `a record over the cap (line ${tooLarge?.line}) stops the run: ${what}`);
	} catch (e) {
		if (!isSweepError(e)) throw e;
		assert.equal(e.code, 'record-too-large', `${e.message}: ${what}`);
		assert.equal(e.details.line, tooLarge?.line, `the error names the first record over the cap: ${what}`);
	} finally {
		await fh.close();
	}
}

describe('hostile input: fuzzing mutated CSVs', function () {
	this.timeout(Math.max(600_000, RUNS * 15_000));

	before(async () => {
		scratch = makeTmp('sweep-fuzz-');
		const seedFile = path.join(scratch, 'previous.csv');
		fs.writeFileSync(seedFile, 'symbol,x\nOLD,1\nolder,2\nbad\n');
		template = path.join(scratch, 'previous-output');
		await extract({ input: seedFile, outDir: template, workers: 1, chunkSize: 10 });
		templateSnap = snapshot(template);
	});

	after(() => removeTmp(scratch));

	it('replays every saved regression case', async () => {
		const files = fs.readdirSync(REGRESSIONS).filter((n) => n.endsWith('.json'));
		assert.ok(files.length > 0, `regression cases in ${REGRESSIONS}`);
		for (const name of files) {
			const saved = JSON.parse(fs.readFileSync(path.join(REGRESSIONS, name), 'utf8')) as {
				input: string;
				note: string;
			};
			await checkCase(Buffer.from(saved.input, 'base64'), `regression ${name} (${saved.note})\n`);
		}
	});

	it(`cuts chunks only at record ends for any read size and byte cap (${RUNS * 5} files)`, async () => {
		const file = path.join(scratch, 'reader.csv');
		await fc.assert(
			fc.asyncProperty(
				caseArb,
				fc.integer({ min: 1, max: 9 }),
				fc.integer({ min: 8, max: 400 }),
				fc.integer({ min: 1, max: 5 }),
				async (c, readSize, maxChunkBytes, chunkSize) => {
					fs.writeFileSync(file, c.input);
					await checkReader(c.input, file, { readSize, maxChunkBytes, chunkSize }, `\n${describeInput(c.input)}`);
				},
			),
			{ numRuns: RUNS * 5, seed: SEED, endOnFailure: true },
		);
	});

	it(`keeps every invariant on ${RUNS} mutated files (workers 1 and 2, chunk sizes 1, 3, 1000, strict UTF-8)`, async () => {
		await fc.assert(
			fc.asyncProperty(caseArb, async (c) => {
				await checkCase(c.input, `mutations: ${JSON.stringify(c.mutations)}\n`);
			}),
			{ numRuns: RUNS, seed: SEED, endOnFailure: true },
		);
	});
});
