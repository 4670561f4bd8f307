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

/** The `YYYY-MM-DD` that starts a byte-string value, or null (see startsWithDate). */
export function datePrefix(value: string): string | null {
	const bytes = Buffer.from(value, 'latin1');
	return startsWithDate(bytes, 0, bytes.length) ? value.slice(0, 10) : null;
}
