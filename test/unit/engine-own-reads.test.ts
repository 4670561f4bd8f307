import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { extract } from '../../src/engine';
import { BufferPool } from '../../src/engine/bufferPool';
import { type OwnChunk, readOwnChunk } from '../../src/engine/chunkReader';
import { firstRecordEnd } from '../../src/engine/dialect';
import { assertMatchesReference } from './helpers/compare';
import { type GeneratorPrng, importGenerator } from './helpers/engine';
import { makeTmp, removeTmp } from './helpers/fsutil';
import { reference } from './reference';

/**
 * Workers read a plain input's chunks themselves (docs/performance.md, "Reads off the coordinator"): each guesses where its first
 * record starts (after the first line break of its byte range), and the coordinator checks every guess against the
 * previous chunk's end and has the chunk read again when a quoted line break fooled it. These tests drive
 * `readOwnChunk` as the coordinator does, on files full of quoted line breaks, and run whole extractions on them.
 */

/** Record ends of `content` (offsets past each record), walked with the engine's own rules from the start. */
function recordEnds(content: Buffer): Set<number> {
	const ends = new Set<number>();
	for (let at = 0; at < content.length; ) {
		const end = firstRecordEnd(content.subarray(at), 0x2c);
		if (end === -1) break;
		at += end;
		ends.add(at);
	}
	ends.add(content.length);
	return ends;
}

/** The generator's seedable PRNG (scripts/gen-trades.mjs), loaded from its ES module in before(). */
let mulberry32: GeneratorPrng['mulberry32'];
before(async () => {
	({ mulberry32 } = await importGenerator());
});

/** Rows where most records hold quoted fields with line breaks (and doubled quotes), some lines look like records. */
function quotedRows(n: number, seed: number): string[] {
	const rand = mulberry32(seed);
	const rows: string[] = [];
	for (let i = 0; i < n; i++) {
		const key = `K${Math.floor(rand() * 5)}`;
		const r = rand();
		if (r < 0.6) rows.push(`${key},"note ${i}\nK9,""x""\n,${i}\n",${i}\n`);
		else if (r < 0.8) rows.push(`${key},"${'\n'.repeat(1 + Math.floor(rand() * 4))}",${i}\r\n`);
		else rows.push(`${key},plain ${i},${i}\n`);
	}
	return rows;
}

describe('engine: workers read their own chunks (speculative chunk starts)', function () {
	this.timeout(300_000);
	let tmp: string;
	before(() => {
		tmp = makeTmp('sweep-own-');
	});
	after(() => removeTmp(tmp));

	/** Extracts `input` by symbol at workers 1, 2, 3 × `chunkSizes`, each output checked against the csv-parse reference. */
	async function matchesReferenceAt(input: string, name: string, chunkSizes: number[]): Promise<void> {
		const ref = reference(fs.readFileSync(input), { delimiter: ',', partitionBy: ['symbol'] });
		for (const workers of [1, 2, 3]) {
			for (const chunkSize of chunkSizes) {
				const outDir = path.join(tmp, `${name}-${workers}-${chunkSize}`);
				const returned = await extract({ input, outDir, workers, chunkSize, partitionBy: ['symbol'] });
				assertMatchesReference(
					outDir,
					ref,
					{ input, partitionBy: ['symbol'], context: `workers ${workers}, chunk size ${chunkSize}` },
					returned,
				);
			}
		}
	}

	/**
	 * Reads `file` as readByWorkers does: planned ranges of `target` bytes (those the chunks so far cover skipped),
	 * guesses checked in order (an empty answer for a covered range taken as it is), redone when wrong.
	 */
	function chain(file: string, size: number, start: number, target: number, max: number) {
		const fd = fs.openSync(file, 'r');
		const buffers = new BufferPool(2);
		const spec = { file, size, delimiter: 0x2c, maxChunkBytes: max };
		const chunks: OwnChunk[] = [];
		let wrong = 0;
		let end = start;
		try {
			const take = (c: OwnChunk) => {
				chunks.push({ ...c, bytes: c.bytes.slice(c.offset, c.offset + c.length), offset: 0 });
				end = c.end;
			};
			for (let from = start; ; from += target) {
				from = Math.max(from, start + Math.floor((end - start) / target) * target);
				if (from >= size) break;
				const endAt = Math.min(from + target, size);
				let c = readOwnChunk(fd, { ...spec, from, exact: from === start, endAt }, buffers);
				if (endAt <= end && c.length === 0 && !c.tooLarge) continue;
				if (c.start !== end) {
					wrong++;
					c = readOwnChunk(fd, { ...spec, from: end, exact: true, endAt }, buffers);
					assert.equal(c.start, end, 'a chunk read again starts where the previous one ended');
				}
				assert.ok(!c.tooLarge, `chunk at ${c.start} too large`);
				take(c);
			}
			while (end < size) take(readOwnChunk(fd, { ...spec, from: end, exact: true, endAt: size }, buffers));
		} finally {
			fs.closeSync(fd);
		}
		return { chunks, wrong };
	}

	it('a chain of guesses, checked and redone, cuts the file into whole records, whatever the chunk size', () => {
		const content = Buffer.from(quotedRows(3000, 7).join(''));
		const file = path.join(tmp, 'quoted.csv');
		fs.writeFileSync(file, content);
		const ends = recordEnds(content);
		let wrongInAll = 0;
		for (const target of [1, 7, 40, 113, 1000, 4096, content.length]) {
			const { chunks, wrong } = chain(file, content.length, 0, target, 64 * 1024 * 1024);
			wrongInAll += wrong;
			assert.equal(Buffer.concat(chunks.map((c) => Buffer.from(c.bytes))).toString(), content.toString());
			for (const c of chunks) {
				assert.ok(ends.has(c.end), `target ${target}: a chunk ends at ${c.end}, not a record end`);
				if (c.isLast) assert.equal(c.end, content.length, 'only a chunk at the end of the file is the last');
			}
			assert.ok(chunks.at(-1)?.end === content.length);
		}
		// The file is made so that guesses go wrong: the redo path is what this test is about.
		assert.ok(wrongInAll > 100, `${wrongInAll} wrong guesses`);
	});

	it('a guess with no line break within the byte cap gives up; an exact start past the cap is too large', () => {
		// No line break in the first read (at least 256 KB) of a guess at byte 20.
		const long = `K,"${'x'.repeat(600_000)}\n${'y'.repeat(5000)}"\n`;
		const content = Buffer.from(`a,b\nK,1\n${long}K,2\n`);
		const file = path.join(tmp, 'long.csv');
		fs.writeFileSync(file, content);
		const fd = fs.openSync(file, 'r');
		try {
			const spec = { file, size: content.length, delimiter: 0x2c, maxChunkBytes: 4096 };
			// A planned range larger than the cap, with no line break within the cap.
			const guess = readOwnChunk(fd, { ...spec, from: 20, exact: false, endAt: 500_000 }, new BufferPool(1));
			assert.equal(guess.start, -1);
			assert.ok(guess.tooLarge);
			const exact = readOwnChunk(fd, { ...spec, from: 8, exact: true, endAt: 30 }, new BufferPool(1));
			assert.equal(exact.start, 8);
			assert.ok(exact.tooLarge);
			// From the record before it: cut at that record's end (the last one within the cap).
			const before = readOwnChunk(fd, { ...spec, from: 4, exact: true, endAt: 30 }, new BufferPool(1));
			assert.deepEqual([before.start, before.end, before.tooLarge], [4, 8, false]);
		} finally {
			fs.closeSync(fd);
		}
	});

	it('a guess reads no further than its planned range when no record starts there (long records: linear cost)', () => {
		// One record of 300 KB: every planned range inside it holds no line break. The size given is larger than the
		// file, so a read past the range (and its 4 KB of slack) would find the file shorter and throw: a guess used to
		// read on to the record's end, once per planned range inside it (the record's length squared).
		const content = Buffer.from(`a,b\nK,"${'x'.repeat(300_000)}"\nK,2\n`);
		const file = path.join(tmp, 'one-long.csv');
		fs.writeFileSync(file, content);
		const fd = fs.openSync(file, 'r');
		try {
			const spec = { file, size: content.length + 10_000_000, delimiter: 0x2c, maxChunkBytes: 1 << 20 };
			const inside = readOwnChunk(fd, { ...spec, from: 1000, exact: false, endAt: 2000 }, new BufferPool(1));
			assert.deepEqual([inside.start, inside.length, inside.tooLarge], [-1, 0, false]);
			// A line break at endAt - 1 is a record start at endAt: an empty chunk there, as before.
			const lf = content.indexOf('\n', 8);
			const at = readOwnChunk(fd, { ...spec, from: lf - 500, exact: false, endAt: lf + 1 }, new BufferPool(1));
			assert.deepEqual([at.start, at.length, at.tooLarge], [lf + 1, 0, false]);
		} finally {
			fs.closeSync(fd);
		}
	});

	it('records much longer than the chunk target: the reference bytes at workers 1, 2, 3 × chunk sizes', async () => {
		// The target is learnt from the first megabyte (tiny records), then records of 3 KB and one of 200 KB follow:
		// most planned chunks lie inside one record.
		const input = path.join(tmp, 'skew.csv');
		const rand = mulberry32(5);
		const tiny = Array.from({ length: 30_000 }, (_, i) => `K${i % 3},${i}\n`).join('');
		const wide = Array.from(
			{ length: 300 },
			(_, i) => `K${Math.floor(rand() * 4)},"${'w'.repeat(3000)}${i % 50 === 0 ? '\n,\n' : ''}"\n`,
		).join('');
		fs.writeFileSync(input, `symbol,v\n${tiny}${wide}K1,${'z'.repeat(200_000)}\n${tiny}`);
		await matchesReferenceAt(input, 'skew', [1, 10, 1000]);
	});

	it('a file that shrinks under a worker stops with file-changed', () => {
		const content = Buffer.from(quotedRows(200, 3).join(''));
		const file = path.join(tmp, 'shrinks.csv');
		fs.writeFileSync(file, content);
		const fd = fs.openSync(file, 'r');
		try {
			fs.truncateSync(file, 100);
			const spec = { file, size: content.length, delimiter: 0x2c, maxChunkBytes: 1 << 20 };
			assert.throws(
				() => readOwnChunk(fd, { ...spec, from: 50, exact: false, endAt: 4000 }, new BufferPool(1)),
				(e: Error & { code?: string }) => e.code === 'file-changed' && /became shorter/.test(e.message),
			);
		} finally {
			fs.closeSync(fd);
		}
	});

	it('the same chunk boundaries whoever reads: manifests equal at 1, 2, 3 workers and from .csv.gz (sums of prices)', async () => {
		// Prices with many decimals: their sums (notional, VWAP), added chunk by chunk, differ in the last bits when the
		// chunks differ. One worker reads through the coordinator, more read their own chunks, a .gz through the
		// decompression thread: all three must cut at the same records.
		const rand = mulberry32(12345);
		const rows = ['symbol,price,quantity,note'];
		for (let i = 0; i < 20_000; i++) {
			const note = i % 9 === 0 ? `"a\nb,${i}"` : `n${i}`;
			rows.push(`S${Math.floor(rand() * 7)},${(rand() * 2000).toFixed(7)},${Math.floor(rand() * 997) / 10},${note}`);
		}
		const input = path.join(tmp, 'prices.csv');
		fs.writeFileSync(input, `${rows.join('\n')}\n`);
		fs.writeFileSync(`${input}.gz`, zlib.gzipSync(fs.readFileSync(input)));
		const partitionsOf = async (file: string, workers: number) => {
			const m = await extract({
				input: file,
				outDir: path.join(tmp, `m-${workers}-${path.basename(file)}`),
				workers,
				chunkSize: 300,
			});
			return m.partitions;
		};
		const one = await partitionsOf(input, 1);
		assert.ok(one.some((p) => !Number.isInteger(p.stats.notional)));
		assert.deepEqual(await partitionsOf(input, 2), one, '2 workers');
		assert.deepEqual(await partitionsOf(input, 3), one, '3 workers');
		assert.deepEqual(await partitionsOf(`${input}.gz`, 2), one, 'from .csv.gz');
	});

	it('extractions of files full of quoted line breaks give the reference bytes at workers 1, 2, 3 × chunk sizes', async () => {
		const input = path.join(tmp, 'in.csv');
		const body = quotedRows(2500, 11).join('');
		// Also: a last record without a line ending, and one with a quote left open (rejected) would end the file.
		fs.writeFileSync(input, `symbol,note,n\n${body}K1,"last\nrecord",9`);
		await matchesReferenceAt(input, 'out', [1, 2, 5, 64, 1_000_000]);
	});
});
