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
