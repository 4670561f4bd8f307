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

/** Days in each month of a common year (index 1–12). */
const MONTH_DAYS = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Gregorian leap year: divisible by 4, except centuries not divisible by 400 (2000 yes, 1900 no). */
export function isLeapYear(year: number): boolean {
	return (year & 3) === 0 && (year % 100 !== 0 || year % 400 === 0);
}

/**
 * True when year-month-day is a real day of the proleptic Gregorian calendar: month 1–12, day 1 to the month's
 * length (February 29 only in leap years). Years 0000–9999 are all accepted. Every time grain builds on this.
 */
export function isValidDate(year: number, month: number, day: number): boolean {
	if (month < 1 || month > 12 || day < 1) return false;
	if (day <= MONTH_DAYS[month]) return true;
	return month === 2 && day === 29 && isLeapYear(year);
}

/** The value of two ASCII digits at `bytes[i]`, `bytes[i + 1]`, or -1 when either is not a digit. */
function twoDigits(bytes: Uint8Array, i: number): number {
	const a = bytes[i] - 0x30;
	const b = bytes[i + 1] - 0x30;
	// (x >>> 0) > 9 is false only for 0–9: one compare per digit.
	if (a >>> 0 > 9 || b >>> 0 > 9) return -1;
	return a * 10 + b;
}

/** After the day: `T`, `t`, space, `Z`, `+` or `-`. */
function isAfterDay(c: number): boolean {
	return c === 0x54 || c === 0x20 || c === 0x74 || c === 0x5a || c === 0x2b || c === 0x2d;
}

/**
 * True when `bytes[s, e)` starts with an ISO-8601 `YYYY-MM-DD` that is a real calendar day (see isValidDate:
 * `2024-02-29` yes, `2023-02-29` and `2024-04-31` no), and what follows the day (if anything) is `T`, a space, `Z`,
 * `+` or `-`, so `2024-03-15x` is not a date. The key is then its first 10 bytes. On the worker's hot path: no
 * allocation, about a dozen compares.
 */
export function startsWithDate(bytes: Uint8Array, s: number, e: number): boolean {
	if (e - s < 10) return false;
	if (bytes[s + 4] !== 0x2d || bytes[s + 7] !== 0x2d) return false;
	const hi = twoDigits(bytes, s);
	const lo = twoDigits(bytes, s + 2);
	const month = twoDigits(bytes, s + 5);
	const day = twoDigits(bytes, s + 8);
	if (hi < 0 || lo < 0 || month < 0 || day < 0) return false;
	if (!isValidDate(hi * 100 + lo, month, day)) return false;
	return e - s === 10 || isAfterDay(bytes[s + 10]);
}

/**
 * startsWithDate for a value next to one known to pass it: true when `bytes[s, e)` starts with the same ten bytes
 * as `bytes[p, p + 10)` (a value that passed startsWithDate) and what follows them passes too. `view` is a DataView
 * of all of `bytes`. False says only "not the same day": the caller then checks the value itself.
 */
export function sameDay(bytes: Uint8Array, view: DataView, s: number, e: number, p: number): boolean {
	return (
		e - s >= 10 &&
		view.getInt32(s, true) === view.getInt32(p, true) &&
		view.getInt32(s + 4, true) === view.getInt32(p + 4, true) &&
		view.getUint16(s + 8, true) === view.getUint16(p + 8, true) &&
		(e - s === 10 || isAfterDay(bytes[s + 10]))
	);
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
	const hour = twoDigits(bytes, s + 11);
	if (hour < 0 || hour > 23) return false;
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
	return fn === 'hour' ? 'a valid YYYY-MM-DDTHH date and hour' : 'a valid YYYY-MM-DD date';
}
