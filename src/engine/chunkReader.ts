import { readSync } from 'node:fs';
import type { BufferPool } from './bufferPool';
import { countLF, firstRecordEnd, LF, QUOTE } from './dialect';
import { SweepError } from './errors';
import type { ByteReader, Rewindable } from './source';

export interface Chunk {
	seq: number;
	/** Whole records in `bytes[offset, offset + length)`; the buffer is owned (transferable). */
	bytes: ArrayBuffer;
	offset: number;
	length: number;
	/** File offset of the chunk's first byte (a record start). */
	fileOffset: number;
	/** The file's last chunk: its last record may lack a line ending or be an unterminated quote. */
	isLast: boolean;
	/** File offset just past the chunk. */
	endOffset: number;
}

export interface ChunkReaderOptions {
	file: string;
	/**
	 * Offset of the first data record (after the header) and the file size fixed at start; Infinity when the size is
	 * not known in advance (a compressed file's content: it ends where a read returns nothing).
	 */
	start: number;
	size: number;
	/** 1-based line of the first data record (only for naming a line in an error). */
	startLine: number;
	delimiter: number;
	/** Records per chunk, aimed at through the file's average record size (see below). */
	chunkSize: number;
	maxChunkBytes: number;
	/** Fixed size of every read (tests use tiny ones); by default reads are sized to fill a chunk at once. */
	readSize?: number;
	signal?: AbortSignal;
	/** Where chunk buffers come from (and go back to after use). */
	buffers: BufferPool;
	/**
	 * A worker reading its own chunk ({@link readOwnChunk}): the chunk ends at the first record end at or after this
	 * file offset (the record holding byte `endAt - 1` is its last), and is handed out in place, nothing copied.
	 */
	endAt?: number;
}

/** Bytes read past a chunk's byte target so that its last record usually ends inside the same read. */
const SLACK = 64 * 1024;
const MIN_READ = 256 * 1024;
/** How much of the file's start is looked at to learn its average record size. */
const SAMPLE = 1024 * 1024;

/**
 * Reads the file straight into chunk buffers and cuts it into chunks of about `chunkSize` records, only ever at
 * record ends, never larger than `maxChunkBytes`.
 *
 * The coordinator's share of the parsing for a compressed input (a plain input's chunks are read and cut by the
 * workers, {@link readOwnChunk}), so it is kept to what finding a record end needs: a chunk's
 * byte target is `chunkSize` × the average record size of the file's first megabyte (capped at half the byte
 * cap), the reader reads that many bytes (plus a little) in one go, follows quotes with `indexOf` hops (a quote
 * opens a quoted field only at the start of a field, and inside one `""` is a quote and line breaks are data),
 * and cuts at the first line break outside quotes at or after the target. It never visits the line breaks in
 * between: records, fields and line numbers are the workers' job (ChunkProcessor applies the same quoting
 * rules, so both agree on every record boundary). The bytes after the cut, usually under 64 KB, are copied to
 * the next chunk's buffer; when a chunk is smaller than what follows it (tiny chunk sizes), the chunk is copied
 * out instead.
 *
 * This loop only drives {@link ChunkCutter}: cut what has been read, stop when cancelled, read more. Back-pressure
 * is the generator's: nothing more is read until the consumer asks for the next chunk.
 */
export async function* readChunks(fh: ByteReader & Partial<Rewindable>, o: ChunkReaderOptions): AsyncGenerator<Chunk> {
	const cutter = new ChunkCutter(o);
	for (;;) {
		const next = cutter.next();
		if (next === NEED_DATA) {
			if (o.signal?.aborted) return;
			await cutter.fill(fh);
		} else if (next === END) {
			return;
		} else if (next === TOO_LARGE) {
			throw await tooLarge(fh, o, cutter.chunkOffset);
		} else {
			yield next;
			if (next.isLast) return;
		}
	}
}

/** What {@link ChunkCutter.next} says when it has no chunk to hand out. */
const NEED_DATA = 0;
const END = 1;
const TOO_LARGE = 2;

/** What {@link ChunkCutter.alignToLine} found (NEED_DATA: read more first). */
const ALIGNED = 3;
const NO_LINE = 4;
const GAVE_UP = 5;
type Alignment = typeof NEED_DATA | typeof ALIGNED | typeof NO_LINE | typeof GAVE_UP;
/** How far past its planned range a guessed chunk's first read goes (where the record over `endAt` usually ends). */
const GUESS_SLACK = 4096;
type NoChunk = typeof NEED_DATA | typeof END | typeof TOO_LARGE;

/** The error for a record that does not end within the byte cap, naming the line it starts on. */
async function tooLarge(fh: ByteReader & Partial<Rewindable>, o: ChunkReaderOptions, at: number): Promise<SweepError> {
	return recordTooLarge(o.file, await lineAt(fh, o.start, o.startLine, at), o.maxChunkBytes);
}

/** The error for a record starting on `line` that does not end within the byte cap. */
export function recordTooLarge(file: string, line: number, maxChunkBytes: number): SweepError {
	return new SweepError(
		'record-too-large',
		`${file}: the record starting on line ${line} is larger than ${Math.round(maxChunkBytes / 1048576)} MB. ` +
			'Often a stray quote near that line opens a quoted field that never closes.',
		{ file, line },
	);
}

/**
 * Holds the bytes read and not yet handed out, `buf[bs, be)`, and finds the record ends in them: `bs` is a record
 * start (the next chunk's first byte), `be` the end of what was read; `buf[0]` is at file offset `base`.
 * The quote state (`inQuote`) is known for `buf[bs, qp)`; the scan only moves forward, so each byte's quotes are
 * followed once however many times a record end is looked for.
 */
class ChunkCutter {
	private readonly D: number;
	private readonly max: number;
	/** Bytes per chunk; known after the first read. */
	private target = 0;
	private buf: Buffer;
	/** `buf[0, be)`: what `indexOf` searches. */
	private view: Buffer;
	private base: number;
	private bs = 0;
	private be = 0;
	/** File offset of the next read. */
	private fileOffset: number;
	private eof: boolean;
	private seq = 0;
	/** The planned chunk the next cut belongs to (see {@link plannedEnd}). */
	private planned = 0;
	private qp = 0;
	private inQuote = false;
	/** Cached index of the next quote >= qp in view; -1 none; -2 unknown. */
	private nextQuote = -2;

	constructor(private readonly o: ChunkReaderOptions) {
		this.D = o.delimiter;
		this.max = o.maxChunkBytes;
		const first = o.endAt === undefined ? SAMPLE : o.endAt - o.start + SLACK;
		this.buf = Buffer.from(o.buffers.take(o.readSize ?? Math.min(first, Math.max(o.size - o.start, 1))));
		this.view = this.buf.subarray(0, 0);
		this.base = o.start;
		this.fileOffset = o.start;
		this.eof = o.start >= o.size;
		if (o.endAt !== undefined) this.target = Math.max(1, o.endAt - o.start);
	}

	/** File offset of the next chunk's first byte. */
	get chunkOffset(): number {
		return this.base + this.bs;
	}

	/** The buffer read into. */
	get buffer(): ArrayBuffer {
		return this.buf.buffer as ArrayBuffer;
	}

	// ---- cutting ---------------------------------------------------------------------------------------------------

	/**
	 * The next chunk the bytes read so far hold; else NEED_DATA (read more first), END (all handed out) or TOO_LARGE
	 * (the record at {@link chunkOffset} does not end within the byte cap).
	 */
	next(): Chunk | NoChunk {
		const { bs, be, max } = this;
		if (this.target > 0 && bs < be) {
			const end = this.recordEndFrom(Math.max(bs, this.plannedEnd() - 1 - this.base));
			if (end > 0) return this.cut(end, false);
			if (end === -1 && (this.eof || be - bs >= max)) {
				if (this.eof && be - bs <= max) return this.cut(be, true);
				// No record end between the target and the cap: cut at the last one before the target, if any.
				const last = this.lastRecordEnd(bs + max);
				if (last <= bs) return TOO_LARGE;
				return this.cut(last, false);
			}
		}
		if (!this.eof) return NEED_DATA;
		if (bs < be) throw new Error('internal: data left at the end of the file');
		return END;
	}

	/**
	 * Where the next chunk ends at the earliest (a file offset): chunk m holds the records from where chunk m - 1
	 * ended up to the one holding byte `start + (m + 1) × target - 1`, so that every chunk boundary is fixed by the
	 * file and the target alone, as when the workers read their own chunks ({@link readOwnChunk}: the same planned
	 * offsets). A planned chunk whose records the one before took is skipped. The same boundaries whoever reads make
	 * the same manifest (its sums of prices, added chunk by chunk) for any worker count, plain or compressed input.
	 */
	private plannedEnd(): number {
		const o = this.o;
		if (o.endAt !== undefined) return o.endAt;
		const at = this.base + this.bs;
		while (o.start + (this.planned + 1) * this.target <= at) this.planned++;
		return Math.min(o.start + (this.planned + 1) * this.target, o.size);
	}

	/**
	 * Hands out buf[bs, end) as a chunk, copying whichever is smaller: the chunk, or what follows it (nothing for a
	 * worker's own chunk: it is the only one).
	 */
	private cut(end: number, isLast: boolean): Chunk {
		const { bs, be, buf, o } = this;
		const length = end - bs;
		const chunk: Chunk = {
			seq: this.seq++,
			bytes: buf.buffer as ArrayBuffer,
			offset: buf.byteOffset + bs,
			length,
			fileOffset: this.base + bs,
			isLast: isLast || this.base + end >= o.size,
			endOffset: this.base + end,
		};
		const rest = be - end;
		this.planned++;
		if (o.endAt !== undefined) this.bs = end;
		else if (length <= rest) {
			const own = o.buffers.take(length);
			this.view.copy(Buffer.from(own), 0, bs, end);
			chunk.bytes = own;
			chunk.offset = 0;
			this.bs = end;
		} else {
			const next = Buffer.from(o.buffers.take(Math.max(rest, this.target + SLACK, o.readSize ?? 0)));
			this.view.copy(next, 0, end, be);
			if (this.qp < end) throw new Error('internal: cut before the quote scan');
			this.moveTo(next, end);
		}
		return chunk;
	}

	// ---- reading ---------------------------------------------------------------------------------------------------

	/** Reads more, into the current chunk's buffer (moving its bytes to a larger one when needed). */
	async fill(fh: ByteReader): Promise<void> {
		const want = this.room();
		const { bytesRead } = await fh.read(this.buf, this.be, want, this.fileOffset);
		this.took(bytesRead);
	}

	/** {@link fill}, synchronously from a file descriptor (a worker reading its own chunk), at most `atMost` bytes. */
	fillSync(fd: number, atMost = Number.POSITIVE_INFINITY): void {
		const want = Math.min(this.room(), atMost);
		this.took(readSync(fd, this.buf, this.be, want, this.fileOffset));
	}

	/** How much the next read asks for; the buffer has room for it after `be`. */
	private room(): number {
		const o = this.o;
		const want = Math.min(
			o.size - this.fileOffset,
			o.readSize ?? Math.max(MIN_READ, (this.target || SAMPLE) + SLACK - (this.be - this.bs)),
		);
		if (this.buf.length - this.be < want) {
			const bigger = Buffer.from(o.buffers.take(this.be - this.bs + want));
			this.view.copy(bigger, 0, this.bs, this.be);
			o.buffers.give(this.buf.buffer as ArrayBuffer);
			this.moveTo(bigger, this.bs);
		}
		return want;
	}

	/** Counts a read's bytes in (a read of nothing before the known size means the file shrank). */
	private took(bytesRead: number): void {
		const o = this.o;
		if (bytesRead === 0 && !Number.isFinite(o.size)) this.eof = true;
		else if (bytesRead === 0) {
			throw new SweepError(
				'file-changed',
				`${o.file} became shorter while it was read (${this.fileOffset} of ${o.size} bytes); no output was kept.`,
				{ file: o.file },
			);
		}
		this.fileOffset += bytesRead;
		this.be += bytesRead;
		this.view = this.buf.subarray(0, this.be);
		this.nextQuote = -2;
		if (this.fileOffset >= o.size) this.eof = true;
		if (this.target === 0 && (this.be - this.bs >= SAMPLE || this.eof || o.readSize !== undefined)) {
			this.target = this.learnTarget();
		}
	}

	/** Chunks aim at `chunkSize` records of the average size seen at the start of the data (at most half the cap). */
	private learnTarget(): number {
		return chunkTarget(this.view.subarray(this.bs, this.bs + SAMPLE), this.o.chunkSize, this.max);
	}

	/**
	 * A worker's guessed chunk start: moves past the first line break from `bs` on, as if it ended a record (see
	 * {@link readOwnChunk}): ALIGNED, or NEED_DATA (read more first). Only a line break before file offset `before`
	 * counts: NO_LINE once the bytes up to it are read without one. No line break within the byte cap: GAVE_UP.
	 */
	alignToLine(before = Number.POSITIVE_INFINITY): Alignment {
		const limit = before - this.base;
		const nl = this.view.indexOf(LF, this.qp);
		if (nl === -1 || nl >= limit) {
			if (this.be - this.bs > this.max) return GAVE_UP;
			if (this.be >= limit) return NO_LINE;
			this.qp = this.be;
			if (!this.eof) return NEED_DATA;
			this.bs = this.be;
		} else this.bs = nl + 1;
		this.qp = this.bs;
		this.inQuote = false;
		this.nextQuote = -2;
		return ALIGNED;
	}

	/** Makes `next` the buffer: it holds, from byte 0, what was at `shift` onwards in the old one (a record start). */
	private moveTo(next: Buffer, shift: number): void {
		this.qp -= shift;
		if (this.nextQuote >= 0) this.nextQuote -= shift;
		this.base += shift;
		this.be -= shift;
		this.bs = 0;
		this.buf = next;
		this.view = next.subarray(0, this.be);
	}

	// ---- finding record ends ---------------------------------------------------------------------------------------

	/**
	 * The first record end (index past an LF outside quotes) at or after `from`, or -1 when the data read so far
	 * does not hold one (or it lies beyond `bs + max`), or -2 when more data is needed to tell.
	 */
	private recordEndFrom(from: number): number {
		const limit = Math.min(this.be, this.bs + this.max);
		if (!this.advance(Math.min(from, limit))) return -2;
		while (this.qp < limit) {
			if (this.inQuote) {
				// Find where this quoted field closes.
				let r = 1;
				while (this.inQuote && r === 1) r = this.step(limit);
				if (r === 2) return -2;
				if (this.inQuote) return -1;
				continue;
			}
			const nl = this.view.indexOf(LF, this.qp);
			if (nl === -1 || nl >= limit) return this.advance(limit) ? -1 : -2;
			if (!this.advance(nl)) return -2;
			if (!this.inQuote) {
				this.qp = nl + 1;
				return this.qp;
			}
		}
		return -1;
	}

	/** Follows every quote up to `limit`; false when more data is needed first. */
	private advance(limit: number): boolean {
		for (;;) {
			if (this.qp >= limit) return true;
			const r = this.step(limit);
			if (r === 0) return true;
			if (r === 2) return false;
		}
	}

	/**
	 * Takes the next quote below `limit` into account: 1 when it did, 0 when there is none (qp is then `limit`),
	 * 2 when it needs more data first (a quote at the end of what was read: `"` or `""`?).
	 */
	private step(limit: number): number {
		const view = this.view;
		if (this.nextQuote === -2 || (this.nextQuote !== -1 && this.nextQuote < this.qp)) {
			this.nextQuote = view.indexOf(QUOTE, this.qp);
		}
		const q = this.nextQuote;
		if (q === -1 || q >= limit) {
			this.qp = limit;
			return 0;
		}
		if (this.inQuote) {
			if (q + 1 >= this.be && !this.eof) {
				this.qp = q;
				return 2;
			}
			if (q + 1 < this.be && view[q + 1] === QUOTE) this.qp = q + 2;
			else {
				this.inQuote = false;
				this.qp = q + 1;
			}
		} else {
			if (q === this.bs || view[q - 1] === this.D || view[q - 1] === LF) this.inQuote = true;
			this.qp = q + 1;
		}
		this.nextQuote = -2;
		return 1;
	}

	/** The last record end in (bs, limit], found by walking every record from bs (only for records near the cap). */
	private lastRecordEnd(limit: number): number {
		let last = -1;
		for (let at = this.bs; ; ) {
			const end = firstRecordEnd(this.view.subarray(at, limit), this.D);
			if (end === -1) return last;
			at += end;
			last = at;
		}
	}
}

/**
 * Bytes per chunk: `chunkSize` records of the average size in `sample` (the data's first megabyte), at most half the
 * byte cap.
 */
export function chunkTarget(sample: Buffer, chunkSize: number, maxChunkBytes: number): number {
	const average = sample.length / Math.max(1, countLF(sample, 0, sample.length));
	return Math.max(1, Math.min(Math.round(chunkSize * average), Math.floor(maxChunkBytes / 2)));
}

/** How much of the data's start {@link chunkTarget} is given. */
export const TARGET_SAMPLE = SAMPLE;

/** What a worker reads for itself (ChunkTask.read): see {@link readOwnChunk}. */
export interface OwnChunkSpec {
	/** The input's name (for an error). */
	file: string;
	/** The chunk's first byte (a record start) when `exact`; else a guess: the first record start at or after it. */
	from: number;
	exact: boolean;
	/** The chunk ends at the first record end at or after this offset (its last record holds byte `endAt - 1`). */
	endAt: number;
	/** The file's size fixed at the start of the run. */
	size: number;
	delimiter: number;
	maxChunkBytes: number;
}

export interface OwnChunk {
	/** The chunk is `bytes[offset, offset + length)`: whole records (none when it is empty). */
	bytes: ArrayBuffer;
	offset: number;
	length: number;
	/**
	 * File offsets of its first byte and just past it. `start` is -1 when a guess found no line break before `endAt`
	 * (no record starts in the planned range: the chunk before covers it, and this one is empty) or, with `tooLarge`,
	 * none within the byte cap.
	 */
	start: number;
	end: number;
	isLast: boolean;
	/** The record at `start` does not end within the byte cap (an error only if `start` is confirmed). */
	tooLarge: boolean;
}

/**
 * Reads one chunk straight from the file (a worker's own read, `pread`): the records from `spec.from` until the first
 * record end at or after `spec.endAt`, cut as {@link readChunks} cuts, with the same byte cap.
 *
 * A chunk's start is known only once the previous chunk has been cut: a record may hold quoted line breaks. So a
 * worker guesses (speculation, as in DuckDB's parallel CSV reader or Mühlbauer et al., "Instant Loading for Main
 * Memory Databases", VLDB 2013): a record starts after the first line break at or after `from - 1`, which is right
 * unless that line break is inside a quoted field. The coordinator checks each guess against the previous chunk's
 * end when it commits them in order, and has a chunk whose guess was wrong done again from the right start.
 */
export function readOwnChunk(fd: number, spec: OwnChunkSpec, buffers: BufferPool): OwnChunk {
	const start = spec.exact ? spec.from : spec.from - 1;
	const cutter = new ChunkCutter({
		file: spec.file,
		start,
		size: spec.size,
		startLine: 0,
		delimiter: spec.delimiter,
		chunkSize: 0,
		maxChunkBytes: spec.maxChunkBytes,
		buffers,
		endAt: spec.endAt,
	});
	const empty = (at: number, tooLarge: boolean): OwnChunk => ({
		bytes: cutter.buffer,
		offset: 0,
		length: 0,
		start: at,
		end: at,
		isLast: at >= spec.size,
		tooLarge,
	});
	if (!spec.exact) {
		// The planned range first (and a little more, where the record holding `endAt - 1` usually ends): with no line
		// break in it, no record starts there, the one before covers it, and the chunk is empty whatever follows. (Read
		// on to the next line break instead, every planned chunk inside one long record read to its end: a cost of
		// the record's length squared.)
		cutter.fillSync(fd, spec.endAt - start + GUESS_SLACK);
		let aligned = cutter.alignToLine(spec.endAt);
		while (aligned === NEED_DATA) {
			cutter.fillSync(fd);
			aligned = cutter.alignToLine(spec.endAt);
		}
		if (aligned === NO_LINE) return empty(-1, false);
		if (aligned === GAVE_UP) return empty(-1, true);
	}
	if (cutter.chunkOffset >= spec.endAt) return empty(cutter.chunkOffset, false);
	for (;;) {
		const next = cutter.next();
		if (next === NEED_DATA) cutter.fillSync(fd);
		else if (next === END) return empty(cutter.chunkOffset, false);
		else if (next === TOO_LARGE) return empty(cutter.chunkOffset, true);
		else {
			const { bytes, offset, length, fileOffset, endOffset, isLast } = next;
			return { bytes, offset, length, start: fileOffset, end: endOffset, isLast, tooLarge: false };
		}
	}
}

/**
 * The 1-based line number at content offset `at`: `startLine` plus the line breaks in [start, at). Reads the file
 * again (through a fresh reader when the source has one: a compressed file is decompressed again from its start).
 */
export async function lineAt(
	fh: ByteReader & Partial<Rewindable>,
	start: number,
	startLine: number,
	at: number,
): Promise<number> {
	const reader = fh.fresh ? await fh.fresh() : fh;
	const buf = Buffer.allocUnsafe(1024 * 1024);
	let line = startLine;
	try {
		for (let pos = start; pos < at; ) {
			const { bytesRead } = await reader.read(buf, 0, Math.min(buf.length, at - pos), pos);
			if (bytesRead === 0) break;
			line += countLF(buf, 0, bytesRead);
			pos += bytesRead;
		}
	} finally {
		if (reader !== fh) await (reader as { close(): Promise<void> }).close();
	}
	return line;
}
