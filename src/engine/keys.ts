import type { PartitionFn, PartitionSpec } from '../rules';

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

const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
const AFTER_DAY = new Set([0x54, 0x74, 0x20, 0x5a, 0x2b, 0x2d]); // T t space Z + -

/**
 * True when `bytes[s, e)` starts with an ISO-8601 `YYYY-MM-DD`: month 01–12, day 01–31, and what follows the day
 * (if anything) is `T`, a space, `Z`, `+` or `-`, so `2024-03-15x` is not a date. The key is then its first 10 bytes.
 */
export function startsWithDate(bytes: Uint8Array, s: number, e: number): boolean {
	if (e - s < 10) return false;
	for (const i of [0, 1, 2, 3, 5, 6, 8, 9]) if (!isDigit(bytes[s + i])) return false;
	if (bytes[s + 4] !== 0x2d || bytes[s + 7] !== 0x2d) return false;
	const month = (bytes[s + 5] - 0x30) * 10 + bytes[s + 6] - 0x30;
	const day = (bytes[s + 8] - 0x30) * 10 + bytes[s + 9] - 0x30;
	if (month < 1 || month > 12 || day < 1 || day > 31) return false;
	return e - s === 10 || AFTER_DAY.has(bytes[s + 10]);
}

/** The `YYYY-MM-DD` that starts a byte-string value, or null (see startsWithDate). */
export function datePrefix(value: string): string | null {
	const bytes = Buffer.from(value, 'latin1');
	return startsWithDate(bytes, 0, bytes.length) ? value.slice(0, 10) : null;
}

/** What a key takes from its column, as small integers for the worker's hot loop (indexes into this list). */
export const KEY_KINDS: readonly PartitionFn[] = ['value', 'date', 'year', 'month', 'hour', 'hash'];

/**
 * FNV-1a, 32 bits, over `bytes[s, e)`: h = 0x811C9DC5; for each byte h = (h XOR byte) × 0x01000193 mod 2^32.
 * `hash(COL, N)` puts a value in bucket h mod N (docs/output.md has test vectors).
 */
export function fnv1a32(bytes: Uint8Array, s: number, e: number): number {
	let h = 0x811c9dc5;
	for (let i = s; i < e; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
	return h >>> 0;
}

const AFTER_HOUR = new Set([0x3a, 0x2e, 0x2c, 0x5a, 0x7a, 0x2b, 0x2d]); // : . , Z z + -

/**
 * True when `bytes[s, e)` starts with a date/time whose hour `hour(COL)` can take: a valid date (startsWithDate),
 * then `T`, `t` or a space, then an hour `00`–`23`, then the end of the value or one of `:` `.` `,` `Z` `z` `+` `-`
 * (`2024-03-15T10:30:00Z`, `2024-03-15 10`, `2024-03-15T10Z`; not `2024-03-15`, `2024-03-15T1`, `2024-03-15T24`).
 */
export function startsWithHour(bytes: Uint8Array, s: number, e: number): boolean {
	if (e - s < 13 || !startsWithDate(bytes, s, e)) return false;
	const t = bytes[s + 10];
	if (t !== 0x54 && t !== 0x74 && t !== 0x20) return false;
	const h1 = bytes[s + 11];
	const h2 = bytes[s + 12];
	if (!isDigit(h1) || !isDigit(h2) || (h1 - 0x30) * 10 + h2 - 0x30 > 23) return false;
	return e - s === 13 || AFTER_HOUR.has(bytes[s + 13]);
}

/**
 * The key a spec takes from a byte-string value, or null when the value does not start with what its grain needs:
 * `date` `YYYY-MM-DD`, `year` `YYYY`, `month` `YYYY-MM` (all from a valid date, startsWithDate), `hour`
 * `YYYY-MM-DDTHH` (startsWithHour; a space separator becomes `T`), `hash` the bucket in decimal. The worker computes
 * the same keys on bytes (chunkProcessor.ts); this is the definition the orders file uses.
 */
export function derivedKey(spec: Pick<PartitionSpec, 'fn' | 'buckets'>, value: string): string | null {
	const bytes = Buffer.from(value, 'latin1');
	switch (spec.fn) {
		case 'value':
			return value;
		case 'hash':
			return String(fnv1a32(bytes, 0, bytes.length) % (spec.buckets ?? 1));
		case 'hour':
			return startsWithHour(bytes, 0, bytes.length) ? `${value.slice(0, 10)}T${value.slice(11, 13)}` : null;
		default:
			if (!startsWithDate(bytes, 0, bytes.length)) return null;
			return value.slice(0, spec.fn === 'year' ? 4 : spec.fn === 'month' ? 7 : 10);
	}
}

/** What a grain needs, for messages: `does not start with …`. */
export function grainNeeds(fn: PartitionFn): string {
	return fn === 'hour' ? 'a YYYY-MM-DDTHH date and hour' : 'a YYYY-MM-DD date';
}
