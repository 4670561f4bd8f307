/**
 * The bounded read of a file's start: dialect, header and the first records, with the reason in one sentence
 * when the file cannot be previewed or run. Everything here reuses the engine's own rules — `readHead` (BOM,
 * UTF-16 refusal, delimiter sniffing, the header), `firstRecordEnd` (where a record ends, quotes included) and
 * `splitRecord` (fields) — so the preview shows exactly the records a run would see.
 */
import { CR, countLF, firstRecordEnd, LF, normalizeDelimiter, QUOTE, splitRecord, textOf } from '../engine/dialect';
import { isSweepError } from '../engine/errors';
import { type FileHead, readHead } from '../engine/header';
import type { ByteReader } from '../engine/source';
import { type ByteSource, openSource, SourceProblem } from './source';
import { FIELD_TEXT_CAP, type PreviewDialect, type PreviewHead, type PreviewProblem, type PreviewRow } from './types';

/** Bytes of the file's start the preview reads at most before showing anything. */
export const HEAD_BYTES = 4 * 1024 * 1024;
/** Records in the first page of the table, and in each page loaded on scroll. */
export const PAGE_ROWS = 200;
/** Records the table loads at most (scrolling further says to run an extraction). */
export const TABLE_ROW_CAP = 50_000;
/** A single record longer than this is not shown in the table (it would be a runaway quote). */
export const MAX_ROW_BYTES = 16 * 1024 * 1024;

/** The result of looking at the head bytes: the engine's header, or a problem. */
export interface HeadScan {
	head?: FileHead;
	problem?: PreviewProblem;
}

const MAGIC: { bytes: number[]; what: string; compressed?: boolean }[] = [
	{ bytes: [0x50, 0x4b, 0x03, 0x04], what: 'a ZIP archive (or an .xlsx workbook)' },
	{ bytes: [0x42, 0x5a, 0x68], what: 'bzip2-compressed', compressed: true },
	{ bytes: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], what: 'xz-compressed', compressed: true },
	{ bytes: [0x50, 0x41, 0x52, 0x31], what: 'a Parquet file' },
	{ bytes: [0x25, 0x50, 0x44, 0x46], what: 'a PDF document' },
	{ bytes: [0x89, 0x50, 0x4e, 0x47], what: 'a PNG image' },
	{ bytes: [0x7f, 0x45, 0x4c, 0x46], what: 'an executable (ELF)' },
	{ bytes: [0xd0, 0xcf, 0x11, 0xe0], what: 'an old Office document (.xls)' },
];

/** Why the bytes are not a UTF-8 CSV, or undefined. Looks at the first 64 KB. */
export function sniffBinary(bytes: Uint8Array, file: string): PreviewProblem | undefined {
	for (const m of MAGIC) {
		if (bytes.length >= m.bytes.length && m.bytes.every((b, i) => bytes[i] === b)) {
			return m.compressed
				? {
						kind: 'compressed',
						message: `${file} is ${m.what}; Sweep reads plain, gzip and zstd files only. Decompress it first.`,
						blocksRun: true,
					}
				: { kind: 'binary', message: `${file} is ${m.what}, not a CSV file.`, blocksRun: true };
		}
	}
	const n = Math.min(bytes.length, 64 * 1024);
	let even = 0;
	let odd = 0;
	let control = 0;
	for (let i = 0; i < n; i++) {
		const c = bytes[i];
		if (c === 0) {
			if (i % 2 === 0) even++;
			else odd++;
		} else if (c < 0x09 || (c > 0x0d && c < 0x20 && c !== 0x1b)) control++;
	}
	const half = n / 2;
	if (n >= 4 && (even > half * 0.3 || odd > half * 0.3) && Math.abs(even - odd) > half * 0.2) {
		return {
			kind: 'utf16',
			message: `${file} looks like UTF-16 text (every other byte is zero); Sweep reads UTF-8. Convert it first, e.g. iconv -f UTF-16 -t UTF-8.`,
			blocksRun: true,
		};
	}
	if (even + odd + control > Math.max(8, n * 0.01)) {
		return {
			kind: 'binary',
			message: `${file} looks binary (${even + odd + control} control or NUL bytes in its first ${Math.round(n / 1024)} KB), not like a CSV file.`,
			blocksRun: true,
		};
	}
	return undefined;
}

/** A reader over bytes already read, so the engine's `readHead` parses exactly what the preview has. */
function bytesHandle(bytes: Buffer): ByteReader {
	const read = async (buffer: Buffer, offset: number, length: number, position: number) => {
		const n =
			position >= bytes.length ? 0 : bytes.copy(buffer, offset, position, Math.min(bytes.length, position + length));
		return { bytesRead: n, buffer };
	};
	return { read };
}

/**
 * Runs the engine's header reader on the head bytes. `size` is the whole file's size: when the header does not
 * end within the head, that is the engine's own "is a quote in it unbalanced?" error.
 */
export async function scanHead(bytes: Buffer, size: number, file: string, delimiter: string | null): Promise<HeadScan> {
	const binary = sniffBinary(bytes, file);
	if (binary) return { problem: binary };
	try {
		const head = await readHead(bytesHandle(bytes), size, file, delimiter, Math.max(bytes.length, 1));
		return { head };
	} catch (e) {
		if (!isSweepError(e)) throw e;
		if (size > bytes.length && e.code === 'bad-header' && /unterminated/.test(e.message)) {
			// The head ends inside the header: the engine, reading further, would say it does not end.
			return {
				problem: {
					kind: 'runaway-quote',
					message: `${file}: the header (line 1) does not end within the first ${formatMB(bytes.length)}; is a quote in it unbalanced?`,
					blocksRun: true,
				},
			};
		}
		const kind =
			e.code === 'input-encoding' ? 'utf16' : /does not end within/.test(e.message) ? 'runaway-quote' : 'bad-header';
		return { problem: { kind, message: e.message, blocksRun: true } };
	}
}

/** The table row of one record (`bytes` without its line ending is fine too). */
export function toRow(bytes: Uint8Array, line: number, delimiter: number, width: number): PreviewRow {
	const split = splitRecord(bytes, delimiter);
	if ('error' in split) {
		const text = textOf(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1'));
		return { line, fields: [cut(text.replace(/\r?\n$/, ''))], problem: `${split.error}: a run rejects this record` };
	}
	const fields = split.fields.map((f) => cut(textOf(f)));
	if (fields.length !== width) {
		return {
			line,
			fields,
			problem: `${fields.length} fields where the header has ${width}: a run rejects this record`,
		};
	}
	return { line, fields };
}

const cut = (s: string) => (s.length > FIELD_TEXT_CAP ? `${s.slice(0, FIELD_TEXT_CAP - 1)}…` : s);

/** Walks complete records of `bytes` from `from`: calls `each(start, end)` and returns where it stopped. */
export function eachRecord(
	bytes: Uint8Array,
	from: number,
	delimiter: number,
	each: (start: number, end: number) => boolean | undefined,
): number {
	let pos = from;
	while (pos < bytes.length) {
		const e = firstRecordEnd(bytes.subarray(pos), delimiter);
		if (e === -1) break;
		if (each(pos, pos + e) === false) return pos + e;
		pos += e;
	}
	return pos;
}

/** Reads the head of `file` and describes it; never throws for a bad file (see `problem`). */
export async function readPreviewHead(
	file: string,
	opts: { delimiter?: string | null; headBytes?: number; pageRows?: number } = {},
): Promise<PreviewHead> {
	const empty = (size: number, mtimeMs: number, problem: PreviewProblem): PreviewHead => ({
		...blankHead(file, size, mtimeMs, { compression: 'none', headBytes: 0, wholeFile: false }),
		problem,
	});
	let source: ByteSource;
	try {
		source = await openSource(file);
	} catch (e) {
		if (e instanceof SourceProblem) return empty(0, 0, e.problem);
		throw e;
	}
	try {
		if (source.size === 0) {
			return empty(0, source.mtimeMs, {
				kind: 'empty',
				message: `${file} is empty: there is no header and nothing to extract.`,
				blocksRun: true,
			});
		}
		let given: string | null = null;
		try {
			given = opts.delimiter ? normalizeDelimiter(opts.delimiter) : null;
		} catch {
			given = null; // a bad sweep.delimiter is warned about by the settings; sniff instead
		}
		const want = opts.headBytes ?? HEAD_BYTES;
		let bytes: Buffer;
		try {
			bytes = await source.read(0, want);
		} catch (e) {
			if (e instanceof SourceProblem) return empty(source.fileSize, source.mtimeMs, e.problem);
			throw e;
		}
		const head = await describeHead(file, source.fileSize, source.mtimeMs, bytes, given, opts.pageRows ?? PAGE_ROWS, {
			eof: bytes.length < want || bytes.length >= source.size,
			compression: source.compression,
		});
		if (source.compression !== 'none') head.contentEstimate = Math.round(source.fileSize * source.ratio());
		return head;
	} finally {
		await source.close();
	}
}

/** A preview with nothing read into it yet: what a problem or the head's description starts from. */
function blankHead(
	file: string,
	size: number,
	mtimeMs: number,
	read: Pick<PreviewHead, 'compression' | 'headBytes' | 'wholeFile'>,
): PreviewHead {
	return {
		file,
		size,
		mtimeMs,
		...read,
		header: [],
		dataStart: 0,
		dataLine: 1,
		rows: [],
		next: null,
		headRecords: 0,
		headRecordBytes: 0,
		notes: [],
	};
}

/** The preview of head bytes already read (exported for tests). */
export async function describeHead(
	file: string,
	size: number,
	mtimeMs: number,
	bytes: Buffer,
	delimiterGiven: string | null,
	pageRows: number,
	opts: { eof?: boolean; compression?: PreviewHead['compression'] } = {},
): Promise<PreviewHead> {
	const wholeFile = opts.eof ?? bytes.length >= size;
	const base = blankHead(file, size, mtimeMs, {
		compression: opts.compression ?? 'none',
		headBytes: bytes.length,
		wholeFile,
	});
	const scan = await scanHead(bytes, wholeFile ? bytes.length : Number.POSITIVE_INFINITY, file, delimiterGiven);
	if (!scan.head) return { ...base, problem: scan.problem };
	const h = scan.head;
	const D = h.delimiter.charCodeAt(0);
	const width = h.names.length;
	let line = h.dataLine;
	let lf = 0;
	let crlf = 0;
	let quoted = 0;
	let multiline = 0;
	let records = 0;
	const rows: PreviewRow[] = [];
	let nextOffset = -1;
	let nextLine = line;
	let nextQuote = bytes.indexOf(QUOTE, h.dataStart); // the next quote at or after the record looked at
	const headerEnd = h.dataStart;
	if (bytes[headerEnd - 1] === LF) {
		if (bytes[headerEnd - 2] === CR) crlf++;
		else lf++;
	}
	const end = eachRecord(bytes, h.dataStart, D, (s, e) => {
		records++;
		if (bytes[e - 2] === CR) crlf++;
		else lf++;
		const breaks = countLF(bytes as Buffer, s, e - 1);
		if (nextQuote !== -1 && nextQuote < s) nextQuote = bytes.indexOf(QUOTE, s);
		if (nextQuote !== -1 && nextQuote < e) quoted++;
		if (breaks > 0) multiline++;
		if (rows.length < pageRows) {
			rows.push(toRow(bytes.subarray(s, e), line, D, width));
			nextOffset = e;
			nextLine = line + breaks + 1;
		}
		line += breaks + 1;
		return undefined;
	});
	const notes: string[] = [];
	let problem: PreviewProblem | undefined;
	const rest = bytes.length - end;
	if (wholeFile && rest > 0) {
		// The last record has no line ending, or a quote that never closes (a run rejects it).
		records++;
		const row = toRow(bytes.subarray(end), line, D, width);
		if (rows.length < pageRows) {
			rows.push(row);
			nextOffset = bytes.length;
		}
		if (row.problem)
			notes.push(
				`The last record (line ${formatInt(line)}) ${row.problem.replace(/: a run.*/, '')}: a run rejects it.`,
			);
	} else if (!wholeFile && records === 0 && rest > 0) {
		problem = {
			kind: 'runaway-quote',
			message: `${file}: the record on line ${formatInt(line)} does not end within the first ${formatMB(bytes.length)}; a quote in it probably never closes, so a run would stop there or reject the rest of the file.`,
			blocksRun: true,
		};
	} else if (!wholeFile && rest > Math.min(1024 * 1024, bytes.length / 4)) {
		problem = {
			kind: 'runaway-quote',
			message: `${file}: the record on line ${formatInt(line)} is still open ${formatMB(rest)} later, at the end of the first ${formatMB(bytes.length)}; a quote in it probably never closes, so a run would stop there or reject the rest of the file.`,
			blocksRun: true,
		};
	}
	if (records === 0 && wholeFile) {
		problem = {
			kind: 'header-only',
			message: `${file} has a header and no records: there is nothing to extract.`,
			blocksRun: true,
		};
	}
	const dialect: PreviewDialect = {
		delimiter: h.delimiter,
		sniffed: delimiterGiven === null,
		lineEndings: lf > 0 && crlf > 0 ? 'mixed' : crlf > 0 ? 'CRLF' : lf > 0 ? 'LF' : 'none',
		bom: h.bom > 0,
		encoding: encodingOf(bytes.subarray(0, wholeFile ? bytes.length : end)),
		quotedRecords: quoted,
		multilineRecords: multiline,
	};
	const next =
		rows.length === 0 || nextOffset < 0 || nextOffset >= size ? null : { offset: nextOffset, line: nextLine };
	return {
		...base,
		dialect,
		header: h.names,
		dataStart: h.dataStart,
		dataLine: h.dataLine,
		rows,
		next,
		headRecords: records,
		headRecordBytes: (wholeFile ? bytes.length : end) - h.dataStart,
		problem,
		notes,
	};
}

/** ASCII, UTF-8, or UTF-8 with bytes that are not UTF-8 (a run passes them through unchanged). */
function encodingOf(bytes: Uint8Array): PreviewDialect['encoding'] {
	let ascii = true;
	for (let i = 0; i < bytes.length; i++) {
		if (bytes[i] >= 0x80) {
			ascii = false;
			break;
		}
	}
	if (ascii) return 'ASCII';
	try {
		new TextDecoder('utf-8', { fatal: true }).decode(bytes);
		return 'UTF-8';
	} catch {
		return 'UTF-8 with invalid bytes';
	}
}

/**
 * The next page of records from `from` (a record start), for the table's scrolling. Reads 1 MB at a time (more
 * for a long record, up to {@link MAX_ROW_BYTES}). Throws a SourceProblem when the file is gone or changed.
 */
export async function readRows(
	file: string,
	from: { offset: number; line: number },
	count: number,
	delimiter: string,
	width: number,
	expect: { size: number; mtimeMs: number },
): Promise<{ rows: PreviewRow[]; next: { offset: number; line: number } | null }> {
	const source = await openSource(file);
	try {
		if (source.fileSize !== expect.size || source.mtimeMs !== expect.mtimeMs) {
			throw new SourceProblem({
				kind: 'unreadable',
				message: `${file} changed since the preview opened; reopen the preview.`,
				blocksRun: false,
			});
		}
		const D = delimiter.charCodeAt(0);
		const rows: PreviewRow[] = [];
		let offset = from.offset;
		let line = from.line;
		let want = 1024 * 1024;
		let ended = false;
		while (rows.length < count && offset < source.size && !ended) {
			const bytes = await source.read(offset, want);
			const atEof = bytes.length < want || offset + bytes.length >= source.size;
			if (atEof && bytes.length === 0) break;
			let consumed = eachRecord(bytes, 0, D, (s, e) => {
				const breaks = countLF(bytes, s, e - 1);
				rows.push(toRow(bytes.subarray(s, e), line, D, width));
				line += breaks + 1;
				return rows.length < count ? undefined : false;
			});
			if (consumed === 0 && atEof && bytes.length > 0) {
				rows.push(toRow(bytes, line, D, width));
				consumed = bytes.length;
			}
			if (consumed === 0) {
				if (want >= MAX_ROW_BYTES) {
					rows.push({
						line,
						fields: [],
						problem: `this record is longer than ${formatMB(MAX_ROW_BYTES)} (a quote that never closes?); the table stops here`,
					});
					return { rows, next: null };
				}
				want = Math.min(want * 4, MAX_ROW_BYTES);
				continue;
			}
			offset += consumed;
			ended = atEof && consumed === bytes.length;
		}
		return { rows, next: offset < source.size && !ended ? { offset, line } : null };
	} finally {
		await source.close();
	}
}

const formatInt = (n: number) => n.toLocaleString('en-US');
const formatMB = (bytes: number) => `${(bytes / 1048576).toFixed(bytes < 10 * 1048576 ? 1 : 0)} MB`;
