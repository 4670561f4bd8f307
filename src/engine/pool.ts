import * as path from 'node:path';
import { type ResourceLimits, Worker } from 'node:worker_threads';
import { SweepError } from './errors';
import type {
	ChunkDone,
	ChunkTask,
	DeferredInit,
	FromWorker,
	InitMessage,
	ParquetDone,
	ParquetTask,
	ToWorker,
	WorkerInit,
	WriteTask,
} from './protocol';
import { newStopFlag, stopThread } from './threadStop';

/**
 * A data problem a worker found in chunk `seq` on the chunk's line `line` (0 = its first line). Only the main thread
 * knows where that chunk starts in the file; extract() turns this into a SweepError naming the file's line.
 */
export class ChunkLineError extends Error {
	constructor(
		readonly seq: number,
		readonly line: number,
		readonly what: string,
		/** File offset of the chunk's start, when the worker read the chunk itself. */
		readonly start?: number,
	) {
		super(`${what} (line ${line} of chunk ${seq})`);
	}
}

interface Job {
	task: ToWorker;
	// biome-ignore lint/suspicious/noExplicitAny: a chunk resolves with ChunkDone, a conversion with ParquetDone
	resolve: (done: any) => void;
	reject: (e: unknown) => void;
}

interface Slot {
	worker: Worker;
	job: Job | null;
	/** Tasks given to it so far. */
	tasks: number;
}

/**
 * A pool of worker threads, one chunk per worker at a time, extra chunks queued in order. Its size is set at the
 * start or grown once the configuration is settled (`grow`), never shrunk.
 *
 * Failure is all-or-nothing: a worker that throws, dies or runs out of memory rejects its chunk with a
 * 'worker-failed' SweepError, and every other pending or later chunk with the same error, so the caller
 * can never wait on a chunk that will not come. A data error in a chunk (ChunkLineError) rejects that chunk only:
 * the caller, committing in file order, reports the first one in the file. `destroy()` stops every thread (threadStop.ts).
 */
export class WorkerPool {
	private readonly slots: Slot[] = [];
	private readonly queue: Job[] = [];
	/** Writes sent to a worker (WriteTask) and not yet answered, by id. */
	private readonly writes = new Map<number, { resolve: () => void; reject: (e: unknown) => void }>();
	private failure: Error | null = null;
	/** Resolves once every thread has exited (set by the first `destroy`). */
	private stopped: Promise<void> | null = null;
	private get destroyed(): boolean {
		return this.stopped !== null;
	}
	/** Workers the pool may have (see grow). */
	private target = 0;

	private readonly script: string;
	/** Read by a worker before and after a chunk's scan and between a Parquet conversion's row groups (threadStop.ts). */
	private readonly stopFlag = newStopFlag();

	/** What every worker needs; null until `configure` (workers started before then get it in a message). */
	private init: WorkerInit | null;

	/**
	 * `init` may be null: the pool then starts its first worker at once (its start-up overlaps reading the header) and
	 * gives it no task before `configure`.
	 */
	constructor(
		private readonly options: {
			size: number;
			init: WorkerInit | null;
			script?: string;
			resourceLimits?: ResourceLimits;
		},
	) {
		// worker.js sits beside this module both in dist/ (bundles) and in out/src/engine/ (compiled tests).
		this.script = options.script ?? path.join(__dirname, 'worker.js');
		this.init = options.init;
		this.grow(options.size);
	}

	/** Gives the workers their WorkerInit, once it is known (a pool made with `init` null); tasks go out from now. */
	configure(init: WorkerInit): void {
		this.init = init;
		const message: InitMessage = { type: 'init', init };
		for (const slot of this.slots) slot.worker.postMessage(message);
		this.pump();
	}

	/**
	 * Lets the pool have up to `size` workers in all (a pool can start small while the configuration is being
	 * settled). The first starts at once; the others when a task finds every worker busy, so that a small file never
	 * starts more threads (each with its own heap) than it has chunks to give them.
	 */
	grow(size: number): void {
		this.target = Math.max(this.target, size);
		if (this.slots.length === 0 && this.target > 0) this.start();
		this.pump();
	}

	private start(): void {
		if (this.destroyed) return;
		const workerData: WorkerInit | DeferredInit = this.init
			? { ...this.init, stop: this.stopFlag }
			: { deferred: true, stop: this.stopFlag };
		const worker = new Worker(this.script, {
			workerData,
			resourceLimits: this.options.resourceLimits,
		});
		const slot: Slot = { worker, job: null, tasks: 0 };
		worker.on('message', (msg: FromWorker) => this.onMessage(slot, msg));
		worker.on('error', (e: Error & { code?: string }) => {
			const why = e.code === 'ERR_WORKER_OUT_OF_MEMORY' ? 'ran out of memory' : `failed: ${e.message}`;
			this.fail(new SweepError('worker-failed', `A worker thread ${why}.`, { cause: e }));
		});
		worker.on('exit', (code) => {
			if (!this.destroyed)
				this.fail(new SweepError('worker-failed', `A worker thread exited unexpectedly (code ${code}).`));
		});
		this.slots.push(slot);
	}

	/** Processes one chunk; its bytes are transferred (the caller's ArrayBuffer is detached). */
	run(task: ChunkTask): Promise<ChunkDone> {
		return new Promise<ChunkDone>((resolve, reject) => {
			if (this.failure) return reject(this.failure);
			this.queue.push({ task, resolve, reject });
			this.pump();
		});
	}

	/**
	 * Has worker `worker` (ChunkDone.worker) write the regions of chunk `task.seq` it holds where `task.targets` say;
	 * resolves once they are written. Sent at once, past the queue: the worker takes it between two chunks.
	 */
	write(worker: number, task: WriteTask): Promise<void> {
		return new Promise<void>((resolve, reject) => {
			if (this.failure) return reject(this.failure);
			this.writes.set(task.id, { resolve, reject });
			this.slots[worker].worker.postMessage(task);
		});
	}

	/** Converts one partition to Parquet in the next free worker. */
	convert(task: ParquetTask): Promise<ParquetDone> {
		return new Promise<ParquetDone>((resolve, reject) => {
			if (this.failure) return reject(this.failure);
			this.queue.push({ task, resolve, reject });
			this.pump();
		});
	}

	private pump(): void {
		if (this.init === null) return;
		// Each task goes to the free worker that has had the fewest so far: with more workers than cores, the first
		// ones would otherwise take most chunks whenever several are free (a worker's CPU at 16 workers on 2 cores
		// ranged 0.24-0.59 s), and the work would not spread as it does on a machine with a core for each.
		while (this.queue.length > 0) {
			let best: Slot | null = null;
			for (const slot of this.slots) if (slot.job === null && (best === null || slot.tasks < best.tasks)) best = slot;
			if (best === null) break;
			this.assign(best);
		}
		// Every worker is busy: start another for each task still waiting, up to the target.
		while (this.queue.length > 0 && this.slots.length < this.target && !this.destroyed && !this.failure) {
			this.start();
			this.assign(this.slots[this.slots.length - 1]);
		}
	}

	private assign(slot: Slot): void {
		const job = this.queue.shift()!;
		slot.job = job;
		slot.tasks++;
		const t = job.task;
		slot.worker.postMessage(t, t.type === 'chunk' ? [t.bytes, ...t.spare] : []);
	}

	private onMessage(slot: Slot, msg: FromWorker): void {
		if (msg.type === 'written' || msg.type === 'write-failed') {
			const w = this.writes.get(msg.id);
			this.writes.delete(msg.id);
			if (msg.type === 'written') {
				w?.resolve();
				return;
			}
			// An I/O error (disk full, file-size limit) is reported as such by extract(); anything else is a failure.
			const error = msg.syscall
				? Object.assign(new Error(msg.message), { code: msg.code, syscall: msg.syscall })
				: new SweepError('worker-failed', `A worker thread failed writing a chunk: ${msg.message}`, {
						cause: msg.stack,
					});
			w?.reject(error);
			this.fail(error);
			return;
		}
		const job = slot.job;
		slot.job = null;
		if (!job) return;
		if (msg.type === 'done' || msg.type === 'parquet-done') {
			if (msg.type === 'done') msg.worker = this.slots.indexOf(slot);
			job.resolve(msg);
			this.pump();
			return;
		}
		if (msg.type === 'parquet-failed') {
			// An I/O error (disk full, file-size limit) is reported as such by extract(); anything else is a failure.
			const error = msg.syscall
				? Object.assign(new Error(msg.message), { code: msg.code, syscall: msg.syscall, path: msg.path })
				: new SweepError('worker-failed', `Writing Parquet failed: ${msg.message}`, { cause: msg.stack });
			job.reject(error);
			this.fail(error instanceof SweepError ? error : new SweepError('worker-failed', msg.message, { cause: error }));
			return;
		}
		if (msg.code === 'invalid-utf8') {
			// A data error fails its chunk only: the caller meets it in file order, after every chunk before it (one of
			// which may hold an earlier error), and stops the pool then.
			job.reject(new ChunkLineError(msg.seq, msg.line ?? 0, msg.message, msg.start));
			this.pump();
			return;
		}
		const error =
			msg.code === 'file-changed'
				? new SweepError('file-changed', msg.message)
				: new SweepError('worker-failed', `A worker thread failed on a chunk: ${msg.message}`, { cause: msg.stack });
		job.reject(error);
		this.fail(error);
	}

	private fail(error: Error): void {
		if (this.failure) return;
		this.failure = error;
		for (const slot of this.slots) {
			slot.job?.reject(error);
			slot.job = null;
		}
		for (const job of this.queue.splice(0)) job.reject(error);
		for (const w of this.writes.values()) w.reject(error);
		this.writes.clear();
	}

	/**
	 * Rejects whatever was still pending and stops every worker thread: each finishes the task it is on (a Parquet
	 * conversion stops at its next row group) and ends; resolves once all have exited. Every call answers the same
	 * promise, so a later call also waits for the threads a first one began to stop.
	 */
	destroy(): Promise<void> {
		if (this.stopped === null) {
			this.fail(new SweepError('aborted', 'The worker pool was shut down.'));
			this.stopped = Promise.all(this.slots.map((s) => stopThread(s.worker, this.stopFlag))).then(() => undefined);
		}
		return this.stopped;
	}
}
