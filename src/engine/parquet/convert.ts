/**
 * Converts one partition's temporary CSV into a Parquet file, in a worker thread (bundled apart as
 * dist/parquet.js and loaded only when Parquet output is asked for, with the hyparquet-writer library).
 *
 * The CSV is streamed: at most one row group of it is in memory (`rowGroupRows` records, cut earlier so that a
 * group holds at most `rowGroupBytes` of CSV, at least one record). Row-group boundaries therefore depend only on
 * the partition's records, never on how the input was chunked, and the file is byte-identical for any worker count
 * and chunk size.
 */
import { closeSync, fdatasyncSync, fstatSync, openSync, readSync, unlinkSync, writeSync } from 'node:fs';
import * as zlib from 'node:zlib';
import { ByteWriter } from 'hyparquet-writer';
import { writeMetadata } from 'hyparquet-writer/src/metadata.js';
import { nodeHasZstd } from '../../rules/compression';
import { SpecialScanner } from '../specials';
import { stopRequested } from '../threadStop';
import { type CodecName, compressorOf, RowGroupEncoder } from './encode';
import { FieldSplitter, viewOf } from './fields';
import { prependRowGroups, type RowGroupBytes, readFooter, rowGroupsOf, spliceFooters } from './footer';
import { type ColumnType, classifyField, newClassification } from './types';

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
	/**
	 * The types were speculated from a sample of the values (docs/parquet.md, "How the types are decided"): a value
	 * that does not fit its column's type ends the conversion with `misfit` (the file removed) instead of failing.
	 */
	speculative?: boolean;
	/** Classify every value instead of converting (classifyPartition): `dst`, the types and the codec are unused. */
	classify?: boolean;
	/** Bytes of `src` read at a time (default READ_WINDOW; tests). */
	readWindow?: number;
	/** Column chunks whose metadata is held as objects before it is encoded (default METADATA_OBJECTS; tests). */
	metadataObjects?: number;
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

const gzip = (b: Uint8Array): Uint8Array => zlib.gzipSync(b);
const zstd = (b: Uint8Array): Uint8Array =>
	(zlib as unknown as { zstdCompressSync: (b: Uint8Array) => Uint8Array }).zstdCompressSync(b);

/** The codec's name and function (the same functions for every file: see FdSink). */
function compressors(codec: ParquetCodec): { name: CodecName; fns: Record<string, (b: Uint8Array) => Uint8Array> } {
	switch (codec) {
		case 'snappy':
			return { name: 'SNAPPY', fns: {} }; // Sweep's (encode.ts)
		case 'none':
			return { name: 'UNCOMPRESSED', fns: {} };
		case 'gzip':
			return { name: 'GZIP', fns: { GZIP: gzip } };
		case 'zstd':
			if (!nodeHasZstd(zlib)) throw new Error(`zstd needs Node 22.15 or later (this is Node ${process.versions.node})`);
			return { name: 'ZSTD', fns: { ZSTD: zstd } };
	}
}

/**
 * A hyparquet-writer Writer that writes to a file descriptor from a position with synchronous writes (1 MB at a
 * time); its `offset` is the position in the file. One per worker, reused from file to file (one per file left
 * megabytes of garbage each; files are converted one at a time). Its methods are the class's, not closures made per
 * file: the optimized conversion loop calls the same functions from file to file (a closure per file made V8 throw
 * that code away at every file, "wrong call target").
 */
class FdSink extends ByteWriter {
	declare index: number;
	private fd = -1;
	private pos = 0;
	constructor() {
		super(1 << 16);
	}

	/** Starts a file: writes go to `fd` from `at`. */
	open(fd: number, at: number): this {
		this.fd = fd;
		this.index = 0;
		this.offset = at;
		this.pos = at;
		return this;
	}

	private put(b: Uint8Array): void {
		let off = 0;
		while (off < b.length) {
			const n = writeSync(this.fd, b, off, b.length - off, this.pos);
			off += n;
			this.pos += n;
		}
	}

	override finish(): void {
		this.put(new Uint8Array(this.buffer, 0, this.index));
		this.index = 0;
	}

	override ensure(size: number): void {
		if (this.index > 1 << 20) this.finish();
		super.ensure(size);
	}

	override appendBytes(b: Uint8Array): void {
		if (b.length < 1 << 16) {
			super.appendBytes(b);
			return;
		}
		this.finish();
		this.put(b);
		this.offset += b.length;
	}
}

let sink: FdSink | null = null;

/**
 * The worker's WebAssembly scanner for the conversions (FieldSplitter), made at the first one: its own, small (a
 * window and its table), not the chunk processor's, whose memory phase 1 grew and which the worker lets go.
 */
let scanner: SpecialScanner | null | undefined;

/**
 * The read window over a partition's temporary CSV: one per worker, reused from partition to partition (5,000 small
 * partitions must not each allocate one), READ_WINDOW bytes or the partition's size when smaller; grown only for a
 * record larger than it. A class rather than closures per file, for the same reason as FdSink.
 */
/**
 * Bytes of a temporary CSV a conversion reads at a time. The encoder copies what it keeps, so the window need not
 * hold a row group (it held two, 8 MB, until 2026-12-02): each page of a fresh buffer costs a page fault, which on
 * the benchmark's VM takes about 17 µs (docs/parquet.md, "Page faults"), and the smaller window saved a fresh
 * conversion worker some 3,800 of them. The files are byte-for-byte the same.
 */
const READ_WINDOW = 1 << 20;

class CsvWindow {
	buf: Buffer = Buffer.alloc(0);
	view: DataView = viewOf(this.buf);
	fd = -1;
	filled = 0;
	/** Where the current record starts (the caller moves it past each record it has taken). */
	at = 0;
	eof = false;
	splitter: FieldSplitter = null as unknown as FieldSplitter;
	/** The current record's fields: start and end of field c at [2c], [2c + 1], and its kind (fields.ts) at [c]. */
	bounds = new Int32Array(0);
	kinds = new Uint8Array(0);

	/**
	 * Starts a partition's temporary CSV, open at `fd`, of `columns` fields a record, through a window of `size` bytes
	 * (at least 64 KB); its header line is skipped.
	 */
	open(fd: number, columns: number, delimiter: number, size = READ_WINDOW): void {
		const want = Math.min(fstatSync(fd).size + 1, size);
		if (this.buf.length < want || this.buf.length > size) {
			this.buf = Buffer.allocUnsafe(Math.max(want, 1 << 16));
			this.view = viewOf(this.buf);
		}
		if (this.kinds.length !== columns) {
			this.bounds = new Int32Array(columns * 2);
			this.kinds = new Uint8Array(columns);
		}
		if (scanner === undefined) scanner = SpecialScanner.create();
		this.splitter = new FieldSplitter(scanner, delimiter, columns, this.bounds, this.kinds);
		this.fd = fd;
		this.filled = 0;
		this.at = 0;
		this.eof = false;
		const header = this.next();
		if (header >= 0) this.at = header;
	}

	/**
	 * Splits the record at `at` into the splitter's bounds and returns where it ends, reading more of the file when
	 * the window holds only part of it (which moves it to the front: `at` moves with it); -1 at the end of the file.
	 */
	next(): number {
		for (;;) {
			const end = this.at < this.filled ? this.splitter.split(this.buf, this.view, this.at, this.filled) : -1;
			if (end >= 0 || this.eof) return end;
			this.fill();
		}
	}

	/** Moves the bytes from `at` on to the front (growing the window if it is full) and reads more after them. */
	private fill(): void {
		let buf = this.buf;
		if (this.at > 0) {
			buf.copy(buf, 0, this.at, this.filled);
			this.filled -= this.at;
			this.at = 0;
		}
		this.splitter.reset(); // the bytes moved
		if (this.filled === buf.length) {
			const bigger = Buffer.allocUnsafe(buf.length * 2);
			buf.copy(bigger, 0, 0, this.filled);
			buf = bigger;
			this.buf = bigger;
			this.view = viewOf(bigger);
		}
		const got = readSync(this.fd, buf, this.filled, buf.length - this.filled, null);
		if (got === 0) this.eof = true;
		this.filled += got;
	}

	/** After next() gave -1: bytes left that no line ending closes. */
	get unterminated(): boolean {
		return this.at < this.filled;
	}
}

const window = new CsvWindow();

/**
 * Column chunks whose metadata a conversion keeps as objects before it encodes them (Thrift, as the footer will hold
 * them): a wide file's footer metadata grows by row groups × columns, and as objects it took about 2.7 KB a chunk
 * (10,000 columns, 311 MB: 2.2 GB). Files of the usual width never reach it, so their footers are written as before.
 */
const METADATA_OBJECTS = 16_384;

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
	/** A speculative conversion met a value that does not fit its column's type (the file is removed). */
	misfit?: { column: number };
}

/**
 * Classifies every value of `src` (a partition's temporary CSV; of the request only `src`, `delimiter` and `columns`
 * are used), as phase 1 classifies a chunk's fields (parquet/infer.ts, without the UTF-8 test, which phase 1 made on
 * every chunk): after a speculated type proved wrong, the run decides its types from every value
 * (docs/parquet.md, "How the types are decided"). Streams the file through the worker's read window.
 */
export function classifyPartition(req: ConvertRequest, stop?: Int32Array): Int32Array {
	const n = req.columns.length;
	const cls = newClassification(n);
	const src = openSync(req.src, 'r');
	try {
		const w = window;
		w.open(src, n, req.delimiter, req.readWindow);
		const bounds = w.bounds;
		for (let records = 0; ; records++) {
			if ((records & 0xffff) === 0 && stopRequested(stop)) throw new Error(`${req.src}: stopped, the run is over`);
			const end = w.next();
			if (end < 0) break;
			for (let c = 0; c < n; c++)
				if (bounds[2 * c] !== bounds[2 * c + 1]) classifyField(cls, c, w.buf, bounds[2 * c], bounds[2 * c + 1]);
			w.at = end;
		}
		if (w.unterminated) throw new Error(`${req.src}: the last record has no line ending`);
		return cls;
	} finally {
		closeSync(src);
	}
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
		sink ??= new FdSink();
		const writer = sink.open(dst, old ? old.at : 0);
		if (!old) writer.appendUint32(0x31524150); // PAR1
		const encoder = encoderFor(req.columns, req.types);
		const compress = compressorOf(codec.name, codec.fns);
		let rowGroups: unknown[] = [];
		// Row groups whose metadata is encoded already (a wide file's), in order, before those in rowGroups.
		const encoded: Uint8Array[] = [];
		let encodedCount = 0;
		const footerOf = (groups: unknown[], rowCount: bigint): Uint8Array => {
			const out = new ByteWriter(1 << 12) as ByteWriter & { index: number };
			writeMetadata(out, {
				version: 2,
				created_by: req.createdBy,
				schema,
				num_rows: rowCount,
				row_groups: groups,
			} as never);
			return new Uint8Array(out.buffer, 0, out.index - 4); // without the length writeMetadata appends
		};
		const w = window;
		w.open(src, n, req.delimiter, req.readWindow);
		const { bounds, kinds } = w;
		let rows = 0;
		let groups = 0;
		for (;;) {
			if (stopRequested(stop)) throw new Error(`${req.dst}: stopped, the run is over`);
			// The next row group: each record is split once and its fields encoded at once (the encoder copies what
			// it keeps), so the window may be refilled between two records.
			encoder.reset(req.rowGroupRows);
			let groupRows = 0;
			let groupBytes = 0;
			while (groupRows < req.rowGroupRows) {
				const end = w.next();
				if (end < 0) break;
				// The record that would take the group past its byte bound starts the next group (split again there).
				if (groupRows > 0 && groupBytes + (end - w.at) > req.rowGroupBytes) break;
				const buf = w.buf;
				for (let c = 0; c < n; c++) {
					if (encoder.field(c, buf, bounds[2 * c], bounds[2 * c + 1], kinds[c])) continue;
					// Speculated types: the caller decides them from every value and converts again (nothing is kept).
					if (req.speculative && !req.append) {
						closeSync(dst);
						dst = -1;
						unlinkSync(req.dst);
						return { rows: 0, rowGroups: 0, misfit: { column: c } };
					}
					// Types decided from every value: cannot happen. Never write a wrong value if it does.
					throw new Error(`${req.src}: a value no longer fits its column's type (${req.types[c]})`);
				}
				groupRows++;
				groupBytes += end - w.at;
				w.at = end;
			}
			if (groupRows === 0) {
				if (w.unterminated) throw new Error(`${req.src}: the last record has no line ending`);
				break;
			}
			rowGroups.push(encoder.flush(writer, groupRows, codec.name, compress));
			rows += groupRows;
			groups++;
			if (rowGroups.length * n >= (req.metadataObjects ?? METADATA_OBJECTS)) {
				encoded.push(Buffer.from(rowGroupsOf(footerOf(rowGroups, 0n), req.dst).bytes));
				encodedCount += rowGroups.length;
				rowGroups = [];
			}
		}
		const meta = {
			version: 2,
			created_by: req.createdBy,
			schema,
			num_rows: BigInt(rows) + (old ? old.rows : 0n),
			row_groups: rowGroups,
		};
		if (old || encodedCount > 0) {
			// The footer of the row groups still held as objects, with those encoded before (a wide file's) spliced in
			// front of them, and in front of all, an append's old row groups.
			let footer = footerOf(rowGroups, meta.num_rows);
			const before: RowGroupBytes = { bytes: Buffer.concat(encoded), count: encodedCount };
			if (encodedCount > 0) footer = prependRowGroups(footer, before, req.dst);
			if (old) footer = spliceFooters(old.footer, footer, req.dst);
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
