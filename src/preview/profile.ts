/**
 * The column profile: per column a type guess, empties, distinct values (counted exactly up to a cap, then by a
 * KMV sketch), min/max and the most frequent values. Values arrive as the engine's byte strings (latin1, one char
 * per byte), so they compare and count exactly as their bytes do; they become text only in the snapshot.
 */
import { textOf } from '../engine/dialect';
import { datePrefix } from '../engine/keys';
import { DEFAULT_MAX_PARTITIONS as MAX_PARTITIONS } from '../rules';
import type { ColumnProfile, PartitionHint, ValueType } from './types';

/** Distinct values counted exactly per column; past this the KMV sketch estimates them. */
export const EXACT_DISTINCT_CAP = 20_000;
/** The KMV sketch keeps the k smallest hashes. Relative error about 1/sqrt(k) ≈ 3%. */
export const KMV_K = 1024;
const TOP = 5;

enum Kind {
	Empty = 0,
	Integer = 1,
	Decimal = 2,
	Date = 3,
	DateTime = 4,
	Text = 5,
}

const isDigit = (c: number) => c >= 48 && c <= 57;

/** Whether a `YYYY-MM-DD` start (and the byte after it) makes a date, by the engine's `date()` rule; memoised. */
const dayVerdicts = new Map<string, boolean>();
function startsWithDay(v: string): boolean {
	const key = v.slice(0, 11);
	let ok = dayVerdicts.get(key);
	if (ok === undefined) {
		ok = datePrefix(key) !== null;
		if (dayVerdicts.size > 100_000) dayVerdicts.clear();
		dayVerdicts.set(key, ok);
	}
	return ok;
}

/**
 * The kind of one value (a byte string). Numbers are plain decimals as `Number()` reads them; a date is what
 * `date(COL)` accepts (`YYYY-MM-DD`, then nothing or `T`, space, `Z`, `+`, `-`).
 */
export function classify(v: string): Kind {
	const n = v.length;
	if (n === 0) return Kind.Empty;
	let i = 0;
	let c = v.charCodeAt(0);
	if (c === 45 || c === 43) i++; // - +
	let digits = 0;
	while (i < n && isDigit(v.charCodeAt(i))) {
		i++;
		digits++;
	}
	if (i === n) return digits > 0 ? Kind.Integer : Kind.Text;
	c = v.charCodeAt(i);
	if (c === 45 && digits === 4 && i === 4 && n >= 10) {
		if (!startsWithDay(v)) return Kind.Text;
		return n === 10 ? Kind.Date : Kind.DateTime;
	}
	let frac = 0;
	if (c === 46) {
		i++;
		while (i < n && isDigit(v.charCodeAt(i))) {
			i++;
			frac++;
		}
		if (digits + frac === 0) return Kind.Text;
		if (i === n) return Kind.Decimal;
		c = v.charCodeAt(i);
	}
	if ((c === 101 || c === 69) && digits + frac > 0) {
		i++;
		if (i < n && (v.charCodeAt(i) === 45 || v.charCodeAt(i) === 43)) i++;
		let exp = 0;
		while (i < n && isDigit(v.charCodeAt(i))) {
			i++;
			exp++;
		}
		if (exp > 0 && i === n) return Kind.Decimal;
	}
	return Kind.Text;
}

/** 32-bit hash of a string (FNV-1a, then murmur3's finaliser for a good spread of the low and high bits). */
export function hash32(s: string): number {
	let h = 0x811c9dc5;
	for (let i = 0; i < s.length; i++) {
		h ^= s.charCodeAt(i);
		h = Math.imul(h, 0x01000193);
	}
	h ^= h >>> 16;
	h = Math.imul(h, 0x85ebca6b);
	h ^= h >>> 13;
	h = Math.imul(h, 0xc2b2ae35);
	h ^= h >>> 16;
	return h >>> 0;
}

/**
 * K minimum values: keeps the k smallest distinct hashes seen; the number of distinct values is about
 * (k − 1) / (k-th smallest hash as a fraction of the hash space). Exact while fewer than k were seen.
 */
export class Kmv {
	private readonly kept = new Set<number>();
	private threshold = 2 ** 32;
	private pruned = false;

	constructor(private readonly k = KMV_K) {}

	add(h: number): void {
		if (h >= this.threshold || this.kept.has(h)) return;
		this.kept.add(h);
		if (this.kept.size >= this.k * 2) this.prune();
	}

	private prune(): void {
		const sorted = [...this.kept].sort((a, b) => a - b).slice(0, this.k);
		this.kept.clear();
		for (const h of sorted) this.kept.add(h);
		this.threshold = sorted[sorted.length - 1];
		this.pruned = true;
	}

	estimate(): number {
		if (!this.pruned && this.kept.size < this.k) return this.kept.size;
		const sorted = [...this.kept].sort((a, b) => a - b);
		const kth = sorted[Math.min(this.k, sorted.length) - 1];
		return Math.round((Math.min(this.k, sorted.length) - 1) / ((kth + 1) / 2 ** 32));
	}
}

/** Running figures of one column. */
export class ColumnStats {
	values = 0;
	empty = 0;
	readonly kinds = [0, 0, 0, 0, 0, 0];
	private minNum = Number.POSITIVE_INFINITY;
	private maxNum = Number.NEGATIVE_INFINITY;
	private minText: string | undefined;
	private maxText: string | undefined;
	private minNumText = '';
	private maxNumText = '';
	readonly counts = new Map<string, number>();
	overflow = false;
	private readonly kmv = new Kmv();
	/** Distinct days (`YYYY-MM-DD` prefixes) of date values, for the `date(COL)` hint. */
	readonly days = new Set<string>();

	constructor(
		readonly index: number,
		readonly name: string,
	) {}

	add(v: string): void {
		this.values++;
		if (this.overflow) this.kmv.add(hash32(v));
		else {
			const counts = this.counts;
			const seen = counts.get(v);
			if (seen !== undefined) counts.set(v, seen + 1);
			else if (counts.size < EXACT_DISTINCT_CAP) counts.set(v, 1);
			else {
				// Past the cap: the sketch takes over, seeded with every value counted so far, and the tally of
				// frequent values stops (in a column this varied they are not worth telling apart).
				this.overflow = true;
				for (const k of counts.keys()) this.kmv.add(hash32(k));
				this.kmv.add(hash32(v));
			}
		}
		const kind = classify(v);
		this.kinds[kind]++;
		if (kind === Kind.Empty) {
			this.empty++;
			return;
		}
		if (kind === Kind.Integer || kind === Kind.Decimal) {
			const x = Number(v);
			if (x < this.minNum) {
				this.minNum = x;
				this.minNumText = v;
			}
			if (x > this.maxNum) {
				this.maxNum = x;
				this.maxNumText = v;
			}
			return;
		}
		if (kind === Kind.Date || kind === Kind.DateTime) {
			if (this.days.size < EXACT_DISTINCT_CAP) this.days.add(v.slice(0, 10));
		}
		if (this.minText === undefined || v < this.minText) this.minText = v;
		if (this.maxText === undefined || v > this.maxText) this.maxText = v;
	}

	/** Distinct values among those added: exact below the cap, else the sketch's estimate. */
	distinctSeen(): number {
		return this.overflow ? Math.max(this.kmv.estimate(), this.counts.size) : this.counts.size;
	}

	/**
	 * The column's figures. `rows` estimates the records of the whole file and `exact` says every record was
	 * added. Distinct values of the whole file from a sample: with every value counted, Charikar et al.'s GEE
	 * (values seen once scaled by √(rows / sampled), the others as they are); past the cap, the share of distinct
	 * values in the sample scaled to the file (a column that is nearly unique in the sample is taken as unique).
	 */
	snapshot(rows: number, exact: boolean): ColumnProfile {
		const nonEmpty = this.values - this.empty;
		const k = this.kinds;
		const numbers = k[Kind.Integer] + k[Kind.Decimal];
		const dates = k[Kind.Date] + k[Kind.DateTime];
		let type: ValueType;
		let share = 1;
		if (nonEmpty === 0) type = 'empty';
		else if (k[Kind.Integer] === nonEmpty) type = 'integer';
		else if (numbers === nonEmpty) type = 'decimal';
		else if (k[Kind.Date] === nonEmpty) type = 'date';
		else if (dates === nonEmpty) type = 'datetime';
		else {
			type = 'text';
			share = k[Kind.Text] / nonEmpty;
		}
		const seen = this.distinctSeen();
		let estimate = seen;
		if (!exact && this.values > 0) {
			if (!this.overflow) {
				let once = 0;
				for (const c of this.counts.values()) if (c === 1) once++;
				estimate = Math.round(Math.sqrt(rows / this.values) * once + (seen - once));
			} else {
				estimate = Math.round((seen / this.values) * rows);
			}
			estimate = Math.max(seen, Math.min(Math.max(rows, seen), estimate));
		}
		const numeric = type === 'integer' || type === 'decimal';
		const top = topValues(this.counts, TOP).map(([value, count]) => ({ value: textOf(value), count }));
		const profile: ColumnProfile = {
			index: this.index,
			name: this.name,
			values: this.values,
			empty: this.empty,
			type,
			typeShare: share,
			numericShare: nonEmpty > 0 ? numbers / nonEmpty : 0,
			dateShare: nonEmpty > 0 ? dates / nonEmpty : 0,
			distinctSeen: seen,
			distinctEstimate: estimate,
			distinctExact: exact && !this.overflow,
			top,
			topExact: !this.overflow,
			hint: partitionHint(estimate, this.values, seen, exact && !this.overflow),
		};
		if (nonEmpty > 0) {
			const lo = numeric ? this.minNumText : this.minText;
			const hi = numeric ? this.maxNumText : this.maxText;
			if (lo !== undefined) profile.min = textOf(lo);
			if (hi !== undefined) profile.max = textOf(hi);
		}
		if (dates > 0 && dates === nonEmpty) profile.days = this.days.size;
		return profile;
	}
}

/** The `n` most frequent entries, most first (ties in byte order), in one pass over the map. */
function topValues(counts: Map<string, number>, n: number): [string, number][] {
	const best: [string, number][] = [];
	const before = (a: [string, number], b: [string, number]) => a[1] > b[1] || (a[1] === b[1] && a[0] < b[0]);
	for (const entry of counts) {
		if (best.length === n && !before(entry, best[n - 1])) continue;
		let i = best.length < n ? best.length : n - 1;
		best[i] = entry;
		while (i > 0 && before(best[i], best[i - 1])) {
			[best[i], best[i - 1]] = [best[i - 1], best[i]];
			i--;
		}
	}
	return best;
}

const approx = (n: number, exact: boolean) => `${exact ? '' : '≈ '}${n.toLocaleString('en-US')}`;

/** How good a column with about `distinct` values is to partition by. */
export function partitionHint(distinct: number, sampled: number, seen: number, exact: boolean): PartitionHint {
	const files = `${approx(distinct, exact)} ${distinct === 1 ? 'value' : 'values'}`;
	if (distinct <= 1) return { level: 'single', text: `${files}: a single partition` };
	const nearlyUnique = sampled >= 100 && seen / sampled > 0.5;
	if (distinct > MAX_PARTITIONS || nearlyUnique) {
		return {
			level: 'bad',
			text: `${files}${nearlyUnique ? ', nearly one per row' : ''}: a poor partition column${distinct > MAX_PARTITIONS ? ` (over the ${MAX_PARTITIONS.toLocaleString('en-US')}-partition limit)` : ''}`,
		};
	}
	if (distinct > 10_000) return { level: 'fair', text: `${files}: many small files` };
	return { level: 'good', text: `${files}: a good partition column` };
}
