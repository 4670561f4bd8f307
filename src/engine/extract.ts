import { isUtf8 } from 'node:buffer';
import { constants, type Stats } from 'node:fs';
import { type FileHandle, open, realpath, stat, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import {
	type Checked,
	COMPRESSION_SUFFIX,
	DEFAULT_MAX_PARTITIONS,
	DEFAULT_PARTITION_BY,
	type Layout,
	MANIFEST_FILE,
	MANIFEST_NEXT_FILE,
	MAX_RECORD_BYTES,
	outputStem,
	type ParquetCompression,
	parseColumnList,
	parseCompression,
	parseCount,
	parseLayout,
	parseOutputFormat,
	parseParquetCompression,
	parseParquetTypes,
	REJECTS_FILE,
	refusal,
	show,
	withoutCompressionSuffix,
	zstdOutputProblem,
} from '../rules';
import {
	type AppendBase,
	appendDelimiterMismatch,
	appendSettings,
	checkAppendColumns,
	checkAppendSpace,
	duplicateError,
	earlierInput,
	openAppendTarget,
	ordersSha256,
} from './append';
import { BufferPool } from './bufferPool';
import {
	type Chunk,
	chunkTarget,
	lineAt,
	type OwnChunkSpec,
	readChunks,
	recordTooLarge,
	TARGET_SAMPLE,
} from './chunkReader';
import { compressBlock, hasNativeZstd, type OutputCompression, outputCompression } from './compression';
import { bytesOf, formatHeader, LF, normalizeDelimiter, QUOTE } from './dialect';
import {
	abortedError,
	emptyInput,
	isPseudoFile,
	notRegular,
	pseudoInput,
	SweepError,
	type SweepErrorCode,
} from './errors';
import { type ChunkHasher, type FileHash, hashChunks } from './hasher';
import { type ColumnPlan, type FileHead, planColumns, readHead } from './header';
import { AppendJournal, hasJournal, recoverAppend, UndoIncomplete, undoAdvice, writeDurably } from './journal';
import { encodeKey } from './keys';
import { MAX_PARTS, PartitionNamer, partitionFile } from './layout';
import { loadOrders, type Orders } from './orders';
import { type OutputColumns, planOutputColumns } from './outputColumns';
import {
	commitOutput,
	describeFsError,
	discardOutput,
	type OutputPlan,
	prepareOutput,
	readFilesOf,
	recoverStale,
} from './outputFolder';
import { readFooterTail } from './parquet/footer';
import { PARQUET_SAMPLE_BYTES, ROW_GROUP_BYTES, ROW_GROUP_ROWS } from './parquet/options';
import { convertAll, TEMP_CSV } from './parquet/phase';
import {
	type ColumnType,
	decideTypes,
	fitsType,
	mergeClassification,
	newClassification,
	type ParquetTypesMode,
} from './parquet/types';
import { ChunkLineError, WorkerPool } from './pool';
import {
	type BucketResult,
	type ChunkDone,
	type ChunkStats,
	REJECT_FIELDS,
	type Rejects,
	rejectAt,
	type WorkerInit,
} from './protocol';
import { acquireRunLock, type RunLock } from './runLock';
import { fileChange, stampOf } from './sameFile';
import { type InputSource, openSource } from './source';
import type {
	ConfigSources,
	ExtractHooks,
	ExtractOptions,
	Manifest,
	ManifestInput,
	ManifestPartition,
	PartitionStats,
} from './types';
import { defaultMaxOpenFiles, PartitionWriter } from './writer';

/**
 * `<input folder>/processed/<input name without extension>` (`trades.csv.gz` → `processed/trades`). Always in the
 * input's own folder, and never `.`, `..` or empty: a name that would leave nothing (`.gz`, `..csv`) is kept whole
 * as far as it would (`n/.gz` → `n/processed/.gz`, not the parent's `processed/n`).
 */
export function defaultOutDir(input: string): string {
	const abs = path.resolve(input);
	return path.join(path.dirname(abs), 'processed', outputStem(path.basename(abs)));
}

/**
 * Extension of the partition files: the input's (without a compression suffix; `.csv` and `.tsv` in lower case, any
 * other as it is, none gives `.csv`), then the output's compression's.
 */
function partitionExtension(input: string, out: OutputCompression | null): string {
	const ext = path.extname(withoutCompressionSuffix(input));
	const lower = ext.toLowerCase();
	const base = lower === '.tsv' || lower === '.csv' ? lower : ext || '.csv';
	return base + COMPRESSION_SUFFIX[out?.codec ?? 'none'];
}

/**
 * An append's partition extension: its first input's, unless the output's files have that extension in another case
 * (`A.CSV`: written before `.csv` was lower-cased), which new partitions then take too.
 */
function appendExtension(m: Manifest, out: OutputCompression | null): string {
	const ext = partitionExtension(m.source.path, out);
	const file = m.partitions.find((p) => p.file !== null)?.file;
	return file?.toLowerCase().endsWith(ext) ? file.slice(file.length - ext.length) : ext;
}

interface PartitionState {
	parts: string[];
	/** Flat base name or hive folder path (layout.ts). */
	stem: string;
	/** Its files so far (one unless capped), in order, and their sizes at the end; `id` is the writer's id of the last. */
	files: { file: string; rows: number; bytes: number }[];
	/** The writer's id of its last file; -1 for an existing Parquet file this append has not written to yet. */
	id: number;
	rows: number;
	stats: ChunkStats;
}

/** A partition key from the manifest as the engine's byte strings (keys.ts). */
function partsOf(p: ManifestPartition): string[] {
	return p.keyHex
		? p.keyHex.map((h) => Buffer.from(h, 'hex').toString('latin1'))
		: p.key.map((k) => Buffer.from(k, 'utf8').toString('latin1'));
}

/** A partition's stats from the manifest, to merge an append's into (the raw sums keep VWAP exact). */
function statsFrom(s: PartitionStats): ChunkStats {
	const bytes = (t: string | undefined) => (t === undefined ? null : Buffer.from(t, 'utf8').toString('latin1'));
	return {
		firstTimestamp: bytes(s.firstTimestamp),
		lastTimestamp: bytes(s.lastTimestamp),
		minPrice: s.minPrice ?? null,
		maxPrice: s.maxPrice ?? null,
		quantity: s.quantity ?? null,
		notional: s.notional ?? 0,
		pricedQuantity: s.pricedQuantity ?? 0,
	};
}

/** The value of an option its rule accepted; a refused one is a usage error in the rule's words. */
function checked<T>(what: string, value: unknown, rule: Checked<T>): T {
	if (!rule.ok) throw new SweepError('usage', refusal(what, show(value), rule.problem));
	return rule.value;
}

/** A count option by the counts rule (src/rules); a refused one is a usage error in the rule's words. */
function count(value: unknown, what: string, min: 0 | 1): number {
	return checked(what, value, parseCount(value, min));
}

/** Text of a byte string (see keys.ts) for people, and whether its bytes were valid UTF-8. */
function textOf(byteString: string): { text: string; valid: boolean } {
	// ASCII bytes are their own UTF-8 text (most keys and timestamps: the manifest of 1,500 partitions took 25–35 ms
	// of the run's serial end with a buffer and a decoding per value).
	if (ASCII.test(byteString)) return { text: byteString, valid: true };
	const bytes = Buffer.from(byteString, 'latin1');
	return { text: bytes.toString('utf8'), valid: isUtf8(bytes) };
}

const ASCII = /^[\x00-\x7f]*$/;

function mergeStats(into: ChunkStats, s: ChunkStats): void {
	if (into.firstTimestamp === null) into.firstTimestamp = s.firstTimestamp;
	if (s.lastTimestamp !== null) into.lastTimestamp = s.lastTimestamp;
	if (s.minPrice !== null && (into.minPrice === null || s.minPrice < into.minPrice)) into.minPrice = s.minPrice;
	if (s.maxPrice !== null && (into.maxPrice === null || s.maxPrice > into.maxPrice)) into.maxPrice = s.maxPrice;
	if (s.quantity !== null) into.quantity = (into.quantity ?? 0) + s.quantity;
	into.notional += s.notional;
	into.pricedQuantity += s.pricedQuantity;
}

const emptyStats = (): ChunkStats => ({
	firstTimestamp: null,
	lastTimestamp: null,
	minPrice: null,
	maxPrice: null,
	quantity: null,
	notional: 0,
	pricedQuantity: 0,
});

/**
 * The `_rejects.csv` lines of a chunk's rejects (`line,reason,raw`: the raw text always quoted, its bytes kept, each
 * quote doubled), written into one buffer. One line used to take half a dozen small Buffers, and a file whose every
 * line is rejected (blank lines, a wrong delimiter) ran at 0.2 MB/s with the coordinator thread busy allocating.
 */
function rejectLines(rejects: Rejects, raw: Buffer, startLine: number): Buffer {
	// Each reason's part (`,"reason",` in UTF-8), once.
	const reasons = rejects.reasons.map((r) => Buffer.from(`,"${r.replaceAll('"', '""')}",`, 'utf8'));
	const t = new Int32Array(rejects.table);
	let size = 0;
	for (let at = 0; at < t.length; at += REJECT_FIELDS)
		size += 16 + reasons[t[at + 3]].length + 2 * (t[at + 2] - t[at + 1]) + 3;
	const out = Buffer.allocUnsafe(size);
	let o = 0;
	for (let at = 0; at < t.length; at += REJECT_FIELDS) {
		o += out.write(String(startLine + t[at]), o, 'latin1');
		o += reasons[t[at + 3]].copy(out, o);
		out[o++] = QUOTE;
		for (let i = t[at + 1], end = t[at + 2]; i < end; i++) {
			const c = raw[i];
			out[o++] = c;
			if (c === QUOTE) out[o++] = QUOTE;
		}
		out[o++] = QUOTE;
		out[o++] = LF;
	}
	return out.subarray(0, o);
}

/** Workers and chunk size of a run, and where they came from. */
interface Figures {
	workers: number;
	chunkSize: number;
	configSources?: ConfigSources;
	/** Parquet conversions at a time (default: the workers). */
	conversions?: number;
}

/** {@link ExtractOptions} with every default filled in and every value checked by its rule (src/rules). */
export interface ExtractSettings {
	/** Absolute path of the input. */
	input: string;
	outDir: string;
	partitionBy: readonly string[];
	mapping: Readonly<Record<string, string>>;
	ordersFile: string | null;
	/** The delimiter given, or null to sniff it. */
	delimiter: string | null;
	/** The figures, or a promise of them (the CLI's detection, settled while the run starts). */
	figures: Figures | Promise<Figures>;
	force: boolean;
	maxRejects: number | null;
	maxPartitions: number;
	strictUtf8: boolean;
	maxChunkBytes: number;
	maxOpenFiles: number;
	/** How partition files are compressed (the compression rules, src/rules/compression.ts); null for plain. */
	compress: OutputCompression | null;
	layout: Layout;
	keepPartitionColumns: boolean;
	maxRowsPerFile: number | null;
	columns: readonly string[] | null;
	workerResourceLimits?: ExtractOptions['workerResourceLimits'];
	workerScript?: string;
	append: boolean;
	allowDuplicateInput: boolean;
	/** Parquet output (docs/parquet.md), or null for CSV. */
	parquet: { types: ParquetTypesMode; codec: ParquetCompression } | null;
}

/**
 * Fills in and checks extract()'s options before anything is opened: a value its rule refuses is a usage error in
 * the rule's words (the CLI and the settings reader refuse the same values, see docs/rules.md).
 */
export function normalizeExtractOptions(options: ExtractOptions): ExtractSettings {
	let figures: Figures | Promise<Figures>;
	if (options.pendingConfig) {
		figures = options.pendingConfig.then(checkFigures);
		figures.catch(() => undefined); // a rejection is reported where it is awaited, not as an unhandled one
	} else {
		const { workers, chunkSize, configSources, conversions } = options;
		figures = checkFigures({ workers: workers as number, chunkSize: chunkSize as number, configSources, conversions });
	}
	const input = path.resolve(options.input);
	const layout = checked('layout', options.layout, parseLayout(options.layout));
	return {
		input,
		outDir: options.outDir ?? defaultOutDir(input),
		partitionBy: options.partitionBy && options.partitionBy.length > 0 ? options.partitionBy : DEFAULT_PARTITION_BY,
		mapping: options.mapping ?? {},
		ordersFile: options.ordersFile || null,
		delimiter: normalizeDelimiter(options.delimiter),
		figures,
		force: options.force ?? false,
		maxRejects: options.maxRejects == null ? null : count(options.maxRejects, 'maxRejects', 0),
		maxPartitions:
			options.maxPartitions == null ? DEFAULT_MAX_PARTITIONS : count(options.maxPartitions, 'maxPartitions', 1),
		strictUtf8: options.strictUtf8 ?? false,
		// Tests lower the cap; nothing may raise it past 512 MB.
		maxChunkBytes: Math.min(options.maxChunkBytes ?? MAX_RECORD_BYTES, 512 * 1024 * 1024),
		maxOpenFiles: options.maxOpenFiles ?? defaultMaxOpenFiles(),
		...formatOptions(options),
		layout,
		keepPartitionColumns: options.keepPartitionColumns ?? false,
		maxRowsPerFile: options.maxRowsPerFile == null ? null : count(options.maxRowsPerFile, 'maxRowsPerFile', 1),
		columns: checked('columns', options.columns, parseColumnList(options.columns)),
		workerResourceLimits: options.workerResourceLimits,
		workerScript: options.workerScript,
		append: options.append ?? false,
		allowDuplicateInput: options.allowDuplicateInput ?? false,
	};
}

/**
 * The output format and compression of a run: for CSV, `compress` / `compressLevel` by the compression rules (null:
 * plain); for Parquet, `compress` is the column chunks' codec (default snappy) and a level is refused. Bad values
 * are usage errors (exit 2).
 */
function formatOptions(options: ExtractOptions): Pick<ExtractSettings, 'compress' | 'parquet'> {
	const format = checked('format', options.format, parseOutputFormat(options.format));
	// An append without a format takes the output's, and its codec is checked against the output's (append.ts):
	// `snappy` is then not refused as a CSV codec here (these settings give way to the output's).
	const parquetOnly = parseParquetCompression(options.compress).ok && !parseCompression(options.compress).ok;
	if (options.append && options.format === undefined && parquetOnly) return { compress: null, parquet: null };
	if (format === 'csv') return { compress: outputCompression(options.compress, options.compressLevel), parquet: null };
	const types = checked('parquetTypes', options.parquetTypes, parseParquetTypes(options.parquetTypes));
	const codec = checked('compress', options.compress, parseParquetCompression(options.compress));
	if (options.compressLevel != null) {
		throw new SweepError('usage', 'A compression level applies only to CSV output (not with Parquet).');
	}
	if (codec === 'zstd' && !hasNativeZstd()) throw new SweepError('usage', `${zstdOutputProblem(process.version)}.`);
	return { compress: null, parquet: { types, codec } };
}

/** Parquet columns need distinct, non-empty names (a CSV header may repeat or leave them empty). */
function checkParquetColumns(columns: string[], input: string): void {
	const seen = new Set<string>();
	columns.forEach((c, i) => {
		if (c === '')
			throw new SweepError(
				'bad-header',
				`Parquet output needs a name for every column; column ${i + 1} of ${input} has none (leave it out with --columns).`,
				{ file: input, line: 1 },
			);
		if (seen.has(c))
			throw new SweepError(
				'bad-header',
				`Parquet output needs distinct column names; ${JSON.stringify(c)} appears twice in the header of ${input} (leave those columns out with --columns).`,
				{ file: input, line: 1 },
			);
		seen.add(c);
	});
}

function checkFigures(f: Figures): Figures {
	return {
		workers: count(f.workers, 'workers', 1),
		chunkSize: count(f.chunkSize, 'chunkSize', 1),
		configSources: f.configSources,
		conversions: f.conversions == null ? undefined : count(f.conversions, 'conversions', 1),
	};
}

/**
 * Extracts the partitions of a CSV file (README "What extraction does"): streams it from disk in chunks through a
 * pool of worker threads, writes one file per partition plus `_manifest.json` and `_rejects.csv` into a temporary
 * sibling of the output folder, and puts it in place only when everything succeeded. Resolves to the manifest.
 *
 * Output is byte-identical for any worker count and chunk size: chunks are committed strictly in file order,
 * and within a chunk the worker keeps each partition's records in source order.
 */
export async function extract(options: ExtractOptions, hooks: ExtractHooks = {}): Promise<Manifest> {
	const started = Date.now();
	let o = normalizeExtractOptions(options);
	const { signal } = hooks;
	if (signal?.aborted) throw abortedError();
	const { fh, st } = await openInput(o.input);
	let outPlan: OutputPlan | undefined;
	let source: InputSource | undefined;
	/** An append: the folder's run lock, held from before the checks to the end, and its journal once begun. */
	let appendLock: { lock: RunLock; warnings: string[] } | null = null;
	let journal: AppendJournal | null = null;
	let committed = false;
	let hasher: ChunkHasher | undefined;
	let pool: WorkerPool | undefined;
	try {
		let appendTo: AppendBase | null = null;
		let delimiterGiven: string | null = null;
		if (o.append) {
			appendLock = await lockForAppend(o.outDir, o.input);
			appendTo = await openAppendTarget(appendLock.lock.outDir, o.input, o.force);
			delimiterGiven = o.delimiter;
			o = { ...o, ...appendSettings(appendTo, options, o.delimiter) };
			if (!o.allowDuplicateInput) {
				const same = earlierInput(appendTo, { path: o.input, stamp: stampOf(st) });
				if (same) throw duplicateError(o.input, appendTo, same);
			}
		}
		source = await openSource(o.input, fh, st.size);
		// The pool's first worker starts now, so that its start-up overlaps reading the header (for a compressed file,
		// the decompression thread's start-up too); it gets its WorkerInit once the columns are known (configure).
		pool = new WorkerPool({
			size: o.figures instanceof Promise ? 1 : o.figures.workers,
			init: null,
			script: o.workerScript,
			resourceLimits: o.workerResourceLimits,
		});
		const head = await readHead(source, source.size, o.input, o.delimiter, o.maxChunkBytes);
		source.headDone();
		let plan: ColumnPlan;
		try {
			plan = planColumns(head.rawNames, o.mapping, o.partitionBy, o.input);
			if (appendTo) checkAppendColumns(appendTo, o.input, plan, null);
		} catch (e) {
			// An append of a file in another delimiter: that is what to name, not a column (README "Appending").
			const other =
				appendTo && delimiterGiven === null ? appendDelimiterMismatch(appendTo, o.input, head.sample) : null;
			throw other ?? e;
		}
		if (o.strictUtf8 && head.names.some((n, i) => bytesOf(n) !== head.rawNames[i])) {
			throw new SweepError('invalid-utf8', `${o.input}: the header (line 1) holds bytes that are not valid UTF-8.`, {
				file: o.input,
				line: 1,
			});
		}
		const output = planOutputColumns(plan.rawColumns, plan.keySpecs, {
			columns: o.columns,
			layout: o.layout,
			keepPartitionColumns: o.keepPartitionColumns,
			file: o.input,
		});
		const orders = o.ordersFile ? await loadOrders(o.ordersFile, o.mapping, plan.keySpecs, signal) : null;
		if (o.parquet)
			checkParquetColumns(
				output.rawNames.map((n) => textOf(n).text),
				o.input,
			);
		if (signal?.aborted) throw abortedError();
		if (appendTo) checkAppendColumns(appendTo, o.input, plan, orders);
		// An appended file's last record, if it lacks a line ending, gets the output's (the first input's header's).
		const eol = appendTo ? appendTo.manifest.eol : head.eol;
		const init: WorkerInit = {
			delimiter: head.delimiter.charCodeAt(0),
			fieldCount: head.names.length,
			keyColumns: plan.keyColumns,
			runs: output.runs,
			recordEnds: o.maxRowsPerFile !== null,
			// Workers write their own bytes, at ranges the coordinator reserves (capped files: a range per piece, cut at
			// the record ends the worker reports), except compressed capped files: the coordinator compresses and
			// writes those pieces once it knows where they are cut.
			writeOwn: o.maxRowsPerFile === null || o.compress === null,
			timestampIndex: plan.timestampIndex,
			priceIndex: plan.priceIndex,
			quantityIndex: plan.quantityIndex,
			orders: orders ? orders.keys : null,
			strictUtf8: o.strictUtf8,
			eol,
			compress: o.compress,
			parquetTypes: o.parquet?.types,
			// Types speculated from a sample and proven by the conversion (docs/parquet.md); an append checks every
			// value against the output's types first, so it classifies them all.
			...(o.parquet?.types === 'infer' && !appendTo
				? { parquetSample: hooks.parquetSampleBytes ?? PARQUET_SAMPLE_BYTES }
				: {}),
			// An append to a Parquet output: its values must fit the output's types, and the first that does not is named.
			...(o.parquet && appendTo?.manifest.parquet
				? { parquetFit: appendTo.manifest.parquet.columns.map((c) => c.type) }
				: {}),
			outputFieldCount: output.rawNames.length,
		};
		// The pool's one owner: destroyed as soon as the pipeline is over, before the manifest is written (or, on a
		// failure before the pipeline, in `finally`).
		pool.configure(init);
		let figures: Figures;
		let run: PipelineResult;
		let writeDir: string;
		try {
			if (appendTo) {
				await checkAppendSpace(appendTo.outDir, outputEstimate(source, head.dataStart, o.compress));
				if (signal?.aborted) throw abortedError();
				// An append writes in place; its journal (fsynced before the first byte) makes it all or nothing.
				writeDir = appendTo.outDir;
				journal = await AppendJournal.begin(appendTo.outDir, appendTo.manifestSha256, appendTo.sizes);
			} else {
				outPlan = await prepareOutput(o.outDir, {
					force: o.force,
					input: o.input,
					inputBytes: outputEstimate(source, head.dataStart, o.compress),
					reads: orders ? [o.input, orders.path] : [o.input],
				});
				writeDir = outPlan.tmpDir;
			}
			// The input's SHA-256 (of its bytes on disk), in a thread of its own that reads what is committed; a
			// compressed file's decompression thread takes it as it reads (source.ts fileHash).
			if (source.compression === 'none') hasher = hashChunks(fh.fd);
			if (signal?.aborted) throw abortedError();
			// A cancel does not wait for the system detection (it can take a second or two on a busy machine), and no
			// worker is started once cancelled.
			figures = await abortable(Promise.resolve(o.figures), signal);
			pool.grow(figures.workers);
			const args = {
				pool,
				source,
				size: st.size,
				head,
				plan,
				output,
				init,
				writeDir,
				o,
				figures,
				hooks,
				started,
				base: appendTo,
				journal,
				...(appendLock ? { owned: appendLock.lock.stillHeld } : {}),
				hasher: hasher ?? null,
				// With one worker the coordinator reads (its reads then overlap the worker's work: measured 4% faster).
				readFd: source.compression === 'none' && figures.workers > 1 ? fh.fd : null,
			};
			run = await runPipeline(args);
			hasher?.finish(run.contentBytes);
		} catch (e) {
			// The hashing thread stops too, at the same time (its result is no longer wanted).
			await Promise.all([pool.destroy(), hasher?.stop()]);
			throw e;
		}
		// The workers are idle: they end by themselves (threadStop.ts) while the manifest is written and committed
		// (`finally` waits for them).
		void pool.destroy();
		await hooks.beforeHash?.();
		const hash: FileHash | null = hasher ? await abortable(hasher.result, signal) : source.fileHash();
		// Only now: the hashing thread reads the file again after the workers, so a change made while it lagged
		// behind them would put into the manifest the hash of bytes that were never partitioned (and an append
		// would then take the same file twice).
		await checkUnchanged(fh, o.input, st, appendTo !== null);
		if (hash === null) throw new Error(`internal: no SHA-256 of ${o.input} after reading it`);
		if (hash.bytes !== st.size) {
			throw new SweepError(
				'file-changed',
				`${o.input} changed while it was read (it shrank); run again once it is complete.`,
				{ file: o.input },
			);
		}
		if (appendTo && !o.allowDuplicateInput) {
			const same = earlierInput(appendTo, { sha256: hash.sha256 });
			if (same) throw duplicateError(o.input, appendTo, same);
		}
		const manifest = buildManifest({
			o,
			size: st.size,
			head,
			plan,
			output,
			orders,
			figures,
			started,
			run,
			source,
			eol,
			base: appendTo?.manifest ?? null,
			entry: {
				path: o.input,
				...stampOf(st),
				sha256: hash.sha256,
				rowsRead: run.rowsRead,
				rowsWritten: run.rowsWritten,
				rowsRejected: run.rowsRejected,
				rowsFilteredOut: run.rowsFilteredOut,
				rejects: run.rowsRejected,
			},
		});
		const text = `${JSON.stringify(manifest, null, 2)}\n`;
		if (signal?.aborted) throw abortedError();
		if (appendTo && journal && appendLock) {
			if (!appendLock.lock.stillHeld()) throw lockLost(appendTo.outDir);
			// The commit: the new manifest replaces the old one in one rename, once every appended byte is on disk.
			await writeDurably(appendTo.outDir, MANIFEST_FILE, MANIFEST_NEXT_FILE, text);
			committed = true;
			tellCommitted(hooks);
			// If the journal cannot be removed now, the next run sees the new manifest and only removes it.
			await journal.finish().catch(() => undefined);
			const warnings = [...appendLock.warnings, ...headWarnings(head.rawNames, o.input)];
			return warnings.length > 0
				? { ...manifest, outDir: appendTo.outDir, warnings }
				: { ...manifest, outDir: appendTo.outDir };
		}
		if (!outPlan) throw new Error('internal: no output plan');
		await writeFile(path.join(outPlan.tmpDir, MANIFEST_FILE), text);
		if (signal?.aborted) throw abortedError();
		const warnings = [
			...(await commitOutput(outPlan, () => tellCommitted(hooks))),
			...headWarnings(head.rawNames, o.input),
		];
		return warnings.length > 0
			? { ...manifest, outDir: outPlan.outDir, warnings }
			: { ...manifest, outDir: outPlan.outDir };
	} catch (e) {
		// A file that changed while it was read usually looks truncated, corrupt or malformed (a huge record, invalid
		// UTF-8, rejects): say what happened instead.
		const changed =
			e instanceof SweepError && CONTENT_ERRORS.has(e.code)
				? await checkUnchanged(fh, o.input, st, o.append).then(
						() => null,
						(c: unknown) => c,
					)
				: null;
		// An append whose lock was taken over leaves the folder to the run that took it, which undid this one from its
		// journal (and may have appended and committed since): undoing now would cut that run's files.
		if (journal && !committed && appendLock && !appendLock.lock.stillHeld()) throw lockLost(appendLock.lock.outDir);
		if (journal && !committed) await rollBack(journal, path.resolve(o.outDir), changed ?? e);
		else if (outPlan) await discardOutput(outPlan);
		else if (!journal) throw changed ?? e;
		if (signal?.aborted) throw abortedError();
		throw wrapIoError(changed ?? e, o.append, path.resolve(o.outDir));
	} finally {
		hooks.onWorkDone?.();
		await pool?.destroy();
		await hasher?.stop();
		await source?.close();
		await fh.close();
		appendLock?.lock.release();
	}
}

/** Calls ExtractHooks.onCommitted: the output is committed, and nothing the hook does can undo that. */
function tellCommitted(hooks: ExtractHooks): void {
	try {
		hooks.onCommitted?.();
	} catch {
		// The run is complete whatever the caller's hook does.
	}
}

/**
 * What the header suggests about a file read the wrong way. A carriage return inside a header name (a CR not
 * followed by LF is data, README "What extraction does") usually means line endings of a lone CR (classic Mac):
 * then the whole file is one line, the header, and the run reads 0 rows.
 */
function headWarnings(rawNames: readonly string[], input: string): string[] {
	if (!rawNames.some((n) => n.includes('\r'))) return [];
	return [
		`${input}: the header (line 1) holds a carriage return (CR) that is not followed by a line feed; if the file's ` +
			"lines end in CR alone (classic Mac), Sweep reads it as one line: convert them to LF first (e.g. tr '\\r' '\\n').",
	];
}

/**
 * Takes the run lock of an append's output folder (runLock.ts), then finishes what an interrupted earlier run left
 * there: temporary folders of a killed extract, and a killed append (undone from its journal, or completed if its
 * manifest was already in place) — before anything else looks at the folder.
 */
async function lockForAppend(outDirGiven: string, input: string): Promise<{ lock: RunLock; warnings: string[] }> {
	const outDir = path.resolve(outDirGiven);
	const parent = path.dirname(outDir);
	if (
		!(await stat(parent).then(
			(p) => p.isDirectory(),
			() => false,
		))
	) {
		throw new SweepError(
			'output-invalid',
			`Cannot append: the output folder ${outDir} does not exist (run without --append first).`,
			{ file: outDir },
		);
	}
	const lock = acquireRunLock(outDir);
	const warnings: string[] = [];
	try {
		await recoverStale(parent, path.basename(outDir), outDir, await readFilesOf([input]), warnings);
		if (await hasJournal(outDir)) await recoverAppend(outDir);
	} catch (e) {
		lock.release();
		if (e instanceof UndoIncomplete) {
			// Nothing was written by this run; appending to a folder that is half put back would mix two states.
			throw new SweepError(
				'output-modified',
				`Cannot append to ${outDir}: an earlier append to it was stopped and could not be undone completely: ${e.message}. ${undoAdvice(e)}`,
				{ file: e.files[0] ?? outDir, cause: e },
			);
		}
		throw e;
	}
	return { lock, warnings };
}

/** The error of an append that finds its run lock taken over (runLock.ts): it stops, touching nothing more. */
function lockLost(outDir: string): SweepError {
	return new SweepError(
		'lock-lost',
		`Another run took over the output folder ${outDir} while this append was stopped for more than 10 s (on another machine or in another container); this append stopped and left the folder to that run, which undid it.`,
		{ file: outDir },
	);
}

/**
 * Undoes a failed append; if even that fails, the journal stays and the message says which files could not be put
 * back and what to do (the next run on the folder finishes the undo once they can be written).
 */
async function rollBack(journal: AppendJournal, outDir: string, cause: unknown): Promise<void> {
	try {
		await journal.rollback();
	} catch (e) {
		// What stopped the append, without the words that say the output is as it was (it is not).
		let first: string;
		if (cause instanceof SweepError && cause.code === 'aborted') first = 'The append was cancelled.';
		else if (cause instanceof SweepError && cause.code === 'file-changed')
			first = `${cause.details.file ?? 'The input'} changed while it was read.`;
		else
			first = (ioProblem(cause) ?? (cause instanceof Error ? cause.message : String(cause)))
				.replace('; the output was put back as it was.', '.')
				.replace(/\.?$/, '.');
		const why =
			e instanceof UndoIncomplete
				? `${e.message}. ${undoAdvice(e)}`
				: `${e instanceof Error ? (ioProblem(e) ?? e.message) : String(e)}; the next Sweep run on that folder will try again.`;
		throw new SweepError('io', `${first} Putting ${outDir} back as it was failed too: ${why}`, {
			file: e instanceof UndoIncomplete ? (e.files[0] ?? outDir) : outDir,
			notUndone: e instanceof UndoIncomplete ? e.files : [outDir],
			cause,
		});
	}
}

/**
 * Bytes the output will need, for the free-space check: the content after the header. For a compressed input that
 * is estimated from the ratio seen so far; compressed output is taken to be as large as a compressed input, or a
 * quarter of a plain one.
 */
function outputEstimate(source: InputSource, dataStart: number, compress: OutputCompression | null): number {
	if (source.compression === 'none') return compress ? Math.ceil(source.fileSize / 4) : source.fileSize - dataStart;
	if (compress) return source.fileSize;
	return Math.max(0, Math.round(source.fileSize * source.ratio()) - dataStart);
}

/** Opens the input for reading; a missing, empty or unreadable input (or a folder) is an input error. */
export async function openInput(input: string): Promise<{ fh: FileHandle; st: Stats }> {
	const st = await stat(input).catch((e: NodeJS.ErrnoException) => {
		throw new SweepError(
			'input-missing',
			e.code === 'ENOENT' ? `${input} does not exist.` : `Cannot read ${input}: ${describeFsError(e)}.`,
			{ file: input, cause: e },
		);
	});
	if (st.isDirectory()) throw new SweepError('input-missing', `${input} is a folder, not a CSV file.`, { file: input });
	if (!st.isFile()) throw notRegular(input, st, 'input-missing');
	if (isPseudoFile(await realpath(input).catch(() => path.resolve(input)))) throw pseudoInput(input, st.size);
	if (st.size === 0) throw emptyInput(input);
	let fh: FileHandle;
	try {
		// Non-blocking: should the path have become a FIFO since stat(), open() must not wait for a writer.
		fh = await open(input, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
	} catch (e) {
		throw new SweepError('input-missing', `Cannot read ${input}: ${describeFsError(e)}.`, { file: input, cause: e });
	}
	const opened = await fh.stat();
	if (!opened.isFile() || opened.ino !== st.ino || opened.dev !== st.dev) {
		await fh.close();
		throw new SweepError('file-changed', `${input} was replaced while Sweep opened it; run again.`, { file: input });
	}
	return { fh, st };
}

/** Errors about what the input holds: a file that changed while it was read is the likelier story, when it did. */
const CONTENT_ERRORS: ReadonlySet<SweepErrorCode> = new Set([
	'input-corrupt',
	'record-too-large',
	'invalid-utf8',
	'max-rejects',
	'max-partitions',
	'type-mismatch',
]);

/**
 * The file must be what it was when the run started, by the rule of sameFile.ts: the same file at its path, the same
 * size, modification time and change time.
 */
async function checkUnchanged(fh: FileHandle, input: string, st: Stats, append = false): Promise<void> {
	const how = fileChange(st, await fh.stat(), await stat(input).catch(() => null));
	if (how !== null) {
		throw new SweepError(
			'file-changed',
			`${input} changed while it was read (${how}); the output was ${append ? 'put back as it was' : 'discarded'}. Run again once the file is complete.`,
			{ file: input },
		);
	}
}

/** What a system call failed at, in words: `Writing the output failed: cannot open …/B.csv for writing (permission denied).` */
function ioProblem(e: unknown, outDir?: string): string | null {
	if (e instanceof SweepError) return e.message;
	const err = e as NodeJS.ErrnoException;
	if (!err || typeof err.code !== 'string' || !err.syscall) return null;
	const what = err.code === 'EFBIG' ? 'the file-size limit was reached' : describeFsError(err);
	// A write through an open file has no path (a disk that filled up): the output folder says where.
	if (!err.path) return `Writing the output${outDir ? ` to ${outDir}` : ''} failed: ${what}.`;
	const op: Record<string, string> = {
		open: 'cannot open',
		write: 'cannot write to',
		ftruncate: 'cannot truncate',
		rename: 'cannot rename',
		unlink: 'cannot delete',
		mkdir: 'cannot create the folder',
		rmdir: 'cannot remove the folder',
	};
	return `Writing the output failed: ${op[err.syscall] ?? `${err.syscall} failed on`} ${err.path} (${what}).`;
}

function wrapIoError(e: unknown, append = false, outDir?: string): unknown {
	if (e instanceof SweepError) return e;
	const err = e as NodeJS.ErrnoException;
	const problem = ioProblem(e, outDir);
	if (problem !== null) {
		return new SweepError(
			'io',
			`${problem} ${append ? 'The output is as it was before the append.' : 'The previous output, if any, is untouched.'}`,
			{
				file: err.path,
				cause: e,
			},
		);
	}
	return e;
}

interface PipelineArgs {
	/** Owned by extract(), which destroys it. */
	pool: WorkerPool;
	source: InputSource;
	/** Bytes on disk (compressed bytes for a compressed file). */
	size: number;
	head: FileHead;
	plan: ColumnPlan;
	/** The columns written and how the worker copies them (outputColumns.ts). */
	output: OutputColumns;
	init: WorkerInit;
	/** Where the files are written: the temporary folder, or an append's output folder itself. */
	writeDir: string;
	o: ExtractSettings;
	figures: Figures;
	hooks: ExtractHooks;
	started: number;
	/** The output an append adds to (its partitions come first, its files grow), or null. */
	base: AppendBase | null;
	/** An append's journal: files are recorded in it before they are created. */
	journal: AppendJournal | null;
	/** An append: whether its run lock is still its own, asked before each chunk's writes (lockLost otherwise). */
	owned?: () => boolean;
	/** A plain input's hashing thread: told how far the file is committed, it reads and hashes up to there. */
	hasher: ChunkHasher | null;
	/** A plain input's descriptor: the workers read their chunks from it themselves (Committer.readByWorkers). */
	readFd: number | null;
}

/** What a worker reading its own chunk is told (ChunkTask.read). */
type ReadSpec = OwnChunkSpec & { fd: number };

interface PipelineResult {
	partitions: PartitionState[];
	rowsRead: number;
	rowsWritten: number;
	rowsRejected: number;
	rowsFilteredOut: number;
	/** Bytes of content read (a compressed file's decompressed size). */
	contentBytes: number;
	/** Size of `_rejects.csv` at the end, or null when there is none. */
	rejectsBytes: number | null;
	/** Parquet output: each column's type. */
	columnTypes: ColumnType[] | null;
}

/**
 * The coordinator's loop: hand chunks to the pool (a plain input's as byte ranges the workers read themselves, a
 * compressed input's as bytes read and cut here) and commit results strictly in order. Chunks run ahead of
 * committing by a bounded number, so memory stays bounded by workers × chunk size however large the file.
 */
async function runPipeline(a: PipelineArgs): Promise<PipelineResult> {
	const signal = a.hooks.signal ?? new AbortController().signal;
	const committer = new Committer(a, signal);
	try {
		if (a.readFd !== null) await committer.readByWorkers(a.readFd);
		else {
			const chunks = readChunks(a.source, {
				file: a.o.input,
				start: a.head.dataStart,
				size: a.source.size,
				startLine: a.head.dataLine,
				delimiter: a.init.delimiter,
				chunkSize: a.figures.chunkSize,
				maxChunkBytes: a.o.maxChunkBytes,
				signal,
				buffers: committer.chunkBuffers,
			});
			for await (const chunk of chunks) {
				if (signal.aborted) throw abortedError();
				committer.dispatch(chunk);
				await committer.drain(committer.maxInFlight - 1);
			}
		}
		if (signal.aborted) throw abortedError();
		await committer.drain(0);
		return await committer.close();
	} catch (e) {
		throw await committer.fail(e);
	}
}

/**
 * Commits chunk results strictly in file order: names new partitions, appends each partition's bytes to its file,
 * writes rejects, keeps the totals and the line count, and recycles the buffers. It holds the chunks in flight
 * (read, being processed, or waiting for their turn), oldest first.
 */
class Committer {
	readonly maxInFlight: number;
	/** Chunk buffers: one per chunk in flight, plus the one being read. */
	readonly chunkBuffers: BufferPool;
	/**
	 * Result buffers circulate: one per chunk in flight, plus those the writer holds until its next flush. Each task
	 * carries at most one back to a worker, so workers only make a new one while the circulation is still growing.
	 */
	private readonly resultBuffers: BufferPool;
	/** Result buffers whose bytes the writer still holds (free again after its next flush). */
	private readonly written: ArrayBuffer[] = [];
	/** Chunks in flight: read here (`end`: where the chunk ends), or by a worker itself (`read`: what it was told). */
	private readonly inFlight: (
		| { end: number; result: Promise<ChunkDone> }
		| { read: ReadSpec; result: Promise<ChunkDone> }
	)[] = [];
	/** File offset of each chunk not yet committed, to name the line of a worker's data error. */
	private readonly chunkOffsets = new Map<number, number>();
	private readonly writer: PartitionWriter;
	private readonly namer: PartitionNamer;
	private readonly extension: string;
	private readonly header: Buffer;
	private readonly byKey = new Map<string, PartitionState>();
	private readonly partitions: PartitionState[] = [];
	private rejectsId = -1;
	/** Parquet append: the output's files before it (the touched ones get new row groups, the others stay). */
	private readonly existing = new Set<string>();
	/** Parquet append: the existing files that get new row groups. */
	private readonly touched = new Set<string>();
	private readonly totals = { rowsRead: 0, rowsWritten: 0, rowsRejected: 0, rowsFilteredOut: 0 };
	private committedBytes: number;
	/** Line of the next chunk to commit (workers number lines within their chunk). */
	private line: number;
	private lastProgress = 0;
	/** Parquet: the classification of every written field so far (merged chunk by chunk; order does not matter). */
	private readonly classes: Int32Array | null;
	/** Workers write their own partition bytes (WorkerInit.writeOwn); these writes are not answered yet, oldest first. */
	private readonly writes: Promise<void>[] = [];
	/** The first write that failed (its error is the run's). */
	private writeError: unknown = null;

	constructor(
		private readonly a: PipelineArgs,
		private readonly signal: AbortSignal,
	) {
		this.maxInFlight = a.figures.workers * 2 + 1;
		this.chunkBuffers = new BufferPool(this.maxInFlight + 1);
		this.resultBuffers = new BufferPool(this.maxInFlight + 4);
		this.writer = new PartitionWriter(a.writeDir, a.o.maxOpenFiles);
		// Partition files are named after the first input (an append keeps its names).
		this.extension = a.o.parquet
			? '.parquet'
			: a.base
				? appendExtension(a.base.manifest, a.o.compress)
				: partitionExtension(a.o.input, a.o.compress);
		this.namer = new PartitionNamer(
			a.o.layout,
			a.plan.keySpecs.map((k) => k.name),
		);
		const output = a.output;
		const header = formatHeader(output.rawNames, a.head.delimiter, a.init.eol as '\n' | '\r\n');
		// A compressed file starts with its header as a gzip member / zstd frame of its own.
		this.header = a.o.compress ? compressBlock(a.o.compress, header) : header;
		this.classes = a.o.parquet ? newClassification(output.rawNames.length) : null;
		this.committedBytes = a.head.dataStart;
		this.line = a.head.dataLine;
		if (a.journal) {
			const journal = a.journal;
			this.writer.beforeCreate = (names) => journal.willCreate(names);
		}
		if (a.base) this.continueFrom(a.base);
	}

	/**
	 * An append goes on from the output's partitions, in their order, with their files, counts and stats: the names
	 * of later partitions are chosen after theirs, and a capped partition's last file is continued.
	 */
	private continueFrom(base: AppendBase): void {
		const cap = this.a.o.maxRowsPerFile;
		const bad = (why: string) =>
			new SweepError('manifest-invalid', `Cannot append: ${MANIFEST_FILE} in ${base.outDir} ${why} (was it edited?).`, {
				file: path.join(base.outDir, MANIFEST_FILE),
			});
		for (const m of base.manifest.partitions) {
			if (m.file === null) continue;
			const parts = partsOf(m);
			const stem = this.namer.stem(parts);
			const listed = cap === null ? [{ file: m.file, rows: m.rows }] : (m.files ?? []);
			const files = listed.map((f, i) => {
				const want = partitionFile(this.a.o.layout, stem, cap === null ? null : i + 1, this.extension);
				if (f.file !== want) {
					throw bad(`names file ${i + 1} of key ${JSON.stringify(m.key)} ${f.file}, but Sweep names it ${want}`);
				}
				if (cap !== null && (f.rows < 1 || f.rows > cap || (i < listed.length - 1 && f.rows !== cap))) {
					throw bad(`gives ${f.file} ${f.rows} rows with at most ${cap} per file`);
				}
				return { file: f.file, rows: f.rows, bytes: base.sizes[f.file] };
			});
			if (files.length === 0 || files.reduce((n, f) => n + f.rows, 0) !== m.rows) {
				throw bad(`gives key ${JSON.stringify(m.key)} ${m.rows} rows, not the sum of its files'`);
			}
			const last = files[files.length - 1];
			// Written as a new run would: by the workers at reserved ranges, or (capped files) by this thread. A Parquet
			// file gets its new records in a temporary CSV once some come (then new row groups from it).
			const id = this.a.o.parquet ? -1 : this.writer.addExisting(last.file, last.bytes, this.a.init.writeOwn === true);
			if (this.a.o.parquet) for (const f of files) this.existing.add(f.file);
			const p: PartitionState = { parts, stem, files, id, rows: m.rows, stats: statsFrom(m.stats) };
			this.byKey.set(encodeKey(parts), p);
			this.partitions.push(p);
		}
		if (base.manifest.rejects !== null) {
			this.rejectsId = this.writer.addExisting(REJECTS_FILE, base.sizes[REJECTS_FILE]);
		}
	}

	/**
	 * A plain input: the workers read their chunks themselves (chunkReader.ts readOwnChunk), so this thread reads no
	 * chunk byte. Chunk k is planned as the records from about `dataStart + k × target` to about the next one; a
	 * worker guesses where its first record starts, and drain() checks the guess against the previous chunk's end
	 * (once that is committed) and has the chunk read again from there when it was wrong. Chunks go on past the last
	 * planned one while the committed bytes fall short of the file (a chunk cut short by the byte cap).
	 */
	async readByWorkers(fd: number): Promise<void> {
		const { dataStart } = this.a.head;
		const size = this.a.size;
		if (dataStart >= size) return;
		const sample = Buffer.allocUnsafe(Math.min(TARGET_SAMPLE, size - dataStart));
		let got = 0;
		while (got < sample.length) {
			const { bytesRead } = await this.a.source.read(sample, got, sample.length - got, dataStart + got);
			if (bytesRead === 0) break;
			got += bytesRead;
		}
		const target = chunkTarget(sample.subarray(0, got), this.a.figures.chunkSize, this.a.o.maxChunkBytes);
		let seq = 0;
		for (let from = dataStart; ; from += target) {
			// Planned chunks that the committed ones already cover (records longer than the target) are empty: skipped,
			// as the coordinator's own reader skips them (ChunkCutter.plannedEnd).
			from = Math.max(from, dataStart + Math.floor((this.committedBytes - dataStart) / target) * target);
			if (from >= size) break;
			if (this.signal.aborted) throw abortedError();
			this.dispatchRead(fd, seq++, from, from === dataStart, Math.min(from + target, size));
			await this.drain(this.maxInFlight - 1);
		}
		await this.drain(0);
		while (this.committedBytes < size) {
			if (this.signal.aborted) throw abortedError();
			this.dispatchRead(fd, seq++, this.committedBytes, true, size);
			await this.drain(0);
		}
	}

	/** Has a worker read chunk `seq` itself (see readByWorkers); its result is committed by a later drain(). */
	private dispatchRead(fd: number, seq: number, from: number, exact: boolean, endAt: number): void {
		const o = this.a.o;
		const read = {
			fd,
			file: o.input,
			from,
			exact,
			endAt,
			size: this.a.size,
			delimiter: this.a.init.delimiter,
			maxChunkBytes: o.maxChunkBytes,
		};
		const result = this.runRead(seq, read);
		result.catch(() => undefined); // observed when its turn comes
		this.inFlight.push({ read, result });
	}

	private runRead(seq: number, read: ReadSpec): Promise<ChunkDone> {
		const spare = this.resultBuffers.drain(1);
		return this.a.pool.run({
			type: 'chunk',
			seq,
			bytes: new ArrayBuffer(0),
			offset: 0,
			length: 0,
			spare,
			isLast: false,
			read,
		});
	}

	/**
	 * A chunk a worker read itself, once every chunk before it is committed: its start must be where the previous
	 * chunk ended. A wrong guess (a line break inside a quoted field) is let go and the chunk read again from there.
	 */
	private async confirm(read: ReadSpec, first: ChunkDone): Promise<{ done: ChunkDone; end: number }> {
		let done = first;
		// A planned chunk that the chunks before it cover is empty, wherever its worker guessed it starts: an empty
		// answer (a guess that found no line break in the range, or only past it) is taken as it is.
		if (read.endAt <= this.committedBytes && done.own?.length === 0 && !done.own.tooLarge) {
			return { done, end: this.committedBytes };
		}
		if (done.own?.start !== this.committedBytes) {
			await this.discard(done);
			done = await abortable(this.runRead(done.seq, { ...read, from: this.committedBytes, exact: true }), this.signal);
			if (done.own?.start !== this.committedBytes) throw new Error('internal: a chunk read again starts elsewhere');
		}
		if (done.own.tooLarge) throw recordTooLarge(this.a.o.input, this.line, this.a.o.maxChunkBytes);
		return { done, end: done.own.end };
	}

	/**
	 * A worker-read chunk's result. A data error (strict UTF-8) found from a guessed start that was wrong may not be
	 * the chunk's first, or not in it at all: the chunk is then read again from where it starts (confirm() checks).
	 */
	private async readResult(read: ReadSpec, result: Promise<ChunkDone>): Promise<ChunkDone> {
		try {
			return await abortable(result, this.signal);
		} catch (e) {
			if (!(e instanceof ChunkLineError) || e.start === this.committedBytes) throw e;
			return abortable(this.runRead(e.seq, { ...read, from: this.committedBytes, exact: true }), this.signal);
		}
	}

	/**
	 * Lets go of a chunk's result that is not committed (a wrong guess): the bytes its worker holds, or its result
	 * buffer. (Its input buffer stays with the worker.)
	 */
	private async discard(done: ChunkDone): Promise<void> {
		if (this.a.init.writeOwn) {
			const task = { type: 'write' as const, id: this.nextWrite++, seq: done.seq, targets: [], last: true };
			await abortable(this.a.pool.write(done.worker as number, task), this.signal);
		} else this.resultBuffers.give(done.data);
	}

	/** Hands a chunk to the pool; its result is committed by a later drain(). */
	dispatch(chunk: Chunk): void {
		this.chunkOffsets.set(chunk.seq, chunk.fileOffset);
		const result = this.a.pool.run({
			type: 'chunk',
			seq: chunk.seq,
			bytes: chunk.bytes,
			offset: chunk.offset,
			length: chunk.length,
			spare: this.resultBuffers.drain(1),
			isLast: chunk.isLast,
		});
		result.catch(() => undefined); // observed when its turn comes
		this.inFlight.push({ end: chunk.endOffset, result });
	}

	/** Commits the oldest chunks, in order, until at most `keep` are in flight. */
	async drain(keep: number): Promise<void> {
		while (this.inFlight.length > keep) {
			const next = this.inFlight.shift()!;
			if ('read' in next) {
				const confirmed = await this.confirm(next.read, await this.readResult(next.read, next.result));
				await this.commit(confirmed.done, confirmed.end);
			} else await this.commit(await abortable(next.result, this.signal), next.end);
		}
	}

	/** Commits a chunk's result; the chunk ends at file offset `end`. */
	private async commit(done: ChunkDone, end: number): Promise<void> {
		if (this.a.owned && !this.a.owned()) throw lockLost(this.a.base?.outDir ?? this.a.writeDir);
		const startLine = this.line;
		// A Parquet append: the first chunk, in file order, holding a value that does not fit the output's types holds
		// the file's first such line (the same for any chunk size and worker count); nothing of it is written.
		if (done.misfit && this.a.base) {
			const m = done.misfit;
			throw this.typeMismatch(this.a.base, m.column, { line: startLine + m.line, value: m.value, utf8: m.utf8 });
		}
		this.addBuckets(done, startLine);
		if (done.rejects.count > 0) this.addRejects(done, startLine);
		if (this.classes && done.types) mergeClassification(this.classes, done.types);
		this.totals.rowsRead += done.rowsRead;
		this.totals.rowsFilteredOut += done.rowsFilteredOut;
		this.committedBytes = end;
		this.line += done.lines;
		this.chunkOffsets.delete(done.seq);
		this.a.hasher?.upTo(end);
		this.chunkBuffers.give(done.input);
		if (this.a.init.writeOwn) {
			// The writes need only each bucket's length: the bucket objects (keys, parts, stats: hundreds of bytes each,
			// one per partition in the chunk) are let go now rather than held (by this chunk's result) while the writes
			// go on, which with tens of thousands of partitions takes a while.
			const pieces = this.pieces;
			this.pieces = [];
			done.buckets = [];
			await this.writeRanges(done.worker as number, done.seq, pieces);
		} else this.written.push(done.data);
		if (this.writer.full) {
			await this.writer.flush();
			for (const b of this.written.splice(0)) this.resultBuffers.give(b);
		}
		while (this.writes.length > this.maxInFlight) await abortable(this.writes.shift() as Promise<void>, this.signal);
		this.progress(false);
	}

	/**
	 * Reserves each partition's byte range for this chunk, in commit order, and has the worker that holds the bytes
	 * write them there (WriteTask): ordering costs a few additions per partition, not a copy of every byte. Should a
	 * range need a file opened while every open file still has writes pending, what is reserved so far is sent first
	 * and the rest waits for a write to finish.
	 */
	private async writeRanges(worker: number, seq: number, pieces: readonly number[]): Promise<void> {
		let targets: number[] = [];
		let ids: number[] = [];
		const send = (last: boolean) => {
			const write = this.a.pool.write(worker, { type: 'write', id: this.nextWrite++, seq, targets, last }).then(
				(
					(files: number[]) => () =>
						this.writer.release(files)
				)(ids),
				(e: unknown) => {
					this.writeError ??= e;
					this.writer.wake();
					throw e;
				},
			);
			write.catch(() => undefined); // observed when awaited
			this.writes.push(write);
			targets = [];
			ids = [];
		};
		// The files this chunk writes to, opened (created, the first time) several at a time first.
		const files: number[] = [];
		for (let i = 0; i < pieces.length; i += 3) if (pieces[i + 2] > 0) files.push(pieces[i]);
		await this.writer.openAhead(files, this.signal);
		if (this.signal.aborted) throw abortedError();
		for (let i = 0; i < pieces.length; i += 3) {
			const id = pieces[i];
			const length = pieces[i + 2];
			if (length === 0) continue;
			// Files not opened ahead (past the open-file limit) are opened here, one await each: a cancel does not wait.
			if (this.signal.aborted) throw abortedError();
			let r = await this.writer.reserve(id, length);
			while (r === null) {
				if (targets.length > 0) send(false);
				await abortable(this.writer.idle(), this.signal);
				if (this.writeError !== null) throw this.writeError;
				r = await this.writer.reserve(id, length);
			}
			targets.push(pieces[i + 1], length, r.fd, r.position);
			ids.push(id);
		}
		send(true);
	}

	/**
	 * With WorkerInit.writeOwn, what the chunk being committed writes where: triples (writer id of the file, start in
	 * the chunk's data, length), in commit order; a capped partition's bucket may be cut into pieces for two files.
	 */
	private pieces: number[] = [];
	/** Capped files followed by a next part, with their writer ids: their sizes are known once everything is written. */
	private readonly cutFiles: { file: PartitionState['files'][number]; id: number }[] = [];
	private nextWrite = 0;

	private addBuckets(done: ChunkDone, startLine: number): void {
		const data = new Uint8Array(done.data);
		const max = this.a.o.maxPartitions;
		const own = this.a.init.writeOwn === true;
		for (const b of done.buckets) {
			let p = this.byKey.get(b.key);
			if (p === undefined) {
				if (this.partitions.length >= max) {
					throw new SweepError(
						'max-partitions',
						`${this.a.o.input}: more than ${max} partitions — key ${show(b.parts.map((v) => textOf(v).text).join(', '))}, on one of lines ${startLine}–${startLine + done.lines - 1}, would be number ${max + 1}; is the partition column right? Raise the limit with --max-partitions.`,
						{ file: this.a.o.input },
					);
				}
				const stem = this.namer.stem(b.parts);
				const file = partitionFile(this.a.o.layout, stem, this.a.o.maxRowsPerFile === null ? null : 1, this.extension);
				// Parquet: each file is first written as a temporary CSV beside its Parquet file (docs/parquet.md).
				const id = this.writer.add(this.a.o.parquet ? file + TEMP_CSV : file, this.header, own);
				p = { parts: b.parts, stem, files: [{ file, rows: 0, bytes: 0 }], id, rows: 0, stats: emptyStats() };
				this.byKey.set(b.key, p);
				this.partitions.push(p);
			}
			// A Parquet append's first records for an existing file (the last, unless full).
			const last = p.files[p.files.length - 1];
			if (p.id < 0 && (this.a.o.maxRowsPerFile === null || last.rows < this.a.o.maxRowsPerFile)) {
				p.id = this.writer.add(last.file + TEMP_CSV, this.header, own);
				this.touched.add(last.file);
			}
			p.rows += b.rows;
			mergeStats(p.stats, b.stats);
			if (this.a.o.maxRowsPerFile === null) {
				p.files[0].rows += b.rows;
				if (own) this.pieces.push(p.id, b.offset, b.length);
				else this.writer.append(p.id, data.subarray(b.offset, b.offset + b.length));
			} else
				this.appendCapped(p, b, data, new Int32Array(done.recordEnds as ArrayBuffer), this.a.o.maxRowsPerFile, own);
			this.totals.rowsWritten += b.rows;
		}
	}

	/**
	 * Splits a partition's records of one chunk over its files, at most `cap` records each, in record order: the
	 * worker says where each record ends (`recordEnds` from `b.endsAt`), and a full file is followed by the next part.
	 * With `own` (WorkerInit.writeOwn) the pieces are written by the worker (`pieces`), else appended here.
	 */
	private appendCapped(
		p: PartitionState,
		b: BucketResult,
		data: Uint8Array,
		ends: Int32Array,
		cap: number,
		own: boolean,
	): void {
		let at = b.offset;
		for (let r = 0; r < b.rows; ) {
			let current = p.files[p.files.length - 1];
			if (current.rows === cap) {
				const part = p.files.length + 1;
				if (part > MAX_PARTS) {
					throw new SweepError(
						'max-partitions',
						`Partition ${JSON.stringify(p.parts.map((v) => textOf(v).text).join(', '))} needs more than ${MAX_PARTS} files of ${cap} records; raise --max-rows-per-file.`,
						{ file: this.a.o.input },
					);
				}
				if (p.id >= 0) this.cutFiles.push({ file: current, id: p.id });
				current = { file: partitionFile(this.a.o.layout, p.stem, part, this.extension), rows: 0, bytes: 0 };
				p.files.push(current);
				p.id = this.writer.add(this.a.o.parquet ? current.file + TEMP_CSV : current.file, this.header, own);
			}
			const take = Math.min(cap - current.rows, b.rows - r);
			const end = ends[b.endsAt + r + take - 1];
			if (own) this.pieces.push(p.id, at, end - at);
			else {
				const piece = data.subarray(at, end);
				this.writer.append(p.id, this.a.o.compress ? compressBlock(this.a.o.compress, piece) : piece);
			}
			at = end;
			r += take;
			current.rows += take;
		}
	}

	private addRejects(done: ChunkDone, startLine: number): void {
		if (this.rejectsId < 0) this.rejectsId = this.writer.add(REJECTS_FILE, Buffer.from('line,reason,raw\n'));
		this.writer.append(this.rejectsId, rejectLines(done.rejects, Buffer.from(done.rejectData), startLine));
		const before = this.totals.rowsRejected;
		this.totals.rowsRejected += done.rejects.count;
		const max = this.a.o.maxRejects;
		if (max !== null && this.totals.rowsRejected > max) {
			// The reject that crossed the limit (the (max + 1)-th), not the chunk's last: the same for any chunk size.
			const reject = rejectAt(done.rejects, max - before);
			const over = { line: startLine + reject.line, reason: reject.reason };
			throw new SweepError(
				'max-rejects',
				`Stopped: more than ${max} rejected records (the one over the limit on line ${over.line}: ${over.reason}).`,
				{ file: this.a.o.input, line: over.line },
			);
		}
	}

	/** Progress for the hooks, at most every 200 ms unless `force`. */
	private progress(force: boolean): void {
		const onProgress = this.a.hooks.onProgress;
		if (!onProgress) return;
		const now = Date.now();
		if (!force && now - this.lastProgress < 200) return;
		this.lastProgress = now;
		// A compressed file's progress counts compressed bytes (its content's size is unknown until the end).
		const compressed = this.a.source.compression !== 'none';
		onProgress({
			bytesRead: compressed ? this.a.source.compressedRead() : this.committedBytes,
			totalBytes: this.a.size,
			rowsRead: this.totals.rowsRead,
			partitions: this.partitions.length,
			elapsedMs: now - this.a.started,
		});
	}

	/** Writes out what is left and closes the files, once every chunk is committed. */
	async close(): Promise<PipelineResult> {
		while (this.writes.length > 0) await abortable(this.writes.shift() as Promise<void>, this.signal);
		// An append's bytes must be on disk before its manifest commits them.
		await this.writer.close(this.a.base !== null);
		for (const p of this.partitions) if (p.id >= 0) p.files[p.files.length - 1].bytes = this.writer.size(p.id);
		for (const c of this.cutFiles) c.file.bytes = this.writer.size(c.id);
		const rejectsBytes = this.rejectsId < 0 ? null : this.writer.size(this.rejectsId);
		const columnTypes = this.classes && this.a.o.parquet ? await this.convert(this.a.o.parquet) : null;
		if (columnTypes) {
			// The Parquet files' own sizes (the writer counted their temporary CSV).
			for (const p of this.partitions) {
				for (const f of p.files) f.bytes = (await stat(path.join(this.a.writeDir, ...f.file.split('/')))).size;
			}
		}
		this.progress(true);
		return {
			partitions: this.partitions,
			...this.totals,
			contentBytes: this.committedBytes,
			rejectsBytes,
			columnTypes,
		};
	}

	/** Parquet: decides the column types and converts every partition in the workers (docs/parquet.md). */
	private async convert(pq: NonNullable<ExtractSettings['parquet']>): Promise<ColumnType[]> {
		const cls = this.classes!;
		const types = this.a.base ? this.appendTypes(this.a.base) : decideTypes(cls, pq.types);
		// Speculated types (WorkerInit.parquetSample): should one prove wrong, every partition's classification is
		// merged into the sample's (which holds the UTF-8 findings of every chunk) and the types decided again.
		const decide = (parts: Int32Array[]): ColumnType[] => {
			for (const p of parts) mergeClassification(cls, p);
			return decideTypes(cls, pq.types);
		};
		const files = this.partitions
			.flatMap((p) => p.files)
			.filter((f) => !this.existing.has(f.file) || this.touched.has(f.file));
		// An append's touched files: their footers are journaled (fsynced) before any worker writes over them.
		const append = new Map<string, number>();
		// An append's new Parquet files are journaled too (their temporary CSVs already are) before workers create them.
		if (this.a.journal)
			await this.a.journal.willCreate(files.filter((f) => !this.existing.has(f.file)).map((f) => f.file));
		if (this.a.journal && this.touched.size > 0) {
			const footers: { file: string; at: number; tail: Buffer }[] = [];
			for (const file of this.touched) {
				const { at, tail } = await readFooterTail(path.join(this.a.writeDir, ...file.split('/')));
				footers.push({ file, at, tail });
				append.set(file, at);
			}
			await this.a.journal.willRewrite(footers);
		}
		// Phase 1's buffers are no longer needed: let them go before the conversions take memory.
		this.chunkBuffers.drain(Number.POSITIVE_INFINITY);
		this.resultBuffers.drain(Number.POSITIVE_INFINITY);
		this.written.length = 0;
		// `conversions` at a time (default: the workers): the CLI and VS Code take the coordinator's core as well when
		// the worker count is detected, since this thread only hands out files now (src/config/rules.ts). A worker
		// started here lets go of nothing from phase 1 (it has none); the others drop theirs (worker.ts endChunks).
		const workers = this.a.figures.conversions ?? this.a.figures.workers;
		this.a.pool.grow(workers);
		return convertAll({
			pool: this.a.pool,
			dir: this.a.writeDir,
			// Largest first, so that one big partition does not start last and run on alone.
			files: files.sort((x, y) => y.rows - x.rows).map((f) => f.file),
			append,
			sync: this.a.base !== null,
			delimiter: this.a.init.delimiter,
			columns: this.a.output.rawNames.map((n) => textOf(n).text),
			types,
			...(this.a.init.parquetSample === undefined ? {} : { decide }),
			codec: pq.codec,
			workers,
			createdBy: 'Sweep',
			signal: this.signal,
		});
	}

	/**
	 * An append to a Parquet output writes with the output's column types: each column's new values must fit its
	 * type, or the append stops (exit 1, before any Parquet file is written to) naming the column.
	 */
	private appendTypes(base: AppendBase): ColumnType[] {
		const cols = base.manifest.parquet?.columns ?? [];
		const cls = this.classes!;
		// Found chunk by chunk as they are committed (commit: the first such line); this is only a safety net.
		cols.forEach((col, c) => {
			if (!fitsType(cls, c, col.type)) throw this.typeMismatch(base, c, null);
		});
		return cols.map((c) => c.type);
	}

	/**
	 * The error of an append whose value in column `c` does not fit the output's type: on the line `at` (the first
	 * such line of the file) when known.
	 */
	private typeMismatch(base: AppendBase, c: number, at: { line: number; value: string; utf8: boolean } | null) {
		const col = base.manifest.parquet?.columns[c] ?? { name: textOf(this.a.output.rawNames[c] ?? '').text, type: '?' };
		const input = this.a.o.input;
		const holds =
			at === null
				? `this file holds values that are not ${col.type}`
				: `line ${at.line} of ${input} holds ${show(at.value)}, which ${at.utf8 ? `is not ${col.type}` : 'is not valid UTF-8'} (the first such value)`;
		return new SweepError(
			'type-mismatch',
			`Cannot append ${input} to ${base.outDir}: column ${JSON.stringify(col.name)} is ${col.type} in the output's Parquet files, and ${holds}; the output was put back as it was. Extract all the inputs again to get a column type that fits them all.`,
			at === null ? { file: input } : { file: input, line: at.line },
		);
	}

	/** Closes the files after a failure; the error to throw (a worker's data error names the file's line). */
	async fail(e: unknown): Promise<unknown> {
		// No worker may still write through a descriptor once it is closed (its number could name another file).
		if (this.a.init.writeOwn) await this.a.pool.destroy();
		await this.writer.closeHandles();
		if (!(e instanceof ChunkLineError)) return e;
		const at = e.start ?? this.chunkOffsets.get(e.seq);
		const head = this.a.head;
		const fileLine =
			at === undefined ? undefined : (await lineAt(this.a.source, head.dataStart, head.dataLine, at)) + e.line;
		const input = this.a.o.input;
		const where = fileLine === undefined ? `in ${input}` : `on line ${fileLine} of ${input}`;
		return new SweepError(
			'invalid-utf8',
			`Stopped: ${e.what} ${where} (run without strict UTF-8 to pass such bytes through).`,
			{ file: input, line: fileLine },
		);
	}
}

/** Rejects as soon as `signal` aborts, so a cancel never waits for a chunk to finish. */
function abortable<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
	if (!signal) return p;
	if (signal.aborted) return Promise.reject(abortedError());
	return new Promise<T>((resolve, reject) => {
		const onAbort = () => reject(abortedError());
		signal.addEventListener('abort', onAbort, { once: true });
		p.then(
			(v) => {
				signal.removeEventListener('abort', onAbort);
				resolve(v);
			},
			(e) => {
				signal.removeEventListener('abort', onAbort);
				reject(e);
			},
		);
	});
}

function buildManifest(m: {
	o: ExtractSettings;
	size: number;
	head: FileHead;
	plan: ColumnPlan;
	output: OutputColumns;
	orders: Orders | null;
	figures: Figures;
	started: number;
	run: PipelineResult;
	source: InputSource;
	eol: '\n' | '\r\n';
	/** The manifest an append adds to, or null. */
	base: AppendBase['manifest'] | null;
	/** This run's input. */
	entry: ManifestInput;
}): Manifest {
	const toPartition = (
		parts: string[],
		file: string | null,
		rows: number,
		bytes: number | undefined,
		s: ChunkStats,
	): ManifestPartition => {
		const texts = parts.map(textOf);
		const out: ManifestPartition = { key: texts.map((t) => t.text), file, rows, stats: {} };
		if (bytes !== undefined) out.bytes = bytes;
		if (texts.some((t) => !t.valid)) out.keyHex = parts.map((p) => Buffer.from(p, 'latin1').toString('hex'));
		if (s.firstTimestamp !== null) out.stats.firstTimestamp = textOf(s.firstTimestamp).text;
		if (s.lastTimestamp !== null) out.stats.lastTimestamp = textOf(s.lastTimestamp).text;
		if (s.minPrice !== null) out.stats.minPrice = s.minPrice;
		if (s.maxPrice !== null) out.stats.maxPrice = s.maxPrice;
		if (s.quantity !== null) out.stats.quantity = s.quantity;
		if (s.pricedQuantity !== 0) {
			out.stats.vwap = s.notional / s.pricedQuantity;
			out.stats.notional = s.notional;
			out.stats.pricedQuantity = s.pricedQuantity;
		}
		return out;
	};
	const partitions = m.run.partitions.map((p) => {
		const out = toPartition(p.parts, p.files[0].file, p.rows, p.files[0].bytes, p.stats);
		if (m.o.maxRowsPerFile === null) return out;
		const { stats, ...rest } = out;
		return { ...rest, files: p.files.map((f) => ({ ...f })), stats };
	});
	if (m.orders) {
		const present = new Set(m.run.partitions.map((p) => encodeKey(p.parts)));
		m.orders.keys.forEach((k, i) => {
			if (!present.has(k)) partitions.push(toPartition(m.orders!.parts[i], null, 0, undefined, emptyStats()));
		});
	}
	const sources = m.figures.configSources ?? { workers: 'flag', chunkSize: 'flag' };
	const b = m.base;
	const rowsRejected = (b?.rowsRejected ?? 0) + m.run.rowsRejected;
	return {
		version: 1,
		// The first input's (an append keeps it; `inputs` lists them all).
		source: b
			? b.source
			: {
					path: m.o.input,
					bytes: m.size,
					header: m.head.names,
					delimiter: m.head.delimiter,
					compression: m.source.compression,
					...(m.source.compression === 'none' ? {} : { decompressedBytes: m.run.contentBytes }),
				},
		format: m.o.parquet ? 'parquet' : 'csv',
		output: {
			compression: m.o.parquet?.codec ?? m.o.compress?.codec ?? 'none',
			compressionLevel: m.o.compress?.level ?? null,
		},
		columns: m.output.rawNames.map((n) => textOf(n).text),
		sourceColumns: m.plan.columns,
		selectedColumns: m.o.columns && m.o.columns.length > 0 ? [...m.o.columns] : null,
		keepPartitionColumns: m.o.keepPartitionColumns,
		partitionBy: m.plan.keySpecs.map((k) => k.spec),
		partitionNames: m.plan.keySpecs.map((k) => k.name),
		layout: m.o.layout,
		maxRowsPerFile: m.o.maxRowsPerFile,
		orders: b
			? b.orders
			: m.orders
				? { path: m.orders.path, keys: m.orders.keys.length, keysSha256: ordersSha256(m.orders) }
				: null,
		config: { workers: m.figures.workers, chunkSize: m.figures.chunkSize, sources },
		rowsRead: (b?.rowsRead ?? 0) + m.run.rowsRead,
		rowsWritten: (b?.rowsWritten ?? 0) + m.run.rowsWritten,
		rowsRejected,
		rowsFilteredOut: (b?.rowsFilteredOut ?? 0) + m.run.rowsFilteredOut,
		partitions,
		rejects: rowsRejected > 0 ? REJECTS_FILE : null,
		...(m.run.rejectsBytes === null ? {} : { rejectsBytes: m.run.rejectsBytes }),
		...(m.run.columnTypes && m.o.parquet
			? {
					parquet: {
						types: m.o.parquet.types,
						compression: m.o.parquet.codec,
						rowGroupRows: ROW_GROUP_ROWS,
						rowGroupBytes: ROW_GROUP_BYTES,
						columns: m.output.rawNames.map((n, i) => ({ name: textOf(n).text, type: m.run.columnTypes![i] })),
					},
				}
			: {}),
		inputs: [...(b?.inputs ?? []), m.entry],
		eol: m.eol,
		mapping: { ...m.o.mapping },
		startedAt: new Date(m.started).toISOString(),
		durationMs: Date.now() - m.started,
	};
}
