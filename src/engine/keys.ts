/**
 * Partition keys inside the engine are "byte strings": each value decoded as latin1, so one char = one byte and
 * a key compares exactly as its bytes do, valid UTF-8 or not. They become real text only for the manifest.
 */

/** One map key for a tuple of values; unambiguous for any bytes (each part is length-prefixed). */
export function encodeKey(parts: readonly string[]): string {
	if (parts.length === 1) return parts[0];
	let key = '';
	for (const p of parts) key += `${p.length}:${p}`;
	return key;
}

/** A partition column: a plain output column, or the trading day of one (`date(COL)`). */
export interface KeyColumnSpec {
	/** The name as the user wrote it: `symbol` or `date(timestamp)`. */
	spec: string;
	/** The output column it reads. */
	column: string;
	/** True for `date(COL)`: the key is the `YYYY-MM-DD` that starts the value. */
	date: boolean;
}

export function parseKeyColumn(spec: string): KeyColumnSpec {
	const m = /^\s*date\((.+)\)\s*$/.exec(spec);
	return m ? { spec, column: m[1].trim(), date: true } : { spec, column: spec, date: false };
}

const isDigit = (c: number) => c >= 0x30 && c <= 0x39;

/**
 * The `YYYY-MM-DD` that starts an ISO-8601 value, or null. The month must be 01–12 and the day 01–31, and what
 * follows the day (if anything) must be `T`, a space, `Z`, `+`, `-` or end of value, so `2024-03-15x` is not a date.
 */
export function datePrefix(value: string): string | null {
	if (value.length < 10) return null;
	for (const i of [0, 1, 2, 3, 5, 6, 8, 9]) if (!isDigit(value.charCodeAt(i))) return null;
	if (value.charCodeAt(4) !== 0x2d || value.charCodeAt(7) !== 0x2d) return null;
	const month = Number(value.slice(5, 7));
	const day = Number(value.slice(8, 10));
	if (month < 1 || month > 12 || day < 1 || day > 31) return null;
	if (value.length > 10 && !'T Z+-t'.includes(value[10])) return null;
	return value.slice(0, 10);
}

/** Bytes of a byte string. */
export function keyBytes(s: string): Buffer {
	return Buffer.from(s, 'latin1');
}
