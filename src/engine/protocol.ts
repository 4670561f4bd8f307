/**
 * Messages between the pool (main thread) and a worker. Both sides import these types, so a change to the
 * protocol is a compile error on whichever side forgot it.
 *
 * Handshake: the worker gets its `WorkerInit` as `workerData` (or, started early, in an `InitMessage` before any
 * task) and needs no reply. Then, per chunk, one
 * `ChunkTask` in and exactly one `ChunkDone` or `ChunkFailed` out. Chunk bytes travel as transferred
 * ArrayBuffers both ways (no copies across threads).
 */

import type { ColumnType } from './parquet/types';
import type { StopMessage } from './threadStop';

/** Everything a worker needs to process any chunk of this run. Plain data (structured-cloned once). */
export interface WorkerInit {
	/** Set when the pool stops its workers (threadStop.ts); the pool fills it in. */
	stop?: Int32Array;
	/** Delimiter byte. */
	delimiter: number;
	/** Fields every record must have (the header's). */
	fieldCount: number;
	/**
	 * Field index of each partition column, what the key takes from it (an index into keys.ts KEY_KINDS: 0 the
	 * value, 1 date, 2 year, 3 month, 4 hour, 5 hash) and, for hash, the number of buckets.
	 */
	keyColumns: { index: number; kind: number; buckets: number; name: string }[];
	/**
	 * `[first, last]` field index pairs of the runs of adjacent fields each record is written as (outputColumns.ts),
	 * or null to write records whole.
	 */
	runs: number[] | null;
	/** Return where each written record ends (for files capped at a number of records). */
	recordEnds: boolean;
	/**
	 * The worker writes its own partition bytes (positioned writes): it keeps each chunk's `data` until the
	 * coordinator's `WriteTask` says where each partition's region goes, writes it there, and answers `Written`.
	 * False when the coordinator writes (files capped at a number of records: it cuts them at record ends).
	 */
	writeOwn?: boolean;
	/** Field indexes of the stats columns, -1 when absent. */
	timestampIndex: number;
	priceIndex: number;
	quantityIndex: number;
	/** Encoded keys (see keys.ts) to keep, or null to keep everything. */
	orders: string[] | null;
	strictUtf8: boolean;
	/** Line ending appended to a final record that has none (the header's). */
	eol: string;
	/** Compress each partition's region of a chunk as its own gzip member / zstd frame; null for plain output. */
	compress: { codec: 'gzip' | 'zstd'; level: number } | null;
	/**
	 * Parquet output: classify every written field for type inference (ChunkDone.types). Absent for CSV output.
	 * In 'string' mode only invalid UTF-8 is looked for.
	 */
	parquetTypes?: 'infer' | 'string';
	/**
	 * With `parquetTypes: 'infer'`: classify the types of every column only until this worker has classified this
	 * many bytes of records, then only the columns it has seen no value of (the conversion proves the types decided
	 * from that sample: docs/parquet.md). Absent: classify every value (an append).
	 */
	parquetSample?: number;
	/**
	 * An append to a Parquet output: the output's column types, which its new values must fit. A chunk holding a value
	 * that does not fit one names the first record in it that does (ChunkDone.misfit), so that the error can give the
	 * line — the same one for any chunk size and worker count.
	 */
	parquetFit?: ColumnType[];
	/** Fields of each written record (fewer than `fieldCount` with a column selection or the hive layout). */
	outputFieldCount: number;
}

export interface ChunkTask {
	type: 'chunk';
	seq: number;
	/** The chunk in `bytes[offset, offset + length)`: whole records only, transferred (and returned in ChunkDone.input). */
	bytes: ArrayBuffer;
	offset: number;
	length: number;
	/** Empty buffers for the worker to reuse for its results (transferred). */
	spare: ArrayBuffer[];
	/** True for the file's last chunk (its last record may lack a line ending or be an unterminated quote). */
	isLast: boolean;
	/**
	 * A plain input's chunks are read by the workers (chunkReader.ts readOwnChunk): the worker reads this chunk from
	 * file descriptor `fd` into a buffer it keeps, `bytes` is empty and `offset`, `length` and `isLast` are ignored
	 * (ChunkDone.input comes back empty). Absent when the coordinator read the chunk (one worker, a compressed input).
	 */
	read?: import('./chunkReader').OwnChunkSpec & { fd: number };
}

/** Numbers for one partition in one chunk; merged across chunks on the main thread. */
export interface ChunkStats {
	/** Byte strings (latin1) of the first and last `timestamp` value, when that column exists. */
	firstTimestamp: string | null;
	lastTimestamp: string | null;
	minPrice: number | null;
	maxPrice: number | null;
	quantity: number | null;
	/** Σ price × quantity and Σ quantity over records where both parse, for VWAP. */
	notional: number;
	pricedQuantity: number;
}

export interface BucketResult {
	/** Encoded key (keys.ts) and its parts as byte strings. */
	key: string;
	parts: string[];
	/** This partition's records, back to back, at [offset, offset + length) of `ChunkDone.data`. */
	offset: number;
	length: number;
	rows: number;
	/** With `WorkerInit.recordEnds`: this partition's record ends (offsets in `data`) start here in `recordEnds`. */
	endsAt: number;
	stats: ChunkStats;
}

export interface RejectResult {
	/** Line within the chunk: 0 for the chunk's first line (the main thread knows where the chunk starts). */
	line: number;
	reason: string;
	/** The record's bytes without its line ending, at [start, end) of `ChunkDone.rejectData`. */
	start: number;
	end: number;
}

/** The first written record of a chunk holding a value that does not fit its column's type (WorkerInit.parquetFit). */
export interface ChunkMisfit {
	/** Line breaks before the record in its chunk (the chunk's first line is 0): the coordinator adds the chunk's line. */
	line: number;
	/** The first output column of that record whose value does not fit. */
	column: number;
	/** That value as text (cut short: at most 40 characters), and whether its bytes are valid UTF-8. */
	value: string;
	utf8: boolean;
}

/**
 * A chunk's rejected records, in order, as a table rather than an object each (a file whose every line is rejected
 * sent about a million objects a second through the structured clone, and the coordinator could not keep up):
 * `table` is an Int32Array of REJECT_FIELDS entries a reject — its line within the chunk, the start and end of its
 * bytes in `ChunkDone.rejectData`, its reason's index in `reasons`. `rejectAt` reads one.
 */
export interface Rejects {
	count: number;
	table: ArrayBuffer;
	reasons: string[];
}

export const REJECT_FIELDS = 4;

export function rejectAt(r: Rejects, i: number): RejectResult {
	const t = new Int32Array(r.table, i * REJECT_FIELDS * 4, REJECT_FIELDS);
	return { line: t[0], start: t[1], end: t[2], reason: r.reasons[t[3]] };
}

export interface ChunkDone {
	type: 'done';
	seq: number;
	/** Set by the pool: the index of the worker that holds this chunk's data (with `WorkerInit.writeOwn`). */
	worker?: number;
	/** The task's chunk buffer, handed back for reuse. */
	input: ArrayBuffer;
	/**
	 * Partition bytes (see BucketResult offsets); may be larger than what is used. Empty with `WorkerInit.writeOwn`:
	 * the worker keeps them until the chunk's `WriteTask`.
	 */
	data: ArrayBuffer;
	/** In order of first appearance within the chunk. */
	buckets: BucketResult[];
	rejectData: ArrayBuffer;
	rejects: Rejects;
	/** With `WorkerInit.recordEnds`: an Int32Array of record end offsets in `data`, grouped by bucket; else null. */
	recordEnds: ArrayBuffer | null;
	rowsRead: number;
	rowsFilteredOut: number;
	/** Line breaks in the chunk, so the main thread can number the next chunk's lines. */
	lines: number;
	/** With WorkerInit.parquetTypes: the classification (parquet/types.ts) of this chunk's written fields. */
	types?: Int32Array;
	/** With WorkerInit.parquetFit, when a value of this chunk does not fit its column's type: the first (typeMisfit.ts). */
	misfit?: ChunkMisfit;
	/**
	 * A chunk the worker read itself (ChunkTask.read): where it is, in `input` and in the file; `start` -1 when the
	 * guessed start found no line break. `tooLarge`: the record at `start` does not end within the byte cap (nothing
	 * else is set then).
	 */
	own?: { offset: number; length: number; start: number; end: number; tooLarge: boolean };
}

/** Convert one partition's temporary CSV into Parquet (parquet/convert.ts). */
export interface ParquetTask {
	type: 'parquet';
	request: import('./parquet/convert').ConvertRequest;
}

export interface ParquetDone {
	type: 'parquet-done';
	rows: number;
	rowGroups: number;
	/** A speculative conversion met a value its column's type does not fit (convert.ts ConvertResult). */
	misfit?: { column: number };
	/** A classification task's answer (convert.ts classifyPartition). */
	classes?: Int32Array;
}

/** A conversion that failed; an I/O error keeps its code, syscall and path. */
export interface ParquetFailed {
	type: 'parquet-failed';
	message: string;
	code?: string;
	syscall?: string;
	path?: string;
	stack?: string;
}

/**
 * With `WorkerInit.writeOwn`, sent (in commit order) to the worker holding chunk `seq`'s data once the
 * coordinator has reserved each partition's byte range: `targets` holds quadruples (start in the chunk's data,
 * length, file descriptor, file position), one per bucket, or per piece of a bucket cut over capped files. The
 * worker writes each of those byte ranges there and answers `Written`; after the chunk's
 * `last` task its data buffer is free again (a chunk's writes may come in several tasks when more files than may
 * be open at once are involved). Descriptors are process-wide: the coordinator opened them and keeps them open
 * until every write to them is answered.
 */
export interface WriteTask {
	type: 'write';
	/** Answered by the `Written` with the same id. */
	id: number;
	seq: number;
	targets: number[];
	last: boolean;
}

/** A `WriteTask`'s regions are written. */
export interface Written {
	type: 'written';
	id: number;
}

/** Writing a `WriteTask`'s regions failed; an I/O error keeps its code and syscall. */
export interface WriteFailed {
	type: 'write-failed';
	id: number;
	message: string;
	code?: string;
	syscall?: string;
	stack?: string;
}

/**
 * A worker started before the run's columns are known (the pool starts its first one while the header is read) has
 * only its stop flag as `workerData`, and gets its WorkerInit in this message, before any task.
 */
export interface InitMessage {
	type: 'init';
	init: WorkerInit;
}

/** `workerData` of a worker started before its WorkerInit was known. */
export interface DeferredInit {
	deferred: true;
	stop: Int32Array;
}

export type ToWorker = ChunkTask | ParquetTask | WriteTask | InitMessage | StopMessage;

export interface ChunkFailed {
	type: 'failed';
	seq: number;
	/** An engine error code when the failure is about the data (e.g. 'invalid-utf8'), else undefined. */
	code?: 'invalid-utf8' | 'file-changed';
	message: string;
	/** Line within the chunk (0 for its first line). */
	line?: number;
	/** A chunk the worker read itself: the file offset it started at (the line above counts from there). */
	start?: number;
	stack?: string;
}

export type FromWorker = ChunkDone | ChunkFailed | ParquetDone | ParquetFailed | Written | WriteFailed;
