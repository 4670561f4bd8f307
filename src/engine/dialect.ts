import { parse } from 'csv-parse/sync';
import { parseDelimiter, refusal, SNIFF_CANDIDATES, show } from '../rules';
import { SweepError } from './errors';

/** Byte values the scanners look for. */
export const LF = 0x0a;
export const CR = 0x0d;
export const QUOTE = 0x22;

/** Line breaks (LF bytes) in `buf[from, to)`. */
export function countLF(buf: Buffer, from: number, to: number): number {
	let n = 0;
	let i = buf.indexOf(LF, from);
	while (i !== -1 && i < to) {
		n++;
		i = buf.indexOf(LF, i + 1);
	}
	return n;
}

const UTF8_BOM = [0xef, 0xbb, 0xbf];

/** Formats Sweep does not read, by their first bytes: what they are and how to get the CSV out. */
const OTHER_FORMATS: { magic: (number | null)[]; what: string; how: string }[] = [
	// "BZh", the block size 1–9, then the first block's magic (a block of data, or the end of an empty stream).
	...[
		[0x31, 0x41, 0x59, 0x26, 0x53, 0x59],
		[0x17, 0x72, 0x45, 0x38, 0x50, 0x90],
	].map((block) => ({
		magic: [0x42, 0x5a, 0x68, null, ...block],
		what: 'a bzip2 file',
		how: 'decompress it first, e.g. bunzip2 -k',
	})),
	{ magic: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], what: 'an xz file', how: 'decompress it first, e.g. unxz -k' },
	{ magic: [0x04, 0x22, 0x4d, 0x18], what: 'an LZ4 file', how: 'decompress it first, e.g. unlz4' },
	{ magic: [0x50, 0x4b, 0x03, 0x04], what: 'a zip archive', how: 'extract the CSV from it first, e.g. unzip' },
	{ magic: [0x50, 0x4b, 0x05, 0x06], what: 'an (empty) zip archive', how: 'extract the CSV from it first' },
	{ magic: [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c], what: 'a 7-Zip archive', how: 'extract the CSV from it first' },
];

/**
 * Length of a UTF-8 byte-order mark at the start of `bytes` (0 or 3). A UTF-16 or UTF-32 BOM stops the run:
 * Sweep reads UTF-8 only and would otherwise split records inside two-byte characters. So does the start of a
 * compressed or archive format Sweep does not read (bzip2, xz, LZ4, zip, 7-Zip; gzip and zstd are decompressed
 * before this sees the bytes): read as text it would only give a garbled header.
 */
export function bomLength(bytes: Uint8Array, file: string): number {
	for (const f of OTHER_FORMATS) {
		if (
			bytes.length >= f.magic.length &&
			f.magic.every((b, i) => (b === null ? bytes[i] >= 0x31 && bytes[i] <= 0x39 : bytes[i] === b))
		) {
			throw new SweepError(
				'input-encoding',
				`${file} is ${f.what}, not CSV text; Sweep reads CSV/TSV, plain or gzip- or zstd-compressed: ${f.how}.`,
				{ file },
			);
		}
	}
	if (bytes.length >= 3 && bytes[0] === UTF8_BOM[0] && bytes[1] === UTF8_BOM[1] && bytes[2] === UTF8_BOM[2]) return 3;
	if (bytes.length >= 2 && ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff))) {
		throw new SweepError(
			'input-encoding',
			`${file} is UTF-16 (it starts with a UTF-16 byte-order mark); Sweep reads UTF-8. Convert it first, e.g. iconv -f UTF-16 -t UTF-8.`,
			{ file },
		);
	}
	return 0;
}

/**
 * Where the first record of `bytes` ends: the index just past its LF, or -1 when no LF outside quotes is found.
 * Uses the same quoting rule as every other scanner in Sweep (a quote opens a field only at field start).
 * `inQuoteAtStart`: `bytes` starts inside a quoted field (the preview's sampler tries both states after a seek).
 */
export function firstRecordEnd(bytes: Uint8Array, delimiter: number, inQuoteAtStart = false): number {
	let inQuote = inQuoteAtStart;
	let fieldStart = true;
	for (let i = 0; i < bytes.length; i++) {
		const c = bytes[i];
		if (inQuote) {
			if (c === QUOTE) {
				if (bytes[i + 1] === QUOTE) i++;
				else inQuote = false;
			}
			continue;
		}
		if (c === LF) return i + 1;
		if (c === QUOTE && fieldStart) inQuote = true;
		fieldStart = c === delimiter;
	}
	return -1;
}

/**
 * Splits one record (without caring for its line ending) into fields by Sweep's own rules, the same the chunk
 * scanners follow; fields come back as byte strings (latin1), `""` unescaped. Returns an error text instead when
 * the record is malformed (text after a closing quote, an unterminated quote).
 */
export function splitRecord(record: Uint8Array, delimiter: number): { fields: string[] } | { error: string } {
	let end = record.length;
	if (end > 0 && record[end - 1] === LF) {
		end--;
		if (end > 0 && record[end - 1] === CR) end--; // CRLF; a CR not followed by LF is data
	}
	const bytes = Buffer.from(record.buffer, record.byteOffset, end);
	const fields: string[] = [];
	let i = 0;
	for (;;) {
		if (bytes[i] === QUOTE) {
			let value = '';
			let j = i + 1;
			for (;;) {
				const q = bytes.indexOf(QUOTE, j);
				if (q === -1) return { error: 'an unterminated quoted field' };
				value += bytes.toString('latin1', j, q);
				if (bytes[q + 1] === QUOTE) {
					value += '"';
					j = q + 2;
					continue;
				}
				i = q + 1;
				break;
			}
			fields.push(value);
			if (i === end) return { fields };
			if (bytes[i] !== delimiter) return { error: 'text after a closing quote' };
			i++;
			continue;
		}
		let e = bytes.indexOf(delimiter, i);
		if (e === -1) e = end;
		fields.push(bytes.toString('latin1', i, e));
		if (e === end) return { fields };
		i = e + 1;
	}
}

/** Text of a byte string (see keys.ts); invalid UTF-8 shows as U+FFFD. */
export const textOf = (byteString: string): string => Buffer.from(byteString, 'latin1').toString('utf8');

/** A byte string (see keys.ts) of a text. */
export const bytesOf = (text: string): string => Buffer.from(text, 'utf8').toString('latin1');

/** Parses complete records of `text` leniently; used on small samples only (header, sniffing, previews). */
export function parseSample(text: string, delimiter: string, maxRecords: number): string[][] {
	try {
		return parse(text, {
			delimiter,
			relax_quotes: true,
			relax_column_count: true,
			skip_empty_lines: false,
			record_delimiter: ['\r\n', '\n'],
			to: maxRecords,
		}) as string[][];
	} catch {
		return [];
	}
}

/** How much of a file's start sniffing looks at (cut back to the last line break in it). */
const SNIFF_BYTES = 64 * 1024;

/** Sniffs the delimiter of a file from the start of its body (after any BOM): see {@link sniffDelimiter}. */
export function sniffFileDelimiter(body: Buffer): string {
	const sample = body.subarray(0, SNIFF_BYTES);
	const lastLF = sample.lastIndexOf(LF);
	return sniffDelimiter(sample.subarray(0, lastLF >= 0 ? lastLF + 1 : sample.length).toString('latin1'));
}

/**
 * Picks the delimiter from `, ; TAB |` that splits the sample's first records into the most columns,
 * consistently. `sample` should end at a record boundary.
 */
export function sniffDelimiter(sample: string): string {
	let best: string = SNIFF_CANDIDATES[0];
	let bestScore = 0;
	for (const candidate of SNIFF_CANDIDATES) {
		const records = parseSample(sample, candidate, 20).filter((r) => !(r.length === 1 && r[0] === ''));
		if (records.length === 0 || records[0].length < 2) continue;
		const width = records[0].length;
		const consistent = records.filter((r) => r.length === width).length / records.length;
		const score = width * consistent * consistent;
		if (score > bestScore) {
			best = candidate;
			bestScore = score;
		}
	}
	return best;
}

/** The delimiter an engine caller gave, by the delimiter rule (src/rules): one character, or null to sniff. */
export function normalizeDelimiter(given: string | null | undefined): string | null {
	const checked = parseDelimiter(given);
	if (!checked.ok) throw new SweepError('usage', refusal('delimiter', show(given), checked.problem));
	return checked.value;
}

/**
 * Serializes the output header in the input's dialect: a name is quoted only where it needs to be. Names are byte
 * strings (see keys.ts), so bytes that are not UTF-8 are written back as they were.
 */
export function formatHeader(names: readonly string[], delimiter: string, eol: string): Buffer {
	const needsQuotes = (s: string) => s.includes(delimiter) || s.includes('"') || s.includes('\n') || s.includes('\r');
	const line = names.map((n) => (needsQuotes(n) ? `"${n.replaceAll('"', '""')}"` : n)).join(delimiter);
	return Buffer.from(line + eol, 'latin1');
}
