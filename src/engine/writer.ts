import {
	close,
	closeSync,
	constants,
	fdatasync,
	mkdirSync,
	openSync,
	readFileSync,
	writeSync,
	writevSync,
} from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { MAX_OPEN_FILES, MIN_OPEN_FILES } from '../rules';

interface Partition {
	/** Relative path inside the folder (its absolute path is made when it is opened: one string less per file kept). */
	name: string;
	pending: Uint8Array[];
	pendingBytes: number;
	created: boolean;
	/**
	 * Written by positioned writes at ranges reserved here (`reserve`), by whichever thread holds the bytes; else
	 * appended from what is buffered here (`append`/`flush`).
	 */
	ranged: boolean;
	/**
	 * Bytes in the file once everything buffered is written, or (ranged) reserved so far, where the next range starts
	 * (a file appended to starts at its length).
	 */
	size: number;
	/** Ranged: what is written at 0 when the file is created (its header). */
	head: Uint8Array | null;
	/** Ranged: reserved ranges not yet written; the file stays open until this is 0. */
	busy: number;
	/** Opened by this writer (so `sync` has something to flush). */
	touched: boolean;
}

const CREATE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0);
/** How long `openAhead` opens files before it yields to the event loop (a cancel is a message to this thread). */
const YIELD_MS = 20;
const closeFd = promisify(close);
const fdatasyncFd = promisify(fdatasync);

/** An open output file: its descriptor, closed and synced off the thread (as a FileHandle would be). */
class OpenFile {
	constructor(readonly fd: number) {}
	close(): Promise<void> {
		return closeFd(this.fd);
	}
	datasync(): Promise<void> {
		return fdatasyncFd(this.fd);
	}
}
/**
 * How many partition files a run keeps open by default: half the process's soft open-file limit (Linux: "Max open
 * files" in /proc/self/limits; Node raises it to the hard limit when it starts), from MIN_OPEN_FILES (also when the
 * limit cannot be read) to MAX_OPEN_FILES; the other half stays for everything else in the process (in VS Code, the
 * extension host). A chunk that touches more partitions than this closes and reopens files on every chunk: found by a
 * hostile run: `hash(trade_id, 2000)` on the 303 MB file, 2 workers, took 18.6 s with 512 open, 4.4 s with 8,192.
 */
export function defaultMaxOpenFiles(limits: () => string = () => readFileSync('/proc/self/limits', 'latin1')): number {
	let text: string;
	try {
		text = limits();
	} catch {
		return MIN_OPEN_FILES;
	}
	const m = /^Max open files\s+(\d+|unlimited)/m.exec(text);
	if (!m) return MIN_OPEN_FILES;
	const soft = m[1] === 'unlimited' ? Number.POSITIVE_INFINITY : Number(m[1]);
	return Math.min(MAX_OPEN_FILES, Math.max(MIN_OPEN_FILES, Math.floor(soft / 2)));
}

const outOfDescriptors = (e: unknown) => {
	const code = (e as NodeJS.ErrnoException).code;
	return code === 'EMFILE' || code === 'ENFILE';
};
/** Bytes written between two yields to the event loop during a flush. */
const YIELD_EVERY = 2 * 1024 * 1024;
/**
 * Reopening a file (an append's existing files, or one closed to stay within the open-file limit): O_NONBLOCK so
 * that a FIFO put in a file's place fails the open (ENXIO) rather than hold this thread until a reader comes.
 */
const AGAIN = (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0);
const APPEND = constants.O_WRONLY | constants.O_APPEND | AGAIN;
/** Reopening a ranged file: never O_APPEND, which would make every positioned write an append. */
const REOPEN = constants.O_WRONLY | AGAIN;

/**
 * Buffers records per output file and writes them in large appends, keeping at most `maxOpen` files open
 * (least recently used ones are closed and reopened to append; fewer when the process runs out of descriptors),
 * so any number of partitions works within the process's open-file limit. Files are created exclusively and never through a symbolic link.
 *
 * A ranged file (`add(name, head, true)`) is not written here: `reserve` hands out its next byte range and an open
 * descriptor, another thread writes the range there (a positioned write), and `release` says it is done. Ranges
 * are reserved in the caller's order, so the file's bytes are in that order whoever writes them when. A file with
 * ranges not yet written is never closed: when every open file is so, `reserve` answers null and the caller waits
 * for a `release` (`idle`).
 */
export class PartitionWriter {
	private readonly files: Partition[] = [];
	private readonly open = new Map<number, OpenFile>();
	private pending = 0;
	/** Sub-folders made so far (hive layout). */
	private readonly folders = new Set<string>();
	/** Callers waiting for a ranged file to have no range pending (see `idle`). */
	private waiters: (() => void)[] = [];
	/**
	 * Called before files are created, with their relative paths (an append journals them first); files are created
	 * only once it resolves.
	 */
	beforeCreate: ((names: string[]) => Promise<void>) | null = null;

	constructor(
		private readonly dir: string,
		private maxOpen = MIN_OPEN_FILES,
		/** Write everything out once this much is buffered. */
		private readonly budget = 16 * 1024 * 1024,
	) {}

	/**
	 * Registers a new output file (a relative path; created, with its folders, on the first flush or reservation);
	 * returns its id. `first` is its first bytes (a header); `ranged` files are written through `reserve`.
	 */
	add(name: string, first?: Uint8Array, ranged = false): number {
		const id = this.files.length;
		this.files.push({
			name,
			pending: [],
			pendingBytes: 0,
			created: false,
			ranged,
			size: ranged && first ? first.length : 0,
			head: ranged && first ? first : null,
			busy: 0,
			touched: false,
		});
		if (first && !ranged) this.append(id, first);
		return id;
	}

	/** Registers a file that already exists (`size` bytes; an append): its records go after them. */
	addExisting(name: string, size: number, ranged = false): number {
		const id = this.add(name, undefined, ranged);
		this.files[id].created = true;
		this.files[id].size = size;
		return id;
	}

	/** Size of a file once everything buffered (or reserved) is written. */
	size(id: number): number {
		return this.files[id].size;
	}

	/**
	 * The next `length` bytes of ranged file `id`: an open descriptor and the position to write them at. The file
	 * stays open until the range is `release`d. Null when the file is not open and every open file has ranges
	 * pending: release some first (`idle`).
	 */
	async reserve(id: number, length: number): Promise<{ fd: number; position: number } | null> {
		const p = this.files[id];
		const fh = await this.handle(id, p);
		if (fh === null) return null;
		const position = p.size;
		p.size += length;
		p.busy++;
		return { fd: fh.fd, position };
	}

	/** The ranges reserved for these files (one entry per range) are written. */
	release(ids: readonly number[]): void {
		let freed = false;
		for (const id of ids) if (--this.files[id].busy === 0) freed = true;
		if (freed) this.wake();
	}

	/** Resolves at the next `release` that leaves a file with no range pending (or `wake`). */
	idle(): Promise<void> {
		return new Promise<void>((resolve) => this.waiters.push(resolve));
	}

	/** Resolves every `idle` waiter (after a failure, so that nobody waits for a release that will not come). */
	wake(): void {
		const waiters = this.waiters;
		this.waiters = [];
		for (const w of waiters) w();
	}

	append(id: number, bytes: Uint8Array): void {
		if (bytes.length === 0) return;
		const p = this.files[id];
		p.pending.push(bytes);
		p.pendingBytes += bytes.length;
		p.size += bytes.length;
		this.pending += bytes.length;
	}

	/** True when the buffered bytes have reached the budget. */
	get full(): boolean {
		return this.pending >= this.budget;
	}

	/**
	 * Writes every buffered byte, file by file (one gathered write per file, no copying). The writes are synchronous:
	 * a flush makes hundreds of small writes, and handing each to libuv's thread pool cost more CPU (thread wake-ups)
	 * than the writes themselves (measured: ~0.4 s of a 2.6 s run). Every few megabytes it yields to the event loop,
	 * so the thread (VS Code's extension host) never blocks for long.
	 */
	async flush(): Promise<void> {
		if (this.beforeCreate) {
			const fresh = this.files.filter((p) => !p.created && p.pendingBytes > 0).map((p) => p.name);
			if (fresh.length > 0) await this.beforeCreate(fresh);
		}
		let sinceYield = 0;
		for (let id = 0; id < this.files.length; id++) {
			const p = this.files[id];
			if (p.pendingBytes === 0) continue;
			let bufs = p.pending;
			this.pending -= p.pendingBytes;
			p.pending = [];
			p.pendingBytes = 0;
			let fh = await this.handle(id, p);
			while (fh === null) {
				await this.idle();
				fh = await this.handle(id, p);
			}
			while (bufs.length > 0) {
				const batch = bufs.length > 512 ? bufs.slice(0, 512) : bufs;
				let bytesWritten = writevSync(fh.fd, batch);
				sinceYield += bytesWritten;
				if (sinceYield >= YIELD_EVERY) {
					sinceYield = 0;
					await new Promise<void>((resolve) => setImmediate(resolve));
				}
				let used = 0;
				// A short write (rare: a full disk stops with an error on the next call) continues where it left off.
				while (used < batch.length && bytesWritten >= batch[used].length) bytesWritten -= batch[used++].length;
				const rest = bufs.slice(used);
				if (bytesWritten > 0) rest[0] = rest[0].subarray(bytesWritten);
				bufs = rest;
			}
		}
	}

	/**
	 * The open handle of file `id`, opening it (and closing the least recently used files without pending ranges to
	 * stay within the limit) as needed; null when that would close a file whose ranges are still being written.
	 */
	private async handle(id: number, p: Partition): Promise<OpenFile | null> {
		let fh = this.open.get(id);
		if (fh) {
			this.open.delete(id);
			this.open.set(id, fh);
			return fh;
		}
		if (this.open.size >= this.maxOpen) await this.closeIdle(this.open.size - this.maxOpen + 1);
		if (this.open.size >= this.maxOpen) return null;
		if (!p.created && this.beforeCreate) await this.beforeCreate([p.name]);
		for (;;) {
			try {
				fh = this.openFile(p);
				break;
			} catch (e) {
				// Out of file descriptors (a low `ulimit -n`): keep fewer files open from now on and try again.
				if (!outOfDescriptors(e) || this.open.size === 0) throw e;
				this.maxOpen = Math.max(1, Math.floor(this.open.size / 2));
				await this.closeIdle(this.open.size - this.maxOpen + 1);
				if (this.open.size >= this.maxOpen) return null;
			}
		}
		this.open.set(id, fh);
		return fh;
	}

	/**
	 * Opens those of these files that are not open, as far as the open-file limit allows without closing any, before
	 * their ranges are reserved: a chunk of new partitions creates hundreds of files, and the journal of an append
	 * then records them all at once (one fsync, not one per file). Every few milliseconds it yields, and it stops once
	 * `signal` is aborted. Files not opened here (out of descriptors) are opened by `reserve`, which handles that.
	 */
	async openAhead(ids: readonly number[], signal?: AbortSignal): Promise<void> {
		const todo: number[] = [];
		const room = this.maxOpen - this.open.size;
		for (const id of new Set(ids)) if (todo.length < room && !this.open.has(id)) todo.push(id);
		if (todo.length === 0) return;
		const fresh = todo.filter((id) => !this.files[id].created).map((id) => this.files[id].name);
		if (fresh.length > 0 && this.beforeCreate) await this.beforeCreate(fresh);
		let since = performance.now();
		for (const id of todo) {
			if (performance.now() - since > YIELD_MS) {
				await new Promise<void>((resolve) => setImmediate(resolve));
				since = performance.now();
			}
			if (signal?.aborted || this.open.size >= this.maxOpen) return;
			try {
				this.open.set(id, this.openFile(this.files[id]));
			} catch (e) {
				if (outOfDescriptors(e)) return;
				throw e;
			}
		}
	}

	/**
	 * Opens a file: the first time, creates it exclusively (and its folder), with its head if ranged. Synchronous, as
	 * the writes are: an open handed to libuv's thread pool costs more in thread wake-ups than the open itself
	 * (measured: 500 files created in ~90 ms one await after another, ~33 ms synchronously; on a busy 2-core machine
	 * the first chunk's 500 took ~0.35 s).
	 */
	private openFile(p: Partition): OpenFile {
		const file = path.join(this.dir, p.name);
		const folder = path.dirname(file);
		if (!p.created && folder !== this.dir && !this.folders.has(folder)) {
			// Inside the run's own new temporary folder, which holds no links: folders made here are Sweep's.
			mkdirSync(folder, { recursive: true });
			this.folders.add(folder);
		}
		const fd = openSync(file, p.created ? (p.ranged ? REOPEN : APPEND) : CREATE, 0o644);
		if (!p.created && p.head) {
			try {
				for (let at = 0; at < p.head.length; ) at += writeSync(fd, p.head, at, p.head.length - at, at);
			} catch (e) {
				try {
					closeSync(fd);
				} catch {
					// The write's error is the one to report.
				}
				throw e;
			}
		}
		p.created = true;
		p.touched = true;
		return new OpenFile(fd);
	}

	/** Closes up to `n` open files without pending ranges, least recently used first. */
	private async closeIdle(n: number): Promise<void> {
		let closed = 0;
		for (const [id, fh] of [...this.open]) {
			if (closed >= n) break;
			if (this.files[id].busy > 0) continue;
			this.open.delete(id);
			closed++;
			await fh.close();
		}
	}

	/** Flushes and closes everything (and with `durable`, fdatasyncs what was written first). */
	async close(durable = false): Promise<void> {
		try {
			await this.flush();
			if (durable) await this.sync();
		} finally {
			await this.closeHandles();
		}
	}

	/**
	 * Makes every byte written so far durable (fdatasync of each file written to), so that a manifest committed
	 * after it never describes bytes a power loss could take back. Call once no range is pending.
	 */
	async sync(): Promise<void> {
		for (let id = 0; id < this.files.length; id++) {
			const p = this.files[id];
			if (!p.touched) continue;
			let fh = await this.handle(id, p);
			while (fh === null) {
				await this.idle();
				fh = await this.handle(id, p);
			}
			await fh.datasync();
		}
	}

	/** Closes open files without writing what is buffered (after a failure). */
	async closeHandles(): Promise<void> {
		const handles = [...this.open.values()];
		this.open.clear();
		await Promise.all(handles.map((h) => h.close().catch(() => undefined)));
	}
}
