/**
 * The worker's WebAssembly field-boundary scan (src/engine/specials.ts, src/engine/wasm/specials.wat): the module
 * in the source is what the .wat assembles to, the scan finds exactly the delimiters and line feeds a byte loop
 * finds, and a ChunkProcessor that uses it gives the same result, field for field and byte for byte, as one that
 * takes the byte loop for every record (quoted records, CRLF, wrong field counts, records longer than the scan
 * window, every key kind, column runs, capped files, an orders filter, a final record without a line ending).
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { ChunkProcessor } from '../../src/engine/chunkProcessor';
import { encodeKey } from '../../src/engine/keys';
import type { ChunkDone, WorkerInit } from '../../src/engine/protocol';
import { SCAN_WINDOW, SpecialScanner } from '../../src/engine/specials';
import { type GeneratorPrng, importGenerator } from './helpers/engine';
import { REPO_ROOT } from './helpers/fsutil';

/** The generator's seedable PRNG (scripts/gen-trades.mjs), loaded from its ES module in before(). */
let mulberry32: GeneratorPrng['mulberry32'];
before(async () => {
	({ mulberry32 } = await importGenerator());
});

/** What the scan must report for `bytes[start, end)`: each delimiter's position, each LF's as its bitwise NOT. */
function expectedSpecials(bytes: Uint8Array, start: number, end: number, d: number): number[] {
	const out: number[] = [];
	for (let i = start; i < end; i++) {
		if (bytes[i] === 0x0a) out.push(~i);
		else if (bytes[i] === d) out.push(i);
	}
	return out;
}

function scanned(s: SpecialScanner, bytes: Uint8Array, start: number, end: number, d: number): number[] {
	const count = s.scan(bytes, start, end, d);
	return Array.from(s.table.subarray(0, count));
}

describe('specials: the WebAssembly field-boundary scan', () => {
	it('the module in src/engine/wasm/specialsWasm.ts is what specials.wat assembles to', function () {
		this.timeout(60_000);
		const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'scripts', 'build-wasm.mjs'), '--check'], {
			encoding: 'utf8',
		});
		assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
	});

	it('runs on this Node (WebAssembly SIMD), so the engine takes it and the tests below compare two paths', () => {
		assert.ok(SpecialScanner.create(), 'SpecialScanner.create() returned null: the fast path would never run');
	});

	it('finds every delimiter and line feed, at any length, offset and alignment', () => {
		const scanner = SpecialScanner.create() as SpecialScanner;
		const rand = mulberry32(1);
		const alphabet = [0x2c, 0x0a, 0x09, 0x3b, 0x0d, 0x22, 0x61, 0x00, 0xff, 0x80, 0x2c + 0x80, 0x0a + 0x80];
		for (let round = 0; round < 400; round++) {
			const len = round < 100 ? round : Math.floor(rand() * 3000);
			const bytes = new Uint8Array(len + 40);
			for (let i = 0; i < bytes.length; i++) bytes[i] = alphabet[Math.floor(rand() * alphabet.length)];
			const start = Math.floor(rand() * 20);
			const end = Math.min(bytes.length, start + len);
			for (const d of [0x2c, 0x09, 0x3b, 0x00, 0xff]) {
				assert.deepEqual(
					scanned(scanner, bytes, start, end, d),
					expectedSpecials(bytes, start, end, d),
					`round ${round}, [${start}, ${end}), delimiter ${d}`,
				);
			}
		}
	});

	it('grows for a window longer than its memory, and is right again on small windows after', () => {
		const scanner = SpecialScanner.create() as SpecialScanner;
		const big = new Uint8Array(SCAN_WINDOW * 5 + 7).fill(0x61);
		for (let i = 3; i < big.length; i += 977) big[i] = i % 2 ? 0x2c : 0x0a;
		big[big.length - 1] = 0x0a;
		assert.deepEqual(scanned(scanner, big, 1, big.length, 0x2c), expectedSpecials(big, 1, big.length, 0x2c));
		const small = Buffer.from('a,b\nc,d\n');
		assert.deepEqual(scanned(scanner, small, 2, 8, 0x2c), expectedSpecials(small, 2, 8, 0x2c));
	});
});

interface Shape {
	name: string;
	init: Partial<WorkerInit>;
	fields: number;
	d: string;
}

const base: WorkerInit = {
	delimiter: 0x2c,
	fieldCount: 5,
	outputFieldCount: 5,
	keyColumns: [{ index: 1, kind: 0, buckets: 0, name: 'k' }],
	runs: null,
	recordEnds: false,
	timestampIndex: 2,
	priceIndex: 3,
	quantityIndex: 4,
	orders: null,
	strictUtf8: false,
	eol: '\n',
	compress: null,
};

const shapes: Shape[] = [
	{ name: 'one key, stats', init: {}, fields: 5, d: ',' },
	{
		name: 'value + date keys, capped files',
		init: {
			keyColumns: [
				{ index: 1, kind: 0, buckets: 0, name: 'k' },
				{ index: 2, kind: 1, buckets: 0, name: 'ts' },
			],
			recordEnds: true,
		},
		fields: 5,
		d: ',',
	},
	{
		name: 'hour + hash keys, column runs, tab',
		init: {
			delimiter: 0x09,
			keyColumns: [
				{ index: 2, kind: 4, buckets: 0, name: 'ts' },
				{ index: 0, kind: 5, buckets: 7, name: 'id' },
			],
			runs: [0, 0, 2, 3],
		},
		fields: 5,
		d: '\t',
	},
	{
		name: 'month key, no stats, orders filter, semicolon',
		init: {
			delimiter: 0x3b,
			keyColumns: [{ index: 2, kind: 3, buckets: 0, name: 'ts' }],
			timestampIndex: -1,
			priceIndex: -1,
			quantityIndex: -1,
			orders: [encodeKey(['2024-03']), encodeKey(['2024-05'])],
		},
		fields: 5,
		d: ';',
	},
	{
		name: 'last field is the key, wide records',
		init: { fieldCount: 9, keyColumns: [{ index: 8, kind: 0, buckets: 0, name: 'k' }] },
		fields: 9,
		d: ',',
	},
];

/** One random field: mostly plain text, sometimes quoted (with "" and line breaks), empty, numeric or a date. */
function field(rand: () => number, d: string, long: boolean): string {
	const r = rand();
	if (long) return 'x'.repeat(SCAN_WINDOW + Math.floor(rand() * 2000));
	if (r < 0.05) return `"a${d}b""c\nd"`;
	if (r < 0.08) return '"plain quoted"';
	if (r < 0.12) return '';
	if (r < 0.35) return `2024-0${1 + Math.floor(rand() * 6)}-1${Math.floor(rand() * 9)}T0${Math.floor(rand() * 9)}:00`;
	if (r < 0.55) return `${Math.floor(rand() * 100000) / 100}`;
	if (r < 0.6) return 'not-a-date';
	return ['AAPL', 'MSFT', 'BRK/B', 'é', 'x y', 'Q'][Math.floor(rand() * 6)];
}

/** Random records; each ends with LF, CRLF, or (the last, sometimes) nothing. Returns the records' texts. */
function records(rand: () => number, shape: Shape, count: number): string[] {
	const out: string[] = [];
	for (let r = 0; r < count; r++) {
		const x = rand();
		let nf = shape.fields;
		if (x < 0.04) nf = shape.fields - 1;
		else if (x < 0.07) nf = shape.fields + 1;
		const long = rand() < 0.01;
		const values: string[] = [];
		for (let f = 0; f < nf; f++) values.push(field(rand, shape.d, long && f === 0));
		let text = x < 0.09 && x >= 0.07 ? '' : values.join(shape.d);
		if (rand() < 0.02) text += '\r'; // a CR before the line ending's CRLF: data
		out.push(text + (rand() < 0.2 ? '\r\n' : '\n'));
	}
	if (rand() < 0.5) out[out.length - 1] = out[out.length - 1].replace(/\r?\n$/, rand() < 0.5 ? '' : '\r');
	return out;
}

/** A ChunkDone with its result bytes read out (regions only: the gaps between them are not written). */
function comparable(done: ChunkDone): unknown {
	const data = Buffer.from(done.data);
	return {
		...done,
		input: null,
		data: done.buckets.map((b) => data.subarray(b.offset, b.offset + b.length).toString('latin1')),
		rejectData: Buffer.from(done.rejectData).toString('latin1'),
		recordEnds: done.recordEnds ? Array.from(new Int32Array(done.recordEnds)) : null,
	};
}

/** `chunk` at offset `at` of a new buffer with room past its end, as the coordinator hands chunks over. */
function chunkBuffer(chunk: Buffer, at: number): ArrayBuffer {
	const bytes = new ArrayBuffer(at + chunk.length + 16);
	Buffer.from(bytes).set(chunk, at);
	return bytes;
}

function processBoth(init: WorkerInit, chunk: Buffer, seq: number, startLine: number, isLast: boolean): ChunkDone[] {
	return [new ChunkProcessor(init), new ChunkProcessor(init, null)].map((p) =>
		p.process(seq, chunkBuffer(chunk, 5), 5, chunk.length, startLine, isLast),
	);
}

describe('specials: the chunk processor gives the same result with and without the scan', () => {
	for (const shape of shapes) {
		it(shape.name, () => {
			const init: WorkerInit = { ...base, ...shape.init };
			for (let seed = 1; seed <= 12; seed++) {
				const rand = mulberry32(seed * 7919 + shape.fields);
				const recs = records(rand, shape, 50 + Math.floor(rand() * 400));
				// Cut the records into chunks at record ends (as the coordinator does); the last one isLast.
				let at = 0;
				let line = 1;
				for (let seq = 0; at < recs.length; seq++) {
					const take = 1 + Math.floor(rand() * 120);
					const slice = recs.slice(at, at + take);
					at += take;
					const isLast = at >= recs.length;
					const text = slice.join('');
					const [fast, slow] = processBoth(init, Buffer.from(text, 'utf8'), seq, line, isLast);
					assert.deepEqual(comparable(fast), comparable(slow), `seed ${seed}, chunk ${seq}`);
					line += fast.lines;
				}
			}
		});
	}

	it('a chunk whose first bytes are one long record and the rest far more, shorter ones: every record kept', () => {
		// The record tables are sized from the records per byte of a chunk's first 64 KB; here that guess is far too
		// low, so they must still grow inside the record loop, keeping what they hold (with and without a column
		// selection, which has a table of its own).
		const long = `0,L,2024-01-01,${'9'.repeat(70_000)},1\n`;
		const short = Array.from({ length: 60_000 }, (_, i) => `${i},S${i % 7},2024-01-02,${i % 100},${i}\n`);
		const text = long + short.join('');
		for (const init of [base, { ...base, runs: [0, 1, 3, 4], outputFieldCount: 4 }]) {
			const [fast, slow] = processBoth(init, Buffer.from(text), 0, 1, false);
			assert.deepEqual(comparable(fast), comparable(slow));
			assert.equal(fast.rowsRead, 60_001);
			const data = Buffer.from(fast.data);
			const got = new Map(fast.buckets.map((b) => [b.key, data.subarray(b.offset, b.offset + b.length).toString()]));
			const keep = (r: string) =>
				init.runs
					? r
							.split(',')
							.filter((_, f) => f !== 2)
							.join(',')
					: r;
			assert.equal(got.get('L'), keep(long));
			for (let k = 0; k < 7; k++)
				assert.equal(
					got.get(`S${k}`),
					short
						.filter((_, i) => i % 7 === k)
						.map(keep)
						.join(''),
					`S${k}`,
				);
		}
	});

	it('a chunk with no quote at all and one whose every record is quoted', () => {
		const plain = `${Array.from({ length: 3000 }, (_, i) => `${i},S${i % 13},2024-01-0${1 + (i % 9)},${i / 8},${i}`).join('\n')}\n`;
		const quoted = plain.replace(/,S(\d+),/g, ',"S$1",');
		for (const text of [plain, quoted]) {
			const [fast, slow] = processBoth(base, Buffer.from(text), 0, 1, false);
			assert.deepEqual(comparable(fast), comparable(slow));
			assert.equal(fast.rowsRead, 3000);
			assert.equal(fast.rejects.count, 0);
		}
	});
});

describe("chunk processor: the first chunk's warm-up (its first records run once, the result dropped) changes nothing", () => {
	/** `text` (UTF-8 unless given as bytes) as a chunk at offset 3, from line 1, not the file's last. */
	const run = (p: ChunkProcessor, text: string | Buffer) => {
		const chunk = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
		return p.process(0, chunkBuffer(chunk, 3), 3, chunk.length, 1, false);
	};

	it('a new processor gives the same result as one that has processed other chunks, for every shape', () => {
		for (const shape of shapes) {
			const init: WorkerInit = { ...base, ...shape.init };
			for (let seed = 1; seed <= 8; seed++) {
				const rand = mulberry32(seed * 104_729 + shape.fields);
				// The last record always ends with a line ending: these chunks are not the file's last.
				const text = records(rand, shape, 200 + Math.floor(rand() * 600))
					.join('')
					.replace(/(\r?\n|\r)?$/, '\n');
				const used = new ChunkProcessor(init);
				run(
					used,
					records(rand, shape, 300)
						.join('')
						.replace(/(\r?\n|\r)?$/, '\n'),
				);
				assert.deepEqual(comparable(run(new ChunkProcessor(init), text)), comparable(run(used, text)), `${seed}`);
			}
		}
	});

	it('the warm-up takes whole records from the first quarter of the first chunk only, and runs once', () => {
		const calls: number[] = [];
		const spy = (p: ChunkProcessor) => {
			const real = p.process.bind(p);
			p.process = (...a: Parameters<ChunkProcessor['process']>) => {
				calls.push(a[3]);
				return real(...a);
			};
			return p;
		};
		const rows = (n: number) => '2,B,2024-01-02,7,8\n'.repeat(n);
		const p = spy(new ChunkProcessor(base));
		const text = rows(5000);
		run(p, text);
		run(p, text);
		// The first call first ran the records ending in its first quarter (1,250 of 5,000; at most 2,000), the second none.
		assert.deepEqual(calls, [text.length, 1250 * 19, text.length]);
		// A first record longer than a quarter of the chunk: no warm-up (it would run most of the chunk twice).
		calls.length = 0;
		const long = `1,"${'x'.repeat(4000)}",2024-01-01,5,6\n${rows(10)}`;
		run(spy(new ChunkProcessor(base)), long);
		assert.deepEqual(calls, [long.length]);
	});

	it('a first quarter that ends inside a quoted field, or holds bytes that are not UTF-8, is reported by the chunk itself', () => {
		// The warm-up's cut lands inside the quoted field (its line breaks look like record ends): its failure is dropped.
		const quoted = `1,"${'a\n'.repeat(400)}",2024-01-01,5,6\n${'2,B,2024-01-02,7,8\n'.repeat(50)}`;
		const fresh = run(new ChunkProcessor(base), quoted);
		assert.equal(fresh.rowsRead, 51);
		assert.equal(fresh.rejects.count, 0);
		const used = new ChunkProcessor(base);
		run(used, '9,C,2024-01-03,1,2\n');
		assert.deepEqual(comparable(fresh), comparable(run(used, quoted)));
		// With --strict-utf8, bad bytes among the first records fail the chunk with their line, warm-up or not.
		const strict: WorkerInit = { ...base, strictUtf8: true };
		const bad = `${'1,A,2024-01-01,5,6\n'.repeat(3)}1,\u00ff,2024-01-01,5,6\n${'2,B,2024-01-02,7,8\n'.repeat(100)}`;
		const bytes = Buffer.from(bad, 'latin1');
		const usedStrict = new ChunkProcessor(strict);
		run(usedStrict, '9,C,2024-01-03,1,2\n');
		for (const p of [new ChunkProcessor(strict), usedStrict])
			assert.throws(() => run(p, bytes), { code: 'invalid-utf8', line: 4 });
	});
});

describe('specials: the WebAssembly layout of records by partition', () => {
	it('gives the JavaScript layout’s bytes as its memory grows, past its memory limit, for whole records and runs, with capped files', () => {
		// A scanner whose module may take 400 KB (its scan window and table take 320 KB): chunks up to about 30 KB
		// are laid out by the module, larger ones by JavaScript (layOut returns false). One processor takes the chunks in turn, so the module's memory grows and
		// its copy of each chunk is made anew; a CR-delimited chunk (no scan at all) has its copy made whole.
		const text = (records: number, seed: number, d = ',', quoteEvery = 5) =>
			Array.from({ length: records }, (_, i) => {
				const k = `S${(i * seed) % 11}`;
				const key = i % quoteEvery === 0 ? `"${k}"` : k;
				return [i, key, `2024-01-0${1 + (i % 9)}`, (i % 97) / 4, i].join(d);
			}).join('\n');
		const inits: WorkerInit[] = [
			base,
			{ ...base, recordEnds: true },
			{ ...base, runs: [0, 0, 2, 4], outputFieldCount: 4 },
			{ ...base, runs: [0, 0, 2, 4], outputFieldCount: 4, recordEnds: true },
		];
		for (const init of inits) {
			const scanner = SpecialScanner.create(400 * 1024) as SpecialScanner;
			let byModule = 0;
			const layOut = scanner.layOut.bind(scanner);
			scanner.layOut = (job) => {
				const done = layOut(job);
				if (done) byModule++;
				return done;
			};
			const fast = new ChunkProcessor(init, scanner);
			const slow = new ChunkProcessor(init, null);
			const chunks = [
				`${text(20, 3)}\n`,
				`${text(300, 5)}\n`,
				`${text(3000, 7)}\n`,
				`${text(60, 2, ',', 1)}\n`,
				text(250, 9),
			];
			chunks.forEach((chunk, seq) => {
				const bytes = Buffer.from(chunk);
				const isLast = seq === chunks.length - 1;
				const got = fast.process(seq, chunkBuffer(bytes, 3), 3, bytes.length, 1, isLast);
				const want = slow.process(seq, chunkBuffer(bytes, 3), 3, bytes.length, 1, isLast);
				assert.deepEqual(comparable(got), comparable(want), `chunk ${seq} (${bytes.length} bytes)`);
			});
			// The 3,000-record chunk (about 85 KB) is over the limit; the first chunk also ran once as the warm-up.
			assert.equal(byModule, chunks.length, JSON.stringify(init.runs));
		}
	});
});
