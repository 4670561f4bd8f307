import * as assert from 'node:assert/strict';
import { JobQueue } from '../../src/vscode/jobQueue';

/** A promise and the function that resolves it. */
function gate(): { promise: Promise<void>; open: () => void } {
	let open!: () => void;
	const promise = new Promise<void>((resolve) => {
		open = resolve;
	});
	return { promise, open };
}

describe('vscode: the extraction queue', () => {
	it('runs one job at a time, in the order they were queued, and shows the wait of the later ones', async () => {
		const q = new JobQueue();
		const order: string[] = [];
		const waited: string[] = [];
		const first = gate();
		const a = q.enter('a', 'a.csv');
		const runA = q.runInTurn(
			a,
			async () => assert.fail('the first job does not wait'),
			async () => {
				order.push('a starts');
				await first.promise;
				order.push('a ends');
				return 'A';
			},
		);
		const b = q.enter('b', 'b.csv');
		assert.equal(q.get('b'), b);
		const runB = q.runInTurn(
			b,
			async (turn) => {
				waited.push(b.state);
				await turn;
				return true;
			},
			async () => {
				order.push('b runs');
				return 'B';
			},
		);
		await new Promise((r) => setImmediate(r));
		assert.equal(q.running, a);
		assert.deepEqual(waited, ['queued']);
		first.open();
		assert.equal(await runA, 'A');
		q.leave(a);
		assert.equal(await runB, 'B');
		q.leave(b);
		assert.deepEqual(order, ['a starts', 'a ends', 'b runs']);
		assert.equal(q.size, 0);
	});

	it('resolves whenIdle() when the last job leaves, without polling, and at once when there is none', async () => {
		const q = new JobQueue();
		await q.whenIdle();
		const job = q.enter('a', 'a.csv');
		let idle = false;
		const done = q.whenIdle().then(() => {
			idle = true;
		});
		await new Promise((r) => setTimeout(r, 20));
		assert.equal(idle, false, 'a job asking a question counts as busy');
		q.leave(job);
		await done;
		assert.equal(idle, true);
	});

	it('skips a job aborted while it waited, and one whose wait was given up', async () => {
		const q = new JobQueue();
		const first = gate();
		const a = q.enter('a', 'a.csv');
		const runA = q.runInTurn(
			a,
			async () => true,
			() => first.promise,
		);
		const b = q.enter('b', 'b.csv');
		const runB = q.runInTurn(
			b,
			async (turn) => {
				await turn;
				return true;
			},
			async () => assert.fail('an aborted job does not run'),
		);
		const c = q.enter('c', 'c.csv');
		const runC = q.runInTurn(
			c,
			async () => false,
			async () => assert.fail('a job given up does not run'),
		);
		q.abortAll();
		assert.ok(a.abort.signal.aborted && b.abort.signal.aborted);
		first.open();
		await runA;
		assert.equal(await runB, undefined);
		assert.equal(await runC, undefined);
		for (const j of [a, b, c]) q.leave(j);
		await q.drained();
		assert.equal(q.size, 0);
	});
});
