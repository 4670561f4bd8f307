/**
 * The hot path of Parquet output: encodes CSV fields straight from the read window into Parquet column chunks,
 * without a JS value per field. Measured faster than handing JS arrays to hyparquet-writer (see docs/parquet.md,
 * "How the files are written"); hyparquet-writer still writes what happens once per page or per file (page headers,
 * the footer's thrift), so the files keep its layout: DATA_PAGE_V2 pages, one per column
 * chunk, definition levels RLE/bit-packed, column statistics (min, max, null count).
 *
 * Values are PLAIN, except text (UTF-8 and binary) columns, which are dictionary-encoded (RLE_DICTIONARY indexes
 * and a PLAIN dictionary page) while a chunk's dictionary stays small, as hyparquet-writer did.
 */
import { writePageHeader } from 'hyparquet-writer/src/datapage.js';
import { ESCAPED, QUOTE, unquoteField } from './fields';
import { snappyCompress } from './snappy';
import { type ColumnType, fitsDouble, isInt64, parseBool, parseDate, parseTimestampTo, tsOut } from './types';

/** Parquet codec names as written in the footer. */
export type CodecName = 'SNAPPY' | 'GZIP' | 'ZSTD' | 'UNCOMPRESSED';

/** Where the encoder puts its bytes (the file, with the running offset). */
export interface Sink {
	offset: number;
	appendBytes(b: Uint8Array): void;
}

const POW10 = [
	1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20,
	1e21, 1e22,
];

const latin1 = (b: Uint8Array, s: number, e: number) =>
	Buffer.from(b.buffer, b.byteOffset + s, e - s).toString('latin1');

/**
 * The double of the non-empty value b[s, e), or NaN when it is not a double by the type rules (types.ts
 * `fitsDouble`, which it answers exactly: a double is never NaN). Exact fast path for `-?(0|[1-9][0-9]*)(.[0-9]+)?`
 * of at most 15 digits and 22 decimals (the digits as an integer below 2^53, divided by an exactly representable
 * power of ten: one correctly rounded operation, so the same double as `Number(text)`); anything else goes to
 * `fitsDouble` and `Number(text)`. The pattern is checked while the digits are read, so it costs no second scan.
 */
export function parseDoubleChecked(b: Uint8Array, s: number, e: number): number {
	let i = s;
	const neg = b[i] === 0x2d;
	if (neg) i++;
	const first = i;
	let m = 0;
	let nd = 0;
	let scale = 0;
	for (; i < e; i++) {
		const d = b[i] - 0x30;
		if (d >= 0 && d <= 9) {
			m = m * 10 + d;
			nd++;
		} else break;
	}
	if (i === first || (i - first > 1 && b[first] === 0x30)) return Number.NaN;
	if (i < e && b[i] === 0x2e) {
		const f = ++i;
		for (; i < e; i++) {
			const d = b[i] - 0x30;
			if (d >= 0 && d <= 9) {
				m = m * 10 + d;
				nd++;
				scale++;
			} else break;
		}
		if (i === f) return Number.NaN;
	}
	if (i !== e || nd > 15 || scale > 22) return fitsDouble(b, s, e) ? Number(latin1(b, s, e)) : Number.NaN;
	const v = scale === 0 ? m : m / POW10[scale];
	return neg ? -v : v;
}

const TWO32 = 4294967296;

/** Kinds of column encoders (ints are compared faster than strings on the hot path). */
const K_INT64 = 1;
const K_DOUBLE = 2;
const K_BOOL = 3;
const K_DATE = 4;
const K_TS = 5;
const K_TEXT = 6;

function kindOf(t: ColumnType): number {
	switch (t) {
		case 'int64':
			return K_INT64;
		case 'double':
			return K_DOUBLE;
		case 'boolean':
			return K_BOOL;
		case 'date':
			return K_DATE;
		case 'timestamp':
		case 'timestamp_local':
			return K_TS;
		default:
			return K_TEXT;
	}
}

/** Largest dictionary (distinct values' PLAIN bytes) a text chunk keeps before it falls back to PLAIN values. */
const DICT_MAX_BYTES = 1 << 20;
const DICT_MAX_ENTRIES = 1 << 16;

/** A growable byte buffer with a DataView. */
class Bytes {
	buf: Uint8Array;
	view: DataView;
	pos = 0;
	constructor(size: number) {
		this.buf = new Uint8Array(size);
		this.view = new DataView(this.buf.buffer);
	}
	ensure(n: number): void {
		if (this.pos + n <= this.buf.length) return;
		const b = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n));
		b.set(this.buf.subarray(0, this.pos));
		this.buf = b;
		this.view = new DataView(b.buffer);
	}
}

/** Whether a[as, +n) and b[bs, +n) hold the same bytes (4 at a time). */
function equalBytes(a: DataView, as: number, b: DataView, bs: number, n: number): boolean {
	let i = 0;
	for (; i + 4 <= n; i += 4) if (a.getInt32(as + i, true) !== b.getInt32(bs + i, true)) return false;
	for (; i < n; i++) if (a.getUint8(as + i) !== b.getUint8(bs + i)) return false;
	return true;
}

/** A 32-bit hash of v[s, +n) (MurmurHash3's mixing, 4 bytes at a time); only the dictionary's table uses it. */
function hashBytes(v: DataView, s: number, n: number): number {
	let h = n;
	let i = 0;
	for (; i + 4 <= n; i += 4) {
		let k = Math.imul(v.getInt32(s + i, true), 0xcc9e2d51);
		k = (k << 15) | (k >>> 17);
		h ^= Math.imul(k, 0x1b873593);
		h = (h << 13) | (h >>> 19);
		h = (Math.imul(h, 5) + 0xe6546b64) | 0;
	}
	if (i < n) {
		let k = 0;
		for (let j = n - 1; j >= i; j--) k = (k << 8) | v.getUint8(s + j);
		k = Math.imul(k, 0xcc9e2d51);
		k = (k << 15) | (k >>> 17);
		h ^= Math.imul(k, 0x1b873593);
	}
	h ^= h >>> 16;
	h = Math.imul(h, 0x85ebca6b);
	h ^= h >>> 13;
	h = Math.imul(h, 0xc2b2ae35);
	return h ^ (h >>> 16);
}

/** Copies src[s, +n) (the bytes of `from`) to dst at d (the bytes of `to`). */
function copyBytes(from: Uint8Array, src: DataView, s: number, to: Uint8Array, dst: DataView, d: number, n: number) {
	if (n > 64) {
		to.set(from.subarray(s, s + n), d);
		return;
	}
	let i = 0;
	for (; i + 4 <= n; i += 4) dst.setInt32(d + i, src.getInt32(s + i, true), true);
	for (; i < n; i++) to[d + i] = from[s + i];
}

function varint(out: number[], v: number): void {
	while (v > 0x7f) {
		out.push((v & 0x7f) | 0x80);
		v = Math.floor(v / 128);
	}
	out.push(v);
}

/** One column's values of the current row group, encoded as they arrive. */
class ColumnEncoder {
	readonly kind: number;
	readonly zoned: boolean;
	/** PLAIN values (text: each 4-byte length then bytes). */
	readonly vals = new Bytes(1024);
	/** Text: where dropDict rewrites the values, then swapped with vals' buffer. */
	private readonly spare = new Bytes(64);
	/** Definition level of each row (1 value, 0 NULL): all 1 but where this group's NULLs are. */
	defs = new Uint8Array(64).fill(1);
	rows = 0;
	nulls = 0;
	// Statistics of numbers (int64 while every value is a safe integer; big* hold the others).
	min = 0;
	max = 0;
	has = false;
	bigMin: bigint | null = null;
	bigMax: bigint | null = null;
	// Text statistics: offsets (of the bytes, after the length) and lengths in vals.
	minOff = 0;
	minLen = 0;
	maxOff = 0;
	maxLen = 0;
	// Text dictionary: open-addressing table of entry numbers + 1; entry k's value is vals[dOff[k], +dLen[k]).
	dict = true;
	table = new Int32Array(64);
	entries = 0;
	dOff = new Int32Array(16);
	dLen = new Int32Array(16);
	idx = new Int32Array(64);
	bits = 0;
	/** The dictionary entry of the previous value (-1: none), tried before hashing. */
	last = -1;
	/** PLAIN size of the text values so far (to give up the dictionary when it saves little). */
	plainBytes = 0;

	constructor(type: ColumnType) {
		this.kind = kindOf(type);
		this.zoned = type === 'timestamp';
	}

	reset(rows: number): void {
		if (this.nulls > 0) this.defs.fill(1, 0, this.rows);
		if (this.defs.length < rows) this.defs = new Uint8Array(rows).fill(1);
		if (this.kind === K_TEXT && this.idx.length < rows) this.idx = new Int32Array(rows);
		this.rows = 0;
		this.nulls = 0;
		this.vals.pos = 0;
		this.has = false;
		this.bigMin = this.bigMax = null;
		this.bits = 0;
		this.plainBytes = 0;
		if (this.kind === K_TEXT) {
			this.dict = true;
			this.last = -1;
			if (this.entries > 0) this.table.fill(0);
			this.entries = 0;
		}
	}

	null(): void {
		this.defs[this.rows++] = 0;
		this.nulls++;
	}

	private num(v: number): void {
		if (!this.has) {
			this.min = this.max = v;
			this.has = true;
		} else if (v < this.min) this.min = v;
		else if (v > this.max) this.max = v;
	}

	private big(v: bigint): void {
		if (this.bigMin === null || v < this.bigMin) this.bigMin = v;
		if (this.bigMax === null || v > this.bigMax) this.bigMax = v;
	}

	/** An 8-byte signed integer that is a safe JS integer. */
	private int64(v: number): void {
		const o = this.vals;
		o.ensure(8);
		if ((v | 0) === v) {
			o.view.setInt32(o.pos, v, true);
			o.view.setInt32(o.pos + 4, v >> 31, true);
		} else {
			const hi = Math.floor(v / TWO32);
			o.view.setUint32(o.pos, v - hi * TWO32, true);
			o.view.setInt32(o.pos + 4, hi, true);
		}
		o.pos += 8;
		this.num(v);
	}

	private int64Big(v: bigint): void {
		const o = this.vals;
		o.ensure(8);
		o.view.setBigInt64(o.pos, v, true);
		o.pos += 8;
		this.big(v);
	}

	/**
	 * Adds the non-empty value b[s, e) (`v` is a DataView of b; unescaped already unless `escaped`); false if it
	 * does not fit the type (the row group is then not to be written). Whether it fits is decided exactly as `classify` decides it (the same
	 * functions), so a conversion with speculated types can prove them (docs/parquet.md).
	 */
	value(b: Uint8Array, v: DataView, s: number, e: number, escaped: boolean): boolean {
		this.rows++;
		switch (this.kind) {
			case K_TEXT:
				this.text(b, v, s, e, escaped);
				return true;
			case K_INT64: {
				if (!isInt64(b, s, e)) return false;
				if (e - s <= 15) {
					let i = s;
					const neg = b[i] === 0x2d;
					if (neg) i++;
					let v = 0;
					for (; i < e; i++) v = v * 10 + (b[i] - 0x30);
					this.int64(neg ? -v : v);
				} else this.int64Big(BigInt(latin1(b, s, e)));
				return true;
			}
			case K_DOUBLE: {
				const v = parseDoubleChecked(b, s, e);
				if (Number.isNaN(v)) return false; // not a double
				const o = this.vals;
				o.ensure(8);
				o.view.setFloat64(o.pos, v, true);
				o.pos += 8;
				this.num(v);
				return true;
			}
			case K_DATE: {
				const v = parseDate(b, s, e);
				if (v === null) return false;
				const o = this.vals;
				o.ensure(4);
				o.view.setInt32(o.pos, v, true);
				o.pos += 4;
				this.num(v);
				return true;
			}
			case K_TS: {
				if (!parseTimestampTo(b, s, e) || tsOut.zoned !== this.zoned) return false;
				const us = tsOut.ms * 1000 + tsOut.micros;
				if (Number.isSafeInteger(us)) this.int64(us);
				else this.int64Big(BigInt(tsOut.ms) * 1000n + BigInt(tsOut.micros));
				return true;
			}
			case K_BOOL: {
				const v = parseBool(b, s, e);
				if (v === null) return false;
				const o = this.vals;
				const k = this.bits++;
				if ((k & 7) === 0) {
					o.ensure(1);
					o.buf[o.pos++] = 0;
				}
				if (v) o.buf[o.pos - 1] |= 1 << (k & 7);
				this.num(v ? 1 : 0);
				return true;
			}
		}
		return false;
	}

	/** An empty text value (`""`). */
	empty(): void {
		this.rows++;
		this.text(EMPTY, EMPTY_VIEW, 0, 0, false);
	}

	private text(b: Uint8Array, v: DataView, s: number, e: number, escaped: boolean): void {
		let slot = -1;
		if (this.dict) {
			// Mostly distinct values (ids): the dictionary would only add bytes; PLAIN from here on.
			const seen = this.rows - this.nulls - 1;
			if ((seen === 1000 || (seen > 0 && (seen & 8191) === 0)) && this.vals.pos * 2 > this.plainBytes) this.dropDict();
			this.plainBytes += e - s + 4;
			if (this.dict && !escaped) {
				// Look the value up where it is (first as the previous value's entry); a known one only records
				// its index.
				const last = this.last;
				if (last >= 0 && this.dLen[last] === e - s && equalBytes(v, s, this.vals.view, this.dOff[last], e - s)) {
					this.idx[seen] = last;
					return;
				}
				const r = this.lookup(v, s, e - s);
				if (r >= 0) {
					this.idx[seen] = r;
					this.last = r;
					return;
				}
				slot = -r - 1;
			}
		}
		const o = this.vals;
		o.ensure(e - s + 4);
		const at = o.pos + 4;
		let n = 0;
		const buf = o.buf;
		if (escaped) {
			for (let i = s; i < e; i++) {
				buf[at + n++] = b[i];
				if (b[i] === QUOTE) i++;
			}
		} else {
			n = e - s;
			copyBytes(b, v, s, buf, o.view, at, n);
		}
		if (this.dict) {
			if (slot < 0) {
				const r = this.lookup(o.view, at, n);
				if (r >= 0) {
					this.idx[this.rows - this.nulls - 1] = r;
					this.last = r;
					return;
				}
				slot = -r - 1;
			}
			const k = this.entries;
			if (k >= DICT_MAX_ENTRIES || o.pos > DICT_MAX_BYTES) {
				// Too many distinct values: PLAIN from now on (the values so far rewritten), this one appended.
				const cur = buf.slice(at, at + n);
				this.dropDict();
				o.ensure(n + 4);
				o.view.setUint32(o.pos, n, true);
				o.buf.set(cur, o.pos + 4);
				o.pos += 4 + n;
				this.textStats(o.pos - n, n);
				return;
			}
			this.entries++;
			if (k >= this.dOff.length) {
				const a = new Int32Array(k * 2);
				a.set(this.dOff);
				this.dOff = a;
				const l = new Int32Array(k * 2);
				l.set(this.dLen);
				this.dLen = l;
			}
			this.dOff[k] = at;
			this.dLen[k] = n;
			this.table[slot] = k + 1;
			this.idx[this.rows - this.nulls - 1] = k;
			this.last = k;
			if (this.entries * 2 > this.table.length) this.rehash();
		}
		o.view.setUint32(o.pos, n, true);
		o.pos = at + n;
		this.textStats(at, n);
	}

	/** The dictionary entry equal to src[s, s + n), or -(free slot + 1). */
	private lookup(src: DataView, s: number, n: number): number {
		const table = this.table;
		const mask = table.length - 1;
		const view = this.vals.view;
		let slot = hashBytes(src, s, n) & mask;
		for (;;) {
			const k = table[slot] - 1;
			if (k < 0) return -slot - 1;
			if (this.dLen[k] === n && equalBytes(view, this.dOff[k], src, s, n)) return k;
			slot = (slot + 1) & mask;
		}
	}

	/** Statistics of the text value at vals[at, +n). */
	private textStats(at: number, n: number): void {
		if (!this.has) {
			this.has = true;
			this.minOff = this.maxOff = at;
			this.minLen = this.maxLen = n;
			return;
		}
		// Above the maximum means not below the minimum (increasing values: one comparison).
		const view = this.vals.view;
		if (compareBytes(view, at, n, this.maxOff, this.maxLen) > 0) {
			this.maxOff = at;
			this.maxLen = n;
		} else if (compareBytes(view, at, n, this.minOff, this.minLen) < 0) {
			this.minOff = at;
			this.minLen = n;
		}
	}

	private rehash(): void {
		const t = new Int32Array(this.table.length * 2);
		const mask = t.length - 1;
		const view = this.vals.view;
		for (let k = 0; k < this.entries; k++) {
			let slot = hashBytes(view, this.dOff[k], this.dLen[k]) & mask;
			while (t[slot] !== 0) slot = (slot + 1) & mask;
			t[slot] = k + 1;
		}
		this.table = t;
	}

	/** Rewrites the values so far (dictionary indexes, entries in vals) as PLAIN values. */
	private dropDict(): void {
		this.dict = false;
		const values = this.rows - this.nulls - 1; // the current value is not counted yet
		const old = this.vals.buf;
		let total = 0;
		for (let r = 0; r < values; r++) total += 4 + this.dLen[this.idx[r]];
		// Written into the spare buffer, then the two swap (a new buffer at every drop, as large as the values
		// buffer, was a megabyte to allocate and zero per row group of an id column).
		const out = this.spare;
		out.pos = 0;
		out.ensure(total);
		for (let r = 0; r < values; r++) {
			const k = this.idx[r];
			const n = this.dLen[k];
			out.view.setUint32(out.pos, n, true);
			out.buf.set(old.subarray(this.dOff[k], this.dOff[k] + n), out.pos + 4);
			out.pos += 4 + n;
		}
		const { buf, view } = out;
		out.buf = old;
		out.view = this.vals.view;
		out.pos = 0;
		this.vals.buf = buf;
		this.vals.view = view;
		this.vals.pos = total;
		this.entries = 0;
		this.last = -1;
		this.table.fill(0);
		// Statistics were offsets into the old buffer: recompute them over the rewritten values.
		this.has = false;
		let p = 0;
		for (let r = 0; r < values; r++) {
			const n = view.getUint32(p, true);
			this.textStats(p + 4, n);
			p += 4 + n;
		}
	}

	/** Writes this chunk's pages to `sink` and returns its ColumnChunk metadata (hyparquet-writer's shape). */
	flush(sink: Sink, name: string, type: ColumnType, codec: CodecName, compress: Compress): unknown {
		const rows = this.rows;
		const start = sink.offset;
		// Definition levels: one RLE run when there is no NULL, else bit-packed (1 bit per row).
		const levels: number[] = [];
		if (this.nulls === 0) {
			varint(levels, rows * 2);
			levels.push(1);
		}
		let levelBytes: Uint8Array;
		if (this.nulls === 0) levelBytes = Uint8Array.from(levels);
		else {
			const groups = Math.ceil(rows / 8);
			varint(levels, groups * 2 + 1);
			levelBytes = new Uint8Array(levels.length + groups);
			levelBytes.set(levels);
			const d = this.defs;
			let p = levels.length;
			for (let g = 0; g < groups; g++) {
				let byte = 0;
				const base = g * 8;
				const end = Math.min(8, rows - base);
				for (let i = 0; i < end; i++) byte |= d[base + i] << i;
				levelBytes[p++] = byte;
			}
		}
		const values = rows - this.nulls;
		let uncompressed = 0;
		let dictionaryOffset: bigint | undefined;
		let encoding = 'PLAIN';
		let data: Uint8Array;
		const encodings: string[] = [];
		if (this.kind === K_TEXT && this.dict && values > 0) {
			// Dictionary page: the distinct values in first-seen order, PLAIN.
			dictionaryOffset = BigInt(sink.offset);
			// vals holds exactly the dictionary's entries, PLAIN, in first-seen order.
			const raw = this.vals.buf.subarray(0, this.vals.pos);
			const packed = compress(raw);
			const h0 = sink.offset;
			writePageHeader(
				sink as never,
				{
					type: 'DICTIONARY_PAGE',
					uncompressed_page_size: raw.length,
					compressed_page_size: packed.length,
					dictionary_page_header: { num_values: this.entries, encoding: 'PLAIN' },
				} as never,
			);
			uncompressed += sink.offset - h0 + raw.length;
			sink.appendBytes(packed);
			encodings.push('PLAIN');
			encoding = 'RLE_DICTIONARY';
			data = dictIndexes(this.idx, values, this.entries);
		} else data = this.vals.buf.subarray(0, this.vals.pos);
		encodings.push(encoding);
		const dataOffset = BigInt(sink.offset);
		const packed = compress(data);
		const h0 = sink.offset;
		writePageHeader(
			sink as never,
			{
				type: 'DATA_PAGE_V2',
				uncompressed_page_size: levelBytes.length + data.length,
				compressed_page_size: levelBytes.length + packed.length,
				data_page_header_v2: {
					num_values: rows,
					num_nulls: this.nulls,
					num_rows: rows,
					encoding,
					definition_levels_byte_length: levelBytes.length,
					repetition_levels_byte_length: 0,
					is_compressed: codec !== 'UNCOMPRESSED',
				},
			} as never,
		);
		uncompressed += sink.offset - h0 + levelBytes.length + data.length;
		sink.appendBytes(levelBytes);
		sink.appendBytes(packed);
		const encoding_stats = [{ page_type: 'DATA_PAGE_V2', encoding, count: 1 }];
		if (dictionaryOffset !== undefined)
			encoding_stats.unshift({ page_type: 'DICTIONARY_PAGE', encoding: 'PLAIN', count: 1 });
		return {
			chunk: {
				meta_data: {
					type: physical(type),
					encodings,
					path_in_schema: [name],
					codec,
					num_values: BigInt(rows),
					total_compressed_size: BigInt(sink.offset - start),
					total_uncompressed_size: BigInt(uncompressed),
					data_page_offset: dataOffset,
					dictionary_page_offset: dictionaryOffset,
					statistics: this.statistics(),
					encoding_stats,
				},
				file_offset: BigInt(start),
			},
			uncompressed,
		};
	}

	private statistics(): Record<string, unknown> {
		const null_count = BigInt(this.nulls);
		let min_value: unknown;
		let max_value: unknown;
		switch (this.kind) {
			case K_TEXT:
				if (this.has) {
					min_value = this.vals.buf.slice(this.minOff, this.minOff + this.minLen);
					max_value = this.vals.buf.slice(this.maxOff, this.maxOff + this.maxLen);
				}
				break;
			case K_INT64:
			case K_TS: {
				let lo = this.has ? BigInt(this.min) : this.bigMin;
				let hi = this.has ? BigInt(this.max) : this.bigMax;
				if (this.bigMin !== null && lo !== null && this.bigMin < lo) lo = this.bigMin;
				if (this.bigMax !== null && hi !== null && this.bigMax > hi) hi = this.bigMax;
				min_value = lo ?? undefined;
				max_value = hi ?? undefined;
				break;
			}
			case K_DOUBLE:
				if (this.has) {
					// Signed zero per the Parquet spec: a zero minimum is -0, a zero maximum +0.
					min_value = this.min === 0 ? -0 : this.min;
					max_value = this.max === 0 ? 0 : this.max;
				}
				return { min_value, max_value, null_count, nan_count: 0n };
			case K_BOOL:
				if (this.has) {
					min_value = this.min === 1;
					max_value = this.max === 1;
				}
				break;
			default:
				if (this.has) {
					min_value = this.min;
					max_value = this.max;
				}
		}
		return { min_value, max_value, null_count };
	}
}

const EMPTY = new Uint8Array(0);
const EMPTY_VIEW = new DataView(EMPTY.buffer);

function physical(type: ColumnType): string {
	switch (type) {
		case 'int64':
		case 'timestamp':
		case 'timestamp_local':
			return 'INT64';
		case 'double':
			return 'DOUBLE';
		case 'boolean':
			return 'BOOLEAN';
		case 'date':
			return 'INT32';
		default:
			return 'BYTE_ARRAY';
	}
}

/**
 * Unsigned lexicographic order of two byte ranges of one buffer (Parquet's BYTE_ARRAY order), 4 bytes at a time
 * (big-endian words compare as their bytes do).
 */
function compareBytes(v: DataView, a: number, an: number, c: number, cn: number): number {
	const n = Math.min(an, cn);
	let i = 0;
	for (; i + 4 <= n; i += 4) {
		const x = v.getUint32(a + i);
		const y = v.getUint32(c + i);
		if (x !== y) return x < y ? -1 : 1;
	}
	for (; i < n; i++) {
		const d = v.getUint8(a + i) - v.getUint8(c + i);
		if (d !== 0) return d;
	}
	return an - cn;
}

/**
 * The buffer dictIndexes writes into, reused from page to page: its result is compressed and written out before
 * the next page is encoded (a new buffer per page left tens of MB of garbage for V8 to find).
 */
const indexBytes = new Bytes(1 << 12);

/** RLE_DICTIONARY data: the bit width, then the indexes as RLE runs (8 or more equal) and bit-packed groups of 8. */
function dictIndexes(idx: Int32Array, n: number, entries: number): Uint8Array {
	const width = entries <= 1 ? 0 : 32 - Math.clz32(entries - 1);
	const out = indexBytes;
	out.pos = 0;
	out.ensure(16 + Math.ceil((n * Math.max(width, 1)) / 8) + Math.ceil(n / 8) * 2);
	out.buf[out.pos++] = width;
	const head: number[] = [];
	const put = (v: number) => {
		head.length = 0;
		varint(head, v);
		out.ensure(head.length);
		for (const x of head) out.buf[out.pos++] = x;
	};
	const valueBytes = (width + 7) >> 3;
	let i = 0;
	// Bit-packed groups waiting to be written (their start in idx and count of groups).
	let packStart = 0;
	let packGroups = 0;
	const flushPacked = () => {
		if (packGroups === 0) return;
		put(packGroups * 2 + 1);
		out.ensure(packGroups * width);
		const end = packStart + packGroups * 8;
		let acc = 0;
		let accBits = 0;
		for (let j = packStart; j < end; j++) {
			acc |= (j < n ? idx[j] : 0) << accBits;
			accBits += width;
			while (accBits >= 8) {
				out.buf[out.pos++] = acc & 0xff;
				acc >>>= 8;
				accBits -= 8;
			}
		}
		packGroups = 0;
	};
	while (i < n) {
		// An RLE run needs 8 equal values starting at a group boundary of the pending bit-packed run.
		let run = 1;
		const v = idx[i];
		while (i + run < n && idx[i + run] === v) run++;
		if (run >= 8) {
			flushPacked();
			put(run * 2);
			out.ensure(valueBytes);
			for (let b = 0; b < valueBytes; b++) out.buf[out.pos++] = (v >>> (8 * b)) & 0xff;
			i += run;
			packStart = i;
			continue;
		}
		// Take a group of 8 as bit-packed (the last group may run past n: padded with zeros, readers stop at n).
		if (packGroups === 0) packStart = i;
		packGroups++;
		i += 8;
		if (packGroups === 63) flushPacked(); // keep the header a single byte
	}
	flushPacked();
	return out.buf.subarray(0, out.pos);
}

export type Compress = (b: Uint8Array) => Uint8Array;

/** The compressor of a codec (snappy is ./snappy; gzip and zstd are Node's zlib). */
const uncompressed: Compress = (b) => b;

export function compressorOf(codec: CodecName, fns: Record<string, Compress>): Compress {
	if (codec === 'UNCOMPRESSED') return uncompressed;
	if (codec === 'SNAPPY') return snappyCompress;
	return fns[codec];
}

/** The encoders of one file's columns; `add` one row group at a time, then the caller writes the footer. */
export class RowGroupEncoder {
	readonly cols: ColumnEncoder[];
	/** The buffer fields come from, and a DataView of it (made again only when the buffer changes). */
	private src: Uint8Array = EMPTY;
	private srcView: DataView = EMPTY_VIEW;
	constructor(
		readonly names: string[],
		readonly types: ColumnType[],
	) {
		this.cols = types.map((t) => new ColumnEncoder(t));
	}

	reset(rows: number): void {
		for (const c of this.cols) c.reset(rows);
	}

	/**
	 * Adds field c of the current record: b[s, e), `kind` as splitRecord gave it. False when the value does not fit
	 * the column's type: the types a conversion is given may be speculated from a sample of the values
	 * (docs/parquet.md, "How the types are decided").
	 */
	field(c: number, b: Uint8Array, s: number, e: number, kind: number): boolean {
		const col = this.cols[c];
		if (s === e) {
			if (kind !== 0 && col.kind === K_TEXT) col.empty();
			else col.null();
			return true;
		}
		if (kind === ESCAPED && col.kind !== K_TEXT) {
			const u = unquoteField(b, s, e);
			return col.value(u, new DataView(u.buffer, u.byteOffset, u.length), 0, u.length, false);
		}
		if (b !== this.src) {
			this.src = b;
			this.srcView = new DataView(b.buffer, b.byteOffset, b.length);
		}
		return col.value(b, this.srcView, s, e, kind === ESCAPED);
	}

	/** Writes the row group's column chunks; returns its RowGroup metadata (hyparquet-writer's shape). */
	flush(sink: Sink, rows: number, codec: CodecName, compress: Compress): unknown {
		const start = sink.offset;
		const columns: unknown[] = [];
		let total = 0;
		for (let c = 0; c < this.cols.length; c++) {
			const r = this.cols[c].flush(sink, this.names[c], this.types[c], codec, compress) as {
				chunk: unknown;
				uncompressed: number;
			};
			columns.push(r.chunk);
			total += r.uncompressed;
		}
		return {
			columns,
			total_byte_size: BigInt(total),
			num_rows: BigInt(rows),
			total_compressed_size: BigInt(sink.offset - start),
		};
	}
}
