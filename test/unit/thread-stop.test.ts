import * as assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { GRACE_MS, QUIET_MS, quietLeft, stopThread } from '../../src/engine/threadStop';

/**
 * How Sweep ends its threads (threadStop.ts): a thread asked to stop ends by itself once idle for QUIET_MS (exit
 * code 0: it was not terminated); one that does not listen is terminated after the grace period (exit code 1).
 * Terminating a thread while V8 compiles its code in the background can abort Node 20 (README "What Sweep
 * guarantees"), which is why the first path is the normal one.
 */
const THREAD_STOP = require.resolve('../../src/engine/threadStop');

function listening(): Worker {
	// A thread like Sweep's: answers work messages, ends itself on the stop message.
	return new Worker(
		`const { parentPort } = require('node:worker_threads');
		const { endWhenQuiet, isStop } = require(${JSON.stringify(THREAD_STOP)});
		parentPort.on('message', (m) => {
			if (isStop(m)) return endWhenQuiet(parentPort);
			let x = 0;
			for (let i = 0; i < 2e6; i++) x += i % 7; // a little hot work, so V8 optimizes it
			parentPort.postMessage(x);
		});`,
		{ eval: true },
	);
}

function exitCode(w: Worker): Promise<number> {
	return new Promise((resolve) => w.once('exit', resolve));
}

describe('threadStop: threads end themselves', () => {
	it('a busy thread finishes its task, stays idle QUIET_MS, then exits with code 0 (not terminated)', async () => {
		const w = listening();
		const answers: number[] = [];
		w.on('message', (m: number) => answers.push(m));
		const code = exitCode(w);
		for (let i = 0; i < 5; i++) w.postMessage('work');
		const t0 = Date.now();
		await stopThread(w);
		const took = Date.now() - t0;
		assert.equal(await code, 0);
		assert.equal(answers.length, 5, 'the tasks sent before the stop were all answered');
		assert.ok(took >= QUIET_MS - 5, `ended after ${took} ms, before its quiet time`);
		assert.ok(took < GRACE_MS, `ended after ${took} ms: it was terminated, not stopped`);
	});

	it('the quiet time counts from the end of the last work: idle time before the stop message counts', () => {
		assert.equal(quietLeft(undefined, 1000), QUIET_MS);
		assert.equal(quietLeft(1000, 1000), QUIET_MS);
		assert.equal(quietLeft(1000, 1000 + QUIET_MS / 2), QUIET_MS / 2);
		assert.equal(quietLeft(1000, 1000 + QUIET_MS), 0);
		assert.equal(quietLeft(1000, 1000 + 10 * QUIET_MS), 0);
		// A clock that went backwards (or a future idleSince) never makes the wait longer than QUIET_MS.
		assert.equal(quietLeft(2000, 1000), QUIET_MS);
	});

	it('a thread idle since its last task still ends no sooner than QUIET_MS after that task', async () => {
		const w = new Worker(
			`const { parentPort } = require('node:worker_threads');
			const { endWhenQuiet, isStop } = require(${JSON.stringify(THREAD_STOP)});
			let idleSince;
			parentPort.on('message', (m) => {
				if (isStop(m)) return endWhenQuiet(parentPort, idleSince);
				let x = 0;
				for (let i = 0; i < 2e6; i++) x += i % 7;
				parentPort.postMessage(x);
				idleSince = performance.now();
			});`,
			{ eval: true },
		);
		const code = exitCode(w);
		const answered = new Promise<number>((resolve) => w.once('message', () => resolve(Date.now())));
		w.postMessage('work');
		const lastWork = await answered;
		await new Promise((r) => setTimeout(r, QUIET_MS / 5));
		await stopThread(w);
		const sinceWork = Date.now() - lastWork;
		assert.equal(await code, 0, 'it ended by itself');
		assert.ok(sinceWork >= QUIET_MS - 5, `ended ${sinceWork} ms after its last work, before its quiet time`);
	});

	it('a thread that does not listen is terminated after the grace period', async () => {
		const w = new Worker('setInterval(() => {}, 1000);', { eval: true });
		await new Promise((r) => w.once('online', r));
		const code = exitCode(w);
		const t0 = Date.now();
		await stopThread(w, undefined, 300);
		assert.ok(Date.now() - t0 >= 295);
		assert.equal(await code, 1);
	});

	it('the shared flag stops a thread busy in a loop that never returns to its event loop', async () => {
		const flag = new Int32Array(new SharedArrayBuffer(4));
		const w = new Worker(
			`const { workerData } = require('node:worker_threads');
			while (Atomics.load(workerData.flag, 0) === 0) {}`,
			{ eval: true, workerData: { flag } },
		);
		await new Promise((r) => w.once('online', r));
		const code = exitCode(w);
		await stopThread(w, flag, 5000);
		assert.equal(await code, 0);
	});

	it('stopping a thread that has already exited resolves at once', async () => {
		const w = new Worker('', { eval: true });
		await exitCode(w);
		const t0 = Date.now();
		await stopThread(w);
		assert.ok(Date.now() - t0 < 50);
	});
});
