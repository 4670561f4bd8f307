/**
 * Parquet column types: which type each CSV value fits, how a column's type is decided over a whole run, and the
 * value each type writes. Pure functions on bytes, shared by the workers (classifying chunks, converting
 * partitions) and the main thread (merging the classifications). No Parquet library here.
 *
 * A column's type is decided from every value written to any partition (rejected and filtered-out records do not
 * count). Each value narrows the set of types that still fit; the sets of all chunks are intersected, which does
 * not depend on how the file was cut into chunks or how many workers there were. Rules (also in docs/parquet.md):
 *
 * - int64: `-?(0|[1-9][0-9]*)` within the signed 64-bit range (a leading zero such as `007` keeps the column text;
 *   `-0` is a double: an int64 has no negative zero).
 * - double: `-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?` whose value is finite; an int64 column is also a double
 *   one, so a column mixing `3` and `3.5` is double.
 * - boolean: `true` or `false`, in lower, upper or title case.
 * - date: `YYYY-MM-DD`, a real calendar day.
 * - timestamp: `YYYY-MM-DD` `T`, `t` or space `HH:MM[:SS[.fraction]]`, fraction of 1 to 6 digits (microseconds: more
 *   digits would lose precision, so the column stays text), then an optional zone `Z` (or `z`), `±HH:MM`, `±HHMM` or
 *   `±HH`.
 *   If every value has a zone, the column is a UTC instant (`isAdjustedToUTC: true`, each value converted to UTC);
 *   if none has, it is a local date-time (`isAdjustedToUTC: false`, the wall-clock time as written). A column mixing
 *   both stays text.
 * - otherwise string (UTF-8). A column holding any value that is not valid UTF-8 is binary (BYTE_ARRAY without the
 *   string annotation) in both modes, so its bytes are kept and no reader is handed invalid text.
 * Empty fields are NULL and do not narrow anything; a column whose values are all empty is string (all NULL).
 */

import type { ParquetTypesMode } from '../../rules/output';

export type { ParquetTypesMode };

/** The type a column is written as (recorded in the manifest). */
export type ColumnType =
	| 'int64'
	| 'double'
	| 'boolean'
	| 'date'
	| 'timestamp'
	| 'timestamp_local'
	| 'string'
	| 'binary';

export const T_INT = 1;
export const T_DOUBLE = 2;
export const T_BOOL = 4;
export const T_DATE = 8;
export const T_TS_UTC = 16;
export const T_TS_LOCAL = 32;
/** Every candidate type. */
export const T_ALL = 63;
/** Flags (ORed): a non-empty value was seen; a value was not valid UTF-8. */
export const F_SEEN = 1;
export const F_BAD_UTF8 = 2;

/**
 * Per-column classification of some values: for column c, `[2c]` holds the candidate types still possible (ANDed
 * when merged) and `[2c + 1]` the flags (ORed). A fresh one fits everything.
 */
export function newClassification(columns: number): Int32Array {
	const a = new Int32Array(columns * 2);
	for (let c = 0; c < columns; c++) a[2 * c] = T_ALL;
	return a;
}

/** Merges `from` into `into` (same column count). Order does not matter. */
export function mergeClassification(into: Int32Array, from: ArrayLike<number>): void {
	for (let i = 0; i < into.length; i += 2) {
		into[i] &= from[i];
		into[i + 1] |= from[i + 1];
	}
}

/** The type each column is written as, from the merged classification of the whole run. */
export function decideTypes(cls: ArrayLike<number>, mode: ParquetTypesMode): ColumnType[] {
	const out: ColumnType[] = [];
	for (let i = 0; i < cls.length; i += 2) {
		const cand = cls[i];
		const flags = cls[i + 1];
		if (flags & F_BAD_UTF8) out.push('binary');
		else if (mode === 'string' || !(flags & F_SEEN)) out.push('string');
		else if (cand & T_INT) out.push('int64');
		else if (cand & T_DOUBLE) out.push('double');
		else if (cand & T_BOOL) out.push('boolean');
		else if (cand & T_DATE) out.push('date');
		else if (cand & T_TS_UTC) out.push('timestamp');
		else if (cand & T_TS_LOCAL) out.push('timestamp_local');
		else out.push('string');
	}
	return out;
}

/**
 * Whether the values classified as `cls[2c]`, `cls[2c + 1]` can all be written as `type` (an append to a Parquet
 * output writes its new rows with the output's column types).
 */
export function fitsType(cls: ArrayLike<number>, c: number, type: ColumnType): boolean {
	const cand = cls[2 * c];
	const flags = cls[2 * c + 1];
	if (type === 'binary') return true;
	if (flags & F_BAD_UTF8) return false;
	if (type === 'string' || !(flags & F_SEEN)) return true;
	const bit = {
		int64: T_INT,
		double: T_DOUBLE,
		boolean: T_BOOL,
		date: T_DATE,
		timestamp: T_TS_UTC,
		timestamp_local: T_TS_LOCAL,
	}[type];
	return (cand & bit) !== 0;
}

const INT64_MAX = '9223372036854775807';
const INT64_MIN_ABS = '9223372036854775808';

const isDigit = (c: number) => c >= 0x30 && c <= 0x39;

/** Days in month m (1-12) of year y (proleptic Gregorian). */
function daysIn(y: number, m: number): number {
	if (m === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
	return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}

function digits(b: Uint8Array, s: number, n: number): number {
	let v = 0;
	for (let i = s; i < s + n; i++) {
		const c = b[i];
		if (!isDigit(c)) return -1;
		v = v * 10 + (c - 0x30);
	}
	return v;
}

/**
 * Days since 1970-01-01 of the proleptic Gregorian date y-m-d (integer arithmetic, the same day as `Date.UTC` for
 * every year 0-9999 without its 0-99 quirk, and much cheaper).
 */
export function daysFromCivil(y: number, m: number, d: number): number {
	const yy = m <= 2 ? y - 1 : y;
	const era = Math.floor(yy / 400);
	const yoe = yy - era * 400;
	const doy = Math.floor((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5) + d - 1;
	const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
	return era * 146097 + doe - 719468;
}

/** `YYYY-MM-DD` at s (10 bytes available is checked by the caller): its day number (daysFromCivil), or NaN. */
function dayAt(b: Uint8Array, s: number): number {
	if (b[s + 4] !== 0x2d || b[s + 7] !== 0x2d) return Number.NaN;
	const y = digits(b, s, 4);
	const m = digits(b, s + 5, 2);
	const d = digits(b, s + 8, 2);
	if (y < 0 || m < 1 || m > 12 || d < 1 || d > daysIn(y, m)) return Number.NaN;
	return daysFromCivil(y, m, d);
}

/**
 * A parsed timestamp: `ms` whole milliseconds since the epoch (UTC if `zoned`, else the wall-clock time as if it
 * were UTC) plus `micros` (0-999) more, so the exact microsecond count is `BigInt(ms) * 1000n + BigInt(micros)`.
 */
export interface Timestamp {
	ms: number;
	micros: number;
	zoned: boolean;
}

/**
 * Where parseTimestampTo puts its result (one object reused: no allocation per value on the hot path). Valid until
 * the next call.
 */
export const tsOut: Timestamp = { ms: 0, micros: 0, zoned: false };

/**
 * The last valid `YYYY-MM-DD?HH:MM` prefix seen (16 bytes) and its milliseconds: a column's timestamps mostly share
 * it (same day, same minute), and bytes equal to an already validated prefix need no parsing. Only a cache: the
 * result is the same with or without it.
 */
const lastPrefix = new Uint8Array(16);
let lastPrefixMs = Number.NaN;

/** Parses a timestamp per the rules above into `tsOut`; false if b[s, e) is not one. */
export function parseTimestampTo(b: Uint8Array, s: number, e: number): boolean {
	if (e - s < 16) return false;
	let fixed = lastPrefixMs;
	if (!Number.isNaN(fixed)) {
		// Compared from the end: the minute changes first.
		for (let k = 15; k >= 0; k--)
			if (b[s + k] !== lastPrefix[k]) {
				fixed = Number.NaN;
				break;
			}
	}
	if (Number.isNaN(fixed)) {
		const day = dayAt(b, s);
		if (Number.isNaN(day)) return false;
		const sep = b[s + 10];
		if (sep !== 0x54 && sep !== 0x20 && sep !== 0x74) return false; // 'T', ' ', 't'
		const h = digits(b, s + 11, 2);
		const mi = b[s + 13] === 0x3a ? digits(b, s + 14, 2) : -1;
		if (h < 0 || h > 23 || mi < 0 || mi > 59) return false;
		fixed = day * 86_400_000 + h * 3_600_000 + mi * 60_000;
		for (let k = 0; k < 16; k++) lastPrefix[k] = b[s + k];
		lastPrefixMs = fixed;
	}
	let i = s + 16;
	let sec = 0;
	let frac = 0;
	if (i < e && b[i] === 0x3a) {
		sec = digits(b, i + 1, 2);
		if (i + 3 > e || sec < 0 || sec > 59) return false;
		i += 3;
		if (i < e && b[i] === 0x2e) {
			i++;
			let n = 0;
			while (i < e && isDigit(b[i])) {
				if (++n > 6) return false;
				frac = frac * 10 + (b[i] - 0x30);
				i++;
			}
			if (n === 0) return false;
			for (; n < 6; n++) frac *= 10;
		}
	}
	let offsetMin = 0;
	let zoned = false;
	if (i < e) {
		const z = b[i];
		if ((z === 0x5a || z === 0x7a) && i + 1 === e) zoned = true;
		else if (z === 0x2b || z === 0x2d) {
			const rest = e - i - 1;
			const oh = digits(b, i + 1, 2);
			let om = 0;
			if (rest === 2) om = 0;
			else if (rest === 4) om = digits(b, i + 3, 2);
			else if (rest === 5 && b[i + 3] === 0x3a) om = digits(b, i + 4, 2);
			else return false;
			if (oh < 0 || oh > 23 || om < 0 || om > 59) return false;
			offsetMin = (z === 0x2d ? -1 : 1) * (oh * 60 + om);
			zoned = true;
		} else return false;
	}
	tsOut.ms = fixed + sec * 1000 - offsetMin * 60_000 + Math.floor(frac / 1000);
	tsOut.micros = frac % 1000;
	tsOut.zoned = zoned;
	return true;
}

/** Parses a timestamp per the rules above, or null. */
export function parseTimestamp(b: Uint8Array, s: number, e: number): Timestamp | null {
	return parseTimestampTo(b, s, e) ? { ms: tsOut.ms, micros: tsOut.micros, zoned: tsOut.zoned } : null;
}

/** Days since 1970-01-01 of a `YYYY-MM-DD` value, or null. */
export function parseDate(b: Uint8Array, s: number, e: number): number | null {
	if (e - s !== 10) return null;
	const d = dayAt(b, s);
	return Number.isNaN(d) ? null : d;
}

/** Whether b[s, e) is an int64 per the rules above. */
export function isInt64(b: Uint8Array, s: number, e: number): boolean {
	let i = s;
	const neg = b[i] === 0x2d;
	if (neg) i++;
	const n = e - i;
	if (n < 1 || n > 19) return false;
	if (b[i] === 0x30 && (n > 1 || neg)) return false;
	for (let k = i; k < e; k++) if (!isDigit(b[k])) return false;
	if (n === 19) {
		const lim = neg ? INT64_MIN_ABS : INT64_MAX;
		for (let k = 0; k < 19; k++) {
			const c = b[i + k] - 0x30;
			const l = lim.charCodeAt(k) - 0x30;
			if (c !== l) return c < l;
		}
	}
	return true;
}

/** Whether b[s, e) is a double per the rules above (the caller checks the value is finite). */
function isDecimal(b: Uint8Array, s: number, e: number): boolean {
	let i = s;
	if (b[i] === 0x2d) i++;
	const intStart = i;
	while (i < e && isDigit(b[i])) i++;
	const intLen = i - intStart;
	if (intLen === 0 || (intLen > 1 && b[intStart] === 0x30)) return false;
	if (i < e && b[i] === 0x2e) {
		i++;
		const f = i;
		while (i < e && isDigit(b[i])) i++;
		if (i === f) return false;
	}
	if (i < e && (b[i] === 0x65 || b[i] === 0x45)) {
		i++;
		if (i < e && (b[i] === 0x2b || b[i] === 0x2d)) i++;
		const x = i;
		while (i < e && isDigit(b[i])) i++;
		if (i === x) return false;
	}
	return i === e;
}

const latin1 = (b: Uint8Array, s: number, e: number) =>
	Buffer.from(b.buffer, b.byteOffset + s, e - s).toString('latin1');

/** The double of b[s, e) (a decimal per isDecimal). */
export function parseDouble(b: Uint8Array, s: number, e: number): number {
	return Number(latin1(b, s, e));
}

function hasExponent(b: Uint8Array, s: number, e: number): boolean {
	for (let i = s; i < e; i++) if ((b[i] | 0x20) === 0x65) return true;
	return false;
}

/** Boolean value of b[s, e), or null. */
export function parseBool(b: Uint8Array, s: number, e: number): boolean | null {
	const n = e - s;
	if (n !== 4 && n !== 5) return null;
	const t = latin1(b, s, e);
	if (t === 'true' || t === 'TRUE' || t === 'True') return true;
	if (t === 'false' || t === 'FALSE' || t === 'False') return false;
	return null;
}

/** The candidate types (T_*) that the non-empty value b[s, e) fits. */
export function classify(b: Uint8Array, s: number, e: number): number {
	const c = b[s];
	if (isDigit(c) || c === 0x2d) {
		if (isInt64(b, s, e)) return T_INT | T_DOUBLE;
		if (isDecimal(b, s, e)) return isFiniteDecimal(b, s, e) ? T_DOUBLE : 0;
		if (e - s === 10) return parseDate(b, s, e) === null ? 0 : T_DATE;
		if (parseTimestampTo(b, s, e)) return tsOut.zoned ? T_TS_UTC : T_TS_LOCAL;
		return 0;
	}
	if (c === 0x74 || c === 0x54 || c === 0x66 || c === 0x46) return parseBool(b, s, e) === null ? 0 : T_BOOL;
	return 0;
}

/**
 * `cand & classify(b, s, e)`, testing only the families of types still in `cand` (a column that can only be a
 * timestamp is not tested as a number first). The same result: the families (numbers, boolean, date, timestamp)
 * never overlap, and within the numbers every int64 is also a double.
 */
export function classifyWithin(b: Uint8Array, s: number, e: number, cand: number): number {
	if ((cand & (T_INT | T_DOUBLE | T_BOOL | T_DATE)) === 0) {
		if (cand === 0 || !parseTimestampTo(b, s, e)) return 0;
		return cand & (tsOut.zoned ? T_TS_UTC : T_TS_LOCAL);
	}
	if (cand === T_DOUBLE) return fitsDouble(b, s, e) ? T_DOUBLE : 0;
	return cand & classify(b, s, e);
}

/** Whether the non-empty value b[s, e) is a double (T_DOUBLE is in classify's answer: every int64 is one too). */
export function fitsDouble(b: Uint8Array, s: number, e: number): boolean {
	const c = b[s];
	return (isDigit(c) || c === 0x2d) && isDecimal(b, s, e) && isFiniteDecimal(b, s, e);
}

/** Whether the decimal b[s, e) (isDecimal) is finite as a double. */
function isFiniteDecimal(b: Uint8Array, s: number, e: number): boolean {
	// A decimal without an exponent and under 300 digits is finite: no need to parse it.
	return (e - s < 300 && !hasExponent(b, s, e)) || Number.isFinite(parseDouble(b, s, e));
}

/**
 * Narrows column c of the classification `cls` (newClassification's layout) by its non-empty value b[s, e): the
 * one step of type inference, in phase 1's chunks (infer.ts) and in a partition's full classification (convert.ts).
 */
export function classifyField(cls: Int32Array, c: number, b: Uint8Array, s: number, e: number): void {
	const at = 2 * c;
	if (cls[at] !== 0) cls[at] = classifyWithin(b, s, e, cls[at]);
	cls[at + 1] |= F_SEEN;
}
