/**
 * Splits records that the engine has already accepted (so each has exactly the header's field count and sound
 * quoting) into fields, for type inference and Parquet conversion. A record ends at LF (its CR before LF, outside
 * quotes, belongs to the line ending). A field that starts with a quote runs to its closing quote, `""` inside is one
 * quote; a quote elsewhere is data.
 */

import { SCAN_WINDOW, type SpecialScanner } from '../specials';

export const LF = 0x0a;
const CR = 0x0d;
export const QUOTE = 0x22;

/** How a field was written: plain, quoted, or quoted with `""` inside (its value needs unescaping). */
export const PLAIN = 0;
export const QUOTED = 1;
export const ESCAPED = 2;

/** A DataView of all of b's bytes (what splitRecord reads words through). */
export const viewOf = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);

/**
 * Reads the record starting at `pos` of b (which must end before `end`, with its LF) into `bounds` (value start
 * and end of field k at [2k], [2k+1], quotes excluded) and `kinds`. Returns the position after its LF, or -1
 * when b ends before the record's LF (read more, or the record is incomplete). Fields beyond `fields` are ignored (cannot happen for accepted records).
 * `view` is viewOf(b): an unquoted field is scanned 4 bytes at a time.
 */
export function splitRecord(
	b: Uint8Array,
	view: DataView,
	pos: number,
	end: number,
	delimiter: number,
	fields: number,
	bounds: Int32Array,
	kinds: Uint8Array,
): number {
	let i = pos;
	let k = 0;
	const dm = Math.imul(delimiter, 0x01010101);
	for (;;) {
		if (i < end && b[i] === QUOTE) {
			const s = ++i;
			let kind = QUOTED;
			for (;;) {
				if (i >= end) break;
				if (b[i] === QUOTE) {
					if (i + 1 < end && b[i + 1] === QUOTE) {
						kind = ESCAPED;
						i += 2;
						continue;
					}
					break;
				}
				i++;
			}
			if (k < fields) {
				bounds[2 * k] = s;
				bounds[2 * k + 1] = i;
				kinds[k] = kind;
			}
			k++;
			i++; // closing quote
			// Accepted records have a delimiter or the line ending right after the closing quote.
			while (i < end && b[i] !== delimiter && b[i] !== LF) i++;
		} else {
			const s = i;
			// 4 bytes at a time while none is the delimiter or LF. A byte equal to x is a zero byte of
			// w ^ (x * 0x01010101); (y - 0x01010101) & ~y & 0x80808080 marks zero bytes of y, its lowest mark exactly
			// (a wrong one can only follow a true one), so the lowest mark of either is the first stop.
			while (i + 4 <= end) {
				const w = view.getInt32(i, true);
				const x = w ^ dm;
				const y = w ^ 0x0a0a0a0a;
				const m = (((x - 0x01010101) & ~x) | ((y - 0x01010101) & ~y)) & 0x80808080;
				if (m !== 0) {
					i += (31 - Math.clz32(m & -m)) >>> 3;
					break;
				}
				i += 4;
			}
			while (i < end && b[i] !== delimiter && b[i] !== LF) i++;
			let e = i;
			if (e > s && e < end && b[e] === LF && b[e - 1] === CR) e--;
			if (k < fields) {
				bounds[2 * k] = s;
				bounds[2 * k + 1] = e;
				kinds[k] = PLAIN;
			}
			k++;
		}
		if (i >= end) return -1;
		if (b[i] === LF) return i + 1;
		i++; // delimiter
	}
}

/** The value of an ESCAPED field: its bytes with each `""` made one `"`. */
export function unquoteField(b: Uint8Array, s: number, e: number): Uint8Array {
	const out = new Uint8Array(e - s);
	let o = 0;
	for (let i = s; i < e; i++) {
		out[o++] = b[i];
		if (b[i] === QUOTE) i++;
	}
	return out.subarray(0, o);
}

/**
 * Splits consecutive records of a buffer, as {@link splitRecord} does, taking the field boundaries of runs of records
 * without a quote from a WebAssembly scanner's table (specials.ts), a window at a time, as the chunk processor's
 * record loop does: measured on the 303 MB benchmark file, splitting in JavaScript was 1.3 s of type inference's
 * 2.9 s. Records with a quote (and a record longer than the window) go to `splitRecord`; both give the same bounds
 * for a record without quotes. Calls must follow the records in order (`at` checks it); `reset()` when the buffer's
 * bytes move or another run of records begins.
 */
export class FieldSplitter {
	private table: Int32Array = new Int32Array(0);
	private entries = 0;
	private k = 0;
	/** Where the table's next record starts. */
	private at = -1;
	/** The first quote at or after the last scan's start (the end of the data when none); -1: not looked for. */
	private nextQuote = -1;
	private readonly scanner: SpecialScanner | null;

	constructor(
		scanner: SpecialScanner | null,
		private readonly delimiter: number,
		private readonly fields: number,
		readonly bounds: Int32Array,
		readonly kinds: Uint8Array,
	) {
		// The table tells delimiters from line feeds only when the delimiter is neither LF nor CR.
		this.scanner = delimiter === LF || delimiter === CR ? null : scanner;
	}

	reset(): void {
		this.entries = this.k = 0;
		this.at = this.nextQuote = -1;
	}

	/** The record at `pos` of b[…, end) into `bounds` and `kinds`; returns the position after its LF, or -1. */
	split(b: Uint8Array, view: DataView, pos: number, end: number): number {
		if (this.k < this.entries && pos !== this.at) this.reset();
		if (this.k === this.entries && this.scanner !== null) this.scan(b, pos, end);
		if (this.k === this.entries)
			return splitRecord(b, view, pos, end, this.delimiter, this.fields, this.bounds, this.kinds);
		const { table, fields, bounds, kinds } = this;
		let c = 0;
		let fieldStart = pos;
		for (;;) {
			const p = table[this.k++];
			if (p >= 0) {
				if (c < fields) {
					bounds[2 * c] = fieldStart;
					bounds[2 * c + 1] = p;
					kinds[c] = PLAIN;
				}
				c++;
				fieldStart = p + 1;
				continue;
			}
			const lf = ~p;
			if (c < fields) {
				bounds[2 * c] = fieldStart;
				bounds[2 * c + 1] = lf > fieldStart && b[lf - 1] === CR ? lf - 1 : lf;
				kinds[c] = PLAIN;
			}
			this.at = lf + 1;
			return lf + 1;
		}
	}

	/** Scans the records from `pos` up to the next quote (at most a window, whole records only), if any. */
	private scan(b: Uint8Array, pos: number, end: number): void {
		if (this.nextQuote < pos) {
			const q = b.indexOf(QUOTE, pos);
			this.nextQuote = q === -1 || q > end ? end : q;
		}
		const limit = Math.min(pos + SCAN_WINDOW, this.nextQuote, end);
		const last = limit > pos ? b.lastIndexOf(LF, limit - 1) : -1;
		if (last < pos) return;
		const scanner = this.scanner as SpecialScanner; // split() scans only with one
		this.entries = scanner.scan(b, pos, last + 1, this.delimiter);
		this.table = scanner.table;
		this.k = 0;
		this.at = pos;
	}
}
