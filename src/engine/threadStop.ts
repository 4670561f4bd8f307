import { setFlagsFromString } from 'node:v8';
import type { MessagePort, Worker } from 'node:worker_threads';

/**
 * How Sweep ends its threads: they end themselves. `worker.terminate()` tears a thread down wherever it is, and
 * Node 20 can then abort the whole process (`NodePlatform::ForIsolate … Assertion failed: (data.first) != nullptr`)
 * when V8 is still optimizing that thread's code in the background: the compile job schedules work for an isolate
 * that is already gone. In VS Code that process is the extension host. So a thread is asked to stop (a message, and
 * a shared flag for a thread busy in a long loop), finishes what it is doing, stays idle for `QUIET_MS` (time for
 * those background jobs to finish) and closes its port; only a thread that has not ended after the grace period is
 * terminated.
 */

/**
 * Has V8 optimize the code of the threads started from now on on those threads themselves
 * (`--no-concurrent-recompilation`) instead of handing the work to the process's shared V8 background threads (4
 * for all isolates). An isolate reads the flag when it is made: threads already running, the calling one included
 * (VS Code's extension host, the CLI's main thread), keep compiling in the background. The coordinator calls it
 * before it starts its workers, hashing and decompression threads; `compileInBackground` puts the default back
 * before the next coordinator starts, so that coordinators — which must answer their workers promptly, and whose
 * own compiles would stall them — keep compiling in the background. Two reasons, measured (docs/performance.md, "Threads and
 * V8's optimizing compiler"):
 * - Node 20 can deadlock when a thread ends while a background compile job of its code waits for that thread to
 *   collect garbage (nodejs/node#54918): every thread ends in `NodePlatform::DrainTasks`, waiting for the job. With
 *   24–32 workers on the 303 MB benchmark file on a loaded 2-core machine, the output was complete and the process
 *   never exited, 3 times out of 3 (1 of 3 with a 1 s quiet time); 0 of 11 with this (and 0 of 2 at 48 workers).
 * - With busy workers on few cores the background jobs waited for CPU while the workers ran their record loop
 *   unoptimized: 2 workers 5–10% faster, 6–12% less CPU (hive, flat and capped runs of the benchmark file).
 */
export function compileOnOwnThread(): void {
	setFlagsFromString('--no-concurrent-recompilation');
}

/** V8's default again for threads started from now on (see compileOnOwnThread). */
export function compileInBackground(): void {
	setFlagsFromString('--concurrent-recompilation');
}

/** The message that asks a thread to stop. */
export interface StopMessage {
	type: 'stop';
}

/** How long a thread stays idle before it ends, so that V8's background work on its code is over. */
export const QUIET_MS = 50;

/** How long `stopThread` waits for a thread to end by itself before it terminates it. */
export const GRACE_MS = 2000;

/** A flag a thread reads between units of long work (set by `stopThread`). */
export function newStopFlag(): Int32Array {
	return new Int32Array(new SharedArrayBuffer(4));
}

/** Whether the thread was asked to stop (for loops that do not return to the event loop for a long time). */
export function stopRequested(flag: Int32Array | undefined): boolean {
	return flag !== undefined && Atomics.load(flag, 0) !== 0;
}

/**
 * Asks `worker` to stop and resolves once it has exited: by itself (see above), or terminated after `graceMs`.
 * `flag` is the thread's stop flag, when it has one.
 */
export async function stopThread(worker: Worker, flag?: Int32Array, graceMs = GRACE_MS): Promise<void> {
	if (flag) Atomics.store(flag, 0, 1);
	if (worker.threadId === -1) return; // already exited
	const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
	const stop: StopMessage = { type: 'stop' };
	try {
		worker.postMessage(stop);
	} catch {
		// The thread is already on its way out.
	}
	let timer: NodeJS.Timeout | undefined;
	const late = new Promise<'late'>((resolve) => {
		timer = setTimeout(() => resolve('late'), graceMs);
	});
	const how = await Promise.race([exited, late]);
	clearTimeout(timer);
	if (how === 'late') await worker.terminate().catch(() => undefined);
}

/**
 * The thread's side: ends it once it has been idle for `QUIET_MS`. Call it when the stop message arrives (or the
 * thread's work is over); `port` stops delivering messages at once. `idleSince` (a `performance.now()` of this
 * thread) is when its last work ended, if earlier: the time it has already waited idle since (for a stop message,
 * or for its own threads to end) counts towards the quiet time.
 */
export function endWhenQuiet(port: MessagePort, idleSince?: number): void {
	port.removeAllListeners('message');
	setTimeout(() => port.close(), quietLeft(idleSince, performance.now()));
}

/** How much longer a thread idle since `idleSince` (none: from `now`) waits before it ends. */
export function quietLeft(idleSince: number | undefined, now: number): number {
	return idleSince === undefined ? QUIET_MS : Math.min(QUIET_MS, Math.max(0, QUIET_MS - (now - idleSince)));
}

/** Whether a message is the stop message. */
export function isStop(m: unknown): m is StopMessage {
	return typeof m === 'object' && m !== null && (m as { type?: unknown }).type === 'stop';
}
