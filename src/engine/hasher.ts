import { Worker } from 'node:worker_threads';
import { ANNOUNCE_THREAD_SOURCE } from './threadRole';
import { newStopFlag, QUIET_MS, stopThread } from './threadStop';

/**
 * SHA-256 of a plain input, computed in a thread of its own from the very chunk buffers the extraction reads, so the
 * file is read once: the thread reads the bytes before the first chunk itself (the header), then takes each chunk as
 * it is committed (in file order), hashes it and hands the buffer back for the next read. Neither the coordinator
 * nor the chunk workers spend time on it. The thread's code is evaluated from this string: it needs no bundle of its
 * own. (It used to read the whole file a second time: 0.15–0.18 s of CPU per 303 MB on this machine.)
 */
const HASHER = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const { createHash } = require('node:crypto');
const { fd, headBytes, stop, quietMs } = workerData;
${ANNOUNCE_THREAD_SOURCE('hasher')}{
	const hash = createHash('sha256');
	let pos = 0;
	const end = () => {
		parentPort.removeAllListeners('message');
		// Idle a moment before the thread ends (threadStop.ts).
		setTimeout(() => parentPort.close(), quietMs);
	};
	try {
		const buf = Buffer.allocUnsafe(Math.max(1, Math.min(headBytes, 1024 * 1024)));
		while (pos < headBytes && Atomics.load(stop, 0) === 0) {
			const n = fs.readSync(fd, buf, 0, Math.min(buf.length, headBytes - pos), pos);
			if (n === 0) break;
			hash.update(buf.subarray(0, n));
			pos += n;
		}
	} catch (e) {
		parentPort.postMessage({ error: String(e && e.message || e) });
	}
	parentPort.on('message', (m) => {
		if (m.type === 'stop') return end();
		if (m.type === 'chunk') {
			if (Atomics.load(stop, 0) === 0) {
				if (m.fileOffset !== pos) {
					parentPort.postMessage({ error: 'chunk at byte ' + m.fileOffset + ', expected ' + pos });
				} else {
					hash.update(new Uint8Array(m.bytes, m.offset, m.length));
					pos += m.length;
				}
			}
			parentPort.postMessage({ type: 'buffer', bytes: m.bytes }, [m.bytes]);
			return;
		}
		if (m.type === 'end') {
			if (Atomics.load(stop, 0) === 0) parentPort.postMessage({ sha256: hash.digest('hex'), bytes: pos });
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
	/**
	 * Hashes the chunk at `fileOffset` (`bytes[offset, offset + length)`); chunks must come in file order, each
	 * starting where the one before ended. `bytes` is transferred to the thread and handed back to `giveBack`.
	 */
	add(bytes: ArrayBuffer, offset: number, length: number, fileOffset: number): void;
	/** Where the thread hands each chunk buffer back once hashed. */
	giveBack: (bytes: ArrayBuffer) => void;
	/** Every chunk was added: the hash of the bytes so far is the result. */
	finish(): void;
	/** Stops the thread (its result is no longer wanted) and resolves once it has ended. */
	stop: () => Promise<void>;
}

/**
 * Starts hashing the plain file open as `fd`, whose first chunk starts at `headBytes` (threads share the process's
 * descriptors; reads are positioned, so the extraction's own reads are not disturbed). Keep `fd` open until `result`
 * settles or `stop()` resolves.
 */
export function hashChunks(fd: number, headBytes: number): ChunkHasher {
	const stop = newStopFlag();
	const worker = new Worker(HASHER, { eval: true, workerData: { fd, headBytes, stop, quietMs: QUIET_MS } });
	let settled = false;
	const result = new Promise<FileHash>((resolve, reject) => {
		worker.on('message', (m: FileHash | { type: 'buffer'; bytes: ArrayBuffer } | { error: string }) => {
			// Messages come after this function has returned: `hasher` is set by then.
			if ('type' in m) hasher.giveBack(m.bytes);
			else if ('error' in m) {
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
		add(bytes, offset, length, fileOffset) {
			worker.postMessage({ type: 'chunk', bytes, offset, length, fileOffset }, [bytes]);
		},
		giveBack: () => undefined,
		finish() {
			worker.postMessage({ type: 'end' });
		},
		stop: () => stopThread(worker, stop),
	};
	return hasher;
}
