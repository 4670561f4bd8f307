import type { ResourceLimits } from 'node:worker_threads';
import type { REJECTS_FILE } from '../rules';
import type { OutputFormat, ParquetCompression } from './parquet/options';
import type { ColumnType, ParquetTypesMode } from './parquet/types';

/** Where a configuration figure came from (README "Command line", `sources`). */
export type ConfigSource = 'detected' | 'fallback' | 'env' | 'setting' | 'flag';

export interface ConfigSources {
	workers: ConfigSource;
	chunkSize: ConfigSource;
}

/** What `extract` needs to know. Paths are absolute or relative to the process's cwd. */
export interface ExtractOptions {
	/** The CSV/TSV to read. Always read from disk, streamed. */
	input: string;
	/** Output folder; default `<input folder>/processed/<input name without extension>`. */
	outDir?: string;
	/**
	 * Partition specs (keys.ts): output (canonical) column names, `date(COL)`, `year(COL)`, `month(COL)`,
	 * `hour(COL)`, `hash(COL, N)`, each optionally `… as NAME`; default `['symbol']`.
	 */
	partitionBy?: string[];
	/** `flat` (default): `AAPL.csv`; `hive`: `symbol=AAPL/data.csv`. */
	layout?: 'flat' | 'hive';
	/** Hive layout: keep the partition columns in the files too (default: left out, the folders hold them). */
	keepPartitionColumns?: boolean;
	/** No file holds more than this many records; files are then numbered (`AAPL-00001.csv`, `part-00001.csv`). */
	maxRowsPerFile?: number | null;
	/** Write only these output columns (after mapping), in this order; default all. */
	columns?: string[] | null;
	/** Column mapping, canonical name -> source column name. */
	mapping?: Record<string, string>;
	/** Orders CSV selecting which partitions to keep; null/undefined = keep all. */
	ordersFile?: string | null;
	/** One-character delimiter; null/undefined = sniffed from `, ; TAB |`. */
	delimiter?: string | null;
	/** Worker threads (>= 1); required unless `pendingConfig` is given. */
	workers?: number;
	/** About this many records per chunk (>= 1); required unless `pendingConfig` is given. */
	chunkSize?: number;
	/** Where workers and chunkSize came from, recorded in the manifest. */
	configSources?: ConfigSources;
	/**
	 * Parquet conversions at a time (docs/parquet.md, "How a run works"); default `workers`. The CLI and VS Code pass
	 * the machine's figure (src/config/rules.ts deriveConversions) when the worker count is detected.
	 */
	conversions?: number;
	/**
	 * Workers, chunk size and their sources still being worked out (the CLI's system detection). Meanwhile extract
	 * opens the input, reads its header, prepares the output folder and starts one worker; the figures settled here
	 * take the place of `workers`, `chunkSize`, `configSources` and `conversions`.
	 */
	pendingConfig?: Promise<{ workers: number; chunkSize: number; configSources?: ConfigSources; conversions?: number }>;
	/**
	 * Replace an existing non-empty output folder that Sweep did not write; with `append`, append even though a
	 * partition file's size differs from the manifest.
	 */
	force?: boolean;
	/**
	 * Add this input's records to the existing Sweep output in `outDir`, in place, as one run over the earlier
	 * inputs followed by this one would (docs/append.md). The output's settings apply; options given must agree.
	 */
	append?: boolean;
	/** With `append`: append even though an input with the same SHA-256 is already listed in the manifest. */
	allowDuplicateInput?: boolean;
	/** Stop (exit 1) when more than this many records are rejected. */
	maxRejects?: number | null;
	/** Stop (exit 1) when more partitions than this appear; default 100,000. */
	maxPartitions?: number;
	/**
	 * CSV output: compress each partition file, `gzip` (`AAPL.csv.gz`), `zstd` (`AAPL.csv.zst`, needs Node 22.15+) or
	 * `none` (the default); the files decompress to exactly the bytes of an uncompressed run. Parquet output: the
	 * codec of the column chunks, `snappy` (the default), `zstd`, `gzip` or `none`.
	 */
	compress?: 'none' | 'gzip' | 'zstd' | 'snappy';
	/** The codec's level (gzip 1–9, default 6; zstd 1–19, default 3); null/undefined = the default. */
	compressLevel?: number | null;
	/** Stop on the first byte sequence that is not valid UTF-8 (default: pass it through unchanged). */
	strictUtf8?: boolean;
	/** Byte cap of one chunk (and so of one record); default 64 MiB. */
	maxChunkBytes?: number;
	/**
	 * Partition files kept open at once (the rest are reopened to append); default half the open-file limit, 512 to
	 * 8,192 (writer.ts `defaultMaxOpenFiles`), fewer if descriptors run out.
	 */
	maxOpenFiles?: number;
	/** Passed to each worker thread (tests use it to provoke an out-of-memory worker). */
	workerResourceLimits?: ResourceLimits;
	/** Worker entry to start instead of the bundled `worker.js` (tests start crashing fixtures). */
	workerScript?: string;
	/** Output format of the partitions; default 'csv'. */
	format?: OutputFormat;
	/** Parquet: decide each column's type over the run ('infer', default) or keep every value as text ('string'). */
	parquetTypes?: ParquetTypesMode;
}

/** Progress reported while a run goes on (throttled to a few per second). */
export interface ExtractProgress {
	bytesRead: number;
	totalBytes: number;
	rowsRead: number;
	partitions: number;
	elapsedMs: number;
}

/** Plain hooks in, so the engine never needs to know about VS Code. */
export interface ExtractHooks {
	signal?: AbortSignal;
	onProgress?: (progress: ExtractProgress) => void;
	/**
	 * Called once the run's own work is over (output committed, or cleaned up after a failure), before it waits for
	 * its threads to end: the coordinator thread counts its quiet time from here (threadStop.ts).
	 */
	onWorkDone?: () => void;
	/**
	 * Called the moment the run's output is committed — the new folder renamed into place, or an append's new manifest
	 * renamed over the old one — before the run cleans up (the old folder deleted, the threads ended). From then on the
	 * run is complete: a cancel no longer changes anything, and the promise resolves to the manifest. Passed between
	 * threads (a message from the coordinator), so the caller learns it as soon as its event loop turns.
	 */
	onCommitted?: () => void;
	/**
	 * Tests only (not passed between threads): called once every chunk is read, before the run waits for the input's
	 * SHA-256, so that a test can change the input in that window.
	 */
	beforeHash?: () => void | Promise<void>;
	/**
	 * Tests only: the bytes of records each worker classifies all the Parquet column types of before it speculates
	 * (WorkerInit.parquetSample; default PARQUET_SAMPLE_BYTES), so that a small file can hold values the sample
	 * does not see.
	 */
	parquetSampleBytes?: number;
}

/** Per-partition figures (the manifest, README "What extraction does"); a field is present only when its column exists. */
export interface PartitionStats {
	firstTimestamp?: string;
	lastTimestamp?: string;
	minPrice?: number;
	maxPrice?: number;
	quantity?: number;
	vwap?: number;
	/** Σ price × quantity and Σ quantity behind `vwap` (present with it), so that an append merges VWAP exactly. */
	notional?: number;
	pricedQuantity?: number;
}

export interface ManifestPartition {
	/** The key's values as strings (UTF-8; invalid bytes shown as U+FFFD, see keyHex). */
	key: string[];
	/** Hex of each value's bytes, present only when some value is not valid UTF-8. */
	keyHex?: string[];
	/** Path of its (first) file inside the output folder, with `/`, or null for an order key with no rows. */
	file: string | null;
	rows: number;
	/** Size of `file` in bytes when the run ended (an append refuses a file whose size differs). */
	bytes?: number;
	/** With `maxRowsPerFile`: every file of the partition, in record order, with its records and size. */
	files?: { file: string; rows: number; bytes?: number }[];
	stats: PartitionStats;
}

/** One input that went into an output, in the order they went in (the first run's, then each append's). */
export interface ManifestInput {
	path: string;
	/** Bytes on disk (compressed bytes for a compressed file). */
	bytes: number;
	/** Modification time of the input, ISO 8601. */
	mtime: string;
	/**
	 * Change time (ctime) of the input, ISO 8601: with the path, size and modification time, how an append knows the
	 * same file before reading it (sameFile.ts). Absent in manifests written by earlier versions.
	 */
	ctime?: string;
	/** SHA-256 of the input's bytes on disk, hex. */
	sha256: string;
	rowsRead: number;
	rowsWritten: number;
	rowsRejected: number;
	rowsFilteredOut: number;
	/** Rows of `_rejects.csv` from this input (they follow those of the inputs before it; lines are this file's). */
	rejects: number;
}

/** `_manifest.json` (README "What extraction does"). */
export interface Manifest {
	version: 1;
	source: {
		path: string;
		/** Bytes on disk (compressed bytes for a compressed file). */
		bytes: number;
		header: string[];
		delimiter: string;
		/** How the input was compressed (recognised by its first bytes); always written, absent in older manifests. */
		compression?: 'none' | 'gzip' | 'zstd';
		/** Bytes after decompression, for a compressed input. */
		decompressedBytes?: number;
	};
	/**
	 * How the partition files are written (`_rejects.csv` and `_manifest.json` are never compressed); always written,
	 * absent in older manifests.
	 */
	output?: { compression: 'none' | 'gzip' | 'zstd' | 'snappy'; compressionLevel: number | null };
	/** The columns of the partition files (after mapping, `columns` and, in hive layout, partition columns left out). */
	columns: string[];
	partitionBy: string[];
	/** Names of the partitions (the hive folder names). Always written; absent in manifests of older versions. */
	partitionNames?: string[];
	/** Always written; absent in manifests of older versions (which were flat). */
	layout?: 'flat' | 'hive';
	maxRowsPerFile?: number | null;
	/** The input's header after mapping (all its columns), which an appended file's must equal. */
	sourceColumns?: string[];
	/** `columns` as given (the selection), or null for all. */
	selectedColumns?: string[] | null;
	/** Hive layout: the partition columns kept in the files too. */
	keepPartitionColumns?: boolean;
	orders: null | {
		path: string;
		keys: number;
		/** SHA-256 of the distinct keys in order (an append refuses an orders file whose keys changed). */
		keysSha256?: string;
	};
	config: { workers: number; chunkSize: number; sources: { workers: ConfigSource; chunkSize: ConfigSource } };
	rowsRead: number;
	rowsWritten: number;
	rowsRejected: number;
	rowsFilteredOut: number;
	partitions: ManifestPartition[];
	rejects: typeof REJECTS_FILE | null;
	/** Size of `_rejects.csv` in bytes when the run ended, when there is one. */
	rejectsBytes?: number;
	/** Every input that went into this output, in order (an append adds one). */
	inputs?: ManifestInput[];
	/** The output's line ending (the first input's header's), given to a final record that has none. */
	eol?: '\n' | '\r\n';
	/** The column mapping in effect (canonical → source); an append uses it unless given another. */
	mapping?: Record<string, string>;
	/** `csv` or `parquet`; always written, absent in older manifests (which were CSV). */
	format?: 'csv' | 'parquet';
	/** Parquet output only: the type mode, the codec, the row-group size and each output column's Parquet type. */
	parquet?: {
		types: ParquetTypesMode;
		compression: ParquetCompression;
		rowGroupRows: number;
		rowGroupBytes: number;
		columns: { name: string; type: ColumnType }[];
	};
	startedAt: string;
	durationMs: number;
	/** Absolute output folder (not in the file; filled in for callers). */
	outDir?: string;
	/** Not in the file: what the run could not tidy up after its output was in place (e.g. a previous output
	 * that could not be removed completely), for callers to show as warnings. Absent when there is none. */
	warnings?: string[];
}

/** The header of a file, for pickers and previews. */
export interface HeaderInfo {
	header: string[];
	delimiter: string;
	/** Up to a few data records, each as field strings (for "sample value" hints). */
	sample: string[][];
}
