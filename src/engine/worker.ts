/**
 * Worker thread entry (bundled as dist/worker.js). Gets its WorkerInit as workerData (or, started before the run's
 * columns were known, in an InitMessage), then answers each
 * ChunkTask with exactly one ChunkDone or ChunkFailed, transferring the result buffers back.
 */
import { writeSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { BufferPool } from './bufferPool';
import { ChunkDataError, ChunkProcessor } from './chunkProcessor';
import { readOwnChunk } from './chunkReader';
import { compressBlock } from './compression';
import { SweepError } from './errors';
import { classifyRegions, TypeSample } from './parquet/infer';
import type {
	ChunkDone,
	ChunkFailed,
	DeferredInit,
	InitMessage,
	ParquetFailed,
	ParquetTask,
	ToWorker,
	WorkerInit,
	WriteFailed,
	WriteTask,
} from './protocol';
import { SpecialScanner } from './specials';
import { announceThread } from './threadRole';
import { endWhenQuiet, isStop, type StopMessage, stopRequested } from './threadStop';
import { firstMisfit, unfitColumn } from './typeMisfit';

/**
 * `done` with each partition's region of its data replaced by the region's compressed form (one gzip member or zstd
 * frame per partition per chunk), back to back in a result buffer of the processor's; the plain one goes back to its
 * spares. A new object, as everything here: see `handle` on why `done` is never changed.
 */
function compressRegions(processor: ChunkProcessor, done: ChunkDone, init: WorkerInit): ChunkDone {
	const c = init.compress;
	// Files capped at a number of records are cut on the coordinator at record ends, so it compresses those pieces.
	if (!c || init.recordEnds || done.buckets.length === 0) return done;
	const data = new Uint8Array(done.data);
	const parts = done.buckets.map((b) => compressBlock(c, data.subarray(b.offset, b.offset + b.length)));
	let total = 0;
	for (const p of parts) total += p.length;
	const out = processor.spare.take(total);
	const view = new Uint8Array(out);
	let at = 0;
	const buckets = done.buckets.map((b, i) => {
		const offset = at;
		view.set(parts[i], offset);
		at += parts[i].length;
		return { ...b, offset, length: parts[i].length };
	});
	processor.spare.give(done.data);
	return { ...done, data: out, buckets };
}

/** Parquet conversion, loaded on the first conversion task (dist/parquet.js with the Parquet writer). */
let converter: typeof import('./parquet/convert') | undefined;

function convert(port: NonNullable<typeof parentPort>, task: ParquetTask, stop: Int32Array | undefined): void {
	try {
		converter ??= require('./parquet/convert') as typeof import('./parquet/convert');
		if (task.request.classify) {
			const classes = converter.classifyPartition(task.request, stop);
			port.postMessage({ type: 'parquet-done', rows: 0, rowGroups: 0, classes }, [classes.buffer as ArrayBuffer]);
			return;
		}
		const r = converter.convertPartition(task.request, stop);
		port.postMessage({ type: 'parquet-done', rows: r.rows, rowGroups: r.rowGroups, misfit: r.misfit });
	} catch (e) {
		const err = e as NodeJS.ErrnoException;
		const failed: ParquetFailed = {
			type: 'parquet-failed',
			message: String(err?.message ?? e),
			code: typeof err?.code === 'string' ? err.code : undefined,
			syscall: err?.syscall,
			path: err?.path,
			stack: err?.stack,
		};
		port.postMessage(failed);
	}
}

/**
 * Chunks whose partition bytes this worker holds until their WriteTask (with WorkerInit.writeOwn). Only the data is
 * kept, not the BucketResult objects (keys, parts, stats): with tens of thousands of partitions those were most of
 * the thread's heap, per chunk held. The WriteTask says which bytes of it go where.
 */
const held = new Map<number, ArrayBuffer>();

/** The buffer this worker reads its own chunks into (ChunkTask.read), kept from chunk to chunk (a larger one replaces it). */
const readBuffers = new BufferPool(1);

/** The answer for a chunk the worker read and found empty (its records were the previous chunk's), or too large. */
function emptyDone(seq: number, own: NonNullable<ChunkDone['own']>): ChunkDone {
	return {
		type: 'done',
		seq,
		input: new ArrayBuffer(0),
		data: new ArrayBuffer(0),
		buckets: [],
		rejectData: new ArrayBuffer(0),
		rejects: { count: 0, table: new ArrayBuffer(0), reasons: [] },
		recordEnds: null,
		rowsRead: 0,
		rowsFilteredOut: 0,
		lines: 0,
		own,
	};
}

/** Writes regions of a held chunk at the places the coordinator reserved for them (see WriteTask). */
function writeRegions(port: NonNullable<typeof parentPort>, processor: ChunkProcessor, task: WriteTask): void {
	try {
		const h = held.get(task.seq);
		if (!h) throw new Error(`no data held for chunk ${task.seq}`);
		const data = new Uint8Array(h);
		const t = task.targets;
		for (let i = 0; i < t.length; i += 4) {
			let at = t[i];
			const end = at + t[i + 1];
			const fd = t[i + 2];
			let position = t[i + 3];
			// A short write (rare: a full disk stops with an error on the next call) continues where it left off.
			while (at < end) {
				const n = writeSync(fd, data, at, end - at, position);
				at += n;
				position += n;
			}
		}
		if (task.last) {
			held.delete(task.seq);
			processor.spare.give(h);
		}
		port.postMessage({ type: 'written', id: task.id });
	} catch (e) {
		const err = e as NodeJS.ErrnoException;
		const failed: WriteFailed = {
			type: 'write-failed',
			id: task.id,
			message: String(err?.message ?? e),
			code: typeof err?.code === 'string' ? err.code : undefined,
			syscall: err?.syscall,
			stack: err?.stack,
		};
		port.postMessage(failed);
	}
}

if (parentPort) {
	announceThread('worker');
	const port = parentPort;
	const data = workerData as WorkerInit | DeferredInit;
	// The SIMD scanner's module is compiled now, also when the run's columns are not known yet (a worker started early).
	let scanner = SpecialScanner.create();
	let init = null as unknown as WorkerInit;
	let processor = null as unknown as ChunkProcessor;
	/** Parquet type inference from a sample (WorkerInit.parquetSample), else null. */
	let sample: TypeSample | null = null;
	const setUp = (i: WorkerInit) => {
		init = i;
		processor = new ChunkProcessor(i, scanner);
		sample =
			i.parquetTypes === 'infer' && i.parquetSample !== undefined
				? new TypeSample(i.outputFieldCount, i.parquetSample)
				: null;
	};
	/**
	 * Parquet's second phase (conversions) starts once every chunk is written: the chunk processor's tables, spare
	 * buffers and the scanner's WebAssembly memory (about twice a chunk) are let go, so that they do not add to the
	 * conversions' peak memory. No chunk or write task comes after the first conversion task of a run.
	 */
	const endChunks = () => {
		processor?.spare.drain(Number.POSITIVE_INFINITY);
		processor = null as unknown as ChunkProcessor;
		scanner = null;
	};
	if (!('deferred' in data)) setUp(data);
	/** When this thread's last task ended: its idle time since then counts towards the quiet time at its end. */
	let idleSince: number | undefined;
	port.on('message', (task: ToWorker) => {
		if (isStop(task)) return endWhenQuiet(port, idleSince);
		if (task.type === 'init') setUp({ ...task.init, stop: data.stop });
		else handle(task);
		idleSince = performance.now();
	});
	// Every task is synchronous: when handle() returns, the thread is idle.
	function handle(task: Exclude<ToWorker, StopMessage | InitMessage>): void {
		if (task.type === 'write') {
			writeRegions(port, processor, task);
			return;
		}
		if (task.type === 'parquet') {
			endChunks();
			convert(port, task, init.stop);
			return;
		}
		let own: ChunkDone['own'];
		try {
			for (const b of task.spare) processor.spare.give(b);
			// Once the pool is stopping, the chunk is dropped, before or after its scan (threadStop.ts).
			if (stopRequested(init.stop)) return;
			let { bytes, offset, length, isLast } = task;
			if (task.read) {
				// A plain input: this worker reads the chunk itself (a guessed start is checked on the coordinator).
				const c = readOwnChunk(task.read.fd, task.read, readBuffers);
				own = { offset: c.offset, length: c.length, start: c.start, end: c.end, tooLarge: c.tooLarge };
				({ bytes, offset, length, isLast } = c);
				// The buffer stays here for the next chunk: nothing needs it back (the hashing thread reads for itself).
				readBuffers.give(bytes);
				if (length === 0) {
					if (init.writeOwn) held.set(task.seq, new ArrayBuffer(0));
					port.postMessage(emptyDone(task.seq, own));
					return;
				}
			}
			// What process() returns is never changed here (a field set or added): its optimized code depends on the
			// shape of the objects it makes, and V8 throws that code away when one of them changes, so the next chunk
			// would run unoptimized while it is compiled again (measured: the second chunk took 300 ms instead of 140).
			let done = processor.process(task.seq, bytes, offset, length, 0, isLast);
			if (own) done = { ...done, own, input: new ArrayBuffer(0) };
			if (stopRequested(init.stop)) return;
			if (init.parquetTypes) {
				const data = new Uint8Array(done.data);
				const { delimiter, outputFieldCount, parquetTypes } = init;
				const types = sample
					? sample.classify(data, done.buckets, delimiter, scanner)
					: classifyRegions(data, done.buckets, delimiter, outputFieldCount, parquetTypes, scanner);
				done = { ...done, types };
				// An append whose values must fit the output's types: a chunk where one does not names its first.
				if (init.parquetFit && unfitColumn(types, init.parquetFit) >= 0) {
					const misfit = firstMisfit(processor, bytes, offset, length, isLast, init, scanner);
					if (misfit) done = { ...done, misfit };
				}
			}
			done = compressRegions(processor, done, init);
			if (init.writeOwn) {
				// The partition bytes stay here until the coordinator says where they go (WriteTask).
				held.set(task.seq, done.data);
				done = { ...done, data: new ArrayBuffer(0) };
			}
			const transfer = [done.input, done.data, done.rejectData, done.rejects.table];
			if (done.recordEnds) transfer.push(done.recordEnds);
			port.postMessage(done, transfer);
		} catch (e) {
			const failed: ChunkFailed =
				e instanceof ChunkDataError
					? { type: 'failed', seq: task.seq, code: e.code, message: e.message, line: e.line, start: own?.start }
					: e instanceof SweepError && e.code === 'file-changed'
						? { type: 'failed', seq: task.seq, code: e.code, message: e.message }
						: {
								type: 'failed',
								seq: task.seq,
								message: String((e as Error)?.message ?? e),
								stack: (e as Error)?.stack,
							};
			port.postMessage(failed);
		}
	}
}
