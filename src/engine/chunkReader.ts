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
 * This is the main thread's share of the parsing, so it is kept to what finding a record end needs: a chunk's
 * byte target is `chunkSize` × the average record size of the file's first megabyte (capped at half the byte
 * cap), the reader reads that many bytes (plus a little) in one go, follows quotes with `indexOf` hops (a quote
 * opens a quoted field only at the start of a field, and inside one `""` is a quote and line breaks are data),
 * and cuts at the first line break outside quotes at or after the target. It never visits the line breaks in
 * between: records, fields and line numbers are the workers' job (ChunkProcessor applies the same quoting
 * rules, so both agree on every record boundary). The bytes after the cut, usually under 64 KB, are copied to
 * the next chunk's buffer; when a chunk is smaller than what follows it (tiny chunk sizes), the chunk is copied
 * out instead.
 */
export async function* readChunks(fh: ByteReader & Partial<Rewindable>, o: ChunkReaderOptions): AsyncGenerator<Chunk> {
	const D = o.delimiter;
	const max = o.maxChunkBytes;
	let target = 0; // bytes per chunk; known after the first read
	let buf = Buffer.from(o.buffers.take(o.readSize ?? Math.min(SAMPLE, Math.max(o.size - o.start, 1))));
	let view = buf.subarray(0, 0);
	let base = o.start; // file offset of buf[0]
	let bs = 0; // chunk start (a record start)
	let be = 0; // end of the bytes read
	let fileOffset = o.start;
	let eof = o.start >= o.size;
	let seq = 0;
	// Quote state, known for buf[bs, qp).
	let qp = 0;
	let inQuote = false;
	let nextQuote = -2; // cached index of the next quote >= qp in view; -1 none; -2 unknown

	/**
	 * Takes the next quote below `limit` into account: 1 when it did, 0 when there is none (qp is then `limit`),
	 * 2 when it needs more data first (a quote at the end of what was read: `"` or `""`?).
	 */
	const step = (limit: number): number => {
		if (nextQuote === -2 || (nextQuote !== -1 && nextQuote < qp)) nextQuote = view.indexOf(QUOTE, qp);
		const q = nextQuote;
		if (q === -1 || q >= limit) {
			qp = limit;
			return 0;
		}
		if (inQuote) {
			if (q + 1 >= be && !eof) {
				qp = q;
				return 2;
			}
			if (q + 1 < be && view[q + 1] === QUOTE) qp = q + 2;
			else {
				inQuote = false;
				qp = q + 1;
			}
		} else {
			if (q === bs || view[q - 1] === D || view[q - 1] === LF) inQuote = true;
			qp = q + 1;
		}
		nextQuote = -2;
		return 1;
	};
	/** Follows every quote up to `limit`; false when more data is needed first. */
	const advance = (limit: number): boolean => {
		for (;;) {
			if (qp >= limit) return true;
			const r = step(limit);
			if (r === 0) return true;
			if (r === 2) return false;
		}
	};

	/**
	 * The first record end (index past an LF outside quotes) at or after `from`, or -1 when the data read so far
	 * does not hold one (or it lies beyond `bs + max`), or -2 when more data is needed to tell.
	 */
	const recordEndFrom = (from: number): number => {
		const limit = Math.min(be, bs + max);
		if (!advance(Math.min(from, limit))) return -2;
		while (qp < limit) {
			if (inQuote) {
				// Find where this quoted field closes.
				let r = 1;
				while (inQuote && r === 1) r = step(limit);
				if (r === 2) return -2;
				if (inQuote) return -1;
				continue;
			}
			const nl = view.indexOf(LF, qp);
			if (nl === -1 || nl >= limit) return advance(limit) ? -1 : -2;
			if (!advance(nl)) return -2;
			if (!inQuote) {
				qp = nl + 1;
				return qp;
			}
		}
		return -1;
	};

	/** The last record end in (bs, limit], found by walking every record from bs (only for records near the cap). */
	const lastRecordEnd = (limit: number): number => {
		let last = -1;
		for (let at = bs; ; ) {
			const end = firstRecordEnd(view.subarray(at, limit), D);
			if (end === -1) return last;
			at += end;
			last = at;
		}
	};

	const tooLarge = async (at: number): Promise<SweepError> => {
		const line = await lineAt(fh, o.start, o.startLine, at);
		return new SweepError(
			'record-too-large',
			`${o.file}: the record starting on line ${line} is larger than ${Math.round(max / 1048576)} MB. ` +
				'Often a stray quote near that line opens a quoted field that never closes.',
			{ file: o.file, line },
		);
	};

	/** Hands out buf[bs, end) as a chunk, copying whichever is smaller: the chunk, or what follows it. */
	const cut = (end: number, isLast: boolean): Chunk => {
		const length = end - bs;
		const chunk: Chunk = {
			seq: seq++,
			bytes: buf.buffer as ArrayBuffer,
			offset: buf.byteOffset + bs,
			length,
			fileOffset: base + bs,
			isLast,
			endOffset: base + end,
		};
		const rest = be - end;
		if (length <= rest) {
			const own = o.buffers.take(length);
			view.copy(Buffer.from(own), 0, bs, end);
			chunk.bytes = own;
			chunk.offset = 0;
			bs = end;
		} else {
			const next = Buffer.from(o.buffers.take(Math.max(rest, target + SLACK, o.readSize ?? 0)));
			view.copy(next, 0, end, be);
			if (qp < end) throw new Error('internal: cut before the quote scan');
			qp -= end;
			if (nextQuote >= 0) nextQuote -= end;
			base += end;
			buf = next;
			be = rest;
			bs = 0;
			view = buf.subarray(0, be);
		}
		return chunk;
	};

	for (;;) {
		if (target > 0 && bs < be) {
			// Cut as many chunks as the data read so far holds.
			const end = recordEndFrom(bs + target);
			if (end > 0) {
				yield cut(end, false);
				continue;
			}
			if (end === -1 && (eof || be - bs >= max)) {
				if (eof && be - bs <= max) {
					yield cut(be, true);
					return;
				}
				// No record end between the target and the cap: cut at the last one before the target, if any.
				const last = lastRecordEnd(bs + max);
				if (last <= bs) throw await tooLarge(base + bs);
				yield cut(last, false);
				continue;
			}
		}
		if (eof) {
			if (bs < be) throw new Error('internal: data left at the end of the file');
			return;
		}
		if (o.signal?.aborted) return;

		// Read more, into the current chunk's buffer (moving its bytes to a larger one when needed).
		const want = Math.min(
			o.size - fileOffset,
			o.readSize ?? Math.max(MIN_READ, (target || SAMPLE) + SLACK - (be - bs)),
		);
		if (buf.length - be < want) {
			const bigger = Buffer.from(o.buffers.take(be - bs + want));
			view.copy(bigger, 0, bs, be);
			o.buffers.give(buf.buffer as ArrayBuffer);
			qp -= bs;
			if (nextQuote >= 0) nextQuote -= bs;
			base += bs;
			be -= bs;
			bs = 0;
			buf = bigger;
		}
		const { bytesRead } = await fh.read(buf, be, want, fileOffset);
		if (bytesRead === 0 && !Number.isFinite(o.size)) eof = true;
		else if (bytesRead === 0) {
			throw new SweepError(
				'file-changed',
				`${o.file} became shorter while it was read (${fileOffset} of ${o.size} bytes); no output was kept.`,
				{ file: o.file },
			);
		}
		fileOffset += bytesRead;
		be += bytesRead;
		view = buf.subarray(0, be);
		nextQuote = -2;
		if (fileOffset >= o.size) eof = true;
		if (target === 0 && (be - bs >= SAMPLE || eof || o.readSize !== undefined)) {
			// Aim chunks at chunkSize records of the average size seen at the start of the data.
			const seen = Math.min(be - bs, SAMPLE);
			const average = seen / Math.max(1, countLF(view, bs, bs + seen));
			target = Math.max(1, Math.min(Math.round(o.chunkSize * average), Math.floor(max / 2)));
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
