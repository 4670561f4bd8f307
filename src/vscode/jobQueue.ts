/**
 * The extraction queue: one job at a time overall, at most one per file. Plain values, no `vscode`: what a job
 * does and how its wait is shown are the caller's (extraction.ts).
 */

/** One job, from the request to its end. */
export interface Job {
	/** The file's identity (its absolute path, lower-cased where file systems ignore case). */
	readonly key: string;
	/** The file's name, for messages. */
	readonly name: string;
	state: 'asking' | 'queued' | 'running';
	/** Aborts the job wherever it is: asking, waiting for its turn, or running. */
	readonly abort: AbortController;
}

export class JobQueue {
	private readonly jobs = new Map<string, Job>();
	/** Settles when the last job queued so far is done; never rejects. */
	private tail: Promise<void> = Promise.resolve();
	private current: Job | undefined;
	private idle: (() => void)[] = [];

	/** The job of a file, if one is asking, queued or running. */
	get(key: string): Job | undefined {
		return this.jobs.get(key);
	}

	/** The job that runs now, if any. */
	get running(): Job | undefined {
		return this.current;
	}

	/** Every job asking, queued or running, oldest first. */
	all(): Job[] {
		return [...this.jobs.values()];
	}

	get size(): number {
		return this.jobs.size;
	}

	/** Registers a job for `key` (the caller checked {@link get} first); it counts as busy until {@link leave}. */
	enter(key: string, name: string): Job {
		const job: Job = { key, name, state: 'asking', abort: new AbortController() };
		this.jobs.set(key, job);
		return job;
	}

	/**
	 * Queues the job and runs `task` when its turn comes: after every job queued before it has left. While others
	 * go first, `wait` shows the wait (it resolves false when the user gives up waiting); undefined when the job did
	 * not get to run (given up, or aborted).
	 */
	async runInTurn<T>(
		job: Job,
		wait: (turn: Promise<void>) => PromiseLike<boolean>,
		task: () => Promise<T>,
	): Promise<T | undefined> {
		job.state = 'queued';
		const before = this.tail;
		let release!: () => void;
		const mine = new Promise<void>((resolve) => {
			release = resolve;
		});
		this.tail = before.then(() => mine);
		try {
			if (this.jobs.size > 1) {
				if (!(await wait(before))) return undefined;
			} else await before;
			if (job.abort.signal.aborted) return undefined;
			job.state = 'running';
			this.current = job;
			return await task();
		} finally {
			if (this.current === job) this.current = undefined;
			release();
		}
	}

	/** Removes the job (whatever happened to it). */
	leave(job: Job): void {
		if (this.jobs.get(job.key) === job) this.jobs.delete(job.key);
		if (this.jobs.size === 0) for (const resolve of this.idle.splice(0)) resolve();
	}

	/** Resolves when no job is asking, queued or running. */
	whenIdle(): Promise<void> {
		if (this.jobs.size === 0) return Promise.resolve();
		return new Promise((resolve) => this.idle.push(resolve));
	}

	/** Aborts every job. */
	abortAll(): void {
		for (const job of this.jobs.values()) job.abort.abort();
	}

	/** Resolves once every job queued so far, and any queued meanwhile, is done. */
	async drained(): Promise<void> {
		for (let tail = this.tail; ; tail = this.tail) {
			await tail;
			if (tail === this.tail) return;
		}
	}
}
