/**
 * Splits records that the engine has already accepted (so each has exactly the header's field count and sound
 * quoting) into fields, for type inference and Parquet conversion. A record ends at LF (its CR before LF, outside
 * quotes, belongs to the line ending). A field that starts with a quote runs to its closing quote, `""` inside is one
 * quote; a quote elsewhere is data.
 */

export const LF = 0x0a;
const CR = 0x0d;
export const QUOTE = 0x22;

/** How a field was written: plain, quoted, or quoted with `""` inside (its value needs unescaping). */
export const PLAIN = 0;
export const QUOTED = 1;
export const ESCAPED = 2;

/**
 * Reads the record starting at `pos` of b (which must end before `end`, with its LF) into `bounds` (value start
 * and end of field k at [2k], [2k+1], quotes excluded) and `kinds`. Returns the position after its LF, or -1
 * when b ends before the record's LF (read more, or the record is incomplete). Fields beyond `fields` are ignored (cannot happen for accepted records).
 */
export function splitRecord(
	b: Uint8Array,
	pos: number,
	end: number,
	delimiter: number,
	fields: number,
	bounds: Int32Array,
	kinds: Uint8Array,
): number {
	let i = pos;
	let k = 0;
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
