import { isUtf8 } from 'node:buffer';
import type { Stats } from 'node:fs';
import { type FileHandle, open, stat, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import {
	type Checked,
	DEFAULT_MAX_PARTITIONS,
	DEFAULT_PARTITION_BY,
	MANIFEST_FILE,
	MAX_OPEN_FILES,
	MAX_RECORD_BYTES,
	type ParquetCompression,
	parseCount,
	parseOutputFormat,
	parseParquetCompression,
	parseParquetTypes,
	REJECTS_FILE,
	refusal,
	show,
} from '../rules';
import { BufferPool } from './bufferPool';
import { type Chunk, lineAt, readChunks } from './chunkReader';
import { bytesOf, formatHeader, normalizeDelimiter } from './dialect';
import { abortedError, SweepError } from './errors';
import { FileNamer } from './fileNames';
import { type ColumnPlan, type FileHead, planColumns, readHead } from './header';
import { encodeKey } from './keys';
import { loadOrders, type Orders } from './orders';
import { commitOutput, describeFsError, discardOutput, type OutputPlan, prepareOutput } from './outputFolder';
import { ROW_GROUP_BYTES, ROW_GROUP_ROWS } from './parquet/options';
import { convertAll, hasZstd, TEMP_CSV } from './parquet/phase';
import {
	type ColumnType,
	decideTypes,
	mergeClassification,
	newClassification,
	type ParquetTypesMode,
} from './parquet/types';
import { ChunkLineError, WorkerPool } from './pool';
import type { ChunkDone, ChunkStats, WorkerInit } from './protocol';
import type { ConfigSources, ExtractHooks, ExtractOptions, Manifest, ManifestPartition } from './types';
import { PartitionWriter } from './writer';

/** `<input folder>/processed/<input name without extension>`. */
export function defaultOutDir(input: string): string {
	const abs = path.resolve(input);
	return path.join(path.dirname(abs), 'processed', path.basename(abs, path.extname(abs)));
}

interface PartitionState {
	id: number;
	parts: string[];
	file: string;
	rows: number;
	stats: ChunkStats;
}

/** A count option by the counts rule (src/rules); a refused one is a usage error in the rule's words. */
function count(value: unknown, what: string, min: 0 | 1): number {
	const checked = parseCount(value, min);
	if (!checked.ok) throw new SweepError('usage', refusal(what, show(value), checked.problem));
	return checked.value;
}

/** Text of a byte string (see keys.ts) for people, and whether its bytes were valid UTF-8. */
function textOf(byteString: string): { text: string; valid: boolean } {
	const bytes = Buffer.from(byteString, 'latin1');
	return { text: bytes.toString('utf8'), valid: isUtf8(bytes) };
}

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

/** Quotes one CSV field (always), keeping its bytes. */
function quoted(bytes: Uint8Array): Buffer {
	return Buffer.concat([
		Buffer.from('"'),
		Buffer.from(Buffer.from(bytes).toString('latin1').replaceAll('"', '""'), 'latin1'),
		Buffer.from('"'),
	]);
}

/** Workers and chunk size of a run, and where they came from. */
interface Figures {
	workers: number;
	chunkSize: number;
	configSources?: ConfigSources;
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
	workerResourceLimits?: ExtractOptions['workerResourceLimits'];
	workerScript?: string;
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
		const { workers, chunkSize, configSources } = options;
		figures = checkFigures({ workers: workers as number, chunkSize: chunkSize as number, configSources });
	}
	const input = path.resolve(options.input);
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
		maxOpenFiles: options.maxOpenFiles ?? MAX_OPEN_FILES,
		workerResourceLimits: options.workerResourceLimits,
		workerScript: options.workerScript,
		parquet: parquetOptions(options),
	};
}

/** The Parquet settings of a run, or null for CSV output. Bad values are usage errors (exit 2). */
function parquetOptions(options: ExtractOptions): { types: ParquetTypesMode; codec: ParquetCompression } | null {
	const rule = <T>(what: string, raw: unknown, checked: Checked<T>): T => {
		if (checked.ok) return checked.value;
		throw new SweepError('usage', refusal(what, show(raw), checked.problem));
	};
	const format = rule('format', options.format, parseOutputFormat(options.format));
	if (format === 'csv') return null;
	const types = rule('parquetTypes', options.parquetTypes, parseParquetTypes(options.parquetTypes));
	const codec = rule(
		'parquetCompression',
		options.parquetCompression,
		parseParquetCompression(options.parquetCompression),
	);
	if (codec === 'zstd' && !hasZstd())
		throw new SweepError(
			'usage',
			`zstd-compressed Parquet needs Node 22.15 or later (this is Node ${process.versions.node}); use snappy, gzip or none.`,
		);
	return { types, codec };
}

/** Parquet columns need distinct, non-empty names (a CSV header may repeat or leave them empty). */
function checkParquetColumns(columns: string[], input: string): void {
	const seen = new Set<string>();
	columns.forEach((c, i) => {
		if (c === '')
			throw new SweepError(
				'bad-header',
				`Parquet output needs a name for every column; column ${i + 1} of ${input} has none (rename it with --map).`,
				{ file: input, line: 1 },
			);
		if (seen.has(c))
			throw new SweepError(
				'bad-header',
				`Parquet output needs distinct column names; ${JSON.stringify(c)} appears twice in the header of ${input}.`,
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
	const o = normalizeExtractOptions(options);
	const { signal } = hooks;
	if (signal?.aborted) throw abortedError();
	const { fh, st } = await openInput(o.input);
	let outPlan: OutputPlan | undefined;
	try {
		const head = await readHead(fh, st.size, o.input, o.delimiter, o.maxChunkBytes);
		const plan = planColumns(head.rawNames, o.mapping, o.partitionBy, o.input);
		if (o.strictUtf8 && head.names.some((n, i) => bytesOf(n) !== head.rawNames[i])) {
			throw new SweepError('invalid-utf8', `${o.input}: the header (line 1) holds bytes that are not valid UTF-8.`, {
				file: o.input,
				line: 1,
			});
		}
		if (o.parquet) checkParquetColumns(plan.columns, o.input);
		const orders = o.ordersFile ? await loadOrders(o.ordersFile, o.mapping, plan.keySpecs) : null;
		const init: WorkerInit = {
			delimiter: head.delimiter.charCodeAt(0),
			fieldCount: head.names.length,
			keyColumns: plan.keyColumns,
			timestampIndex: plan.timestampIndex,
			priceIndex: plan.priceIndex,
			quantityIndex: plan.quantityIndex,
			orders: orders ? orders.keys : null,
			strictUtf8: o.strictUtf8,
			eol: head.eol,
			parquetTypes: o.parquet?.types,
		};
		// The pool's one owner. Started now, so that a worker's start-up overlaps preparing the output (and a
		// pending configuration); destroyed as soon as the pipeline is over, before the manifest is written.
		const pool = new WorkerPool({
			size: o.figures instanceof Promise ? 1 : o.figures.workers,
			init,
			script: o.workerScript,
			resourceLimits: o.workerResourceLimits,
		});
		let figures: Figures;
		let run: PipelineResult;
		try {
			outPlan = await prepareOutput(o.outDir, { force: o.force, input: o.input, inputBytes: st.size - head.dataStart });
			if (signal?.aborted) throw abortedError();
			figures = await o.figures;
			pool.grow(figures.workers);
			run = await runPipeline({ pool, fh, size: st.size, head, plan, init, outPlan, o, figures, hooks, started });
		} finally {
			await pool.destroy();
		}
		await checkUnchanged(fh, o.input, st);
		const manifest = buildManifest({ o, size: st.size, head, plan, orders, figures, started, run });
		await writeFile(path.join(outPlan.tmpDir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
		if (signal?.aborted) throw abortedError();
		await commitOutput(outPlan);
		return { ...manifest, outDir: outPlan.outDir };
	} catch (e) {
		if (outPlan === undefined) throw e;
		await discardOutput(outPlan);
		if (signal?.aborted) throw abortedError();
		throw wrapIoError(e);
	} finally {
		await fh.close();
	}
}

/** Opens the input for reading; a missing, empty or unreadable input (or a folder) is an input error. */
async function openInput(input: string): Promise<{ fh: FileHandle; st: Stats }> {
	const st = await stat(input).catch((e: NodeJS.ErrnoException) => {
		throw new SweepError(
			'input-missing',
			e.code === 'ENOENT' ? `${input} does not exist.` : `Cannot read ${input}: ${describeFsError(e)}.`,
			{ file: input, cause: e },
		);
	});
	if (st.isDirectory()) throw new SweepError('input-missing', `${input} is a folder, not a CSV file.`, { file: input });
	if (st.size === 0) {
		throw new SweepError('input-empty', `${input} is empty: there is no header to read.`, { file: input });
	}
	try {
		return { fh: await open(input, 'r'), st };
	} catch (e) {
		throw new SweepError('input-missing', `Cannot read ${input}: ${describeFsError(e)}.`, { file: input, cause: e });
	}
}

/** The file must be what it was when the run started: same size, same modification time, same inode. */
async function checkUnchanged(fh: FileHandle, input: string, st: Stats): Promise<void> {
	const after = await fh.stat();
	const now = await stat(input).catch(() => null);
	if (after.size !== st.size || after.mtimeMs !== st.mtimeMs || !now || now.ino !== st.ino) {
		throw new SweepError(
			'file-changed',
			`${input} changed while it was read (size ${st.size} → ${after.size}); the output was discarded. Run again once the file is complete.`,
			{ file: input },
		);
	}
}

function wrapIoError(e: unknown): unknown {
	if (e instanceof SweepError) return e;
	const err = e as NodeJS.ErrnoException;
	if (err && typeof err.code === 'string' && err.syscall) {
		const where = err.path ? ` (${err.path})` : '';
		const what = err.code === 'EFBIG' ? 'the file-size limit was reached' : describeFsError(err);
		return new SweepError(
			'io',
			`Writing the output failed: ${what}${where}. The previous output, if any, is untouched.`,
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
	fh: FileHandle;
	size: number;
	head: FileHead;
	plan: ColumnPlan;
	init: WorkerInit;
	outPlan: OutputPlan;
	o: ExtractSettings;
	figures: Figures;
	hooks: ExtractHooks;
	started: number;
}

interface PipelineResult {
	partitions: PartitionState[];
	rowsRead: number;
	rowsWritten: number;
	rowsRejected: number;
	rowsFilteredOut: number;
	/** Parquet output: each column's type. */
	columnTypes: ColumnType[] | null;
}

/**
 * The main thread's loop: read and cut chunks, hand them to the pool, and commit results strictly in order.
 * Reading runs ahead of committing by a bounded number of chunks, so memory stays bounded by workers × chunk
 * size however large the file.
 */
async function runPipeline(a: PipelineArgs): Promise<PipelineResult> {
	const signal = a.hooks.signal ?? new AbortController().signal;
	const committer = new Committer(a, signal);
	try {
		const chunks = readChunks(a.fh, {
			file: a.o.input,
			start: a.head.dataStart,
			size: a.size,
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
	private readonly inFlight: { chunk: Chunk; result: Promise<ChunkDone> }[] = [];
	/** File offset of each chunk not yet committed, to name the line of a worker's data error. */
	private readonly chunkOffsets = new Map<number, number>();
	private readonly writer: PartitionWriter;
	private readonly namer: FileNamer;
	private readonly header: Buffer;
	private readonly byKey = new Map<string, PartitionState>();
	private readonly partitions: PartitionState[] = [];
	private rejectsId = -1;
	private readonly totals = { rowsRead: 0, rowsWritten: 0, rowsRejected: 0, rowsFilteredOut: 0 };
	private committedBytes: number;
	/** Line of the next chunk to commit (workers number lines within their chunk). */
	private line: number;
	private lastProgress = 0;
	/** Parquet: the classification of every written field so far (merged chunk by chunk; order does not matter). */
	private readonly classes: Int32Array | null;

	constructor(
		private readonly a: PipelineArgs,
		private readonly signal: AbortSignal,
	) {
		this.maxInFlight = a.figures.workers * 2 + 1;
		this.chunkBuffers = new BufferPool(this.maxInFlight + 1);
		this.resultBuffers = new BufferPool(this.maxInFlight + 4);
		this.writer = new PartitionWriter(a.outPlan.tmpDir, a.o.maxOpenFiles);
		const ext = path.extname(a.o.input);
		this.namer = new FileNamer(a.o.parquet ? '.parquet' : ext.toLowerCase() === '.tsv' ? '.tsv' : ext || '.csv');
		this.classes = a.o.parquet ? newClassification(a.init.fieldCount) : null;
		this.header = formatHeader(a.plan.rawColumns, a.head.delimiter, a.head.eol);
		this.committedBytes = a.head.dataStart;
		this.line = a.head.dataLine;
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
		this.inFlight.push({ chunk: { ...chunk, bytes: new ArrayBuffer(0) }, result });
	}

	/** Commits the oldest chunks, in order, until at most `keep` are in flight. */
	async drain(keep: number): Promise<void> {
		while (this.inFlight.length > keep) {
			const next = this.inFlight.shift()!;
			await this.commit(next.chunk, await abortable(next.result, this.signal));
		}
	}

	private async commit(chunk: Chunk, done: ChunkDone): Promise<void> {
		const startLine = this.line;
		this.addBuckets(done, startLine);
		if (done.rejects.length > 0) this.addRejects(done, startLine);
		if (this.classes && done.types) mergeClassification(this.classes, done.types);
		this.totals.rowsRead += done.rowsRead;
		this.totals.rowsFilteredOut += done.rowsFilteredOut;
		this.committedBytes = chunk.endOffset;
		this.line += done.lines;
		this.chunkOffsets.delete(chunk.seq);
		this.chunkBuffers.give(done.input);
		this.written.push(done.data);
		if (this.writer.full) {
			await this.writer.flush();
			for (const b of this.written.splice(0)) this.resultBuffers.give(b);
		}
		this.progress(false);
	}

	private addBuckets(done: ChunkDone, startLine: number): void {
		const data = new Uint8Array(done.data);
		const max = this.a.o.maxPartitions;
		for (const b of done.buckets) {
			let p = this.byKey.get(b.key);
			if (p === undefined) {
				if (this.partitions.length >= max) {
					throw new SweepError(
						'max-partitions',
						`More than ${max} partitions (at line ${startLine} or after); is the partition column right? Raise the limit with --max-partitions.`,
						{ file: this.a.o.input },
					);
				}
				const file = this.namer.name(b.parts);
				// Parquet: the partition is first written as a temporary CSV beside its Parquet file (docs/parquet.md).
				const id = this.writer.add(this.a.o.parquet ? file + TEMP_CSV : file, this.header);
				p = { id, parts: b.parts, file, rows: 0, stats: emptyStats() };
				this.byKey.set(b.key, p);
				this.partitions.push(p);
			}
			p.rows += b.rows;
			mergeStats(p.stats, b.stats);
			this.writer.append(p.id, data.subarray(b.offset, b.offset + b.length));
			this.totals.rowsWritten += b.rows;
		}
	}

	private addRejects(done: ChunkDone, startLine: number): void {
		if (this.rejectsId < 0) this.rejectsId = this.writer.add(REJECTS_FILE, Buffer.from('line,reason,raw\n'));
		const raw = new Uint8Array(done.rejectData);
		for (const r of done.rejects) r.line += startLine;
		const lines = done.rejects.map((r) =>
			Buffer.concat([
				Buffer.from(`${r.line},"${r.reason.replaceAll('"', '""')}",`, 'utf8'),
				quoted(raw.subarray(r.start, r.end)),
				Buffer.from('\n'),
			]),
		);
		this.writer.append(this.rejectsId, Buffer.concat(lines));
		this.totals.rowsRejected += done.rejects.length;
		const max = this.a.o.maxRejects;
		if (max !== null && this.totals.rowsRejected > max) {
			const last = done.rejects[done.rejects.length - 1];
			throw new SweepError(
				'max-rejects',
				`Stopped: more than ${max} rejected records (the last on line ${last.line}: ${last.reason}).`,
				{ file: this.a.o.input, line: last.line },
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
		onProgress({
			bytesRead: this.committedBytes,
			totalBytes: this.a.size,
			rowsRead: this.totals.rowsRead,
			partitions: this.partitions.length,
			elapsedMs: now - this.a.started,
		});
	}

	/** Writes out what is left and closes the files, once every chunk is committed. */
	async close(): Promise<PipelineResult> {
		await this.writer.close();
		const columnTypes = this.classes && this.a.o.parquet ? await this.convert(this.a.o.parquet) : null;
		this.progress(true);
		return { partitions: this.partitions, ...this.totals, columnTypes };
	}

	/** Parquet: decides the column types and converts every partition in the workers (docs/parquet.md). */
	private async convert(pq: NonNullable<ExtractSettings['parquet']>): Promise<ColumnType[]> {
		const types = decideTypes(this.classes!, pq.types);
		// Phase 1's buffers are no longer needed: let them go before the conversions take memory.
		this.chunkBuffers.drain(Number.POSITIVE_INFINITY);
		this.resultBuffers.drain(Number.POSITIVE_INFINITY);
		this.written.length = 0;
		// As many conversions at a time as there are workers. (Taking the idle main thread's core as well was tried:
		// each conversion holds its own row group and heap, and peak RSS on the 4M-row benchmark rose 408 → 506 MB.)
		const workers = this.a.figures.workers;
		await convertAll({
			pool: this.a.pool,
			dir: this.a.outPlan.tmpDir,
			// Largest first, so that one big partition does not start last and run on alone.
			files: [...this.partitions].sort((x, y) => y.rows - x.rows || x.id - y.id).map((p) => p.file),
			delimiter: this.a.init.delimiter,
			columns: this.a.plan.columns,
			types,
			codec: pq.codec,
			workers,
			createdBy: 'Sweep (hyparquet-writer)',
			signal: this.signal,
		});
		return types;
	}

	/** Closes the files after a failure; the error to throw (a worker's data error names the file's line). */
	async fail(e: unknown): Promise<unknown> {
		await this.writer.closeHandles();
		if (!(e instanceof ChunkLineError)) return e;
		const at = this.chunkOffsets.get(e.seq);
		const head = this.a.head;
		const fileLine =
			at === undefined ? undefined : (await lineAt(this.a.fh, head.dataStart, head.dataLine, at)) + e.line;
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
function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
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
	orders: Orders | null;
	figures: Figures;
	started: number;
	run: PipelineResult;
}): Manifest {
	const toPartition = (parts: string[], file: string | null, rows: number, s: ChunkStats): ManifestPartition => {
		const texts = parts.map(textOf);
		const out: ManifestPartition = { key: texts.map((t) => t.text), file, rows, stats: {} };
		if (texts.some((t) => !t.valid)) out.keyHex = parts.map((p) => Buffer.from(p, 'latin1').toString('hex'));
		if (s.firstTimestamp !== null) out.stats.firstTimestamp = textOf(s.firstTimestamp).text;
		if (s.lastTimestamp !== null) out.stats.lastTimestamp = textOf(s.lastTimestamp).text;
		if (s.minPrice !== null) out.stats.minPrice = s.minPrice;
		if (s.maxPrice !== null) out.stats.maxPrice = s.maxPrice;
		if (s.quantity !== null) out.stats.quantity = s.quantity;
		if (s.pricedQuantity !== 0) out.stats.vwap = s.notional / s.pricedQuantity;
		return out;
	};
	const partitions = m.run.partitions.map((p) => toPartition(p.parts, p.file, p.rows, p.stats));
	if (m.orders) {
		const present = new Set(m.run.partitions.map((p) => encodeKey(p.parts)));
		m.orders.keys.forEach((k, i) => {
			if (!present.has(k)) partitions.push(toPartition(m.orders!.parts[i], null, 0, emptyStats()));
		});
	}
	const sources = m.figures.configSources ?? { workers: 'flag', chunkSize: 'flag' };
	return {
		version: 1,
		source: { path: m.o.input, bytes: m.size, header: m.head.names, delimiter: m.head.delimiter },
		columns: m.plan.columns,
		partitionBy: m.plan.keySpecs.map((k) => k.spec),
		orders: m.orders ? { path: m.orders.path, keys: m.orders.keys.length } : null,
		config: { workers: m.figures.workers, chunkSize: m.figures.chunkSize, sources },
		rowsRead: m.run.rowsRead,
		rowsWritten: m.run.rowsWritten,
		rowsRejected: m.run.rowsRejected,
		rowsFilteredOut: m.run.rowsFilteredOut,
		partitions,
		rejects: m.run.rowsRejected > 0 ? REJECTS_FILE : null,
		...(m.run.columnTypes && m.o.parquet
			? {
					format: 'parquet' as const,
					parquet: {
						types: m.o.parquet.types,
						compression: m.o.parquet.codec,
						rowGroupRows: ROW_GROUP_ROWS,
						rowGroupBytes: ROW_GROUP_BYTES,
						columns: m.plan.columns.map((name, i) => ({ name, type: m.run.columnTypes![i] })),
					},
				}
			: {}),
		startedAt: new Date(m.started).toISOString(),
		durationMs: Date.now() - m.started,
	};
}
