/**
 * Converts one partition's temporary CSV into a Parquet file, in a worker thread (bundled apart as
 * dist/parquet.js and loaded only when Parquet output is asked for, with the hyparquet-writer library).
 *
 * The CSV is streamed: at most one row group of it is in memory (`rowGroupRows` records, cut earlier so that a
 * group holds at most `rowGroupBytes` of CSV, at least one record). Row-group boundaries therefore depend only on
 * the partition's records, never on how the input was chunked, and the file is byte-identical for any worker count
 * and chunk size.
 */
import { closeSync, fdatasyncSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import * as zlib from 'node:zlib';
import { ByteWriter } from 'hyparquet-writer';
import { writeMetadata } from 'hyparquet-writer/src/metadata.js';
import { SpecialScanner } from '../specials';
import { stopRequested } from '../threadStop';
import { type CodecName, compressorOf, RowGroupEncoder } from './encode';
import { FieldSplitter, viewOf } from './fields';
import { readFooter, spliceFooters } from './footer';
import type { ColumnType } from './types';

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
	/**
	 * An append (docs/append.md): `dst` exists and gets this CSV's records as new row groups, written from where
	 * its footer begins (`at`, which the caller journaled with the footer), then a footer holding its old row groups
	 * and the new ones.
	 */
	append?: { at: number };
	/** fdatasync the Parquet file before returning (an append's files must be on disk before its manifest). */
	sync?: boolean;
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

function compressors(codec: ParquetCodec): { name: CodecName; fns: Record<string, (b: Uint8Array) => Uint8Array> } {
	switch (codec) {
		case 'snappy':
			return { name: 'SNAPPY', fns: {} }; // hyparquet-writer's
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

/** The worker's write buffer, reused from file to file (one per file left megabytes of garbage each). */
let shared: (ByteWriter & { index: number }) | null = null;

/**
 * A hyparquet-writer Writer that writes to a file descriptor from position `at` with synchronous writes (1 MB at a
 * time); its `offset` is the position in the file. The buffer is the worker's (files are converted one at a time).
 */
function fdWriter(fd: number, at: number): ByteWriter {
	shared ??= new ByteWriter(1 << 16) as ByteWriter & { index: number };
	const w = shared;
	w.index = 0;
	w.offset = at;
	let pos = at;
	const put = (b: Uint8Array) => {
		let off = 0;
		while (off < b.length) {
			const n = writeSync(fd, b, off, b.length - off, pos);
			off += n;
			pos += n;
		}
	};
	const flush = () => {
		put(new Uint8Array(w.buffer, 0, w.index));
		w.index = 0;
	};
	const grow = ByteWriter.prototype.ensure;
	w.ensure = (size: number) => {
		if (w.index > 1 << 20) flush();
		grow.call(w, size);
	};
	w.finish = flush;
	const append = ByteWriter.prototype.appendBytes;
	w.appendBytes = (b: Uint8Array) => {
		if (b.length < 1 << 16) return append.call(w, b);
		flush();
		put(b);
		w.offset += b.length;
	};
	return w;
}

let window: Buffer | null = null;

/**
 * The worker's WebAssembly scanner for the conversions (FieldSplitter), made at the first one: its own, small (a
 * window and its table), not the chunk processor's, whose memory phase 1 grew and which the worker lets go.
 */
let scanner: SpecialScanner | null | undefined;

/** The worker's encoder, reused from partition to partition of a run (same columns): no buffers per column per file. */
let cached: RowGroupEncoder | null = null;
function encoderFor(names: string[], types: ColumnType[]): RowGroupEncoder {
	const same = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);
	if (!cached || !same(cached.names, names) || !same(cached.types, types)) cached = new RowGroupEncoder(names, types);
	return cached;
}

export interface ConvertResult {
	rows: number;
	rowGroups: number;
}

/**
 * Converts `req.src` into `req.dst` (see the module comment). Stops with an error between two row groups once
 * `stop` is set (the pool is stopping: the run failed or was cancelled, and the file will not be used).
 */
export function convertPartition(req: ConvertRequest, stop?: Int32Array): ConvertResult {
	const n = req.columns.length;
	const codec = compressors(req.codec);
	const schema = [{ name: 'root', num_children: n }, ...req.columns.map((c, i) => schemaElement(c, req.types[i]))];
	const src = openSync(req.src, 'r');
	let dst = -1;
	try {
		dst = openSync(req.dst, req.append ? 'r+' : 'wx');
		// An append keeps the file's bytes up to its footer and its footer (to put back in front of the new one).
		const old = req.append ? readFooter(dst, req.dst) : null;
		if (old && old.at !== req.append?.at)
			throw new Error(`${req.dst}: its footer starts at ${old.at}, not at ${req.append?.at} as when it was journaled`);
		const writer = fdWriter(dst, old ? old.at : 0);
		if (!old) writer.appendUint32(0x31524150); // PAR1
		const encoder = encoderFor(req.columns, req.types);
		const compress = compressorOf(codec.name, codec.fns);
		const rowGroups: unknown[] = [];
		// One read window per worker, reused from partition to partition (5,000 small partitions must not each
		// allocate one), sized to the partition when it is small; grown only for a record larger than it.
		const want = Math.min(fstatSync(src).size + 1, req.rowGroupBytes * 2);
		if (!window || window.length < want || window.length > req.rowGroupBytes * 2)
			window = Buffer.allocUnsafe(Math.max(want, 1 << 16));
		let buf = window;
		let view = viewOf(buf);
		let filled = 0;
		let start = 0;
		let eof = false;
		let header = true;
		const bounds = new Int32Array(n * 2);
		const kinds = new Uint8Array(n);
		if (scanner === undefined) scanner = SpecialScanner.create();
		const splitter = new FieldSplitter(scanner, req.delimiter, n, bounds, kinds);
		let rows = 0;
		let groups = 0;
		const fill = () => {
			if (start > 0) {
				buf.copy(buf, 0, start, filled);
				filled -= start;
				start = 0;
			}
			splitter.reset(); // the bytes moved
			if (filled === buf.length) {
				const bigger = Buffer.allocUnsafe(buf.length * 2);
				buf.copy(bigger, 0, 0, filled);
				buf = bigger;
				view = viewOf(buf);
				window = bigger;
			}
			const got = readSync(src, buf, filled, buf.length - filled, null);
			if (got === 0) eof = true;
			filled += got;
		};
		for (;;) {
			if (stopRequested(stop)) throw new Error(`${req.dst}: stopped, the run is over`);
			// The next row group: each record is split once and its fields encoded at once (the encoder copies what
			// it keeps), so the window may be refilled between two records.
			encoder.reset(req.rowGroupRows);
			let groupRows = 0;
			let groupBytes = 0;
			let pos = start;
			while (groupRows < req.rowGroupRows) {
				const next = pos < filled ? splitter.split(buf, view, pos, filled) : -1;
				if (next < 0) {
					if (eof) break;
					start = pos;
					fill();
					pos = start;
					continue;
				}
				if (header) {
					header = false;
					start = pos = next;
					continue;
				}
				// The record that would take the group past its byte bound starts the next group (split again there).
				if (groupRows > 0 && groupBytes + (next - pos) > req.rowGroupBytes) break;
				for (let c = 0; c < n; c++) {
					// Cannot fail: the type was decided from every value. Never write a wrong value if it does.
					if (!encoder.field(c, buf, bounds[2 * c], bounds[2 * c + 1], kinds[c]))
						throw new Error(`${req.src}: a value no longer fits its column's type (${req.types[c]})`);
				}
				groupRows++;
				groupBytes += next - pos;
				pos = next;
			}
			start = pos;
			if (groupRows === 0) {
				if (pos < filled && eof) throw new Error(`${req.src}: the last record has no line ending`);
				break;
			}
			rowGroups.push(encoder.flush(writer, groupRows, codec.name, compress));
			rows += groupRows;
			groups++;
		}
		const meta = {
			version: 2,
			created_by: req.createdBy,
			schema,
			num_rows: BigInt(rows) + (old ? old.rows : 0n),
			row_groups: rowGroups,
		};
		if (old) {
			// The new footer with the new row groups only, then the old row groups' bytes spliced in front of them.
			const fresh = new ByteWriter(1 << 12) as ByteWriter & { index: number };
			writeMetadata(fresh, meta as never);
			const footer = spliceFooters(old.footer, new Uint8Array(fresh.buffer, 0, fresh.index - 4), req.dst);
			writer.appendBytes(footer);
			writer.appendUint32(footer.length);
		} else writeMetadata(writer, meta as never);
		writer.appendUint32(0x31524150); // PAR1
		writer.finish();
		if (req.sync) fdatasyncSync(dst);
		return { rows, rowGroups: groups };
	} finally {
		closeSync(src);
		if (dst >= 0) closeSync(dst);
	}
}
