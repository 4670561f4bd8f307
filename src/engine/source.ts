import type { FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { type Compression, detectCompression, truncatedMagic } from './compression';
import { SweepError } from './errors';
import type { FromSourceWorker, SourceCredit, SourceWorkerInit } from './sourceWorker';
import { stopThread } from './threadStop';

/** What the header and chunk readers read through: a FileHandle is one (positional reads). */
export interface ByteReader {
	read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
}

/** A reader that can start again from the first byte (for naming a line on an error path). */
export interface Rewindable {
	fresh(): Promise<ByteReader & { close(): Promise<void> }>;
}

/**
 * The bytes of an input file, decompressed when the file is compressed. Plain files are read with positional reads
 * straight into the caller's buffers, exactly as before; compressed files are decompressed in a thread of their own
 * and read forward only (a short stretch at the start is kept, so the header can be read again from the start).
 */
export interface InputSource extends ByteReader, Rewindable {
	readonly file: string;
	readonly compression: Compression;
	/** Bytes on disk when the run started. */
	readonly fileSize: number;
	/** Bytes of the content: the file's size when plain, Infinity (unknown until the end) when compressed. */
	readonly size: number;
	/** Compressed bytes read so far (the file's size, once read to the end). For progress: equal to `read` when plain. */
	compressedRead(): number;
	/** Content bytes per compressed byte seen so far (1 when plain). */
	ratio(): number;
	/** The header has been read: the kept start may go once the reader has passed it. */
	headDone(): void;
	/**
	 * SHA-256 of the file's bytes on disk, when the reading took it on the way (a compressed file, once read to the
	 * end); null when it did not (a plain file is hashed apart: hasher.ts).
	 */
	fileHash(): { sha256: string; bytes: number } | null;
	close(): Promise<void>;
}

/** Block size and how many may be out at once: at most 4 × 2 MB of decompressed bytes waiting. */
const BLOCK_BYTES = 2 * 1024 * 1024;
const MAX_BLOCKS = 4;

/** Opens the content of `file` (already open as `fh`, `fileSize` bytes), recognising gzip and zstd by their bytes. */
export async function openSource(
	file: string,
	fh: FileHandle,
	fileSize: number,
	opts: { workerScript?: string } = {},
): Promise<InputSource> {
	const first = Buffer.alloc(4);
	const { bytesRead } = await fh.read(first, 0, 4, 0);
	const magic = first.subarray(0, bytesRead);
	const compression = detectCompression(magic);
	if (compression === 'none') {
		const meant = truncatedMagic(magic, file);
		if (meant !== 'none')
			throw corruptError(file, meant, 'truncated', `the file ends after ${bytesRead} byte(s)`, bytesRead, fileSize);
		return plainSource(file, fh, fileSize);
	}
	return new CompressedSource(file, fh, fileSize, compression, opts.workerScript, true);
}

function plainSource(file: string, fh: FileHandle, fileSize: number): InputSource {
	let read = 0;
	const reader: ByteReader = {
		read: async (buffer, offset, length, position) => {
			const r = await fh.read(buffer, offset, length, position);
			read = Math.max(read, position + r.bytesRead);
			return r;
		},
	};
	return {
		file,
		compression: 'none',
		fileSize,
		size: fileSize,
		read: reader.read,
		compressedRead: () => read,
		ratio: () => 1,
		headDone: () => undefined,
		fileHash: () => null,
		fresh: async () => ({ read: (b, o, l, p) => fh.read(b, o, l, p), close: async () => undefined }),
		close: async () => undefined,
	};
}

const MIB = 1024 * 1024;
const fmt = (n: number) => n.toLocaleString('en-US');

function corruptError(
	file: string,
	codec: Compression,
	kind: 'truncated' | 'corrupt' | 'io',
	message: string,
	offset: number,
	size: number,
): SweepError {
	const where = `at about byte ${fmt(offset)} of ${fmt(size)}${size >= MIB ? ` (${(size / MIB).toFixed(1)} MB)` : ''}`;
	const what =
		kind === 'truncated'
			? `is truncated: its ${codec} data ends early ${where} (${message})`
			: kind === 'corrupt'
				? `is not valid ${codec} data ${where}: ${message}`
				: `could not be read ${where}: ${message}`;
	return new SweepError('input-corrupt', `${file} ${what}; no output was kept.`, { file });
}

interface Block {
	bytes: Buffer;
	at: number;
}

/** A compressed file's content, decompressed by a worker thread (see sourceWorker.ts) and read forward only. */
class CompressedSource implements InputSource {
	readonly size = Number.POSITIVE_INFINITY;
	private readonly worker: Worker;
	private readonly blocks: Block[] = [];
	private ended = false;
	private failure: SweepError | null = null;
	private wake: (() => void) | null = null;
	/** Content bytes handed out so far (the position of the next byte the worker's stream gives). */
	private pos = 0;
	private compressed = 0;
	private produced = 0;
	/** The content's first bytes, kept while the header is read (it may be read again from the start). */
	private head: Buffer[] | null = [];
	private headLength = 0;
	private keepHead: boolean;
	private closed = false;
	private hash: { sha256: string; bytes: number } | null = null;

	constructor(
		readonly file: string,
		private readonly fh: FileHandle,
		readonly fileSize: number,
		readonly compression: 'gzip' | 'zstd',
		private readonly workerScript: string | undefined,
		keepHead: boolean,
	) {
		this.keepHead = keepHead;
		if (!keepHead) this.head = null;
		const init: SourceWorkerInit = {
			fd: fh.fd,
			size: fileSize,
			codec: compression,
			blockBytes: BLOCK_BYTES,
			maxBlocks: MAX_BLOCKS,
		};
		// sourceWorker.js sits beside this module both in dist/ (bundles) and in out/src/engine/ (compiled tests).
		this.worker = new Worker(workerScript ?? path.join(__dirname, 'sourceWorker.js'), { workerData: init });
		this.worker.on('message', (m: FromSourceWorker) => this.onMessage(m));
		this.worker.on('error', (e: Error & { code?: string }) => {
			const why = e.code === 'ERR_WORKER_OUT_OF_MEMORY' ? 'ran out of memory' : `failed: ${e.message}`;
			this.fail(new SweepError('worker-failed', `The decompression thread for ${file} ${why}.`, { file, cause: e }));
		});
		this.worker.on('exit', (code) => {
			if (!this.closed && !this.ended)
				this.fail(
					new SweepError('worker-failed', `The decompression thread for ${file} exited (code ${code}).`, { file }),
				);
		});
	}

	private onMessage(m: FromSourceWorker): void {
		if (m.type === 'data') {
			this.blocks.push({ bytes: Buffer.from(m.buffer, 0, m.length), at: 0 });
			this.compressed = m.compressed;
			this.produced += m.length;
		} else if (m.type === 'end') {
			this.compressed = m.compressed;
			this.hash = { sha256: m.sha256, bytes: m.compressed };
			this.ended = true;
		} else {
			this.compressed = Math.max(this.compressed, m.offset);
			this.fail(corruptError(this.file, this.compression, m.kind, m.message, m.offset, this.fileSize));
		}
		this.notify();
	}

	private fail(e: SweepError): void {
		this.failure ??= e;
		this.notify();
	}

	private notify(): void {
		const wake = this.wake;
		this.wake = null;
		wake?.();
	}

	compressedRead(): number {
		return this.compressed;
	}

	ratio(): number {
		return this.compressed > 0 ? this.produced / this.compressed : 1;
	}

	headDone(): void {
		this.keepHead = false;
	}

	fileHash(): { sha256: string; bytes: number } | null {
		return this.hash;
	}

	async read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }> {
		let n = 0;
		// The kept start first.
		if (this.head !== null && position < this.headLength) {
			let skip = position;
			for (const part of this.head) {
				if (n === length) break;
				if (skip >= part.length) {
					skip -= part.length;
					continue;
				}
				n += part.copy(buffer, offset + n, skip, Math.min(part.length, skip + length - n));
				skip = 0;
			}
			position += n;
		}
		if (this.head !== null && !this.keepHead && position >= this.headLength) this.head = null;
		if (n === length) return { bytesRead: n };
		if (position < this.pos) throw new Error(`internal: ${this.file} read backwards (${position} < ${this.pos})`);
		// Skip forward (a fresh reader asked to start past the beginning).
		while (this.pos < position) {
			const skipped = await this.take(null, 0, Math.min(position - this.pos, BLOCK_BYTES));
			if (skipped === 0) return { bytesRead: n };
		}
		while (n < length) {
			const got = await this.take(buffer, offset + n, length - n);
			if (got === 0) break;
			n += got;
		}
		return { bytesRead: n };
	}

	/** Copies up to `length` content bytes (or skips them when `into` is null); 0 at the end. Waits for a block. */
	private async take(into: Buffer | null, offset: number, length: number): Promise<number> {
		while (this.blocks.length === 0) {
			if (this.failure) throw this.failure;
			if (this.ended) return 0;
			if (this.closed) throw new Error(`internal: ${this.file} read after close`);
			await new Promise<void>((resolve) => {
				this.wake = resolve;
			});
		}
		const b = this.blocks[0];
		const n = Math.min(length, b.bytes.length - b.at);
		if (into) {
			b.bytes.copy(into, offset, b.at, b.at + n);
			if (this.keepHead && this.head) {
				this.head.push(Buffer.from(into.subarray(offset, offset + n)));
				this.headLength += n;
			}
		}
		b.at += n;
		this.pos += n;
		if (b.at === b.bytes.length) {
			this.blocks.shift();
			const credit: SourceCredit = { type: 'credit', buffer: b.bytes.buffer as ArrayBuffer };
			this.worker.postMessage(credit, [credit.buffer as ArrayBuffer]);
		}
		return n;
	}

	async fresh(): Promise<ByteReader & { close(): Promise<void> }> {
		return new CompressedSource(this.file, this.fh, this.fileSize, this.compression, this.workerScript, false);
	}

	async close(): Promise<void> {
		if (this.closed) return;
		this.closed = true;
		this.fail(new SweepError('aborted', `${this.file}: reading was stopped.`));
		await stopThread(this.worker);
	}
}
