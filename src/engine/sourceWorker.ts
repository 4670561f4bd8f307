/**
 * Decompression thread (bundled as dist/sourceWorker.js). Reads a compressed file through the file descriptor the
 * main thread opened (so it reads the very file the main thread checks), decompresses it (gzip, also several
 * members; zstd, also several frames) and posts the decompressed bytes to the main thread in blocks, transferring
 * their buffers. At most `maxBlocks` blocks are out at once; each block the main thread has copied out comes back
 * with a credit, so memory stays bounded however large the file (backpressure pauses the decompressor, which
 * pauses the file reads).
 *
 * It also takes the SHA-256 of the file's bytes as it reads them (the input's identity in the manifest, README
 * "Appending"): a compressed input needs no second read of the file for it.
 *
 * Messages: in, `SourceCredit`; out, `SourceBlock`, then one `SourceEnd` or `SourceFailed`.
 */
import { createHash } from 'node:crypto';
import { read, readSync } from 'node:fs';
import { Transform } from 'node:stream';
import { parentPort, workerData } from 'node:worker_threads';
import * as zlib from 'node:zlib';
import type { XXHash, XXHashAPI } from 'xxhash-wasm';
import { announceThread } from './threadRole';
import { endWhenQuiet, isStop, type StopMessage } from './threadStop';

/** Compressed bytes per read (larger reads, fewer of them: measured ~7% less CPU than 256 KB for a .gz). */
const PIECE = 1024 * 1024;
/** Decompressed bytes per output buffer of Node's decoders (fewer calls back into JavaScript than 256 KB). */
const OUT_CHUNK = 1024 * 1024;
/** Compressed bytes fzstd is given at a time, at most. */
const FZSTD_SLICE = 256 * 1024;
/**
 * Decompressed bytes fzstd may produce from what it is given at once, at most (its blocks' bounds, see ZstdCuts):
 * fzstd decodes every block complete in what it is given, without pausing for the reader, so a zstd bomb (4 GB of
 * newlines in 120 KB, a few bytes a block) fed 256 KB at a time would be decoded whole into memory.
 */
export const FZSTD_BURST = 2 * 1024 * 1024;
/** zstd's Block_Maximum_Size: what a compressed block decodes to at most (fzstd's own buffer for one). */
const ZSTD_BLOCK_MAX = 128 * 1024;

export interface SourceWorkerInit {
	fd: number;
	/** Bytes of the file when the run started: reading stops there (growth is found by the main thread's check). */
	size: number;
	codec: 'gzip' | 'zstd';
	blockBytes: number;
	maxBlocks: number;
}

export interface SourceBlock {
	type: 'data';
	buffer: ArrayBuffer;
	length: number;
	/** Compressed bytes the decompressor had consumed when the block was posted. */
	compressed: number;
}

export interface SourceEnd {
	type: 'end';
	/** Bytes of the file read, all of them: the file's size unless it shrank. */
	compressed: number;
	/** SHA-256 (hex) of those `compressed` bytes, skippable zstd frames included. */
	sha256: string;
}

export interface SourceFailed {
	type: 'failed';
	/** truncated: the data ends inside a member/frame; corrupt: bytes that are not valid; io: reading failed. */
	kind: 'truncated' | 'corrupt' | 'io';
	message: string;
	/** About where, in compressed bytes from the start of the file. */
	offset: number;
}

export type FromSourceWorker = SourceBlock | SourceEnd | SourceFailed;

export interface SourceCredit {
	type: 'credit';
	/** A block buffer handed back for reuse (absent when the main thread kept it). */
	buffer?: ArrayBuffer;
}

/** The decompressor as a stream, and how many compressed bytes it has consumed. */
export interface Decoder {
	stream: Transform;
	consumed(): number;
	/** Node's own zlib decoder. */
	native: boolean;
	/** Whether an error means the data ended early. */
	truncated(e: Error): boolean;
	/**
	 * fzstd only, which checks neither a frame's content checksum nor its content size: called once a frame's
	 * last byte has been decoded, it says what is wrong with the frame's output (null: nothing).
	 */
	frameDone?(frame: ZstdFrame): string | null;
	/** fzstd only: a frame starts (pump() feeds it alone, up to its last byte). */
	frameStart?(frame: ZstdFrame): void;
	/** Resolves once the decoder can take bytes (fzstd: its XXH64 is loaded). */
	ready: Promise<void>;
}

function nativeDecoder(codec: 'gzip' | 'zstd'): Decoder {
	const z = zlib as unknown as { createZstdDecompress?: (o: object) => Transform };
	const stream =
		codec === 'gzip'
			? zlib.createGunzip({ chunkSize: OUT_CHUNK })
			: (z.createZstdDecompress as (o: object) => Transform)({ chunkSize: OUT_CHUNK });
	return {
		stream,
		native: true,
		consumed: () => (stream as unknown as { bytesWritten: number }).bytesWritten ?? 0,
		truncated: (e) => /unexpected end|truncat|end of (file|input)|incomplete/i.test(e.message),
		ready: Promise.resolve(),
	};
}

/** A zstd frame's magic number. */
const ZSTD_MAGIC = 0xfd2fb528;
/** Whether a frame's magic number is a skippable frame's (0x184D2A50 to 0x184D2A5F). */
const isSkippable = (magic: number) => (magic & 0xfffffff0) === 0x184d2a50;

/**
 * What a zstd frame header descriptor (the frame's fifth byte) says: a single segment (no window descriptor), the
 * bytes of the dictionary id and of the content size, a content checksum, and the header's whole length.
 */
function frameDescriptor(fhd: number) {
	const single = (fhd >> 5) & 1;
	const fcsFlag = fhd >> 6;
	const didBytes = [0, 1, 2, 4][fhd & 3];
	const fcsBytes = fcsFlag === 0 ? single : [0, 2, 4, 8][fcsFlag];
	return {
		single: single === 1,
		didBytes,
		fcsBytes,
		checksum: ((fhd >> 2) & 1) === 1,
		headerLength: 5 + (single ? 0 : 1) + didBytes + fcsBytes,
	};
}

/**
 * Where a zstd stream may be cut for fzstd, which decodes every block complete in what it is given at once: walks
 * the frame and block headers as the bytes go by (frames one after another, skippable ones included; a header may
 * span writes) and cuts each write just after a block's start, so that the blocks completed by each piece decode to
 * at most `limit` bytes together. A block's bound comes from its header: a raw block decodes to its size, an RLE
 * block (one byte of content) to its size field, a compressed block to at most 128 KB. After bytes that are not zstd
 * (an unknown magic number, a reserved block type) it cuts no more: fzstd fails on them.
 *
 * A cut falls one byte into the next block's header, not at its start: fzstd keeps that byte back, as it keeps any
 * incomplete block, and joins it to the next piece. A piece that ends exactly at a block's end leaves an empty array
 * in fzstd's list of pending input, which it clears only once bytes are pending: pieces cut at block ends would grow
 * that list by one per piece for as long as the file's reads end at block ends too.
 */
export class ZstdCuts {
	private state: 'frame' | 'block' | 'body' | 'skip' | 'opaque' = 'frame';
	/** A frame's or a block's header, gathered (it may span writes). */
	private readonly head = Buffer.alloc(18);
	private have = 0;
	private need = 4;
	/** Bytes left of the current block's content, a checksum or a skippable frame. */
	private left = 0;
	/** The frame has a content checksum (4 bytes after its last block). */
	private checked = false;
	private last = false;
	/** What the current block decodes to at most. */
	private bound = 0;
	/** Where the current block's header starts, in bytes of the stream walked. */
	private blockStart = 0;
	/** Bytes of the stream walked before the current write. */
	private walked = 0;

	/** A frame starts with the next byte. */
	reset(): void {
		this.state = 'frame';
		this.have = 0;
		this.need = 4;
	}

	/**
	 * The places (ascending, each in 1…length−1) where `bytes`, the stream's next bytes, is cut: every piece, pushed
	 * in turn, completes blocks that decode to at most `limit` bytes together (a block over `limit` alone in its piece).
	 */
	cuts(bytes: Uint8Array, limit: number): number[] {
		const cuts: number[] = [];
		const n = bytes.length;
		const base = this.walked;
		/** The bounds of the blocks completed in the current piece. */
		let pending = 0;
		let i = 0;
		while (i < n) {
			const state = this.state;
			if (state === 'opaque') break;
			if (state === 'body' || state === 'skip') {
				const take = Math.min(this.left, n - i);
				this.left -= take;
				i += take;
				if (this.left === 0) {
					if (state === 'body') pending = this.blockDone(base, cuts, pending, limit);
					else this.reset();
				}
				continue;
			}
			if (state === 'block' && this.have === 0) this.blockStart = base + i;
			const take = Math.min(this.need - this.have, n - i);
			for (let k = 0; k < take; k++) this.head[this.have + k] = bytes[i + k];
			this.have += take;
			i += take;
			if (this.have < this.need) continue;
			if (state === 'block') {
				const h = this.head[0] | (this.head[1] << 8) | (this.head[2] << 16);
				const type = (h >> 1) & 3;
				if (type === 3) {
					this.state = 'opaque';
					break;
				}
				const size = h >>> 3;
				this.last = (h & 1) === 1;
				this.bound = type === 2 ? ZSTD_BLOCK_MAX : size;
				this.left = type === 1 ? 1 : size;
				this.state = 'body';
				if (this.left === 0) pending = this.blockDone(base, cuts, pending, limit);
				continue;
			}
			// A frame's header: its magic number, then (zstd) its descriptor, then the rest of it.
			const magic = this.head.readUInt32LE(0);
			if (isSkippable(magic)) {
				if (this.need === 4) this.need = 8;
				else {
					this.left = this.head.readUInt32LE(4);
					this.state = 'skip';
					if (this.left === 0) this.reset();
				}
			} else if (magic !== ZSTD_MAGIC) {
				this.state = 'opaque';
				break;
			} else if (this.need === 4) this.need = 5;
			else if (this.need === 5) {
				const d = frameDescriptor(this.head[4]);
				this.checked = d.checksum;
				this.need = d.headerLength;
			} else {
				this.state = 'block';
				this.have = 0;
				this.need = 3;
			}
		}
		this.walked = base + n;
		return cuts;
	}

	/**
	 * The current block's last byte has gone by: cut just after its start (its header's first byte) if its piece would
	 * decode to over `limit`.
	 */
	private blockDone(base: number, cuts: number[], pending: number, limit: number): number {
		let sum = pending;
		// Before its last byte: a block's header is 3 bytes. A block completed before it in this piece (pending > 0)
		// started after the piece's start, and ended before this one's start.
		const at = this.blockStart - base + 1;
		if (sum > 0 && sum + this.bound > limit && at > (cuts.length > 0 ? cuts[cuts.length - 1] : 0)) {
			cuts.push(at);
			sum = 0;
		}
		sum += this.bound;
		if (!this.last) {
			this.state = 'block';
			this.have = 0;
			this.need = 3;
		} else if (this.checked) {
			this.left = 4; // the content checksum, then the next frame
			this.state = 'skip';
		} else this.reset();
		return sum;
	}
}

/**
 * fzstd's stream. What it is written is pushed to fzstd in pieces (ZstdCuts, FZSTD_SLICE) and, whenever the reader
 * has not taken the output of a piece yet, the next piece waits for the reader's next pull (_read): the output held
 * stays bounded however much the compressed bytes decode to.
 */
class FzstdStream extends Transform {
	/** Resumes a write held back until the reader pulls. */
	held: (() => void) | null = null;

	override _read(size: number): void {
		const go = this.held;
		this.held = null;
		go?.();
		super._read(size);
	}
}

/**
 * zstd on a Node without it in zlib: the pure-JS fzstd decoder, loaded only then. fzstd checks neither the frame's
 * content checksum (XXH64) nor its content size: this decoder counts and hashes each frame's output (with
 * xxhash-wasm, also loaded only here) so that `frameDone` can, as the zstd library does. Exported for the tests.
 */
export function fzstdDecoder(): Decoder {
	const fzstd = require('fzstd') as typeof import('fzstd');
	let consumed = 0;
	/** The current frame's output: its length, and its XXH64 while the frame has a checksum. */
	let produced = 0;
	/** Bytes of the current frame not yet pushed to fzstd. */
	let frameLeft = -1;
	let api: XXHashAPI | null = null;
	let xxh: XXHash<bigint> | null = null;
	const ready = (require('xxhash-wasm') as () => Promise<XXHashAPI>)().then((a) => {
		api = a;
	});
	const walk = new ZstdCuts();
	const out: FzstdStream = new FzstdStream({
		transform(chunk: Buffer, _enc, cb) {
			const cuts = walk.cuts(chunk, FZSTD_BURST);
			let at = 0;
			let c = 0;
			const step = () => {
				try {
					while (at < chunk.length) {
						// A frame's last bytes are pushed as final, so that fzstd decodes them now rather than keep a
						// short frame back until more bytes come: frameDone() must see all of the frame's output.
						// In slices too, each counted once decoded: the compressed bytes consumed (by which the
						// output's size is estimated from its start) then trail the output by at most a slice.
						while (c < cuts.length && cuts[c] <= at) c++;
						const end = Math.min(c < cuts.length ? cuts[c] : chunk.length, at + FZSTD_SLICE);
						const part = chunk.subarray(at, end);
						frameLeft -= part.length;
						d.push(part, frameLeft === 0);
						consumed += part.length;
						at = end;
						if (at < chunk.length && out.readableLength >= out.readableHighWaterMark) {
							out.held = step; // the reader has not taken this piece's output yet
							return;
						}
					}
					cb();
				} catch (e) {
					cb(e as Error);
				}
			};
			step();
		},
		flush(cb) {
			try {
				d.push(new Uint8Array(0), true);
				cb();
			} catch (e) {
				cb(e as Error);
			}
		},
	});
	const d = new fzstd.Decompress((chunk) => {
		if (chunk.length === 0) return;
		produced += chunk.length;
		xxh?.update(chunk);
		out.push(Buffer.from(chunk)); // fzstd reuses its window: copy
	});
	const frameDone = (f: ZstdFrame): string | null => {
		const hashed = xxh;
		const length = produced;
		produced = 0;
		xxh = null;
		if (f.contentSize !== null && length !== f.contentSize)
			return `the zstd frame of bytes ${fmt(f.start)}–${fmt(f.end - 1)} decompresses to ${fmt(length)} bytes, not the ${fmt(f.contentSize)} its header gives`;
		if (hashed && f.checksum !== null) {
			const sum = Number(hashed.digest() & 0xffffffffn);
			if (sum !== f.checksum)
				return `the zstd frame of bytes ${fmt(f.start)}–${fmt(f.end - 1)} decompresses to data whose checksum does not match the frame's (XXH64 ${hex(sum)}, the frame says ${hex(f.checksum)})`;
		}
		return null;
	};
	return {
		stream: out,
		native: false,
		consumed: () => consumed,
		truncated: (e) => /unexpected EOF/i.test(e.message),
		frameDone,
		frameStart: (f) => {
			produced = 0;
			frameLeft = f.end - f.start;
			xxh = f.checksum !== null && api ? api.create64(0n) : null;
			walk.reset();
		},
		ready,
	};
}

const hex = (n: number) => n.toString(16).padStart(8, '0');
const fmt = (n: number) => n.toLocaleString('en-US');

/** A zstd frame as its headers give it (read without decompressing: see zstdFrameEnd). */
export interface ZstdFrame {
	start: number;
	/** Where the frame ends (after its checksum); the file's size when its headers cannot be read (`known` false). */
	end: number;
	skippable: boolean;
	/** Whether the frame and block headers could be read to the frame's end. */
	known: boolean;
	/** The dictionary the frame needs (0: none). */
	dictId: number;
	/** Frame_Content_Size, when the header gives it. */
	contentSize: number | null;
	/** The frame's content checksum (low 32 bits of the XXH64 of its output), when it has one. */
	checksum: number | null;
	/** The window its Window_Descriptor asks for, in bytes (null: a single-segment frame, which has none). */
	window?: number | null;
}

/**
 * The largest zstd window Sweep decodes: zstd's own default limit (`--memory=128MB`); a frame made with `--long=28`
 * or more asks for more (up to 2 GiB, held in memory), and is refused naming it.
 */
export const ZSTD_MAX_WINDOW = 128 * 1024 * 1024;

/**
 * The zstd frame starting at `start`, from its frame and block headers (without decompressing): where it ends,
 * whether it is a skippable frame, the dictionary it needs, its content size and checksum. Node's zstd stream
 * (22.15–24 at least) drops whatever follows the end of a frame within the same write, so the reads fed to it must
 * never cross a frame's end. A header that cannot be read or is not zstd ends the walk at `size` (`known` false):
 * the decoder then says what is wrong.
 */
export function zstdFrameEnd(fd: number, start: number, size: number): ZstdFrame {
	const b = Buffer.alloc(18);
	const at = (pos: number, n: number) => (pos + n <= size ? readSync(fd, b, 0, n, pos) === n : false);
	const whole: ZstdFrame = {
		start,
		end: size,
		skippable: false,
		known: false,
		dictId: 0,
		contentSize: null,
		checksum: null,
	};
	if (!at(start, 8)) return whole;
	const magic = b.readUInt32LE(0);
	if (isSkippable(magic)) {
		const end = start + 8 + b.readUInt32LE(4);
		return { ...whole, end: Math.min(size, end), skippable: true, known: end <= size };
	}
	if (magic !== ZSTD_MAGIC) return whole;
	const { single, didBytes, fcsBytes, checksum: checked, headerLength } = frameDescriptor(b[4]);
	const headerEnd = start + headerLength;
	if (!at(start, headerLength)) return whole;
	let p = 5 + (single ? 0 : 1);
	const dictId = didBytes === 0 ? 0 : b.readUIntLE(p, didBytes);
	p += didBytes;
	const contentSize =
		fcsBytes === 0
			? null
			: fcsBytes === 1
				? b[p]
				: fcsBytes === 2
					? b.readUInt16LE(p) + 256
					: fcsBytes === 4
						? b.readUInt32LE(p)
						: Number(b.readBigUInt64LE(p));
	let pos = headerEnd;
	for (;;) {
		if (!at(pos, 3)) return whole;
		const h = b[0] | (b[1] << 8) | (b[2] << 16);
		const type = (h >> 1) & 3;
		if (type === 3) return whole;
		pos += 3 + (type === 1 ? 1 : h >>> 3);
		if (h & 1) break;
	}
	let checksum: number | null = null;
	if (checked) {
		if (!at(pos, 4)) return whole;
		checksum = b.readUInt32LE(0);
		pos += 4;
	}
	if (pos > size) return whole;
	const window = single ? null : 2 ** (10 + (b[5] >> 3)) * (1 + (b[5] & 7) / 8);
	return { start, end: pos, skippable: false, known: true, dictId, contentSize, checksum, window };
}

/** Files up to this size have a gzip error's place found to the byte (gzipErrorAt); larger ones to the read. */
const LOCATE_MAX = 4 * 1024 * 1024;

/**
 * Where gzip data that the streaming decoder found bad between `from` and `to` (the write under way) goes wrong: the
 * shortest start of the file that already fails to decompress (a start that is merely cut short does not fail with
 * Z_SYNC_FLUSH), found by bisection. Only for files of up to LOCATE_MAX bytes (some twenty decodes of the start);
 * null otherwise or when it cannot tell.
 */
export function gzipErrorAt(fd: number, from: number, to: number): number | null {
	if (to > LOCATE_MAX || to <= from) return null;
	const bytes = Buffer.alloc(to);
	try {
		if (readSync(fd, bytes, 0, to, 0) !== to) return null;
	} catch {
		return null;
	}
	const fails = (n: number) => {
		try {
			zlib.gunzipSync(bytes.subarray(0, n), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
			return false;
		} catch {
			return true;
		}
	};
	if (!fails(to)) return null;
	let lo = from; // does not fail (or is where the write began)
	let hi = to; // fails
	while (hi - lo > 1) {
		const mid = Math.floor((lo + hi) / 2);
		if (fails(mid)) hi = mid;
		else lo = mid;
	}
	return hi - 1;
}

if (parentPort) {
	announceThread('source');
	const port = parentPort;
	const init = workerData as SourceWorkerInit;
	const decoder =
		init.codec === 'zstd' && typeof (zlib as { createZstdDecompress?: unknown }).createZstdDecompress !== 'function'
			? fzstdDecoder()
			: nativeDecoder(init.codec);
	const z = decoder.stream;
	const spare: ArrayBuffer[] = [];
	let credits = init.maxBlocks;
	let block = Buffer.from(new ArrayBuffer(init.blockBytes));
	let used = 0;
	let failed = false;
	/** The decoder's readable side has ended (all its output has been handed over as 'data'). */
	let ended = false;
	/** Wakes pump() when the decoder ends or fails. */
	let wake: (() => void) | null = null;
	const notify = () => {
		const w = wake;
		wake = null;
		w?.();
	};
	/** Bytes of skippable zstd frames, passed over without feeding them to the decoder. */
	let skipped = 0;
	/** Where the decoder's last write started and ended (compressed bytes): an error lies in between. */
	let writeFrom = 0;
	let writeTo = 0;
	/** Of every byte read, in file order. */
	const hash = createHash('sha256');

	const post = () => {
		if (used === 0) return;
		const msg: SourceBlock = {
			type: 'data',
			buffer: block.buffer as ArrayBuffer,
			length: used,
			compressed: decoder.consumed() + skipped,
		};
		port.postMessage(msg, [msg.buffer]);
		credits--;
		const next = spare.pop();
		block = Buffer.from(next ?? new ArrayBuffer(init.blockBytes));
		used = 0;
	};
	const fail = (kind: SourceFailed['kind'], message: string, offset: number) => {
		if (failed) return;
		failed = true;
		const msg: SourceFailed = { type: 'failed', kind, message, offset };
		port.postMessage(msg);
		z.pause();
		notify();
	};

	z.on('data', (chunk: Buffer) => {
		for (let at = 0; at < chunk.length; ) {
			const n = Math.min(chunk.length - at, block.length - used);
			chunk.copy(block, used, at, at + n);
			used += n;
			at += n;
			if (used === block.length) post();
		}
		if (credits <= 0) z.pause();
	});
	z.on('error', (e: Error) => {
		const truncated = decoder.truncated(e);
		// The decoder counts its bytes once a write is done: the bad byte lies in the write under way.
		let at = Math.max(decoder.consumed() + skipped, writeFrom);
		if (!truncated && init.codec === 'gzip') at = gzipErrorAt(init.fd, writeFrom, writeTo) ?? at;
		// Data that ends early ends where the file does (a decoder may report it before counting what it was given).
		if (truncated) at = Math.max(at, init.size);
		const crc = /incorrect (data|length) check/.test(e.message)
			? ' (a gzip member’s CRC-32 or length does not match its data: the damage lies somewhere in the member that ends here)'
			: '';
		fail(truncated ? 'truncated' : 'corrupt', e.message + crc, at);
	});
	z.on('end', () => {
		ended = true;
		notify();
	});
	port.on('message', (m: SourceCredit | StopMessage) => {
		if (isStop(m)) {
			// Reading stops (pump() sees `failed` after its current read), the decompressor is dropped.
			failed = true;
			z.destroy();
			notify();
			return endWhenQuiet(port);
		}
		if (m.buffer && m.buffer.byteLength === init.blockBytes) spare.push(m.buffer);
		credits++;
		if (credits > 0 && !failed) z.resume();
	});
	void pump().catch((e: Error) => fail('io', `reading failed: ${e.message}`, 0));

	/** Writes `bytes` to the decoder and waits until it has taken them in (or failed, or was stopped). */
	function feed(bytes: Buffer): Promise<void> {
		return new Promise<void>((resolve) => {
			const done = () => {
				z.off('error', done);
				z.off('close', done);
				resolve();
			};
			z.on('error', done);
			z.on('close', done);
			z.write(bytes, () => done());
		});
	}

	/** Resolves once the decoder's output has all been handed over ('end'), or it failed or was stopped. */
	function decoderEnd(): Promise<void> {
		return new Promise<void>((resolve) => {
			const check = () => {
				if (ended || failed) resolve();
				else wake = check;
			};
			check();
		});
	}

	/**
	 * Feeds the decompressor from the file with positional reads on the main thread's descriptor (never closed
	 * here), one read at a time, each once the decoder has taken the one before: it waits while the main thread
	 * holds back credits. The one place that ends the thread's work: the SHA-256 is taken, and the end posted, only
	 * once every byte of the file has been read and the decoder's output handed over.
	 */
	async function pump(): Promise<void> {
		await decoder.ready;
		let pos = 0;
		// zstd: reads stop at each frame's end (see zstdFrameEnd); skippable frames are not fed at all.
		const byFrame = init.codec === 'zstd';
		let frame: ZstdFrame | null = null;
		let frameEnd = 0;
		/** Bytes written to the decoder. */
		let fed = 0;
		/** Where the decoder stopped taking bytes before the end of what it was given (gzip: after a member). */
		let stoppedAt = -1;
		const piece = Buffer.allocUnsafe(PIECE);
		while (pos < init.size && !failed) {
			if (byFrame && stoppedAt < 0 && pos >= frameEnd) {
				const f = zstdFrameEnd(init.fd, pos, init.size);
				if (f.skippable) {
					// Not decoded, but part of the file's bytes: hashed all the same.
					if (!f.known) {
						fail('truncated', `the skippable zstd frame at byte ${fmt(pos)} ends past the end of the file`, pos);
						return;
					}
					while (pos < f.end) {
						let n: number;
						try {
							n = readSync(init.fd, piece, 0, Math.min(piece.length, f.end - pos), pos);
						} catch (e) {
							fail('io', `reading failed: ${(e as Error).message}`, pos);
							return;
						}
						if (n === 0) {
							fail('truncated', `the file became shorter while it was read (${pos} of ${init.size} bytes)`, pos);
							return;
						}
						hash.update(piece.subarray(0, n));
						skipped += n;
						pos += n;
					}
					continue;
				}
				if (f.known && f.dictId !== 0) {
					fail(
						'corrupt',
						`its zstd frame at byte ${fmt(pos)} needs a zstd dictionary (dictionary ID ${f.dictId}), which Sweep does not support; decompress the file with zstd -D DICT first`,
						pos,
					);
					return;
				}
				if (f.known && f.window != null && f.window > ZSTD_MAX_WINDOW) {
					fail(
						'corrupt',
						`its zstd frame at byte ${fmt(pos)} needs a ${fmt(f.window / 1024 / 1024)} MB window (it was made with zstd --long), more than the ${ZSTD_MAX_WINDOW / 1024 / 1024} MB zstd itself decodes by default and Sweep supports; compress it again without --long, or decompress it first`,
						pos,
					);
					return;
				}
				frame = f;
				frameEnd = f.end;
				decoder.frameStart?.(f);
			}
			const want = Math.min(PIECE, (byFrame && stoppedAt < 0 ? frameEnd : init.size) - pos);
			const buf = Buffer.allocUnsafe(want);
			let bytesRead: number;
			try {
				bytesRead = await new Promise<number>((resolve, reject) =>
					read(init.fd, buf, 0, want, pos, (e, n) => (e ? reject(e) : resolve(n))),
				);
			} catch (e) {
				fail('io', `reading failed: ${(e as Error).message}`, pos);
				return;
			}
			if (failed) return; // stopped while the read was under way: the decompressor is gone
			if (bytesRead === 0) {
				fail('truncated', `the file became shorter while it was read (${pos} of ${init.size} bytes)`, pos);
				return;
			}
			const bytes = buf.subarray(0, bytesRead);
			hash.update(bytes);
			const from = pos;
			pos += bytesRead;
			if (stoppedAt >= 0) {
				// The decoder has ended: what is left of the file may only be zero bytes (padding after gzip).
				if (!trailerOk(bytes, from, stoppedAt)) return;
				continue;
			}
			writeFrom = from;
			writeTo = pos;
			await feed(bytes);
			if (failed) return;
			fed += bytesRead;
			const took = decoder.consumed();
			if (took < fed) {
				// The decoder stopped short of the end of this read: gzip after a member followed by a zero byte
				// (zlib's padding rule); a zstd frame that ends before its blocks said.
				stoppedAt = took + skipped;
				if (init.codec === 'zstd') {
					fail('corrupt', `a zstd frame ends at byte ${fmt(stoppedAt)}, before its last block`, stoppedAt);
					return;
				}
				if (!trailerOk(bytes.subarray(bytesRead - (fed - took)), pos - (fed - took), stoppedAt)) return;
			}
			if (frame && pos === frameEnd && decoder.frameDone) {
				const problem = decoder.frameDone(frame);
				if (problem) {
					// Found at the frame's end (where its checksum is), as the zstd library finds it.
					fail('corrupt', problem, frame.end - (frame.checksum !== null ? 4 : 0));
					return;
				}
			}
		}
		if (failed) return;
		if (stoppedAt < 0) z.end();
		await decoderEnd();
		if (failed) return;
		if (frame && !frame.known && !decoder.native) {
			// fzstd read a frame whose headers the walk could not: its output went unchecked.
			fail(
				'corrupt',
				`the zstd frame at byte ${fmt(frame.start)} could not be checked (its headers do not add up)`,
				frame.start,
			);
			return;
		}
		post();
		const msg: SourceEnd = { type: 'end', compressed: pos, sha256: hash.digest('hex') };
		port.postMessage(msg);
		// Nothing is left to do: the thread ends now, while the run goes on, rather than when the run closes it.
		endWhenQuiet(port);
	}

	/**
	 * After the decoder ended at `stoppedAt` (the end of the last gzip member), only zero bytes may follow:
	 * anything else (another member after a zero byte, garbage) is not gzip, and fails the run.
	 */
	function trailerOk(bytes: Buffer, from: number, stoppedAt: number): boolean {
		for (let i = 0; i < bytes.length; i++) {
			if (bytes[i] !== 0) {
				fail(
					'corrupt',
					`only zero bytes may follow the last gzip member, which ends there, but byte ${fmt(from + i)} is 0x${bytes[i].toString(16).padStart(2, '0')}${from + i > stoppedAt ? ' (after zero bytes)' : ''}`,
					stoppedAt,
				);
				return false;
			}
		}
		return true;
	}
}
