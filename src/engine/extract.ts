import { isUtf8 } from 'node:buffer';
import { type FileHandle, open, stat, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { BufferPool } from './bufferPool';
import { type Chunk, lineAt, readChunks } from './chunkReader';
import { bytesOf, formatHeader, normalizeDelimiter } from './dialect';
import { abortedError, SweepError } from './errors';
import { FileNamer } from './fileNames';
import { planColumns, readHead } from './header';
import { encodeKey } from './keys';
import { loadOrders, type Orders } from './orders';
import {
	commitOutput,
	describeFsError,
	discardOutput,
	MANIFEST,
	type OutputPlan,
	prepareOutput,
	REJECTS,
} from './outputFolder';
import {
	type ParquetCompression,
	parseFormat,
	parseParquetCompression,
	parseParquetTypes,
	ROW_GROUP_BYTES,
	ROW_GROUP_ROWS,
} from './parquet/options';
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

const DEFAULT_MAX_CHUNK_BYTES = 64 * 1024 * 1024;
const DEFAULT_MAX_PARTITIONS = 100_000;

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

function positiveInt(value: number, what: string): number {
	if (!Number.isInteger(value) || value < 1)
		throw new SweepError('usage', `${what} must be a positive integer (got ${value}).`);
	return value;
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

/**
 * Extracts the partitions of a CSV file (SPEC §5): streams it from disk in chunks through a pool of worker
 * threads, writes one file per partition plus `_manifest.json` and `_rejects.csv` into a temporary sibling of
 * the output folder, and puts it in place only when everything succeeded. Resolves to the manifest.
 *
 * Output is byte-identical for any worker count and chunk size: chunks are committed strictly in file order,
 * and within a chunk the worker keeps each partition's records in source order.
 */
export async function extract(options: ExtractOptions, hooks: ExtractHooks = {}): Promise<Manifest> {
	const started = Date.now();
	const startedAt = new Date(started).toISOString();
	const { signal, onProgress } = hooks;
	const pending = options.pendingConfig;
	pending?.catch(() => undefined); // a rejection is reported where it is awaited, not as an unhandled one
	let workers = pending ? 0 : positiveInt(options.workers as number, 'workers');
	let chunkSize = pending ? 0 : positiveInt(options.chunkSize as number, 'chunk size');
	let configSources = options.configSources;
	const maxChunkBytes = Math.min(options.maxChunkBytes ?? DEFAULT_MAX_CHUNK_BYTES, 512 * 1024 * 1024);
	const maxPartitions = options.maxPartitions ?? DEFAULT_MAX_PARTITIONS;
	const maxRejects = options.maxRejects ?? null;
	const mapping = options.mapping ?? {};
	const partitionBy = options.partitionBy && options.partitionBy.length > 0 ? options.partitionBy : ['symbol'];
	const delimiterGiven = options.delimiter ? normalizeDelimiter(options.delimiter) : null;
	const parquet = parquetOptions(options);
	if (signal?.aborted) throw abortedError();

	const input = path.resolve(options.input);
	const st = await stat(input).catch((e: NodeJS.ErrnoException) => {
		throw new SweepError(
			'input-missing',
			e.code === 'ENOENT' ? `${input} does not exist.` : `Cannot read ${input}: ${describeFsError(e)}.`,
			{ file: input, cause: e },
		);
	});
	if (st.isDirectory()) throw new SweepError('input-missing', `${input} is a folder, not a CSV file.`, { file: input });
	if (st.size === 0)
		throw new SweepError('input-empty', `${input} is empty: there is no header to read.`, { file: input });

	let fh: FileHandle;
	try {
		fh = await open(input, 'r');
	} catch (e) {
		throw new SweepError('input-missing', `Cannot read ${input}: ${describeFsError(e)}.`, { file: input, cause: e });
	}
	let pool: WorkerPool | undefined;
	try {
		const size = st.size;
		const head = await readHead(fh, size, input, delimiterGiven, maxChunkBytes);
		const plan = planColumns(head.rawNames, mapping, partitionBy, input);
		if (options.strictUtf8 && head.names.some((n, i) => bytesOf(n) !== head.rawNames[i])) {
			throw new SweepError('invalid-utf8', `${input}: the header (line 1) holds bytes that are not valid UTF-8.`, {
				file: input,
				line: 1,
			});
		}
		if (parquet) checkParquetColumns(plan.columns, input);
		const orders = options.ordersFile ? await loadOrders(options.ordersFile, mapping, plan.keySpecs) : null;
		const init: WorkerInit = {
			delimiter: head.delimiter.charCodeAt(0),
			fieldCount: head.names.length,
			keyColumns: plan.keyColumns,
			timestampIndex: plan.timestampIndex,
			priceIndex: plan.priceIndex,
			quantityIndex: plan.quantityIndex,
			orders: orders ? orders.keys : null,
			strictUtf8: options.strictUtf8 ?? false,
			eol: head.eol,
			parquetTypes: parquet?.types,
		};
		// Started now, so that a worker's start-up overlaps preparing the output (and a pending configuration).
		pool = new WorkerPool({
			size: pending ? 1 : workers,
			init,
			script: options.workerScript,
			resourceLimits: options.workerResourceLimits,
		});
		const outPlan = await prepareOutput(options.outDir ?? defaultOutDir(input), {
			force: options.force ?? false,
			input,
			inputBytes: size - head.dataStart,
		});
		if (signal?.aborted) {
			await discardOutput(outPlan);
			throw abortedError();
		}
		try {
			if (pending) {
				const settled = await pending;
				workers = positiveInt(settled.workers, 'workers');
				chunkSize = positiveInt(settled.chunkSize, 'chunk size');
				configSources = settled.configSources ?? configSources;
				pool.grow(workers);
			}
			const run = await runPipeline({
				pool,
				fh,
				input,
				size,
				head,
				init,
				outPlan,
				workers,
				chunkSize,
				maxChunkBytes,
				maxPartitions,
				maxRejects,
				header: formatHeader(plan.rawColumns, head.delimiter, head.eol),
				extension: parquet
					? '.parquet'
					: path.extname(input).toLowerCase() === '.tsv'
						? '.tsv'
						: path.extname(input) || '.csv',
				parquet: parquet
					? {
							...parquet,
							columns: plan.columns,
							// The main thread idles while partitions are converted: with a detected worker count (cores
							// minus the main thread's share), conversion takes that core too. A count given by the user is kept.
							convertWorkers:
								configSources?.workers === 'detected' || configSources?.workers === 'fallback' ? workers + 1 : workers,
						}
					: null,
				options,
				signal,
				onProgress,
				started,
			});
			// The file must be what it was when we started: same size, same modification time.
			const after = await fh.stat();
			const now = await stat(input).catch(() => null);
			if (after.size !== size || after.mtimeMs !== st.mtimeMs || !now || now.ino !== st.ino) {
				throw new SweepError(
					'file-changed',
					`${input} changed while it was read (size ${size} → ${after.size}); the output was discarded. Run again once the file is complete.`,
					{ file: input },
				);
			}
			const manifest = buildManifest({
				input,
				size,
				head,
				plan,
				orders,
				options,
				workers,
				chunkSize,
				configSources,
				startedAt,
				started,
				run,
			});
			await writeFile(path.join(outPlan.tmpDir, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
			if (signal?.aborted) throw abortedError();
			await commitOutput(outPlan);
			return { ...manifest, outDir: outPlan.outDir };
		} catch (e) {
			await discardOutput(outPlan);
			if (signal?.aborted) throw abortedError();
			throw wrapIoError(e);
		}
	} finally {
		// The pipeline destroys the pool when it ends; this covers every way out before it ran.
		await pool?.destroy();
		await fh.close();
	}
}

/** The Parquet settings of a run, or null for CSV output. Bad values are usage errors (exit 2). */
function parquetOptions(options: ExtractOptions): { types: ParquetTypesMode; codec: ParquetCompression } | null {
	const format = parseFormat(options.format ?? 'csv');
	if (typeof format !== 'string') throw new SweepError('usage', `${format.error}.`);
	if (format === 'csv') return null;
	const types = parseParquetTypes(options.parquetTypes ?? 'infer');
	if (typeof types !== 'string') throw new SweepError('usage', `${types.error}.`);
	const codec = parseParquetCompression(options.parquetCompression ?? 'snappy');
	if (typeof codec !== 'string') throw new SweepError('usage', `${codec.error}.`);
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
	/** Started by extract(); destroyed here once the pipeline is done. */
	pool: WorkerPool;
	fh: FileHandle;
	input: string;
	size: number;
	head: Awaited<ReturnType<typeof readHead>>;
	init: WorkerInit;
	outPlan: OutputPlan;
	workers: number;
	chunkSize: number;
	maxChunkBytes: number;
	maxPartitions: number;
	maxRejects: number | null;
	header: Buffer;
	extension: string;
	/** Parquet output (the partitions are first written as temporary CSVs), or null. */
	parquet: {
		types: ParquetTypesMode;
		codec: ParquetCompression;
		columns: string[];
		/** Worker threads for the conversion phase. */
		convertWorkers: number;
	} | null;
	options: ExtractOptions;
	signal?: AbortSignal;
	onProgress?: ExtractHooks['onProgress'];
	started: number;
}

interface PipelineResult {
	partitions: PartitionState[];
	rowsRead: number;
	rowsWritten: number;
	rowsRejected: number;
	rowsFilteredOut: number;
	/** Parquet output: each column's type, the type mode and the codec. */
	columnTypes: ColumnType[] | null;
	parquet: { types: ParquetTypesMode; codec: ParquetCompression } | null;
}

/**
 * The main thread's loop: read and cut chunks, hand them to the pool, and commit results strictly in order.
 * Reading runs ahead of committing by a bounded number of chunks, so memory stays bounded by workers × chunk
 * size however large the file.
 */
async function runPipeline(a: PipelineArgs): Promise<PipelineResult> {
	const pool = a.pool;
	const writer = new PartitionWriter(a.outPlan.tmpDir, a.options.maxOpenFiles ?? 512);
	const namer = new FileNamer(a.extension);
	const byKey = new Map<string, PartitionState>();
	const partitions: PartitionState[] = [];
	let rejectsId = -1;
	/** Parquet: the classification of every written field so far (merged chunk by chunk; order does not matter). */
	const classes = a.parquet ? newClassification(a.init.fieldCount) : null;
	let columnTypes: ColumnType[] | null = null;
	const totals = { rowsRead: 0, rowsWritten: 0, rowsRejected: 0, rowsFilteredOut: 0 };
	let committedBytes = a.head.dataStart;
	/** Line of the next chunk to commit (workers number lines within their chunk). */
	let line = a.head.dataLine;
	/** File offset of each chunk not yet committed, to name the line of a worker's data error. */
	const chunkOffsets = new Map<number, number>();
	let lastProgress = 0;
	const progress = (force: boolean) => {
		if (!a.onProgress) return;
		const now = Date.now();
		if (!force && now - lastProgress < 200) return;
		lastProgress = now;
		a.onProgress({
			bytesRead: committedBytes,
			totalBytes: a.size,
			rowsRead: totals.rowsRead,
			partitions: partitions.length,
			elapsedMs: now - a.started,
		});
	};

	const commit = async (chunk: Chunk, done: ChunkDone) => {
		const startLine = line;
		const data = new Uint8Array(done.data);
		for (const b of done.buckets) {
			let p = byKey.get(b.key);
			if (p === undefined) {
				if (partitions.length >= a.maxPartitions) {
					throw new SweepError(
						'max-partitions',
						`More than ${a.maxPartitions} partitions (at line ${startLine} or after); is the partition column right? Raise the limit with --max-partitions.`,
						{ file: a.input },
					);
				}
				const file = namer.name(b.parts);
				const id = writer.add(a.parquet ? file + TEMP_CSV : file, a.header);
				p = { id, parts: b.parts, file, rows: 0, stats: emptyStats() };
				byKey.set(b.key, p);
				partitions.push(p);
			}
			p.rows += b.rows;
			mergeStats(p.stats, b.stats);
			writer.append(p.id, data.subarray(b.offset, b.offset + b.length));
			totals.rowsWritten += b.rows;
		}
		if (done.rejects.length > 0) {
			if (rejectsId < 0) rejectsId = writer.add(REJECTS, Buffer.from('line,reason,raw\n'));
			const raw = new Uint8Array(done.rejectData);
			for (const r of done.rejects) r.line += startLine;
			const lines = done.rejects.map((r) =>
				Buffer.concat([
					Buffer.from(`${r.line},"${r.reason.replaceAll('"', '""')}",`, 'utf8'),
					quoted(raw.subarray(r.start, r.end)),
					Buffer.from('\n'),
				]),
			);
			writer.append(rejectsId, Buffer.concat(lines));
			totals.rowsRejected += done.rejects.length;
			if (a.maxRejects !== null && totals.rowsRejected > a.maxRejects) {
				throw new SweepError(
					'max-rejects',
					`Stopped: more than ${a.maxRejects} rejected records (the last on line ${done.rejects[done.rejects.length - 1].line}: ${done.rejects[done.rejects.length - 1].reason}).`,
					{ file: a.input, line: done.rejects[done.rejects.length - 1].line },
				);
			}
		}
		if (classes && done.types) mergeClassification(classes, done.types);
		totals.rowsRead += done.rowsRead;
		totals.rowsFilteredOut += done.rowsFilteredOut;
		committedBytes = chunk.endOffset;
		line += done.lines;
		chunkOffsets.delete(chunk.seq);
		chunkBuffers.give(done.input);
		written.push(done.data);
		if (writer.full) {
			await writer.flush();
			for (const b of written.splice(0)) resultBuffers.give(b);
		}
		progress(false);
	};

	// Chunks in flight (read, being processed, or waiting to be committed), oldest first.
	const inFlight: { chunk: Chunk; result: Promise<ChunkDone> }[] = [];
	const maxInFlight = a.workers * 2 + 1;
	const chunkBuffers = new BufferPool(maxInFlight + 1);
	// Result buffers circulate: one per chunk in flight, plus those the writer holds until its next flush. Each task
	// carries at most one back to a worker, so workers only make a new one while the circulation is still growing.
	const resultBuffers = new BufferPool(maxInFlight + 4);
	/** Result buffers whose bytes the writer still holds (free again after its next flush). */
	const written: ArrayBuffer[] = [];
	const internal = new AbortController();
	const onAbort = () => internal.abort();
	a.signal?.addEventListener('abort', onAbort, { once: true });
	if (a.signal?.aborted) internal.abort(); // aborted while the file was opened and the output prepared
	try {
		const chunks = readChunks(a.fh, {
			file: a.input,
			start: a.head.dataStart,
			size: a.size,
			startLine: a.head.dataLine,
			delimiter: a.init.delimiter,
			chunkSize: a.chunkSize,
			maxChunkBytes: a.maxChunkBytes,
			signal: internal.signal,
			buffers: chunkBuffers,
		});
		for await (const chunk of chunks) {
			if (internal.signal.aborted) throw abortedError();
			const meta = { ...chunk, bytes: new ArrayBuffer(0) };
			chunkOffsets.set(chunk.seq, chunk.fileOffset);
			const result = pool.run({
				type: 'chunk',
				seq: chunk.seq,
				bytes: chunk.bytes,
				offset: chunk.offset,
				length: chunk.length,
				spare: resultBuffers.drain(1),
				isLast: chunk.isLast,
			});
			result.catch(() => undefined); // observed when its turn comes
			inFlight.push({ chunk: meta, result });
			while (inFlight.length >= maxInFlight) {
				const next = inFlight.shift()!;
				await commit(next.chunk, await abortable(next.result, internal.signal));
			}
		}
		if (internal.signal.aborted) throw abortedError();
		while (inFlight.length > 0) {
			const next = inFlight.shift()!;
			await commit(next.chunk, await abortable(next.result, internal.signal));
		}
		await writer.close();
		if (a.parquet && classes) {
			columnTypes = decideTypes(classes, a.parquet.types);
			// Phase 1's buffers are no longer needed: let them go before the conversions take memory.
			chunkBuffers.drain(Number.POSITIVE_INFINITY);
			resultBuffers.drain(Number.POSITIVE_INFINITY);
			written.length = 0;
			pool.grow(a.parquet.convertWorkers);
			await convertAll({
				pool,
				dir: a.outPlan.tmpDir,
				// Largest first, so that one big partition does not start last and run on alone.
				files: [...partitions].sort((x, y) => y.rows - x.rows || x.id - y.id).map((p) => p.file),
				delimiter: a.init.delimiter,
				columns: a.parquet.columns,
				types: columnTypes,
				codec: a.parquet.codec,
				workers: a.parquet.convertWorkers,
				createdBy: 'Sweep (hyparquet-writer)',
				signal: internal.signal,
			});
		}
		progress(true);
	} catch (e) {
		await writer.closeHandles();
		if (e instanceof ChunkLineError) {
			const at = chunkOffsets.get(e.seq);
			const fileLine =
				at === undefined ? undefined : (await lineAt(a.fh, a.head.dataStart, a.head.dataLine, at)) + e.line;
			const where = fileLine === undefined ? `in ${a.input}` : `on line ${fileLine} of ${a.input}`;
			throw new SweepError(
				'invalid-utf8',
				`Stopped: ${e.what} ${where} (run without strict UTF-8 to pass such bytes through).`,
				{ file: a.input, line: fileLine },
			);
		}
		throw e;
	} finally {
		a.signal?.removeEventListener('abort', onAbort);
		await pool.destroy();
	}
	return {
		partitions,
		...totals,
		columnTypes,
		parquet: a.parquet && { types: a.parquet.types, codec: a.parquet.codec },
	};
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
	input: string;
	size: number;
	head: Awaited<ReturnType<typeof readHead>>;
	plan: ReturnType<typeof planColumns>;
	orders: Orders | null;
	options: ExtractOptions;
	workers: number;
	chunkSize: number;
	configSources: ConfigSources | undefined;
	startedAt: string;
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
	const sources = m.configSources ?? { workers: 'flag', chunkSize: 'flag' };
	return {
		version: 1,
		source: { path: m.input, bytes: m.size, header: m.head.names, delimiter: m.head.delimiter },
		columns: m.plan.columns,
		partitionBy: m.plan.keySpecs.map((k) => k.spec),
		orders: m.orders ? { path: m.orders.path, keys: m.orders.keys.length } : null,
		config: { workers: m.workers, chunkSize: m.chunkSize, sources },
		rowsRead: m.run.rowsRead,
		rowsWritten: m.run.rowsWritten,
		rowsRejected: m.run.rowsRejected,
		rowsFilteredOut: m.run.rowsFilteredOut,
		partitions,
		rejects: m.run.rowsRejected > 0 ? REJECTS : null,
		...(m.run.columnTypes && m.run.parquet
			? {
					format: 'parquet' as const,
					parquet: {
						types: m.run.parquet.types,
						compression: m.run.parquet.codec,
						rowGroupRows: ROW_GROUP_ROWS,
						rowGroupBytes: ROW_GROUP_BYTES,
						columns: m.plan.columns.map((name, i) => ({ name, type: m.run.columnTypes![i] })),
					},
				}
			: {}),
		startedAt: m.startedAt,
		durationMs: Date.now() - m.started,
	};
}
