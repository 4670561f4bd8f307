import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { XXHashAPI } from 'xxhash-wasm';
import { type Decoder, FZSTD_BURST, fzstdDecoder, ZstdCuts, zstdFrameEnd } from '../../src/engine/sourceWorker';
import { makeTmp, removeTmp } from './helpers/fsutil';

/**
 * The fzstd path (zstd on a Node before 22.15; tested here on any Node) against a zstd bomb: fzstd decodes every
 * block complete in what it is given at once, so the decoder gives it whole blocks at a time, never more than
 * FZSTD_BURST bytes of their output before the reader has taken it. The frames are made by hand, byte by byte
 * (RFC 8878): RLE blocks decode 4 bytes to 128 KB each.
 */

const BLOCK = 128 * 1024;

/** A block header: last-block bit, type (0 raw, 1 RLE, 2 compressed), size. */
const blockHeader = (type: number, size: number, last: boolean) => {
	const h = (last ? 1 : 0) | (type << 1) | (size << 3);
	return Buffer.from([h & 0xff, (h >> 8) & 0xff, (h >> 16) & 0xff]);
};
/** A block: its type (0 raw, 1 RLE, 2 compressed), the bytes after its header, what it decodes to. */
type Block = { type: number; bytes: Buffer; content: Buffer };
const rle = (byte: number, size: number): Block => ({
	type: 1,
	bytes: Buffer.from([byte]),
	content: Buffer.alloc(size, byte),
});
const raw = (text: string): Block => ({ type: 0, bytes: Buffer.from(text), content: Buffer.from(text) });
/** A compressed block of raw literals only (fewer than 32) and no sequences. */
const literals = (text: string): Block => ({
	type: 2,
	bytes: Buffer.concat([Buffer.from([text.length << 3]), Buffer.from(text), Buffer.from([0])]),
	content: Buffer.from(text),
});

/** A zstd frame of `blocks` (8 MB window, 8-byte content size, with a content checksum when given `xxh`). */
function frame(blocks: Block[], xxh: XXHashAPI | null): { bytes: Buffer; content: Buffer } {
	const content = Buffer.concat(blocks.map((b) => b.content));
	const head = Buffer.alloc(14);
	head.writeUInt32LE(0xfd2fb528, 0);
	head[4] = (3 << 6) | (xxh ? 4 : 0); // 8-byte Frame_Content_Size, checksum flag, no dictionary
	head[5] = (23 - 10) << 3; // Window_Descriptor: 8 MB
	head.writeBigUInt64LE(BigInt(content.length), 6);
	const parts: Buffer[] = [head];
	blocks.forEach((b, i) => {
		const size = b.type === 1 ? b.content.length : b.bytes.length;
		parts.push(blockHeader(b.type, size, i === blocks.length - 1), b.bytes);
	});
	if (xxh) {
		const sum = Buffer.alloc(4);
		sum.writeUInt32LE(Number(xxh.h64Raw(content) & 0xffffffffn), 0);
		parts.push(sum);
	}
	return { bytes: Buffer.concat(parts), content };
}

/**
 * Feeds `bytes` (one frame, as the source thread's pump() does: frameStart, writes of `sizes` bytes in turn, each
 * once the one before is taken, frameDone) while a reader like the source thread's takes up to `take` bytes, then
 * pauses until the next turn of the event loop. Returns the output, the most bytes the stream held (given to the
 * reader and not yet taken, plus its buffer) and what frameDone said.
 */
async function drive(
	dec: Decoder,
	file: string,
	bytes: Buffer,
	sizes: number[],
	take: number,
): Promise<{ out: Buffer; most: number; problem: string | null }> {
	await dec.ready;
	fs.writeFileSync(file, bytes);
	const fd = fs.openSync(file, 'r');
	const f = zstdFrameEnd(fd, 0, bytes.length);
	fs.closeSync(fd);
	assert.ok(f.known && f.end === bytes.length, 'the frame walk reads the hand-made frame to its end');
	dec.frameStart?.(f);
	const s = dec.stream;
	const got: Buffer[] = [];
	let held = 0;
	let most = 0;
	let ended = false;
	s.on('data', (c: Buffer) => {
		got.push(c);
		held += c.length;
		most = Math.max(most, held + s.readableLength);
		if (held >= take) s.pause();
	});
	s.on('end', () => {
		ended = true;
	});
	// The reader: takes what it was given once per turn of the event loop.
	const reader = setInterval(() => {
		most = Math.max(most, held + s.readableLength);
		held = 0;
		s.resume();
	}, 0);
	try {
		let problem: string | null = null;
		for (let at = 0, i = 0; at < bytes.length; i++) {
			const n = Math.min(sizes[i % sizes.length], bytes.length - at);
			await new Promise<void>((resolve, reject) =>
				s.write(bytes.subarray(at, at + n), (e) => (e ? reject(e) : resolve())),
			);
			at += n;
			assert.equal(dec.consumed(), at, 'the decoder counts what it has taken');
		}
		problem = dec.frameDone?.(f) ?? null;
		s.end();
		while (!ended) await new Promise((r) => setTimeout(r, 1));
		return { out: Buffer.concat(got), most, problem };
	} finally {
		clearInterval(reader);
	}
}

describe('compressed input: fzstd is given a zstd bomb a few blocks at a time', function () {
	this.timeout(120_000);
	let dir = '';
	let xxh: XXHashAPI;
	before(async () => {
		dir = makeTmp('sweep-fzstd-');
		xxh = await (require('xxhash-wasm') as () => Promise<XXHashAPI>)();
	});
	after(() => removeTmp(dir));

	it('a frame of 600 RLE blocks (75 MB from 2.4 KB) written at once: never more than FZSTD_BURST held by a slow reader', async () => {
		const blocks = [
			raw('x,y\n'),
			literals('1,2\n'),
			...Array.from({ length: 600 }, () => rle(10, BLOCK)),
			raw('3,4\n'),
		];
		const f = frame(blocks, xxh);
		assert.ok(f.bytes.length < 3000 && f.content.length > 75 * 1024 * 1024);
		const take = 2 * 1024 * 1024; // the source thread's block
		const r = await drive(fzstdDecoder(), path.join(dir, 'bomb.zst'), f.bytes, [1024 * 1024], take);
		assert.equal(r.problem, null, 'content size and checksum as the frame gives them');
		assert.ok(r.out.equals(f.content), 'the output is the frame’s content');
		// Was: the whole frame decoded in its one write, 75 MB held.
		const bound = take + FZSTD_BURST + BLOCK;
		assert.ok(r.most <= bound, `held at most ${r.most} bytes (bound ${bound})`);
	});

	it('RLE blocks up to 2 MB (their size field’s most, fzstd decodes them), raw and compressed ones, fed in writes of 1 to 13 bytes', async () => {
		const blocks: Block[] = [raw('symbol,x\n')];
		for (let i = 0; i < 40; i++) {
			blocks.push(rle(65 + (i % 26), [1, BLOCK, 3 * BLOCK, 2 ** 21 - 1, 1000][i % 5]));
			if (i % 7 === 3) blocks.push(literals(`A,${i}\n`));
			if (i % 9 === 4) blocks.push(raw(`raw block ${i}\n`.repeat(50)));
		}
		blocks.push(literals('end\n'));
		const f = frame(blocks, xxh);
		const sizes = Array.from({ length: 13 }, (_, i) => i + 1);
		const r = await drive(fzstdDecoder(), path.join(dir, 'mixed.zst'), f.bytes, sizes, 256 * 1024);
		assert.equal(r.problem, null);
		assert.ok(r.out.equals(f.content), 'the output is the frame’s content');
		const whole = await drive(fzstdDecoder(), path.join(dir, 'mixed1.zst'), f.bytes, [f.bytes.length], 256 * 1024);
		assert.ok(whole.out.equals(f.content), 'written at once: the same output');
		assert.ok(whole.most <= 256 * 1024 + FZSTD_BURST + 2 ** 21, `held at most ${whole.most} bytes`);
	});

	it('ZstdCuts cuts so that each piece’s blocks decode to at most the limit, however the stream is written', () => {
		// Two frames (one with a checksum) with a skippable frame between them, as one stream.
		const skippable = Buffer.alloc(8 + 5, 0xee);
		skippable.writeUInt32LE(0x184d2a53, 0);
		skippable.writeUInt32LE(5, 4);
		const a = frame([raw('h\n'), ...Array.from({ length: 30 }, (_, i) => rle(10, i === 7 ? 2 ** 21 - 1 : BLOCK))], xxh);
		const b = frame([literals('z\n'), ...Array.from({ length: 20 }, () => rle(10, 1000))], null);
		const stream = Buffer.concat([a.bytes, skippable, b.bytes]);
		const limit = 512 * 1024;
		for (const step of [stream.length, 1, 2, 3, 5, 64]) {
			const walk = new ZstdCuts();
			const cuts: number[] = [];
			for (let at = 0; at < stream.length; at += step) {
				const part = stream.subarray(at, at + step);
				const c = walk.cuts(part, limit);
				for (let k = 0; k < c.length; k++) {
					assert.ok(c[k] > 0 && c[k] < part.length && (k === 0 || c[k] > c[k - 1]), 'cuts ascend, inside the write');
				}
				cuts.push(...c.map((x) => at + x));
			}
			// Decode each piece (cuts and write boundaries) with fzstd alone, counting its output.
			const fzstd = require('fzstd') as typeof import('fzstd');
			let burst = 0;
			let most = 0;
			let total = 0;
			let over = 0;
			/** The longest fzstd's list of pending input (its field `c`) was. */
			let pendingMost = 0;
			const d = new fzstd.Decompress((chunk) => {
				burst += chunk.length;
				total += chunk.length;
			});
			const ends = [
				...new Set([...cuts, ...Array.from({ length: Math.ceil(stream.length / step) }, (_, i) => (i + 1) * step)]),
			]
				.map((x) => Math.min(x, stream.length))
				.sort((x, y) => x - y);
			let from = 0;
			for (const end of ends) {
				if (end <= from) continue;
				burst = 0;
				d.push(stream.subarray(from, end), end === stream.length);
				most = Math.max(most, burst);
				if (burst > limit) over++;
				pendingMost = Math.max(pendingMost, (d as unknown as { c?: unknown[] }).c?.length ?? 0);
				from = end;
			}
			assert.equal(total, a.content.length + b.content.length, `step ${step}: all of the content`);
			// A block over the limit (the 2 MB RLE block) is alone in its piece; no other piece goes over it.
			assert.ok(most <= 2 ** 21 - 1, `step ${step}: a piece decoded to ${most} bytes`);
			assert.ok(over <= 1, `step ${step}: ${over} pieces over the limit`);
			if (step === stream.length) {
				assert.ok(cuts.length >= 8, `29 blocks of 128 KB, 4 to a piece, and the 2 MB one alone: ${cuts.length} cuts`);
				// Pieces that ended at a block's end left an empty array each in it (ZstdCuts).
				assert.ok(pendingMost <= 2, `fzstd's pending input list stays short: ${pendingMost} entries`);
			}
		}
	});
});
