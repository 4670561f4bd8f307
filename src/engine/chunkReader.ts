import type { FileHandle } from 'node:fs/promises';
import type { BufferPool } from './bufferPool';
import { countLF, LF, QUOTE } from './dialect';
import { SweepError } from './errors';

export interface Chunk {
	seq: number;
	/** Whole records in `bytes[0, length)`, owned (transferable). */
	bytes: ArrayBuffer;
	length: number;
	/** 1-based line of the chunk's first record. */
	startLine: number;
	/** The file's last chunk: its last record may lack a line ending or be an unterminated quote. */
	isLast: boolean;
	/** File offset just past the chunk. */
	endOffset: number;
}

export interface ChunkReaderOptions {
	file: string;
	/** Offset of the first data record (after the header) and the file size fixed at start. */
	start: number;
	size: number;
	startLine: number;
	delimiter: number;
	chunkSize: number;
	maxChunkBytes: number;
	readSize?: number;
	signal?: AbortSignal;
	/** Where chunk buffers come from (and go back to after use). */
	buffers: BufferPool;
}

/**
 * Reads the file in large sequential reads and cuts it into chunks of `chunkSize` records (or fewer, when
 * `maxChunkBytes` comes first), only ever at a record end. This is the main thread's share of the parsing,
 * so it hops with `indexOf` from line break to line break and looks at quotes only where they are: a quote
 * opens a quoted field only at the start of a field (record start or after a delimiter), and inside one,
 * `""` is a quote and line breaks are data. The worker's ChunkProcessor applies the same rules, so both
 * agree on every record boundary.
 */
export async function* readChunks(fh: FileHandle, o: ChunkReaderOptions): AsyncGenerator<Chunk> {
	const readSize = o.readSize ?? 8 * 1024 * 1024;
	const maxWindow = o.maxChunkBytes + readSize;
	let win = Buffer.allocUnsafeSlow(Math.min(maxWindow, Math.max(2 * readSize, 1 << 16)));
	let view = win.subarray(0, 0);
	let winLen = 0;
	/** File offset of win[0]. */
	let winOffset = o.start;
	let fileOffset = o.start;
	let eof = o.start >= o.size;
	const D = o.delimiter;

	let cs = 0; // chunk start (a record start)
	let sp = 0; // scan position
	let recStart = 0; // start of the record being scanned
	let records = 0; // complete records in [cs, recStart)
	let inQuote = false;
	let line = o.startLine; // line number at sp
	let recLine = o.startLine; // line number at recStart
	let chunkLine = o.startLine; // line number at cs
	let nextQuote = -2; // cached index of the next quote >= sp; -1 none in view; -2 unknown
	let seq = 0;

	const cut = (end: number, isLast: boolean): Chunk => {
		const bytes = o.buffers.take(end - cs);
		view.copy(Buffer.from(bytes), 0, cs, end);
		const chunk: Chunk = {
			seq: seq++,
			bytes,
			length: end - cs,
			startLine: chunkLine,
			isLast,
			endOffset: winOffset + end,
		};
		cs = end;
		chunkLine = end === recStart ? recLine : line;
		records = 0;
		return chunk;
	};
	const tooLarge = () =>
		new SweepError(
			'record-too-large',
			`${o.file}: the record starting on line ${recLine} is larger than ${Math.round(o.maxChunkBytes / 1048576)} MB. ` +
				'Often a stray quote near that line opens a quoted field that never closes.',
			{ file: o.file, line: recLine },
		);

	for (;;) {
		// Scan what the window holds.
		while (sp < winLen) {
			if (inQuote) {
				const q = view.indexOf(QUOTE, sp);
				if (q === -1) {
					line += countLF(view, sp, winLen);
					sp = winLen;
					break;
				}
				line += countLF(view, sp, q);
				if (q + 1 >= winLen && !eof) {
					sp = q; // cannot tell `"` from `""` yet: look again with more data
					break;
				}
				if (q + 1 < winLen && view[q + 1] === QUOTE) sp = q + 2;
				else {
					inQuote = false;
					sp = q + 1;
				}
				nextQuote = -2;
				continue;
			}
			if (nextQuote === -2 || (nextQuote >= 0 && nextQuote < sp)) nextQuote = view.indexOf(QUOTE, sp);
			const nl = view.indexOf(LF, sp);
			if (nextQuote !== -1 && (nl === -1 || nextQuote < nl)) {
				const q = nextQuote;
				if (q === recStart || view[q - 1] === D) inQuote = true;
				sp = q + 1;
				nextQuote = -2;
				continue;
			}
			if (nl === -1) {
				sp = winLen;
				break;
			}
			sp = nl + 1;
			if (sp - recStart > o.maxChunkBytes) throw tooLarge();
			if (sp - cs > o.maxChunkBytes) yield cut(recStart, false); // this record starts the next chunk
			line++;
			recStart = sp;
			recLine = line;
			if (++records === o.chunkSize) yield cut(sp, false);
		}

		if (eof) {
			if (winLen - recStart > o.maxChunkBytes) throw tooLarge();
			if (recStart > cs && winLen - cs > o.maxChunkBytes) yield cut(recStart, false);
			if (winLen > cs) yield cut(winLen, true);
			return;
		}
		if (o.signal?.aborted) return;

		// Need more data. Keep chunks under the byte cap.
		if (winLen - cs >= o.maxChunkBytes) {
			if (recStart === cs) throw tooLarge();
			yield cut(recStart, false);
		}
		// Drop what was handed out, then make room and read.
		if (cs > 0) {
			win.copyWithin(0, cs, winLen);
			winLen -= cs;
			sp -= cs;
			recStart -= cs;
			winOffset += cs;
			cs = 0;
		}
		if (win.length - winLen < readSize && win.length < maxWindow) {
			const bigger = Buffer.allocUnsafeSlow(Math.min(maxWindow, Math.max(win.length * 2, winLen + readSize)));
			win.copy(bigger, 0, 0, winLen);
			win = bigger;
		}
		const want = Math.min(win.length - winLen, o.size - fileOffset);
		const { bytesRead } = await fh.read(win, winLen, want, fileOffset);
		if (bytesRead === 0) {
			throw new SweepError(
				'file-changed',
				`${o.file} became shorter while it was read (${fileOffset} of ${o.size} bytes); no output was kept.`,
				{ file: o.file },
			);
		}
		fileOffset += bytesRead;
		winLen += bytesRead;
		view = win.subarray(0, winLen);
		nextQuote = -2;
		if (fileOffset >= o.size) eof = true;
	}
}
