import { Worker } from 'node:worker_threads';
import { ANNOUNCE_THREAD_SOURCE } from './threadRole';
import { newStopFlag, QUIET_MS, stopThread } from './threadStop';

/**
 * SHA-256 of a file's first `size` bytes, computed in a thread of its own while the extraction reads the same file
 * (the pages are shared through the page cache), so neither the main thread nor the chunk workers spend time on it.
 * The thread's code is evaluated from this string: it needs no bundle of its own.
 */
const HASHER = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const { createHash } = require('node:crypto');
const { fd, size, stop, quietMs } = workerData;
${ANNOUNCE_THREAD_SOURCE('hasher')}{
	const hash = createHash('sha256');
	const buf = Buffer.allocUnsafe(4 * 1024 * 1024);
	let pos = 0;
	while (pos < size && Atomics.load(stop, 0) === 0) {
		const n = fs.readSync(fd, buf, 0, Math.min(buf.length, size - pos), pos);
		if (n === 0) break;
		hash.update(buf.subarray(0, n));
		pos += n;
	}
	if (Atomics.load(stop, 0) === 0) parentPort.postMessage({ sha256: hash.digest('hex'), bytes: pos });
	// Idle a moment before the thread ends (threadStop.ts).
	setTimeout(() => {}, quietMs);
}
`;

export interface FileHash {
	sha256: string;
	/** Bytes hashed (less than asked when the file shrank meanwhile). */
	bytes: number;
}

/**
 * Starts hashing the file open as `fd` (threads share the process's descriptors; reads are positioned, so the
 * extraction's own reads are not disturbed). Keep `fd` open until `result` settles or `stop()` resolves.
 */
export function hashFile(fd: number, size: number): { result: Promise<FileHash>; stop: () => Promise<void> } {
	const stop = newStopFlag();
	const worker = new Worker(HASHER, { eval: true, workerData: { fd, size, stop, quietMs: QUIET_MS } });
	let settled = false;
	const result = new Promise<FileHash>((resolve, reject) => {
		worker.once('message', (m: FileHash) => {
			settled = true;
			resolve(m);
		});
		worker.once('error', (e) => {
			settled = true;
			reject(e);
		});
		worker.once('exit', (code) => {
			if (!settled) reject(new Error(`the hashing thread stopped (exit ${code})`));
		});
	});
	result.catch(() => undefined); // observed by whoever awaits it
	return {
		result,
		stop: () => stopThread(worker, stop),
	};
}
