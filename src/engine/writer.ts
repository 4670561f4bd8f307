import { writevSync } from 'node:fs';
import { constants, type FileHandle, mkdir, open } from 'node:fs/promises';
import * as path from 'node:path';
import { MAX_OPEN_FILES } from '../rules';

interface Partition {
	file: string;
	/** Relative path inside the folder. */
	name: string;
	pending: Uint8Array[];
	pendingBytes: number;
	created: boolean;
	/** Bytes in the file once everything buffered is written. */
	size: number;
	/** Written to by this writer (so `sync` has something to flush). */
	touched: boolean;
}

const CREATE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0);
/** Bytes written between two yields to the event loop during a flush. */
const YIELD_EVERY = 2 * 1024 * 1024;
const APPEND = constants.O_WRONLY | constants.O_APPEND | (constants.O_NOFOLLOW ?? 0);

/**
 * Buffers records per output file and writes them in large appends, keeping at most `maxOpen` files open
 * (least recently used ones are closed and reopened to append; fewer when the process runs out of descriptors),
 * so any number of partitions works within the process's open-file limit. Files are created exclusively and never through a symbolic link.
 */
export class PartitionWriter {
	private readonly files: Partition[] = [];
	private readonly open = new Map<number, FileHandle>();
	private pending = 0;
	/** Sub-folders made so far (hive layout). */
	private readonly folders = new Set<string>();
	/**
	 * Called before a flush creates files, with their relative paths (an append journals them first); files are
	 * created only once it resolves.
	 */
	beforeCreate: ((names: string[]) => Promise<void>) | null = null;

	constructor(
		private readonly dir: string,
		private maxOpen = MAX_OPEN_FILES,
		/** Write everything out once this much is buffered. */
		private readonly budget = 16 * 1024 * 1024,
	) {}

	/** Registers a new output file (a relative path; created, with its folders, on the first flush); returns its id. */
	add(name: string, first?: Uint8Array): number {
		const id = this.files.length;
		this.files.push({
			file: path.join(this.dir, name),
			name,
			pending: [],
			pendingBytes: 0,
			created: false,
			size: 0,
			touched: false,
		});
		if (first) this.append(id, first);
		return id;
	}

	/** Registers a file that already exists (`size` bytes; an append): records are appended to it. */
	addExisting(name: string, size: number): number {
		const id = this.add(name);
		this.files[id].created = true;
		this.files[id].size = size;
		return id;
	}

	/** Size of a file once everything buffered is written. */
	size(id: number): number {
		return this.files[id].size;
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
			const fh = await this.handle(id, p);
			p.touched = true;
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

	private async handle(id: number, p: Partition): Promise<FileHandle> {
		let fh = this.open.get(id);
		if (fh) {
			this.open.delete(id);
			this.open.set(id, fh);
			return fh;
		}
		if (this.open.size >= this.maxOpen) await this.closeOldest(1);
		const folder = path.dirname(p.file);
		if (!p.created && folder !== this.dir && !this.folders.has(folder)) {
			// Inside the run's own new temporary folder, which holds no links: folders made here are Sweep's.
			await mkdir(folder, { recursive: true });
			this.folders.add(folder);
		}
		for (;;) {
			try {
				fh = await open(p.file, p.created ? APPEND : CREATE, 0o644);
				break;
			} catch (e) {
				// Out of file descriptors (a low `ulimit -n`): keep fewer files open from now on and try again.
				const code = (e as NodeJS.ErrnoException).code;
				if ((code !== 'EMFILE' && code !== 'ENFILE') || this.open.size === 0) throw e;
				this.maxOpen = Math.max(1, Math.floor(this.open.size / 2));
				await this.closeOldest(this.open.size - this.maxOpen + 1);
			}
		}
		p.created = true;
		this.open.set(id, fh);
		return fh;
	}

	private async closeOldest(n: number): Promise<void> {
		for (let i = 0; i < n && this.open.size > 0; i++) {
			const [oldest, oldFh] = this.open.entries().next().value as [number, FileHandle];
			this.open.delete(oldest);
			await oldFh.close();
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
	 * after it never describes bytes a power loss could take back.
	 */
	async sync(): Promise<void> {
		for (let id = 0; id < this.files.length; id++) {
			const p = this.files[id];
			if (!p.touched) continue;
			const fh = await this.handle(id, p);
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
