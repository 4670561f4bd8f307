import { Worker } from 'node:worker_threads';
import { ANNOUNCE_THREAD_SOURCE } from './threadRole';
import { newStopFlag, QUIET_MS, stopThread } from './threadStop';

/**
 * SHA-256 of a plain input, computed in a thread of its own as the extraction goes: each time chunks are committed
 * (in file order), the thread is told how far, and reads and hashes the file up to there. The workers have just
 * read those bytes (they read their own chunks), so the thread's reads come from the page cache; neither the
 * coordinator nor the chunk workers spend time on the hash, and no chunk buffer travels for it. The thread's code
 * is evaluated from this string: it needs no bundle of its own.
 *
 * History: it read the whole file on its own at first (0.15–0.18 s of CPU per 303 MB), then took the chunk buffers
 * the coordinator had read once committed; since the workers read their chunks themselves, a buffer coming back to
 * the coordinator for it cost that thread garbage collections, so the thread reads again (measured in the README).
 */
const HASHER = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const { createHash } = require('node:crypto');
const { fd, stop, quietMs } = workerData;
${ANNOUNCE_THREAD_SOURCE('hasher')}{
	const hash = createHash('sha256');
	const buf = Buffer.allocUnsafe(1024 * 1024);
	let pos = 0;
	const end = () => {
		parentPort.removeAllListeners('message');
		// Idle a moment before the thread ends (threadStop.ts).
		setTimeout(() => parentPort.close(), quietMs);
	};
	const readTo = (to) => {
		while (pos < to && Atomics.load(stop, 0) === 0) {
			const n = fs.readSync(fd, buf, 0, Math.min(buf.length, to - pos), pos);
			// The file shrank: the hash covers what was there (the run's size check fails it).
			if (n === 0) return;
			hash.update(buf.subarray(0, n));
			pos += n;
		}
	};
	parentPort.on('message', (m) => {
		if (m.type === 'stop') return end();
		try {
			if (m.type === 'upTo') readTo(m.end);
			else if (m.type === 'end') {
				if (Atomics.load(stop, 0) === 0) parentPort.postMessage({ sha256: hash.digest('hex'), bytes: pos });
				end();
			}
		} catch (e) {
			parentPort.postMessage({ error: String(e && e.message || e) });
			end();
		}
	});
}
`;

export interface FileHash {
	sha256: string;
	/** Bytes hashed (less than the file's size when the file shrank meanwhile). */
	bytes: number;
}

export interface ChunkHasher {
	/** The SHA-256, once `finish()` was called after the last chunk. */
	result: Promise<FileHash>;
	/** The file's bytes before `end` are committed: the thread reads and hashes them (`end` never decreases). */
	upTo(end: number): void;
	/** Every chunk was committed, up to `end` (the header's end when there was none): the hash is the result. */
	finish(end: number): void;
	/** Stops the thread (its result is no longer wanted) and resolves once it has ended. */
	stop: () => Promise<void>;
}

/**
 * Starts hashing the plain file open as `fd` (threads share the process's descriptors; reads are positioned, so the
 * extraction's own reads are not disturbed). Keep `fd` open until `result` settles or `stop()` resolves.
 */
export function hashChunks(fd: number): ChunkHasher {
	const stop = newStopFlag();
	const worker = new Worker(HASHER, { eval: true, workerData: { fd, stop, quietMs: QUIET_MS } });
	let settled = false;
	const result = new Promise<FileHash>((resolve, reject) => {
		worker.on('message', (m: FileHash | { error: string }) => {
			if ('error' in m) {
				settled = true;
				reject(new Error(`the hashing thread failed: ${m.error}`));
			} else {
				settled = true;
				resolve(m);
			}
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
	const hasher: ChunkHasher = {
		result,
		upTo(end) {
			worker.postMessage({ type: 'upTo', end });
		},
		finish(end) {
			worker.postMessage({ type: 'upTo', end });
			worker.postMessage({ type: 'end' });
		},
		stop: () => stopThread(worker, stop),
	};
	return hasher;
}
