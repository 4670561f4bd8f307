import { isUtf8 } from 'node:buffer';
import { BufferPool } from './bufferPool';
import { CR, countLF, LF, QUOTE } from './dialect';
import { encodeKey, fnv1a32, grainNeeds, KEY_KINDS, sameDay, startsWithDate, startsWithHour } from './keys';
import { KeyTable, sameBytes, TupleTable } from './keyTable';
import {
	type BucketResult,
	type ChunkDone,
	type ChunkStats,
	REJECT_FIELDS,
	type Rejects,
	type WorkerInit,
} from './protocol';
import { SCAN_WINDOW, SpecialScanner } from './specials';

declare global {
	interface Buffer {
		/** Node's internal, check-free `toString('latin1', start, end)`; polyfilled below where missing. */
		latin1Slice(start: number, end: number): string;
	}
}
if (typeof Buffer.prototype.latin1Slice !== 'function') {
	Buffer.prototype.latin1Slice = function (this: Buffer, start: number, end: number) {
		return this.toString('latin1', start, end);
	};
}

/** A data problem the worker reports as such (not a crash). */
export class ChunkDataError extends Error {
	constructor(
		readonly code: 'invalid-utf8',
		message: string,
		readonly line: number,
	) {
		super(message);
	}
}

interface Bucket {
	index: number;
	key: string;
	parts: string[];
	rows: number;
	bytes: number;
	firstTsStart: number;
	firstTsEnd: number;
	lastTsStart: number;
	lastTsEnd: number;
	minPrice: number;
	maxPrice: number;
	quantity: number;
	hasQuantity: boolean;
	notional: number;
	pricedQuantity: number;
}

const EMPTY_TABLE: Int32Array = new Int32Array(0);

/**
 * Unused bytes after each partition's region in a result buffer (see layOut): the copies of records may write up to
 * 3 (JavaScript's 4-byte words) or 15 (the WebAssembly layout's 16-byte ones) bytes past a record's end.
 */
const GAP = 16;

/** Key kinds (indexes into keys.ts KEY_KINDS). */
const K_VALUE = 0;
const K_HOUR = 4;
const K_HASH = 5;
/** Bytes a date grain keeps, by kind: date (1), year (2), month (3). */
const GRAIN_BYTES = [0, 10, 4, 7];

const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);

/**
 * Copies `buf[s, e)` to `out` at `p` and returns the position after it (layOut): short ranges 4 bytes at a time
 * through the DataViews `src` (of `buf`'s bytes and up to GAP past them) and `dst` (of `out`), the last word
 * spilling up to 3 bytes past `p + (e - s)` (the next copy, or the region's GAP, takes them); a range ending past
 * `wordsUpTo` (too near the source's end to read whole words) ends byte by byte; long ones through Buffer.copy.
 */
function copyRange(
	buf: Buffer,
	out: Buffer,
	src: DataView,
	dst: DataView,
	s: number,
	e: number,
	p: number,
	wordsUpTo: number,
): number {
	if (e - s > 512) return p + buf.copy(out, p, s, e);
	const end = p + (e - s);
	if (e <= wordsUpTo) {
		for (; s < e; s += 4, p += 4) dst.setUint32(p, src.getUint32(s, true), true);
		return end;
	}
	for (; s + 4 <= e; s += 4, p += 4) dst.setUint32(p, src.getUint32(s, true), true);
	for (; s < e; s++) out[p++] = buf[s];
	return end;
}

/**
 * Where field `f` of the current record starts with its opening quote, if it has one (`vs`: where each field's
 * value starts; a quoted field's value starts right after its opening quote, never after a delimiter or a line
 * break). `scanned`: the record came from the SIMD scanner's table, so none of its fields is quoted.
 */
function quotedFrom(buf: Buffer, vs: Int32Array, f: number, scanned: boolean): number {
	const s = vs[f];
	return !scanned && s > 0 && buf[s - 1] === QUOTE ? s - 1 : s;
}

/** Where field `f` of the current record ends with its closing quote, if it has one (see quotedFrom). */
function quotedTo(buf: Buffer, vs: Int32Array, ve: Int32Array, f: number, scanned: boolean): number {
	return !scanned && vs[f] > 0 && buf[vs[f] - 1] === QUOTE ? ve[f] + 1 : ve[f];
}

/** Parses a decimal number from bytes; NaN when it is not one. Exact: same double as Number(text). */
function parseNumber(buf: Buffer, s: number, e: number): number {
	if (s >= e) return Number.NaN;
	let i = s;
	const first = buf[i];
	const neg = first === 0x2d;
	if (neg || first === 0x2b) i++;
	const digitsFrom = i;
	let m = 0;
	// The integer digits, then (after a '.') the fraction's: two tight loops rather than one that checks for the dot.
	let d = 0;
	for (; i < e; i++) {
		d = buf[i] - 0x30;
		if (d < 0 || d > 9) break;
		m = m * 10 + d;
	}
	let frac = 0;
	let dot = false;
	if (i < e) {
		if (d !== -2) return slowNumber(buf, s, e); // not '.'
		dot = true;
		const fracFrom = ++i;
		for (; i < e; i++) {
			d = buf[i] - 0x30;
			if (d < 0 || d > 9) return slowNumber(buf, s, e);
			m = m * 10 + d;
		}
		frac = e - fracFrom;
	}
	const digits = e - digitsFrom - (dot ? 1 : 0);
	if (digits === 0) return Number.NaN;
	// m < 2^53 and 10^frac exact, so one division gives the correctly rounded value, as Number() does.
	if (digits > 15 || frac > 22) return slowNumber(buf, s, e);
	const v = frac ? m / POW10[frac] : m;
	return neg ? -v : v;
}

function slowNumber(buf: Buffer, s: number, e: number): number {
	const text = buf.latin1Slice(s, e).trim();
	return text === '' ? Number.NaN : Number(text);
}

/** Growable Int32 list reused across chunks, so a worker allocates its record tables once (written through locals). */
class IntList {
	a: Int32Array = new Int32Array(1 << 14);
	n = 0;
	/** Doubles the capacity, keeping the contents; returns the new array. */
	grow(): Int32Array {
		const b = new Int32Array(this.a.length * 2);
		b.set(this.a);
		this.a = b;
		return b;
	}
	/** Room for at least `min` entries, contents dropped (called before a chunk fills the list from 0). */
	reserve(min: number): void {
		let length = this.a.length;
		while (length < min) length *= 2;
		if (length !== this.a.length) this.a = new Int32Array(length);
	}
}

/** Records of the first chunk run through the worker once before it (ChunkProcessor.warmUp). */
const WARM_RECORDS = 2000;

/** Bytes at the start of a chunk whose records per byte size its record tables (ChunkProcessor.reserveRecords). */
const SAMPLE_BYTES = 64 * 1024;

const showValue = (s: string) => {
	const text = Buffer.from(s, 'latin1').toString('utf8');
	return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
};

/**
 * A chunk's rejected records as they are found: REJECT_FIELDS entries each in a list reused from chunk to chunk
 * (line, start and end in the chunk, reason), the reasons each kept once.
 */
class RejectList {
	readonly list = new IntList();
	count = 0;
	reasons: string[] = [];
	private readonly reasonIds = new Map<string, number>();

	reset(): void {
		this.count = 0;
		this.reasons = [];
		this.reasonIds.clear();
	}

	push(line: number, reason: string, start: number, end: number): void {
		let id = this.reasonIds.get(reason);
		if (id === undefined) {
			id = this.reasons.length;
			this.reasons.push(reason);
			this.reasonIds.set(reason, id);
		}
		const at = this.count * REJECT_FIELDS;
		let a = this.list.a;
		if (at + REJECT_FIELDS > a.length) a = this.list.grow();
		a[at] = line;
		a[at + 1] = start;
		a[at + 2] = end;
		a[at + 3] = id;
		this.count++;
	}

	/**
	 * The rejected records' bytes, copied into one transferable buffer, and the table of where each one is in it.
	 * Returned as a pair, as layOut's results are (see there).
	 */
	copy(buf: Buffer): [rejectData: ArrayBuffer, rejects: Rejects] {
		const n = this.count;
		const a = this.list.a;
		let rejectBytes = 0;
		for (let i = 0; i < n; i++) rejectBytes += a[i * REJECT_FIELDS + 2] - a[i * REJECT_FIELDS + 1];
		const rejectData = Buffer.from(new ArrayBuffer(rejectBytes));
		const table = new Int32Array(n * REJECT_FIELDS);
		let rp = 0;
		for (let i = 0; i < n; i++) {
			const at = i * REJECT_FIELDS;
			const len = buf.copy(rejectData, rp, a[at + 1], a[at + 2]);
			table[at] = a[at];
			table[at + 1] = rp;
			table[at + 2] = rp + len;
			table[at + 3] = a[at + 3];
			rp += len;
		}
		return [rejectData.buffer as ArrayBuffer, { count: n, table: table.buffer as ArrayBuffer, reasons: this.reasons }];
	}
}

/** Each partition's result: where its records are in the result buffer, and its stats (strings made only here). */
function bucketResults(
	buf: Buffer,
	bucketList: readonly Bucket[],
	offsets: readonly number[],
	endsAt: readonly number[] | null,
): BucketResult[] {
	const tsString = (s: number, e: number) => {
		const quoted = e >> 30;
		const text = buf.latin1Slice(s, e & 0x3fffffff);
		return quoted ? text.replaceAll('""', '"') : text;
	};
	return bucketList.map((b) => {
		const stats: ChunkStats = {
			firstTimestamp: b.firstTsStart >= 0 ? tsString(b.firstTsStart, b.firstTsEnd) : null,
			lastTimestamp: b.lastTsStart >= 0 ? tsString(b.lastTsStart, b.lastTsEnd) : null,
			minPrice: b.minPrice === Number.POSITIVE_INFINITY ? null : b.minPrice,
			maxPrice: b.maxPrice === Number.NEGATIVE_INFINITY ? null : b.maxPrice,
			quantity: b.hasQuantity ? b.quantity : null,
			notional: b.notional,
			pricedQuantity: b.pricedQuantity,
		};
		return {
			key: b.key,
			parts: b.parts,
			offset: offsets[b.index],
			length: b.bytes,
			rows: b.rows,
			endsAt: endsAt === null ? -1 : endsAt[b.index],
			stats,
		};
	});
}

/**
 * Processes one chunk: splits records (same quoting rules as the main thread's ChunkReader), checks field
 * counts, finds each record's partition key, applies the orders filter, gathers per-partition stats, and lays
 * the records out grouped by partition, each as its original bytes, in source order within a partition.
 *
 * One instance per worker: it keeps its scratch tables between chunks.
 */
export class ChunkProcessor {
	private readonly starts = new IntList();
	private readonly rejects = new RejectList();
	private readonly ends = new IntList();
	private readonly owners = new IntList();
	/** With a column selection: per record, the [start, end) of each run, then of its line ending (-1: the header's). */
	private readonly pieces = new IntList();
	private readonly orders: Set<string> | null;
	/** Highest field index whose value is needed, and per-index value bounds for the current record. */
	private readonly maxIndex: number;
	/** Per key column: its field index, kind (KEY_KINDS) and hash buckets (0 unless hashed). */
	private readonly keyIndex: Int32Array;
	private readonly keyKind: Int32Array;
	private readonly keyBuckets: Float64Array;
	/** The field whose value is the whole key (one column, taken as it is), or -1. */
	private readonly directKey: number;
	/**
	 * Column runs (`init.runs`) that can be copied with the bytes around them: every run after the first starts past
	 * field 0 (so the delimiter before it is in the record, and is copied with it), and the last run ends with the
	 * record's last field (so the line ending follows it, and is copied with it). A record is then `nRuns` pieces;
	 * otherwise `nRuns` pieces, a delimiter written between them, and a piece for the line ending.
	 */
	private readonly runsInPlace: boolean;
	/**
	 * Whole records or runs in place: the WebAssembly module lays the records out (layOut), so the scan keeps a copy
	 * of the chunk in it. Other selections (reordered fields) are laid out by JavaScript and need no copy.
	 */
	private readonly layoutInModule: boolean;
	private readonly vs: Int32Array;
	private readonly ve: Int32Array;
	private readonly vq: Uint8Array;
	private readonly eolBytes: Buffer;
	/** Result buffers the main thread has written out and handed back. */
	readonly spare = new BufferPool(4);

	/**
	 * @param scanner finds field boundaries in chunks without quotes (specials.ts); null: every chunk takes the
	 *   byte loop (the tests compare the two).
	 */
	constructor(
		private readonly init: WorkerInit,
		private readonly scanner: SpecialScanner | null = SpecialScanner.create(),
	) {
		this.orders = init.orders ? new Set(init.orders) : null;
		this.maxIndex = Math.max(
			...init.keyColumns.map((k) => k.index),
			...(init.runs ?? []),
			init.timestampIndex,
			init.priceIndex,
			init.quantityIndex,
		);
		this.keyIndex = Int32Array.from(init.keyColumns, (k) => k.index);
		this.keyKind = Int32Array.from(init.keyColumns, (k) => k.kind);
		this.keyBuckets = Float64Array.from(init.keyColumns, (k) => k.buckets);
		this.directKey = this.keyIndex.length === 1 && this.keyKind[0] === K_VALUE ? this.keyIndex[0] : -1;
		const runs = init.runs;
		this.runsInPlace =
			runs !== null &&
			runs[runs.length - 1] === init.fieldCount - 1 &&
			runs.every((f, i) => i % 2 === 1 || i === 0 || f > 0);
		this.layoutInModule = runs === null || this.runsInPlace;
		this.partTables = init.keyColumns.map(() => new KeyTable());
		this.tuples = init.keyColumns.length > 1 ? new TupleTable(init.keyColumns.length) : null;
		this.partIds = new Int32Array(init.keyColumns.length);
		this.prevAt = new Int32Array(init.keyColumns.length);
		const [k0, k1] = init.keyColumns;
		this.valueDay =
			init.keyColumns.length === 2 && k0.kind === K_VALUE && k1.kind > K_VALUE && k1.kind < K_HOUR
				? GRAIN_BYTES[k1.kind]
				: -1;
		this.prevLength = new Int32Array(init.keyColumns.length);
		this.prevId = new Int32Array(init.keyColumns.length);
		this.vs = new Int32Array(this.maxIndex + 1);
		this.ve = new Int32Array(this.maxIndex + 1);
		this.vq = new Uint8Array(this.maxIndex + 1);
		this.eolBytes = Buffer.from(init.eol, 'latin1');
	}

	/** Per key column, its values' ids in the chunk; with several, the tuple of their ids makes the key's id. */
	private readonly partTables: KeyTable[];
	private readonly tuples: TupleTable | null;
	private readonly partIds: Int32Array;
	private readonly prevAt: Int32Array;
	/**
	 * With a key of a value and then a date grain (`symbol,date(timestamp)`): the grain's bytes (10, 4, 7), and
	 * process() takes an unrolled path for records where neither is quoted; -1 otherwise. Both paths keep their own
	 * previous position and id per part: each is only a cache of where an equal part was seen in this chunk. The path
	 * repeats the generic key loop's logic for these two parts: a change to how parts are looked up goes in both.
	 */
	private readonly valueDay: number;
	private readonly prevLength: Int32Array;
	private readonly prevId: Int32Array;
	private scratch: Buffer = Buffer.alloc(256);
	private scratchView = new DataView(this.scratch.buffer, this.scratch.byteOffset, this.scratch.byteLength);

	private growScratch(min: number): Buffer {
		const bigger = Buffer.alloc(Math.max(min, this.scratch.length * 2));
		this.scratch.copy(bigger);
		this.scratch = bigger;
		this.scratchView = new DataView(bigger.buffer, bigger.byteOffset, bigger.byteLength);
		return bigger;
	}

	/** A bucket for the key whose parts' ids are in `partIds` (the parts' bytes are in their tables). */
	private newBucketOfParts(index: number): Bucket {
		const multiKey = this.tuples !== null;
		let need = 16;
		for (let k = 0; k < this.partIds.length; k++) need += 4 + this.partTables[k].lengthOf(this.partIds[k]);
		if (need > this.scratch.length) this.growScratch(need);
		const scratch = this.scratch;
		let at = 0;
		for (let k = 0; k < this.partIds.length; k++) {
			const n = this.partTables[k].copyOut(this.partIds[k], scratch, multiKey ? at + 4 : at);
			if (multiKey) {
				scratch.writeInt32LE(n, at); // as newBucket reads it
				at += 4;
			}
			at += n;
		}
		return this.newBucket(scratch, 0, at, multiKey, index);
	}

	private newBucket(key: Buffer, from: number, end: number, multiKey: boolean, index: number): Bucket {
		const parts: string[] = [];
		if (multiKey) {
			for (let p = from; p < end; ) {
				const n = key.readInt32LE(p);
				parts.push(key.latin1Slice(p + 4, p + 4 + n));
				p += 4 + n;
			}
		} else parts.push(key.latin1Slice(from, end));
		return {
			index,
			key: encodeKey(parts),
			parts,
			rows: 0,
			bytes: 0,
			firstTsStart: -1,
			firstTsEnd: -1,
			lastTsStart: -1,
			lastTsEnd: -1,
			minPrice: Number.POSITIVE_INFINITY,
			maxPrice: Number.NEGATIVE_INFINITY,
			quantity: 0,
			hasQuantity: false,
			notional: 0,
			pricedQuantity: 0,
		};
	}

	/**
	 * Sizes the record tables for the chunk up front, from the records per byte of its first bytes with room to spare,
	 * so that they rarely grow inside the record loop: the first growth there (a path the loop's optimized code has
	 * never seen) throws that code away, and the first chunks then run several times slower while it is made again.
	 */
	private reserveRecords(buf: Buffer, n: number): void {
		const sample = Math.min(n, SAMPLE_BYTES);
		const records = Math.ceil(((countLF(buf, 0, sample) + 1) / Math.max(1, sample)) * n * 1.25) + 1024;
		this.starts.reserve(records);
		this.ends.reserve(records);
		this.owners.reserve(records);
		if (this.init.runs !== null) this.pieces.reserve(records * (this.init.runs.length + 2));
	}

	private value(buf: Buffer, i: number): string {
		const s = buf.latin1Slice(this.vs[i], this.ve[i]);
		return this.vq[i] ? s.replaceAll('""', '"') : s;
	}

	/** Reasons for a wrong field count, by the count found (one string each, not one per rejected record). */
	private readonly fieldCountReasons = new Map<number, string>();

	/** Why a record of `found` fields is rejected (the header has `init.fieldCount`). */
	private fieldCountReason(found: number): string {
		let reason = this.fieldCountReasons.get(found);
		if (reason === undefined) {
			reason = `expected ${this.init.fieldCount} fields, found ${found}`;
			this.fieldCountReasons.set(found, reason);
		}
		return reason;
	}

	/** Why the current record is rejected when key column `k`'s value does not start with its date grain. */
	private notAGrain(buf: Buffer, k: number): string {
		const key = this.init.keyColumns[k];
		return `column "${key.name}": ${showValue(this.value(buf, key.index))} does not start with ${grainNeeds(KEY_KINDS[key.kind])}`;
	}

	/** Whether the first chunk's warm-up has run (warmUp). */
	private warm = false;

	/**
	 * Runs the first chunk's first WARM_RECORDS records (those ending in its first quarter) through process() once and
	 * throws the result away, so that every path of process() and layOut() has run before V8 optimizes them, the
	 * ones taken once per chunk after the record loop included. Without it the optimized code, compiled while the
	 * first chunk's loop runs, reaches such a path at the chunk's end with no type feedback for it, is thrown away,
	 * and the next chunk runs unoptimized again while it is recompiled (CHANGELOG, 2026-12-01: the benchmark file's
	 * first two chunks took about 270 + 330 ms, with the warm-up about 220 + 85 ms; 70 ms each once warm).
	 */
	private warmUp(bytes: ArrayBuffer, offset: number, length: number): void {
		const buf = Buffer.from(bytes, offset, length);
		const quarter = length >> 2;
		let end = 0;
		for (let r = 0; r < WARM_RECORDS; r++) {
			const lf = buf.indexOf(LF, end);
			if (lf === -1 || lf >= quarter) break;
			end = lf + 1;
		}
		if (end === 0) return;
		try {
			this.spare.give(this.process(-1, bytes, offset, end, 0, false).data);
		} catch {
			// A cut inside a quoted field, bytes that are not UTF-8, …: the chunk's own call meets and reports them.
		}
	}

	/**
	 * Processes the chunk at `bytes[offset, offset + length)`. Line numbers in the result (and in a ChunkDataError)
	 * count from `startLine` at the chunk's first byte; `lines` is how many line breaks the chunk holds.
	 */
	process(
		seq: number,
		bytes: ArrayBuffer,
		offset: number,
		length: number,
		startLine: number,
		isLast: boolean,
	): ChunkDone {
		if (!this.warm) {
			this.warm = true;
			this.warmUp(bytes, offset, length);
		}
		const buf = Buffer.from(bytes, offset, length);
		const bufView = new DataView(bytes, offset, length);
		const n = buf.length;
		const init = this.init;
		if (init.strictUtf8 && !isUtf8(buf)) throw this.invalidUtf8(buf, startLine);
		this.reserveRecords(buf, n);

		// The per-record loop below is the hot path (every byte of the file passes through it), so it is written
		// inline, with everything it reads hoisted into locals: no method call per record or field, and no property
		// of `this` re-read per byte, which V8 cannot keep in registers across the loop. The phases after it, once
		// per chunk, are methods and functions.

		const D = init.delimiter;
		const fieldCount = init.fieldCount;
		const maxIndex = this.maxIndex;
		const vs = this.vs;
		const ve = this.ve;
		const vq = this.vq;
		const keyColumns = init.keyColumns;
		const tsIndex = init.timestampIndex;
		const pxIndex = init.priceIndex;
		const qtyIndex = init.quantityIndex;
		const orders = this.orders;
		const nKeys = keyColumns.length;
		const keyIndex = this.keyIndex;
		const keyKind = this.keyKind;
		const keyBuckets = this.keyBuckets;
		const directKey = this.directKey;
		const runs = init.runs;
		const nRuns = runs === null ? 0 : runs.length >> 1;
		const runsInPlace = this.runsInPlace;
		// The hive layout's usual shape: two runs in place (the key columns between them left out): a record is its
		// first run's fields and, from the delimiter before it, the second's to its end. Every record of such a run
		// takes this branch, quoted or not (a branch that only some records reach would have no type feedback when
		// the first one does, and V8 would throw the loop's optimized code away: measured, 0.3 s of a worker's time).
		const twoRuns = runsInPlace && nRuns === 2;
		const firstRun = twoRuns ? (runs as number[])[0] : 0;
		const firstRunEnd = twoRuns ? (runs as number[])[1] : 0;
		const secondRun = twoRuns ? (runs as number[])[2] : 0;
		const pieces = this.pieces;
		// Written through locals, as the record tables below are.
		let pa = pieces.a;
		let np = 0;
		const partTables = this.partTables;
		for (const t of partTables) t.reset();
		const table = partTables[0];
		const tuples = this.tuples;
		tuples?.reset();
		const partIds = this.partIds;
		/** Per key column, where its last part looked up in place starts in `buf` (-1: none yet), its length and id. */
		const prevAt = this.prevAt.fill(-1);
		// The unrolled two-part key (a value, then a date grain): its own previous positions and ids (see below).
		const valueDay = this.valueDay;
		const valueIdx = valueDay >= 0 ? keyIndex[0] : 0;
		const dayIdx = valueDay >= 0 ? keyIndex[1] : 0;
		let prev0 = -1;
		let prevLen0 = 0;
		let prevId0 = 0;
		let prev1 = -1;
		let prevId1 = 0;
		const prevLength = this.prevLength;
		const prevId = this.prevId;
		let scratch = this.scratch;
		let scratchView = this.scratchView;
		let scratchLength = scratch.length;
		/** Bucket per key-table id; null for a key the orders filter drops. */
		const byId: (Bucket | null)[] = [];
		const bucketList: Bucket[] = [];
		const starts = this.starts;
		const ends = this.ends;
		const owners = this.owners;
		starts.n = ends.n = owners.n = 0;
		// The record tables, written through locals (a push per record re-reads the list's fields).
		let sa = starts.a;
		let ea = ends.a;
		let oa = owners.a;
		let nr = 0;
		const rejects = this.rejects;
		rejects.reset();
		let rowsRead = 0;
		let filtered = 0;
		let needsEol = false;
		let line = startLine;

		// Runs of whole records without quotes take their field boundaries from the scanner's table (specials.ts),
		// a window of up to SCAN_WINDOW bytes at a time, instead of the byte loop below: same records, same bounds.
		// Records with quotes (and a final record without a line ending) take the byte loop.
		this.scanner?.begin(this.layoutInModule ? n : 0);
		const scanner = D === CR ? null : this.scanner;
		let positions = EMPTY_TABLE;
		let k = 0;
		let entries = 0;
		/** The first quote at or after `i` (n when none); -1 until looked for. */
		let nextQuote = -1;
		/** `vq` may hold a 1 (an escaped quote in a field the byte loop read): cleared before a scanned record. */
		let vqSet = true;

		let i = 0;
		while (i < n) {
			const recStart = i;
			const recLine = line;
			let nf = 0;
			let bad: string | null = null;
			let contentEnd = n;
			let recEnd = n;
			/** The record ends with a CR that is the file's last byte: a line ending (README "Dialect"), not data. */
			let eofCr = false;
			/** The record's fields came from the scanner's table: none is quoted. */
			let scanned = false;
			if (k === entries && scanner !== null) {
				if (nextQuote < i) {
					nextQuote = buf.indexOf(QUOTE, i);
					if (nextQuote === -1) nextQuote = n;
				}
				const limit = Math.min(i + SCAN_WINDOW, nextQuote);
				let last = limit > i ? buf.lastIndexOf(LF, limit - 1) : -1;
				if (last < i && limit < nextQuote) {
					// One record longer than the window: scanned whole, if it has no quote.
					last = buf.indexOf(LF, limit);
					if (last >= nextQuote) last = -1;
				}
				if (last >= i) {
					entries = scanner.scan(buf, i, last + 1, D, true);
					positions = scanner.table;
					k = 0;
				}
			}
			if (k < entries) {
				// No field of these records is quoted: `vq` is all zeros here (see vqSet).
				if (vqSet) {
					vq.fill(0);
					vqSet = false;
				}
				scanned = true;
				let fieldStart = i;
				for (;;) {
					const p = positions[k++];
					if (p >= 0) {
						if (nf <= maxIndex) {
							vs[nf] = fieldStart;
							ve[nf] = p;
						}
						nf++;
						fieldStart = p + 1;
						continue;
					}
					const lf = ~p;
					if (nf <= maxIndex) {
						vs[nf] = fieldStart;
						ve[nf] = lf > fieldStart && buf[lf - 1] === CR ? lf - 1 : lf;
					}
					nf++;
					contentEnd = lf > recStart && buf[lf - 1] === CR ? lf - 1 : lf;
					recEnd = lf + 1;
					line++;
					break;
				}
			}
			// Field loop: `i` is at the start of field `nf`.
			else
				for (;;) {
					let c = 0;
					if (i < n && buf[i] === QUOTE) {
						// Quoted field: find the closing quote ("" is an escaped quote).
						let j = i + 1;
						let escaped = false;
						let close = -1;
						for (;;) {
							const q = buf.indexOf(QUOTE, j);
							if (q === -1) break;
							if (q + 1 < n && buf[q + 1] === QUOTE) {
								escaped = true;
								j = q + 2;
								continue;
							}
							close = q;
							break;
						}
						if (close === -1) {
							// Only the file's last chunk can end inside quotes: the main thread cuts chunks at record ends.
							line += countLF(buf, i + 1, n);
							nf++;
							bad = 'unterminated quoted field (it runs to the end of the file)';
							break;
						}
						line += countLF(buf, i + 1, close);
						if (nf <= maxIndex) {
							vs[nf] = i + 1;
							ve[nf] = close;
							if (escaped) {
								vq[nf] = 1;
								vqSet = true;
							} else vq[nf] = 0;
						}
						i = close + 1;
						if (i >= n) {
							nf++;
							break;
						}
						c = buf[i];
						if (c === CR && i + 1 === n && isLast) {
							nf++;
							contentEnd = i;
							eofCr = true;
							break;
						}
						if (c === D) {
							nf++;
							i++;
							continue;
						}
						if (c === LF || (c === CR && i + 1 < n && buf[i + 1] === LF)) {
							nf++;
							contentEnd = i;
							recEnd = c === LF ? i + 1 : i + 2;
							line++;
							break;
						}
						// Text after a closing quote: the record is rejected; it still ends at the next LF outside quotes,
						// and the rest of this field is unquoted (a quote in it is data).
						bad ??= 'text after a closing quote';
					}
					// Unquoted field (or the remainder of a malformed quoted one).
					const fieldStart = i;
					while (i < n) {
						c = buf[i];
						if (c === D || c === LF) break;
						i++;
					}
					// (After a malformed quoted field this overwrites its bounds; harmless, the record is rejected.)
					const crEnds = i > fieldStart && buf[i - 1] === CR && (i < n ? c === LF : isLast);
					if (nf <= maxIndex) {
						vs[nf] = fieldStart;
						vq[nf] = 0;
						ve[nf] = crEnds ? i - 1 : i;
					}
					nf++;
					if (i >= n) {
						if (crEnds) {
							contentEnd = i - 1;
							eofCr = true;
						}
						break;
					}
					if (c === D) {
						i++;
						continue;
					}
					contentEnd = i > recStart && buf[i - 1] === CR ? i - 1 : i;
					recEnd = i + 1;
					line++;
					break;
				}
			i = recEnd;
			if (contentEnd === n) {
				// Last record of the file without a line ending (or an unterminated quote running to EOF).
				if (!isLast) throw new Error(`internal: chunk ${seq} does not end at a record boundary`);
			}
			rowsRead++;
			if (bad === null && nf !== fieldCount) bad = this.fieldCountReason(nf);
			if (bad !== null) {
				rejects.push(recLine, bad, recStart, contentEnd);
				continue;
			}
			// The partition key's id in this chunk. One column's value without quotes is looked up where it is. Otherwise
			// each key column's part is looked up in that column's own table — where it is when it can be (a value
			// without quotes, a date grain's prefix), else as bytes built in `scratch` (quotes undone, an hour's `T`,
			// a hash bucket) — and several parts' ids make the key's id in the tuple table: no record copies its key.
			let id: number;
			let isNew: boolean;
			if (directKey >= 0 && vq[directKey] === 0) {
				id = table.idOf(buf, bufView, vs[directKey], ve[directKey]);
				isNew = table.isNew;
			} else if (valueDay >= 0 && vq[valueIdx] === 0 && vq[dayIdx] === 0) {
				// A value and a date grain, neither quoted (`symbol,date(timestamp)`): the loop below, unrolled.
				const s0 = vs[valueIdx];
				const e0 = ve[valueIdx];
				if (prev0 >= 0 && prevLen0 === e0 - s0 && sameBytes(buf, bufView, s0, buf, bufView, prev0, e0 - s0)) {
					partIds[0] = prevId0;
				} else {
					prevId0 = partIds[0] = partTables[0].idOf(buf, bufView, s0, e0);
					prev0 = s0;
					prevLen0 = e0 - s0;
				}
				const s1 = vs[dayIdx];
				const e1 = ve[dayIdx];
				if (prev1 >= 0 && sameDay(buf, bufView, s1, e1, prev1)) partIds[1] = prevId1;
				else if (startsWithDate(buf, s1, e1)) {
					prevId1 = partIds[1] = partTables[1].idOf(buf, bufView, s1, s1 + valueDay);
					prev1 = s1;
				} else {
					bad = this.notAGrain(buf, 1);
					rejects.push(recLine, bad, recStart, contentEnd);
					continue;
				}
				id = (tuples as TupleTable).idOf(partIds);
				isNew = (tuples as TupleTable).isNew;
			} else {
				/** Whether the last part's id was new (the key's, with one key column). */
				let partNew = false;
				for (let k = 0; k < nKeys; k++) {
					const idx = keyIndex[k];
					let s = vs[idx];
					let e = ve[idx];
					const kind = keyKind[k];
					const inPlace = vq[idx] === 0 && kind !== K_HOUR && kind !== K_HASH;
					// The same part as this column's previous record's (a date, mostly) takes its id without a lookup.
					const p = inPlace ? prevAt[k] : -1;
					if (
						p >= 0 &&
						(kind === K_VALUE
							? prevLength[k] === e - s && sameBytes(buf, bufView, s, buf, bufView, p, e - s)
							: sameDay(buf, bufView, s, e, p))
					) {
						partIds[k] = prevId[k];
						partNew = false;
						continue;
					}
					if (kind !== K_VALUE && kind !== K_HASH) {
						if (kind === K_HOUR ? !startsWithHour(buf, s, e) : !startsWithDate(buf, s, e)) {
							bad = this.notAGrain(buf, k);
							break;
						}
						e = s + (kind === K_HOUR ? 13 : GRAIN_BYTES[kind]);
					}
					if (inPlace) {
						const partId = partTables[k].idOf(buf, bufView, s, e);
						partIds[k] = partId;
						partNew = partTables[k].isNew;
						prevAt[k] = s;
						prevLength[k] = e - s;
						prevId[k] = partId;
						continue;
					}
					if (e - s + 16 > scratchLength) {
						scratch = this.growScratch(e - s + 16);
						scratchView = this.scratchView;
						scratchLength = scratch.length;
					}
					let klen = 0;
					if (vq[idx]) {
						for (; s < e; s++) {
							scratch[klen++] = buf[s];
							if (buf[s] === 0x22) s++; // "" inside a quoted field is one quote
						}
					} else if (e + 3 <= n) {
						// Four bytes at a time; the last word may spill up to 3 bytes past the value, into the 16 spare.
						const len = e - s;
						for (let j = 0; j < len; j += 4) scratchView.setInt32(j, bufView.getInt32(s + j, true), true);
						klen = len;
					} else for (; s < e; s++) scratch[klen++] = buf[s];
					if (kind === K_HOUR)
						scratch[10] = 0x54; // `2024-03-15 10` -> `2024-03-15T10`
					else if (kind === K_HASH) {
						// The bucket, in decimal, replaces the value.
						let bucket = fnv1a32(scratch, 0, klen) % keyBuckets[k];
						klen = bucket < 10 ? 1 : Math.floor(Math.log10(bucket)) + 1;
						for (let d = klen - 1; d >= 0; d--) {
							scratch[d] = 0x30 + (bucket % 10);
							bucket = Math.floor(bucket / 10);
						}
					}
					partIds[k] = partTables[k].idOf(scratch, scratchView, 0, klen);
					partNew = partTables[k].isNew;
				}
				if (bad !== null) {
					rejects.push(recLine, bad, recStart, contentEnd);
					continue;
				}
				if (tuples === null) {
					id = partIds[0];
					isNew = partNew;
				} else {
					id = tuples.idOf(partIds);
					isNew = tuples.isNew;
				}
			}
			let b: Bucket | null;
			if (isNew) {
				b =
					directKey >= 0 && vq[directKey] === 0
						? this.newBucket(buf, vs[directKey], ve[directKey], false, bucketList.length)
						: this.newBucketOfParts(bucketList.length);
				if (orders !== null && !orders.has(b.key)) b = null;
				else bucketList.push(b);
				byId.push(b);
			} else b = byId[id];
			if (b === null) {
				filtered++;
				continue;
			}
			b.rows++;
			if (runs === null) {
				let recBytes = recEnd - recStart;
				let recStop = recEnd;
				if (recEnd === n && (contentEnd === n || eofCr)) {
					needsEol = true;
					recStop = contentEnd;
					recBytes = contentEnd - recStart + this.eolBytes.length;
				}
				b.bytes += recBytes;
				if (nr === sa.length) sa = starts.grow();
				if (nr === ea.length) ea = ends.grow();
				sa[nr] = recStart;
				ea[nr] = recStop;
			} else {
				while (np + 2 * nRuns + 2 > pa.length) pa = pieces.grow();
				if (twoRuns) {
					const s0 = quotedFrom(buf, vs, firstRun, scanned);
					const e0 = quotedTo(buf, vs, ve, firstRunEnd, scanned);
					const s1 = quotedFrom(buf, vs, secondRun, scanned) - 1;
					let e1 = recEnd;
					let recBytes = e0 - s0;
					if (recEnd === n && (contentEnd === n || eofCr)) {
						needsEol = true; // the file's last record without a line ending: the output's is added (layOut)
						e1 = contentEnd;
						recBytes += this.eolBytes.length;
					}
					pa[np] = s0;
					pa[np + 1] = e0;
					pa[np + 2] = s1;
					pa[np + 3] = e1;
					np += 4;
					b.bytes += recBytes + e1 - s1;
				} else if (runsInPlace) {
					// Each run after the first with the delimiter before it, the last with the line ending after it.
					let recBytes = 0;
					for (let r = 0; r < runs.length; r += 2) {
						const f = runs[r];
						const l = runs[r + 1];
						let rs = quotedFrom(buf, vs, f, scanned);
						if (r > 0) rs--;
						let re: number;
						if (r + 2 < runs.length) re = quotedTo(buf, vs, ve, l, scanned);
						else if (recEnd === n && (contentEnd === n || eofCr)) {
							// The file's last record without a line ending: the output's is added after it (layOut).
							needsEol = true;
							re = contentEnd;
							recBytes += this.eolBytes.length;
						} else re = recEnd;
						pa[np++] = rs;
						pa[np++] = re;
						recBytes += re - rs;
					}
					b.bytes += recBytes;
				} else {
					let recBytes = nRuns - 1;
					for (let r = 0; r < runs.length; r += 2) {
						const f = runs[r];
						const l = runs[r + 1];
						const rs = quotedFrom(buf, vs, f, scanned);
						const re = quotedTo(buf, vs, ve, l, scanned);
						pa[np++] = rs;
						pa[np++] = re;
						recBytes += re - rs;
					}
					if (recEnd === n && (contentEnd === n || eofCr)) {
						pa[np++] = -1;
						pa[np++] = -1;
						recBytes += this.eolBytes.length;
					} else {
						pa[np++] = contentEnd;
						pa[np++] = recEnd;
						recBytes += recEnd - contentEnd;
					}
					b.bytes += recBytes;
				}
			}
			if (nr === oa.length) oa = owners.grow();
			oa[nr++] = b.index;
			// Stats (timestamps kept as positions; strings made once per partition per chunk).
			if (tsIndex >= 0) {
				if (b.firstTsStart < 0) {
					b.firstTsStart = vs[tsIndex];
					b.firstTsEnd = ve[tsIndex] | (vq[tsIndex] << 30);
				}
				b.lastTsStart = vs[tsIndex];
				b.lastTsEnd = ve[tsIndex] | (vq[tsIndex] << 30);
			}
			let px = Number.NaN;
			if (pxIndex >= 0) {
				px = vq[pxIndex] ? Number(this.value(buf, pxIndex)) : parseNumber(buf, vs[pxIndex], ve[pxIndex]);
				if (!Number.isNaN(px)) {
					if (px < b.minPrice) b.minPrice = px;
					if (px > b.maxPrice) b.maxPrice = px;
				}
			}
			if (qtyIndex >= 0) {
				const q = vq[qtyIndex] ? Number(this.value(buf, qtyIndex)) : parseNumber(buf, vs[qtyIndex], ve[qtyIndex]);
				if (!Number.isNaN(q)) {
					b.quantity += q;
					b.hasQuantity = true;
					if (!Number.isNaN(px)) {
						b.notional += px * q;
						b.pricedQuantity += q;
					}
				}
			}
		}

		owners.n = nr;
		if (runs === null) starts.n = ends.n = nr;
		const [outBuffer, offsets, recordEnds, endsAt] = this.layOut(bytes, offset, length, bucketList, needsEol);
		const [rejectData, rejectResults] = rejects.copy(buf);
		return {
			type: 'done',
			seq,
			input: bytes,
			data: outBuffer,
			buckets: bucketResults(buf, bucketList, offsets, endsAt),
			rejectData,
			rejects: rejectResults,
			recordEnds: recordEnds === null ? null : (recordEnds.buffer as ArrayBuffer),
			rowsRead,
			rowsFilteredOut: filtered,
			lines: line - startLine,
		};
	}

	/**
	 * Lays the kept records out grouped by partition, in a result buffer; returns it and where each partition's
	 * region starts. Each region is followed by a gap (GAP) that no result points at, so that records can be copied
	 * in whole words: the last word of a record may spill past its end, into the next record of the same partition
	 * (written later, in order) or the gap. Where the WebAssembly module runs, it does the copying (specials.ts).
	 * With a column selection each record is its runs of fields joined by the delimiter, then its line ending; with files capped at a number of records, it also returns
	 * where each record ends, grouped by partition (`endsAt[partition]` indexes `recordEnds`).
	 *
	 * The results are an array, not an object: V8 tracks the type of each field of an object's shape, and when a later
	 * chunk's result put another kind of value in a field (with capped files: another array or typed array shape than
	 * the first chunk's) it discarded the optimized code of process(), which had made such objects (the second chunk
	 * then ran unoptimized: 350 ms instead of 70).
	 */
	private layOut(
		bytes: ArrayBuffer,
		offset: number,
		length: number,
		bucketList: readonly Bucket[],
		needsEol: boolean,
	): [outBuffer: ArrayBuffer, offsets: number[], recordEnds: Int32Array | null, endsAt: number[] | null] {
		const buf = Buffer.from(bytes, offset, length);
		let total = 0;
		const offsets = new Array<number>(bucketList.length);
		for (const b of bucketList) {
			offsets[b.index] = total;
			total += b.bytes + GAP;
		}
		const outBuffer = this.spare.take(total);
		const out = Buffer.from(outBuffer, 0, total);
		const pos = offsets.slice();
		const starts = this.starts;
		const sa = starts.a;
		const ea = this.ends.a;
		const oa = this.owners.a;
		// Short records are copied 4 bytes at a time through DataViews: a call into C++ per record costs more than
		// the bytes (measured: 3x faster than a byte loop, 1.5x faster than Buffer.copy at 80-byte records), and whole
		// words with no byte-by-byte tail are twice as fast again. Reading may run up to 3 bytes past a record, so
		// records that end within 3 bytes of the buffer's end take the byte loop.
		const srcLength = Math.min(bytes.byteLength - offset, length + GAP);
		const wordsUpTo = srcLength - GAP;
		const src = new DataView(bytes, offset, srcLength);
		const dst = new DataView(outBuffer, 0, total);
		const nRecords = this.owners.n;
		const init = this.init;
		const runs = init.runs;
		const nRuns = runs === null ? 0 : runs.length >> 1;
		const D = init.delimiter;
		let recordEnds: Int32Array | null = null;
		let endsAt: number[] | null = null;
		let cursor: number[] = [];
		if (init.recordEnds) {
			recordEnds = new Int32Array(nRecords);
			endsAt = new Array<number>(bucketList.length);
			let at = 0;
			for (const b of bucketList) {
				endsAt[b.index] = at;
				at += b.rows;
			}
			cursor = endsAt.slice();
		}
		// Where the WebAssembly module runs, it lays out whole records and records in place (specials.ts): the same
		// bytes as the loops below, which remain for the other shapes and for runtimes without it.
		const laidOut =
			this.layoutInModule &&
			this.scanner?.layOut({
				src: buf,
				n: nRecords,
				owners: oa,
				starts: runs === null ? sa : null,
				ends: runs === null ? ea : null,
				pieces: runs === null ? null : this.pieces.a,
				pieceCount: nRuns,
				positions: pos,
				out,
				recordEnds,
				cursor: recordEnds === null ? null : cursor,
			}) === true;
		if (!laidOut && runs === null) {
			for (let r = 0; r < nRecords; r++) {
				const o = oa[r];
				const p = copyRange(buf, out, src, dst, sa[r], ea[r], pos[o], wordsUpTo);
				pos[o] = p;
				if (recordEnds !== null) recordEnds[cursor[o]++] = p;
			}
		} else if (!laidOut && this.runsInPlace) {
			// Same word copies, piece by piece (delimiters and line endings are in the pieces); a word that spills past
			// a piece is overwritten by the next piece of the same record.
			const pa = this.pieces.a;
			let q = 0;
			for (let r = 0; r < nRecords; r++) {
				const o = oa[r];
				let p = pos[o];
				for (let k = 0; k < nRuns; k++, q += 2) p = copyRange(buf, out, src, dst, pa[q], pa[q + 1], p, wordsUpTo);
				pos[o] = p;
				if (recordEnds !== null) recordEnds[cursor[o]++] = p;
			}
		} else if (!laidOut) {
			// Same word copies; a word that spills past a piece is overwritten by the next piece of the same record.
			const pa = this.pieces.a;
			const eol = this.eolBytes;
			let q = 0;
			for (let r = 0; r < nRecords; r++) {
				const o = oa[r];
				let p = pos[o];
				for (let k = 0; k <= nRuns; k++, q += 2) {
					const s = pa[q];
					if (s < 0) {
						for (let j = 0; j < eol.length; j++) out[p++] = eol[j];
						continue;
					}
					if (k > 0 && k < nRuns) out[p++] = D;
					p = copyRange(buf, out, src, dst, s, pa[q + 1], p, wordsUpTo);
				}
				pos[o] = p;
				if (recordEnds !== null) recordEnds[cursor[o]++] = p;
			}
		}
		// The file's last record had no line ending (whole records, or runs in place): the output's ends it.
		if (needsEol) {
			const o = oa[nRecords - 1];
			pos[o] += this.eolBytes.copy(out, pos[o]);
			if (recordEnds !== null) recordEnds[cursor[o] - 1] = pos[o];
		}
		return [outBuffer, offsets, recordEnds, endsAt];
	}

	/** Finds the first line holding bytes that are not UTF-8 (no UTF-8 sequence contains an LF byte). */
	private invalidUtf8(buf: Buffer, startLine: number): ChunkDataError {
		let line = startLine;
		let s = 0;
		while (s < buf.length) {
			let e = buf.indexOf(LF, s);
			if (e === -1) e = buf.length;
			if (!isUtf8(buf.subarray(s, e))) {
				return new ChunkDataError('invalid-utf8', 'bytes that are not valid UTF-8', line);
			}
			line++;
			s = e + 1;
		}
		return new ChunkDataError('invalid-utf8', 'bytes that are not valid UTF-8', startLine);
	}
}
