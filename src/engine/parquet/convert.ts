/**
 * Converts one partition's temporary CSV into a Parquet file, in a worker thread (bundled apart as
 * dist/parquet.js and loaded only when Parquet output is asked for, with the hyparquet-writer library).
 *
 * The CSV is streamed: at most one row group of it is in memory (`rowGroupRows` records, cut earlier so that a
 * group holds at most `rowGroupBytes` of CSV, at least one record). Row-group boundaries therefore depend only on
 * the partition's records, never on how the input was chunked, and the file is byte-identical for any worker count
 * and chunk size.
 */
import { closeSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import * as zlib from 'node:zlib';
import { ByteWriter, ParquetWriter } from 'hyparquet-writer';
import { ESCAPED, splitRecord, unquoteField } from './fields';
import { type ColumnType, parseBool, parseDate, parseDouble, parseTimestamp } from './types';

export type ParquetCodec = 'snappy' | 'zstd' | 'gzip' | 'none';

export interface ConvertRequest {
	/** The partition's temporary CSV (header line, then its records, each ending with LF). */
	src: string;
	/** The Parquet file to write (created; must not exist). */
	dst: string;
	delimiter: number;
	/** Column names (the output header's, as UTF-8 text) and their decided types. */
	columns: string[];
	types: ColumnType[];
	codec: ParquetCodec;
	rowGroupRows: number;
	rowGroupBytes: number;
	createdBy: string;
}

type SchemaElement = Record<string, unknown>;

/** The Parquet schema element of a column of the given type (all columns are OPTIONAL: empty fields are NULL). */
export function schemaElement(name: string, type: ColumnType): SchemaElement {
	const base = { name, repetition_type: 'OPTIONAL' };
	switch (type) {
		case 'int64':
			return { ...base, type: 'INT64' };
		case 'double':
			return { ...base, type: 'DOUBLE' };
		case 'boolean':
			return { ...base, type: 'BOOLEAN' };
		case 'date':
			return { ...base, type: 'INT32', converted_type: 'DATE', logical_type: { type: 'DATE' } };
		case 'timestamp':
			return {
				...base,
				type: 'INT64',
				converted_type: 'TIMESTAMP_MICROS',
				logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MICROS' },
			};
		case 'timestamp_local':
			return { ...base, type: 'INT64', logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: false, unit: 'MICROS' } };
		case 'string':
			return { ...base, type: 'BYTE_ARRAY', converted_type: 'UTF8', logical_type: { type: 'STRING' } };
		case 'binary':
			return { ...base, type: 'BYTE_ARRAY' };
	}
}

function compressors(codec: ParquetCodec): { name: string; fns: Record<string, (b: Uint8Array) => Uint8Array> } {
	switch (codec) {
		case 'snappy':
			return { name: 'SNAPPY', fns: {} }; // built into hyparquet-writer
		case 'none':
			return { name: 'UNCOMPRESSED', fns: {} };
		case 'gzip':
			return { name: 'GZIP', fns: { GZIP: (b) => zlib.gzipSync(b) } };
		case 'zstd': {
			const z = (zlib as unknown as { zstdCompressSync?: (b: Uint8Array) => Uint8Array }).zstdCompressSync;
			if (!z) throw new Error(`zstd needs Node 22.15 or later (this is Node ${process.versions.node})`);
			return { name: 'ZSTD', fns: { ZSTD: (b) => z(b) } };
		}
	}
}

/** A hyparquet-writer Writer that appends to a file descriptor with synchronous writes (1 MB at a time). */
function fdWriter(fd: number, initial: number): ByteWriter {
	const w = new ByteWriter(initial) as ByteWriter & { index: number };
	const flush = () => {
		let off = 0;
		while (off < w.index) off += writeSync(fd, new Uint8Array(w.buffer, off, w.index - off));
		w.index = 0;
	};
	const grow = ByteWriter.prototype.ensure;
	w.ensure = (size: number) => {
		if (w.index > 1 << 20) flush();
		grow.call(w, size);
	};
	w.finish = flush;
	return w;
}

/** Replaces every Uint8Array inside `o` by a copy (statistics must not keep views of the reused read window). */
function detach(o: unknown): void {
	if (!o || typeof o !== 'object') return;
	const rec = o as Record<string, unknown>;
	for (const k of Object.keys(rec)) {
		const v = rec[k];
		if (v instanceof Uint8Array) rec[k] = v.slice();
		else if (v && typeof v === 'object') detach(v);
	}
}

let window: Buffer | null = null;

export interface ConvertResult {
	rows: number;
	rowGroups: number;
}

/** Converts `req.src` into `req.dst` (see the module comment). */
export function convertPartition(req: ConvertRequest): ConvertResult {
	const n = req.columns.length;
	const codec = compressors(req.codec);
	const schema = [{ name: 'root', num_children: n }, ...req.columns.map((c, i) => schemaElement(c, req.types[i]))];
	const src = openSync(req.src, 'r');
	let dst = -1;
	try {
		dst = openSync(req.dst, 'wx');
		const writer = new ParquetWriter({
			writer: fdWriter(dst, Math.min(1 << 20, Math.max(1 << 12, fstatSync(src).size))),
			schema: schema as never,
			codec: codec.name as never,
			compressors: codec.fns as never,
			createdBy: req.createdBy,
		});
		// One read window per worker, reused from partition to partition (5,000 small partitions must not each
		// allocate one), sized to the partition when it is small; grown only for a record larger than it.
		const want = Math.min(fstatSync(src).size + 1, req.rowGroupBytes * 2);
		if (!window || window.length < want || window.length > req.rowGroupBytes * 2)
			window = Buffer.allocUnsafe(Math.max(want, 1 << 16));
		let buf = window;
		let filled = 0;
		let start = 0;
		let eof = false;
		let header = true;
		const bounds = new Int32Array(n * 2);
		const kinds = new Uint8Array(n);
		const starts: number[] = [];
		let rows = 0;
		let groups = 0;
		const fill = () => {
			if (start > 0) {
				buf.copy(buf, 0, start, filled);
				filled -= start;
				start = 0;
			}
			if (filled === buf.length) {
				const bigger = Buffer.allocUnsafe(buf.length * 2);
				buf.copy(bigger, 0, 0, filled);
				buf = bigger;
				window = bigger;
			}
			const got = readSync(src, buf, filled, buf.length - filled, null);
			if (got === 0) eof = true;
			filled += got;
		};
		for (;;) {
			// Collect the next row group's records: [starts[k], starts[k+1]) of buf.
			starts.length = 0;
			let pos = start;
			let groupBytes = 0;
			while (starts.length < req.rowGroupRows) {
				const next = pos < filled ? splitRecord(buf, pos, filled, req.delimiter, n, bounds, kinds) : -1;
				if (next < 0) {
					if (eof) break;
					// Keep the group's bytes: rebase the offsets collected so far, then read more.
					const shift = start;
					fill();
					for (let k = 0; k < starts.length; k++) starts[k] -= shift;
					pos -= shift;
					continue;
				}
				if (header) {
					header = false;
					start = pos = next;
					continue;
				}
				if (starts.length > 0 && groupBytes + (next - pos) > req.rowGroupBytes) break;
				starts.push(pos);
				groupBytes += next - pos;
				pos = next;
			}
			if (starts.length === 0) {
				if (pos < filled && eof) throw new Error(`${req.src}: the last record has no line ending`);
				break;
			}
			starts.push(pos);
			writeGroup(writer, buf, starts, req, bounds, kinds);
			rows += starts.length - 1;
			groups++;
			start = pos;
		}
		writer.finish();
		return { rows, rowGroups: groups };
	} finally {
		closeSync(src);
		if (dst >= 0) closeSync(dst);
	}
}

/** Parses the records [starts[k], starts[k+1]) into columns and writes them as one row group. */
function writeGroup(
	writer: ParquetWriter,
	buf: Buffer,
	starts: number[],
	req: ConvertRequest,
	bounds: Int32Array,
	kinds: Uint8Array,
): void {
	const n = req.columns.length;
	const rows = starts.length - 1;
	const data: unknown[][] = req.columns.map(() => new Array(rows));
	for (let r = 0; r < rows; r++) {
		splitRecord(buf, starts[r], starts[r + 1], req.delimiter, n, bounds, kinds);
		for (let c = 0; c < n; c++) {
			const s = bounds[2 * c];
			const e = bounds[2 * c + 1];
			const kind = kinds[c];
			const col = data[c];
			const type = req.types[c];
			if (type === 'string') {
				// Valid UTF-8 (else the column would be binary), so decoding and re-encoding gives back the same bytes;
				// a JS string costs far less memory and time in the writer than a view per value.
				// An empty unquoted field is NULL; `""` is the empty string.
				if (s === e) col[r] = kind === 0 ? null : '';
				else {
					const t = buf.toString('utf8', s, e);
					col[r] = kind === ESCAPED ? t.replaceAll('""', '"') : t;
				}
				continue;
			}
			if (type === 'binary') {
				col[r] =
					s === e ? (kind === 0 ? null : EMPTY) : kind === ESCAPED ? unquoteField(buf, s, e) : buf.subarray(s, e);
				continue;
			}
			if (s === e) {
				col[r] = null;
				continue;
			}
			const b: Uint8Array = kind === ESCAPED ? unquoteField(buf, s, e) : buf;
			const vs = kind === ESCAPED ? 0 : s;
			const ve = kind === ESCAPED ? b.length : e;
			const v = typedValue(type, b, vs, ve);
			// Cannot happen: the type was decided from every value. Never write a wrong value if it does.
			if (v === null) throw new Error(`${req.src}: a value no longer fits its column's type (${type})`);
			col[r] = v;
		}
	}
	const columnData = req.columns.map((name, c) => ({ name, data: data[c] as never }));
	const w = writer as unknown as { row_groups: unknown[] };
	const before = w.row_groups.length;
	writer.write({ columnData, rowGroupSize: rows });
	for (let g = before; g < w.row_groups.length; g++) detach(w.row_groups[g]);
}

const EMPTY = new Uint8Array(0);

function typedValue(type: ColumnType, b: Uint8Array, s: number, e: number): unknown {
	switch (type) {
		case 'int64': {
			const len = e - s;
			if (len <= 15) {
				let v = 0;
				let i = s;
				const neg = b[i] === 0x2d;
				if (neg) i++;
				for (; i < e; i++) v = v * 10 + (b[i] - 0x30);
				return BigInt(neg ? -v : v);
			}
			return BigInt(Buffer.from(b.buffer, b.byteOffset + s, len).toString('latin1'));
		}
		case 'double':
			return parseDouble(b, s, e);
		case 'boolean':
			return parseBool(b, s, e);
		case 'date':
			return parseDate(b, s, e);
		case 'timestamp':
		case 'timestamp_local': {
			const t = parseTimestamp(b, s, e);
			if (!t || t.zoned !== (type === 'timestamp')) return null;
			// One BigInt where the microsecond count is exact as a double (years 1685-2255), else exact BigInt arithmetic.
			const us = t.ms * 1000 + t.micros;
			return Number.isSafeInteger(us) ? BigInt(us) : BigInt(t.ms) * 1000n + BigInt(t.micros);
		}
		default:
			throw new Error(`unexpected column type ${type}`);
	}
}
