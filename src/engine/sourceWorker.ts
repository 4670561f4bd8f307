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
import { announceThread } from './threadRole';
import { endWhenQuiet, isStop, type StopMessage } from './threadStop';

/** Compressed bytes per read. */
const PIECE = 256 * 1024;

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
interface Decoder {
	stream: Transform;
	consumed(): number;
	/** Node's own zlib decoder (fed frame by frame for zstd). */
	native: boolean;
	/** Whether an error means the data ended early. */
	truncated(e: Error): boolean;
}

function nativeDecoder(codec: 'gzip' | 'zstd'): Decoder {
	const z = zlib as unknown as { createZstdDecompress?: (o: object) => Transform };
	const stream =
		codec === 'gzip'
			? zlib.createGunzip({ chunkSize: 256 * 1024 })
			: (z.createZstdDecompress as (o: object) => Transform)({ chunkSize: 256 * 1024 });
	return {
		stream,
		native: true,
		consumed: () => (stream as unknown as { bytesWritten: number }).bytesWritten ?? 0,
		truncated: (e) => /unexpected end|truncat|end of (file|input)|incomplete/i.test(e.message),
	};
}

/** zstd on a Node without it in zlib: the pure-JS fzstd decoder, loaded only then. */
function fzstdDecoder(): Decoder {
	const fzstd = require('fzstd') as typeof import('fzstd');
	let consumed = 0;
	let out: Transform;
	const d = new fzstd.Decompress((chunk) => {
		if (chunk.length > 0) out.push(Buffer.from(chunk)); // fzstd reuses its window: copy
	});
	out = new Transform({
		transform(chunk: Buffer, _enc, cb) {
			try {
				d.push(chunk);
				consumed += chunk.length;
				cb();
			} catch (e) {
				cb(e as Error);
			}
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
	return { stream: out, native: false, consumed: () => consumed, truncated: (e) => /unexpected EOF/i.test(e.message) };
}

/**
 * Where the zstd frame starting at `start` ends (by its frame and block headers, without decompressing), and
 * whether it is a skippable frame. Node's zstd stream (22.15–24 at least) drops whatever follows the end of a frame
 * within the same write, so the reads fed to it must never cross a frame's end. A header that cannot be read or
 * is not zstd ends the walk at `size`: the decoder then says what is wrong.
 */
export function zstdFrameEnd(fd: number, start: number, size: number): { end: number; skippable: boolean } {
	const b = Buffer.alloc(18);
	const at = (pos: number, n: number) => (pos + n <= size ? readSync(fd, b, 0, n, pos) === n : false);
	const whole = { end: size, skippable: false };
	if (!at(start, 8)) return whole;
	const magic = b.readUInt32LE(0);
	if ((magic & 0xfffffff0) === 0x184d2a50)
		return { end: Math.min(size, start + 8 + b.readUInt32LE(4)), skippable: true };
	if (magic !== 0xfd2fb528) return whole;
	const fhd = b[4];
	const single = (fhd >> 5) & 1;
	const fcsFlag = fhd >> 6;
	const did = [0, 1, 2, 4][fhd & 3];
	const fcs = fcsFlag === 0 ? single : [0, 2, 4, 8][fcsFlag];
	let pos = start + 5 + (single ? 0 : 1) + did + fcs;
	for (;;) {
		if (!at(pos, 3)) return whole;
		const h = b[0] | (b[1] << 8) | (b[2] << 16);
		const type = (h >> 1) & 3;
		if (type === 3) return whole;
		pos += 3 + (type === 1 ? 1 : h >>> 3);
		if (h & 1) break;
	}
	pos += (fhd >> 2) & 1 ? 4 : 0;
	return pos > size ? whole : { end: pos, skippable: false };
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
	let readBytes = 0;
	/** Bytes of skippable zstd frames, passed over without feeding them to the decoder. */
	let skipped = 0;
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
		fail(decoder.truncated(e) ? 'truncated' : 'corrupt', e.message, decoder.consumed() + skipped);
	});
	z.on('end', () => {
		if (failed) return;
		post();
		const msg: SourceEnd = { type: 'end', compressed: readBytes, sha256: hash.digest('hex') };
		port.postMessage(msg);
		// Nothing is left to do: the thread ends now, while the run goes on, rather than when the run closes it.
		endWhenQuiet(port);
	});
	port.on('message', (m: SourceCredit | StopMessage) => {
		if (isStop(m)) {
			// Reading stops (pump() sees `failed` after its current read), the decompressor is dropped.
			failed = true;
			z.destroy();
			return endWhenQuiet(port);
		}
		if (m.buffer && m.buffer.byteLength === init.blockBytes) spare.push(m.buffer);
		credits++;
		if (credits > 0 && !failed) z.resume();
	});
	void pump();

	/**
	 * Feeds the decompressor from the file with positional reads on the main thread's descriptor (never closed
	 * here), waiting whenever it is full: it fills while the main thread holds back credits.
	 */
	async function pump(): Promise<void> {
		let pos = 0;
		// Native zstd: reads stop at each frame's end (see zstdFrameEnd); skippable frames are not fed at all.
		const byFrame = init.codec === 'zstd' && decoder.native;
		let frameEnd = 0;
		while (pos < init.size && !failed) {
			if (byFrame && pos >= frameEnd) {
				const f = zstdFrameEnd(init.fd, pos, init.size);
				if (f.skippable) {
					// Not decoded, but part of the file's bytes: hashed all the same.
					const piece = Buffer.allocUnsafe(Math.min(PIECE, f.end - pos));
					while (pos < f.end) {
						let n: number;
						try {
							n = readSync(init.fd, piece, 0, Math.min(piece.length, f.end - pos), pos);
						} catch (e) {
							fail('io', `reading failed: ${(e as Error).message}`, pos);
							return;
						}
						if (n === 0) break;
						hash.update(piece.subarray(0, n));
						skipped += n;
						pos += n;
					}
					readBytes = pos;
					continue;
				}
				frameEnd = f.end;
			}
			const want = Math.min(PIECE, (byFrame ? frameEnd : init.size) - pos);
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
			if (bytesRead === 0) {
				fail('truncated', `the file became shorter while it was read (${pos} of ${init.size} bytes)`, pos);
				return;
			}
			if (failed) return; // stopped while the read was under way: the decompressor is gone
			pos += bytesRead;
			readBytes = pos;
			hash.update(buf.subarray(0, bytesRead));
			if (!z.write(buf.subarray(0, bytesRead))) {
				await new Promise<void>((resolve) => {
					const done = () => {
						z.off('drain', done);
						z.off('error', done);
						z.off('close', done);
						resolve();
					};
					z.on('drain', done);
					z.on('error', done);
					z.on('close', done);
				});
			}
		}
		if (!failed) z.end();
	}
}
