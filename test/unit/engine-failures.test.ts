import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type ExtractOptions, extract } from '../../src/engine';
import { defaultMaxOpenFiles } from '../../src/engine/writer';
import { expectSweepError, generateTrades, settleThreads, threadCount } from './helpers/engine';
import { diffSnapshots, leftovers, makeTmp, REPO_ROOT, removeTmp, snapshot } from './helpers/fsutil';

/**
 * Runs that fail or are cancelled: the error is the right SweepError, no hang (generous guards, not timings),
 * the previous output folder is byte-identical, no `<out>.sweep-tmp-*`/`.sweep-old-*` sibling, no thread left.
 */

const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures');

describe('engine: failures and cancellation', function () {
	this.timeout(180_000);
	let tmp: string;
	let big: string;
	let small: string;
	let out: string;
	let previous: Map<string, Buffer>;
	let baselineThreads: number;

	before(async () => {
		tmp = makeTmp('sweep-fail-');
		big = path.join(tmp, 'big.csv');
		generateTrades(big, 300_000);
		small = path.join(tmp, 'small.csv');
		fs.writeFileSync(small, 'symbol,n\nOLD,1\nKEEP,2\n');
		// Warm up (libuv's thread pool starts lazily) so the thread count below is a fair baseline.
		await extract({ input: small, outDir: path.join(tmp, 'warm'), workers: 2, chunkSize: 1 });
		await settleThreads(0, 300);
		baselineThreads = threadCount();
	});
	after(() => removeTmp(tmp));

	beforeEach(async () => {
		out = path.join(tmp, `out-${Date.now()}`);
		await extract({ input: small, outDir: out, workers: 1, chunkSize: 10 });
		previous = snapshot(out);
	});

	/** Previous output intact, nothing left beside it, and every worker thread gone. */
	async function assertClean(): Promise<void> {
		assert.equal(diffSnapshots(previous, snapshot(out)), '', 'previous output byte-identical');
		assert.deepEqual(leftovers(out), [], 'no .sweep-tmp-*/.sweep-old-* sibling');
		const threads = await settleThreads(baselineThreads);
		assert.ok(threads <= baselineThreads, `worker threads left: ${threads} threads, ${baselineThreads} before`);
	}

	/** A later run on the same folder works. */
	async function assertLaterRunWorks(): Promise<void> {
		const m = await extract({ input: small, outDir: out, workers: 2, chunkSize: 1 });
		assert.equal(m.rowsWritten, 2);
		assert.deepEqual(leftovers(out), []);
	}

	const bigRun = (extra: Partial<ExtractOptions> = {}): ExtractOptions => ({
		input: big,
		outDir: out,
		workers: 2,
		chunkSize: 500,
		...extra,
	});

	it('cancel mid-run via AbortSignal: aborted (exit 130), previous output intact, no thread left', async () => {
		const ac = new AbortController();
		let progressed = 0;
		const timer = setTimeout(() => ac.abort(), 3000);
		const p = extract(bigRun(), {
			signal: ac.signal,
			onProgress: (pr) => {
				progressed = pr.rowsRead;
				if (pr.rowsRead > 0) ac.abort();
			},
		});
		const e = await expectSweepError(p, 'aborted', 30_000);
		clearTimeout(timer);
		assert.equal(e.exitCode, 130);
		assert.ok(ac.signal.aborted);
		assert.ok(progressed < 300_000, `the run was still going when cancelled (${progressed} rows read)`);
		await assertClean();
		await assertLaterRunWorks();
	});

	it('cancel right away (signal already aborted, or aborted in the same tick)', async () => {
		const ac = new AbortController();
		ac.abort();
		await expectSweepError(extract(bigRun(), { signal: ac.signal }), 'aborted');
		const ac2 = new AbortController();
		const p = extract(bigRun(), { signal: ac2.signal });
		ac2.abort();
		await expectSweepError(p, 'aborted');
		await assertClean();
	});

	for (const [fixture, what] of [
		['worker-throws.js', 'throws on its first message'],
		['worker-exit.js', 'calls process.exit(3) on its first message'],
		['worker-throws-at-load.js', 'throws while loading'],
	]) {
		it(`a worker that ${what}: worker-failed (exit 1), no hang, output intact, no thread left`, async () => {
			for (const workers of [1, 3]) {
				const e = await expectSweepError(
					extract(bigRun({ workers, workerScript: path.join(FIXTURES, fixture) })),
					'worker-failed',
					30_000,
				);
				assert.equal(e.exitCode, 1);
				assert.ok(e.message.length > 0);
				await assertClean();
			}
			await assertLaterRunWorks();
		});
	}

	it('a worker that crashes after some chunks were committed: worker-failed, output intact', async () => {
		process.env.SWEEP_TEST_REAL_WORKER = path.join(__dirname, '..', '..', 'src', 'engine', 'worker.js');
		try {
			const e = await expectSweepError(
				extract(bigRun({ workerScript: path.join(FIXTURES, 'worker-crash-later.js'), chunkSize: 100 })),
				'worker-failed',
				30_000,
			);
			assert.equal(e.exitCode, 1);
		} finally {
			delete process.env.SWEEP_TEST_REAL_WORKER;
		}
		await assertClean();
	});

	it('a worker that dies between the reservation of its ranges and their write: worker-failed, output intact', async () => {
		process.env.SWEEP_TEST_REAL_WORKER = path.join(__dirname, '..', '..', 'src', 'engine', 'worker.js');
		try {
			// Capped files too: their ranges are pieces of a chunk's records, cut at record ends.
			for (const [workers, maxRowsPerFile] of [
				[1, undefined],
				[3, undefined],
				[2, 7],
			]) {
				const e = await expectSweepError(
					extract(
						bigRun({
							workers,
							workerScript: path.join(FIXTURES, 'worker-crash-on-write.js'),
							chunkSize: 100,
							maxRowsPerFile,
						}),
					),
					'worker-failed',
					30_000,
				);
				assert.equal(e.exitCode, 1);
				await assertClean();
			}
		} finally {
			delete process.env.SWEEP_TEST_REAL_WORKER;
		}
		await assertLaterRunWorks();
	});

	it('workers writing their own ranges through one open file at a time give the same bytes as one worker', async () => {
		const many = path.join(tmp, 'many.csv');
		// 300 partitions, some records rejected, over many small chunks.
		const lines = ['symbol,n'];
		for (let i = 0; i < 6000; i++) lines.push(i % 97 === 0 ? `BAD${i}` : `S${(i * 7919) % 300},${i}`);
		fs.writeFileSync(many, `${lines.join('\n')}\n`);
		const ref = path.join(tmp, `ref-${Date.now()}`);
		await extract({ input: many, outDir: ref, workers: 1, chunkSize: 1_000_000 });
		const expected = snapshot(ref);
		expected.delete('_manifest.json');
		for (const [workers, chunkSize, maxOpenFiles] of [
			[3, 7, 1],
			[2, 50, 2],
			[3, 1, 3],
		]) {
			const dir = path.join(tmp, `many-${workers}-${chunkSize}-${maxOpenFiles}`);
			await extract({ input: many, outDir: dir, workers, chunkSize, maxOpenFiles });
			const got = snapshot(dir);
			got.delete('_manifest.json');
			assert.equal(
				diffSnapshots(expected, got),
				'',
				`workers ${workers}, chunkSize ${chunkSize}, maxOpenFiles ${maxOpenFiles}`,
			);
			assert.equal(got.size, 301);
		}
		// Capped at 6 records a file (20 per partition: 4 files each), the ranges cut inside chunks.
		const cappedRef = path.join(tmp, `capped-ref-${Date.now()}`);
		await extract({ input: many, outDir: cappedRef, workers: 1, chunkSize: 1_000_000, maxRowsPerFile: 6 });
		const cappedExpected = snapshot(cappedRef);
		const cappedManifest = JSON.parse(cappedExpected.get('_manifest.json')?.toString() ?? '{}');
		cappedExpected.delete('_manifest.json');
		assert.ok(cappedExpected.size > 1000, `${cappedExpected.size} files`);
		for (const [workers, chunkSize, maxOpenFiles] of [
			[3, 7, 1],
			[2, 50, 2],
			[3, 13, 512],
		]) {
			const dir = path.join(tmp, `capped-${workers}-${chunkSize}-${maxOpenFiles}`);
			const m = await extract({ input: many, outDir: dir, workers, chunkSize, maxOpenFiles, maxRowsPerFile: 6 });
			const got = snapshot(dir);
			got.delete('_manifest.json');
			const what = `capped: workers ${workers}, chunkSize ${chunkSize}, maxOpenFiles ${maxOpenFiles}`;
			assert.equal(diffSnapshots(cappedExpected, got), '', what);
			// The manifest's file list, rows and bytes per file included.
			assert.deepEqual(
				m.partitions.map((p) => p.files),
				cappedManifest.partitions.map((p: { files: unknown }) => p.files),
				what,
			);
		}
	});

	it('a worker out of memory: worker-failed, output intact', async () => {
		const e = await expectSweepError(
			extract(bigRun({ chunkSize: 100_000, workerResourceLimits: { maxOldGenerationSizeMb: 4 } })),
			'worker-failed',
			60_000,
		);
		assert.equal(e.exitCode, 1);
		await assertClean();
	});

	it('the input file changing while it is read: file-changed (exit 1), output intact', async () => {
		const copy = path.join(tmp, 'changing.csv');
		fs.copyFileSync(big, copy);
		let changed = false;
		const p = extract(
			{ input: copy, outDir: out, workers: 1, chunkSize: 200 },
			{
				onProgress: () => {
					if (changed) return;
					changed = true;
					fs.truncateSync(copy, Math.floor(fs.statSync(copy).size / 2));
				},
			},
		);
		const e = await expectSweepError(p, 'file-changed', 60_000);
		assert.equal(e.exitCode, 1);
		await assertClean();
	});

	/**
	 * Runs `big`, copied to `copy` with its times set to `when` (in the past, so that a write moves the modification
	 * time whatever the clock's tick), at `workers`, and at the first progress report rewrites 4 KB of it in place with
	 * bytes that are not UTF-8 (same size) — putting its modification time back afterwards when `keepMtime`. Resolves
	 * to the run's file-changed error.
	 */
	async function rewrittenWhileRead(copy: string, workers: number, when: Date, keepMtime: boolean) {
		fs.copyFileSync(big, copy);
		fs.utimesSync(copy, when, when);
		const was = fs.statSync(copy);
		let changed = false;
		const p = extract(
			{ input: copy, outDir: out, workers, chunkSize: 200, strictUtf8: true },
			{
				onProgress: () => {
					if (changed) return;
					changed = true;
					const fd = fs.openSync(copy, 'r+');
					fs.writeSync(fd, Buffer.alloc(4096, 0xff), 0, 4096, Math.floor(was.size * 0.7));
					fs.closeSync(fd);
					if (keepMtime) fs.utimesSync(copy, was.atime, was.mtime);
				},
			},
		);
		return { e: await expectSweepError(p, 'file-changed', 60_000), was };
	}

	// Found by a hostile campaign: a file rewritten under the run was blamed on its content ("bytes that are not valid
	// UTF-8 on line …", "the record … is larger than 64 MB", too many rejects) instead of the change.
	it('the input rewritten in place while it is read (same size): file-changed, not the error its new bytes cause', async () => {
		const copy = path.join(tmp, 'rewritten.csv');
		for (const workers of [1, 2]) {
			const { e } = await rewrittenWhileRead(copy, workers, new Date(Date.now() - 60_000), false);
			assert.match(e.message, /changed while it was read \(it was modified/, `${workers} workers`);
			await assertClean();
		}
	});

	// The same rewrite with the modification time put back afterwards (as `touch -d` or `rsync -t` would): the change
	// time, which nobody can set, still names the change (it was: the bytes' own error, invalid UTF-8).
	it('the input rewritten in place with its modification time put back: still file-changed', async () => {
		const copy = path.join(tmp, 'rewritten-mtime-kept.csv');
		for (const workers of [1, 2]) {
			// A whole second, which utimes can put back exactly (a Date has no sub-millisecond part).
			const second = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
			const { e, was } = await rewrittenWhileRead(copy, workers, second, true);
			assert.match(
				e.message,
				/changed while it was read \(it was written to, or its permissions/,
				`${workers} workers`,
			);
			assert.equal(fs.statSync(copy).mtimeMs, was.mtimeMs, 'the modification time was put back');
			await assertClean();
		}
	});
});

describe('engine: how many partition files a run keeps open by default (writer.ts defaultMaxOpenFiles)', () => {
	const limits = (soft: string) => () =>
		`Limit                     Soft Limit           Hard Limit           Units     \nMax open files            ${soft}                 1048576              files     \n`;
	it('half the soft open-file limit, from 512 to 8,192; 512 when the limit cannot be read', () => {
		assert.equal(defaultMaxOpenFiles(limits('20000')), 8192);
		assert.equal(defaultMaxOpenFiles(limits('4000')), 2000);
		assert.equal(defaultMaxOpenFiles(limits('1024')), 512);
		assert.equal(defaultMaxOpenFiles(limits('256')), 512);
		assert.equal(defaultMaxOpenFiles(limits('unlimited')), 8192);
		assert.equal(
			defaultMaxOpenFiles(() => 'no such line'),
			512,
		);
		assert.equal(
			defaultMaxOpenFiles(() => {
				throw new Error('ENOENT: not Linux');
			}),
			512,
		);
		const here = defaultMaxOpenFiles();
		assert.ok(here >= 512 && here <= 8192, `${here} on this machine`);
	});
});
