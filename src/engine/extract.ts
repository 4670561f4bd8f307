import { isUtf8 } from 'node:buffer';
import { type FileHandle, open, stat, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import {
	type AppendBase,
	appendSettings,
	checkAppendColumns,
	checkAppendSpace,
	duplicateError,
	earlierInput,
	openAppendTarget,
	ordersSha256,
} from './append';
import { BufferPool } from './bufferPool';
import { type Chunk, lineAt, readChunks } from './chunkReader';
import { bytesOf, formatHeader, normalizeDelimiter } from './dialect';
import { abortedError, SweepError } from './errors';
import { FileNamer } from './fileNames';
import { hashFile } from './hasher';
import { type ColumnPlan, type FileHead, planColumns, readHead } from './header';
import { AppendJournal, hasJournal, MANIFEST_NEXT, recoverAppend, writeDurably } from './journal';
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
import { ChunkLineError, WorkerPool } from './pool';
import type { ChunkDone, ChunkStats, WorkerInit } from './protocol';
import type {
	ConfigSources,
	ExtractHooks,
	ExtractOptions,
	Manifest,
	ManifestInput,
	ManifestPartition,
	PartitionStats,
} from './types';
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
	/** The file's size once the run is done. */
	bytes: number;
}

/** The extension partition files take: the (first) input's, `.csv` when it has none. */
function extensionOf(input: string): string {
	return path.extname(input).toLowerCase() === '.tsv' ? '.tsv' : path.extname(input) || '.csv';
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
	let hasher: ReturnType<typeof hashFile> | undefined;
	try {
		const size = st.size;
		const mtime = st.mtime.toISOString();
		let appendTo: AppendBase | null = null;
		let settings = { mapping, partitionBy, delimiter: delimiterGiven, ordersFile: options.ordersFile ?? null };
		if (options.append) {
			const outDir = path.resolve(options.outDir ?? defaultOutDir(input));
			// An append killed outright is undone before anything else looks at the folder.
			if (await hasJournal(outDir)) await recoverAppend(outDir);
			appendTo = await openAppendTarget(outDir, input, options.force ?? false);
			settings = appendSettings(appendTo, { ...options, delimiter: delimiterGiven });
			if (!options.allowDuplicateInput) {
				const same = earlierInput(appendTo, { path: input, bytes: size, mtime });
				if (same) throw duplicateError(input, appendTo, same);
			}
		}
		const head = await readHead(fh, size, input, settings.delimiter, maxChunkBytes);
		const plan = planColumns(head.rawNames, settings.mapping, settings.partitionBy, input);
		if (options.strictUtf8 && head.names.some((n, i) => bytesOf(n) !== head.rawNames[i])) {
			throw new SweepError('invalid-utf8', `${input}: the header (line 1) holds bytes that are not valid UTF-8.`, {
				file: input,
				line: 1,
			});
		}
		const orders = settings.ordersFile ? await loadOrders(settings.ordersFile, settings.mapping, plan.keySpecs) : null;
		if (appendTo) checkAppendColumns(appendTo, input, plan, orders);
		// An appended file's last record, if it lacks a line ending, gets the output's (the first input's header's).
		const eol = appendTo ? appendTo.manifest.eol : head.eol;
		const init: WorkerInit = {
			delimiter: head.delimiter.charCodeAt(0),
			fieldCount: head.names.length,
			keyColumns: plan.keyColumns,
			timestampIndex: plan.timestampIndex,
			priceIndex: plan.priceIndex,
			quantityIndex: plan.quantityIndex,
			orders: orders ? orders.keys : null,
			strictUtf8: options.strictUtf8 ?? false,
			eol,
		};
		// Started now, so that a worker's start-up overlaps preparing the output (and a pending configuration).
		pool = new WorkerPool({
			size: pending ? 1 : workers,
			init,
			script: options.workerScript,
			resourceLimits: options.workerResourceLimits,
		});
		let outPlan: OutputPlan;
		if (appendTo) {
			await checkAppendSpace(appendTo.outDir, size - head.dataStart);
			// An append writes in place; the journal makes it all or nothing.
			outPlan = { outDir: appendTo.outDir, tmpDir: appendTo.outDir, id: '' };
		} else {
			outPlan = await prepareOutput(options.outDir ?? defaultOutDir(input), {
				force: options.force ?? false,
				input,
				inputBytes: size - head.dataStart,
			});
		}
		// The input's SHA-256, in a thread of its own while the pipeline reads the file.
		hasher = hashFile(fh.fd, size);
		if (signal?.aborted) {
			if (!appendTo) await discardOutput(outPlan);
			throw abortedError();
		}
		let journal: AppendJournal | null = null;
		let committed = false;
		try {
			if (appendTo) journal = await AppendJournal.begin(appendTo.outDir, appendTo.manifestSha256, appendTo.sizes);
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
				header: formatHeader(plan.rawColumns, head.delimiter, eol),
				extension: extensionOf(appendTo ? appendTo.manifest.source.path : input),
				options,
				signal,
				onProgress,
				started,
				base: appendTo,
				journal,
			});
			// The file must be what it was when we started: same size, same modification time.
			const after = await fh.stat();
			const now = await stat(input).catch(() => null);
			const hash = await abortable(hasher.result, signal);
			if (after.size !== size || after.mtimeMs !== st.mtimeMs || !now || now.ino !== st.ino || hash.bytes !== size) {
				throw new SweepError(
					'file-changed',
					`${input} changed while it was read (size ${size} → ${after.size}); the output was ${appendTo ? 'put back as it was' : 'discarded'}. Run again once the file is complete.`,
					{ file: input },
				);
			}
			if (appendTo && !options.allowDuplicateInput) {
				const same = earlierInput(appendTo, { sha256: hash.sha256 });
				if (same) throw duplicateError(input, appendTo, same);
			}
			const manifest = buildManifest({
				input,
				size,
				head,
				plan,
				orders,
				mapping: settings.mapping,
				workers,
				chunkSize,
				configSources,
				startedAt,
				started,
				run,
				eol,
				base: appendTo?.manifest ?? null,
				entry: {
					path: input,
					bytes: size,
					mtime,
					sha256: hash.sha256,
					rowsRead: run.rowsRead,
					rowsWritten: run.rowsWritten,
					rowsRejected: run.rowsRejected,
					rowsFilteredOut: run.rowsFilteredOut,
					rejects: run.rowsRejected,
				},
			});
			if (signal?.aborted) throw abortedError();
			const text = `${JSON.stringify(manifest, null, 2)}\n`;
			if (appendTo && journal) {
				// The commit: the new manifest replaces the old one in one rename, after every appended byte is on disk.
				await writeDurably(appendTo.outDir, MANIFEST, MANIFEST_NEXT, text);
				committed = true;
				// If the journal cannot be removed now, the next run sees the new manifest and removes it.
				await journal.finish().catch(() => undefined);
			} else {
				await writeFile(path.join(outPlan.tmpDir, MANIFEST), text);
				if (signal?.aborted) throw abortedError();
				await commitOutput(outPlan);
			}
			return { ...manifest, outDir: outPlan.outDir };
		} catch (e) {
			if (journal && !committed) await rollBack(journal, outPlan.outDir, e);
			else if (!appendTo) await discardOutput(outPlan);
			if (signal?.aborted) throw abortedError();
			throw wrapIoError(e, appendTo !== null);
		}
	} finally {
		// The pipeline destroys the pool when it ends; this covers every way out before it ran.
		await pool?.destroy();
		await hasher?.stop();
		await fh.close();
	}
}

/** Undoes a failed append; if even that fails, the journal stays and the next run on the folder undoes it. */
async function rollBack(journal: AppendJournal, outDir: string, cause: unknown): Promise<void> {
	try {
		await journal.rollback();
	} catch (e) {
		const why = e instanceof Error ? e.message : String(e);
		const first = cause instanceof Error ? cause.message : String(cause);
		throw new SweepError(
			'io',
			`${first} Putting ${outDir} back as it was failed too (${why}); the next Sweep run on that folder will do it.`,
			{ file: outDir, cause },
		);
	}
}

function wrapIoError(e: unknown, append = false): unknown {
	if (e instanceof SweepError) return e;
	const err = e as NodeJS.ErrnoException;
	if (err && typeof err.code === 'string' && err.syscall) {
		const where = err.path ? ` (${err.path})` : '';
		const what = err.code === 'EFBIG' ? 'the file-size limit was reached' : describeFsError(err);
		return new SweepError(
			'io',
			`Writing the output failed: ${what}${where}. ${append ? 'The output is as it was before the append.' : 'The previous output, if any, is untouched.'}`,
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
	head: FileHead;
	init: WorkerInit;
	outPlan: OutputPlan;
	workers: number;
	chunkSize: number;
	maxChunkBytes: number;
	maxPartitions: number;
	maxRejects: number | null;
	header: Buffer;
	extension: string;
	options: ExtractOptions;
	signal?: AbortSignal;
	onProgress?: ExtractHooks['onProgress'];
	started: number;
	/** The output an append adds to (its partitions come first, its files grow), or null. */
	base: AppendBase | null;
	/** An append's journal: files are recorded in it before they are created. */
	journal: AppendJournal | null;
}

interface PipelineResult {
	partitions: PartitionState[];
	rowsRead: number;
	rowsWritten: number;
	rowsRejected: number;
	rowsFilteredOut: number;
	/** Size of `_rejects.csv` at the end, or null when there is none. */
	rejectsBytes: number | null;
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
	if (a.journal) {
		const journal = a.journal;
		writer.beforeCreate = (names) => journal.willCreate(names);
	}
	if (a.base) {
		// The output's partitions, in its order, with their files, counts and stats: an append goes on from there.
		for (const m of a.base.manifest.partitions) {
			if (m.file === null) continue;
			const parts = partsOf(m);
			const file = namer.name(parts);
			if (file !== m.file) {
				throw new SweepError(
					'manifest-invalid',
					`Cannot append: ${MANIFEST} in ${a.base.outDir} names the file of key ${JSON.stringify(m.key)} ${m.file}, but Sweep names it ${file} (was the manifest edited?).`,
					{ file: path.join(a.base.outDir, MANIFEST) },
				);
			}
			const size = a.base.sizes[file];
			const p: PartitionState = {
				id: writer.addExisting(file, size),
				parts,
				file,
				rows: m.rows,
				stats: statsFrom(m.stats),
				bytes: size,
			};
			byKey.set(encodeKey(parts), p);
			partitions.push(p);
		}
		if (a.base.manifest.rejects !== null) rejectsId = writer.addExisting(REJECTS, a.base.sizes[REJECTS]);
	}
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
				p = { id: writer.add(file, a.header), parts: b.parts, file, rows: 0, stats: emptyStats(), bytes: 0 };
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
		// An append's bytes must be on disk before its manifest commits them.
		await writer.close(a.base !== null);
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
	for (const p of partitions) p.bytes = writer.size(p.id);
	return { partitions, ...totals, rejectsBytes: rejectsId < 0 ? null : writer.size(rejectsId) };
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
	input: string;
	size: number;
	head: FileHead;
	plan: ColumnPlan;
	orders: Orders | null;
	mapping: Record<string, string>;
	workers: number;
	chunkSize: number;
	configSources: ConfigSources | undefined;
	startedAt: string;
	started: number;
	run: PipelineResult;
	eol: '\n' | '\r\n';
	/** The manifest an append adds to, or null. */
	base: AppendBase['manifest'] | null;
	/** This run's input. */
	entry: ManifestInput;
}): Manifest {
	const toPartition = (p: {
		parts: string[];
		file: string | null;
		rows: number;
		bytes?: number;
		stats: ChunkStats;
	}) => {
		const texts = p.parts.map(textOf);
		const s = p.stats;
		const out: ManifestPartition = {
			key: texts.map((t) => t.text),
			file: p.file,
			rows: p.rows,
			...(p.file === null ? {} : { bytes: p.bytes }),
			stats: {},
		};
		if (texts.some((t) => !t.valid)) out.keyHex = p.parts.map((v) => Buffer.from(v, 'latin1').toString('hex'));
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
	const partitions = m.run.partitions.map(toPartition);
	if (m.orders) {
		const present = new Set(m.run.partitions.map((p) => encodeKey(p.parts)));
		m.orders.keys.forEach((k, i) => {
			if (!present.has(k)) {
				partitions.push(toPartition({ parts: m.orders!.parts[i], file: null, rows: 0, stats: emptyStats() }));
			}
		});
	}
	const sources = m.configSources ?? { workers: 'flag', chunkSize: 'flag' };
	const b = m.base;
	const rowsRejected = (b?.rowsRejected ?? 0) + m.run.rowsRejected;
	return {
		version: 1,
		// The first input's (an append keeps it; `inputs` lists them all).
		source: b ? b.source : { path: m.input, bytes: m.size, header: m.head.names, delimiter: m.head.delimiter },
		columns: m.plan.columns,
		partitionBy: m.plan.keySpecs.map((k) => k.spec),
		orders: b
			? b.orders
			: m.orders
				? { path: m.orders.path, keys: m.orders.keys.length, keysSha256: ordersSha256(m.orders) }
				: null,
		config: { workers: m.workers, chunkSize: m.chunkSize, sources },
		rowsRead: (b?.rowsRead ?? 0) + m.run.rowsRead,
		rowsWritten: (b?.rowsWritten ?? 0) + m.run.rowsWritten,
		rowsRejected,
		rowsFilteredOut: (b?.rowsFilteredOut ?? 0) + m.run.rowsFilteredOut,
		partitions,
		rejects: rowsRejected > 0 ? REJECTS : null,
		...(m.run.rejectsBytes === null ? {} : { rejectsBytes: m.run.rejectsBytes }),
		inputs: [...(b?.inputs ?? []), m.entry],
		eol: m.eol,
		mapping: m.mapping,
		startedAt: m.startedAt,
		durationMs: Date.now() - m.started,
	};
}
