import * as assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { extract } from '../../src/engine';
import { acquireRunLock, newHolder, runLockFile, STALE_MS } from '../../src/engine/runLock';
import { APPEND_JOURNAL_FILE } from '../../src/rules/limits';
import { CLI, requireCli, runCli, startCli, writeTrades } from '../fixtures/hostile/env';
import { checkOutput, outputBytes } from '../fixtures/hostile/oracle';
import { diffSnapshots, leftovers, makeTmp, removeTmp, snapshot } from './helpers/fsutil';

/**
 * Issue 12 (1, 2, 3, 6, 7): links to the input, runs in other PID namespaces, many runs at once on one folder,
 * refusals that must create nothing, and failures that belong before writing.
 */

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const NOBODY = 65534;

/** Whether `unshare --pid --fork` works here (root, and the kernel allows it). */
function canUnshare(): string | null {
	if (!isRoot) return 'not root';
	const r = spawnSync('unshare', ['--pid', '--fork', 'true'], { encoding: 'utf8' });
	return r.status === 0 ? null : `unshare --pid --fork fails here: ${(r.stderr || r.error?.message || '').trim()}`;
}

function canMount(dir: string): string | null {
	if (!isRoot) return 'not root';
	const probe = path.join(dir, 'mount-probe');
	fs.mkdirSync(probe);
	const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', probe], { encoding: 'utf8' });
	if (r.status !== 0) return `mount is not allowed here: ${r.stderr.trim()}`;
	spawnSync('umount', [probe]);
	fs.rmdirSync(probe);
	return null;
}

function skip(ctx: Mocha.Context, why: string): void {
	console.log(`      (skipped: ${why})`);
	ctx.skip();
}

/** stderr's lines, without the warning a loaded machine may add (system detection falling back to Node's os). */
const oneLine = (stderr: string) =>
	stderr
		.trim()
		.split('\n')
		.filter((l) => !l.startsWith('sweep: warning: System detection'));

describe('hostile locks and links', function () {
	this.timeout(300_000);
	let dir = '';
	before(() => requireCli());
	beforeEach(() => {
		dir = fs.realpathSync(makeTmp('sweep-hostile-locks-'));
	});
	afterEach(() => {
		// Unmount anything a test left mounted under the folder, then remove it.
		const mounts = fs.readFileSync('/proc/mounts', 'utf8').split('\n');
		for (const m of mounts
			.map((l) => l.split(' ')[1])
			.filter((p) => p?.startsWith(dir))
			.reverse()) {
			spawnSync('umount', ['-l', m]);
		}
		spawnSync('chattr', ['-R', '-i', dir], { stdio: 'ignore' });
		removeTmp(dir);
	});

	const put = (name: string, text: string) => {
		const p = path.join(dir, name);
		fs.mkdirSync(path.dirname(p), { recursive: true });
		fs.writeFileSync(p, text);
		return p;
	};

	describe('links: Sweep never replaces or deletes a file it reads', () => {
		it('an input that is a symbolic link into the output folder is refused (exit 2), the real file intact', async () => {
			const seed = put('seed.csv', 'id,symbol\n1,A\n2,B\n');
			const out = path.join(dir, 'out');
			assert.equal((await runCli(['extract', seed, '--out', out])).code, 0);
			fs.copyFileSync(seed, path.join(out, 'data.csv'));
			fs.symlinkSync(path.join('out', 'data.csv'), path.join(dir, 'in.csv'));
			const before = snapshot(out);
			const r = await runCli(['extract', path.join(dir, 'in.csv'), '--out', out], { cwd: dir });
			assert.equal(r.code, 2, r.stderr);
			assert.equal(oneLine(r.stderr).length, 1, r.stderr);
			assert.match(r.stderr, /contains the input file/);
			assert.equal(diffSnapshots(before, snapshot(out)), '');
			assert.deepEqual(leftovers(out), []);
		});

		it('an output folder reached through a linked parent that holds the input is refused (--force too)', async () => {
			const input = put('data/sub/in.csv', 'id,symbol\n1,A\n');
			fs.symlinkSync(path.join(dir, 'data'), path.join(dir, 'alias'));
			const before = snapshot(path.join(dir, 'data'));
			const r = await runCli(['extract', input, '--out', path.join(dir, 'alias', 'sub'), '--force']);
			assert.equal(r.code, 2, r.stderr);
			assert.match(r.stderr, /contains the input file/);
			assert.equal(oneLine(r.stderr).length, 1);
			assert.equal(diffSnapshots(before, snapshot(path.join(dir, 'data'))), '');
			assert.deepEqual(leftovers(path.join(dir, 'data', 'sub')), []);
		});

		it('a hard link of the input inside the old output is refused (same device and inode)', async () => {
			const seed = put('seed.csv', 'id,symbol\n1,A\n');
			const out = path.join(dir, 'out');
			assert.equal((await runCli(['extract', seed, '--out', out])).code, 0);
			const input = path.join(dir, 'in.csv');
			fs.writeFileSync(path.join(out, 'data.csv'), 'id,symbol\n9,Z\n');
			fs.linkSync(path.join(out, 'data.csv'), input);
			const before = snapshot(out);
			// --force: a file its manifest does not list makes the folder not Sweep's (refused anyway without it).
			const r = await runCli(['extract', input, '--out', out, '--force']);
			assert.equal(r.code, 2, r.stderr);
			assert.match(r.stderr, /data\.csv is .*in\.csv \(the same file\), which Sweep reads/);
			assert.equal(diffSnapshots(before, snapshot(out)), '');
		});

		it('an orders file inside the output folder (through a link) is refused', async () => {
			const input = put('in.csv', 'id,symbol\n1,A\n2,B\n');
			const out = path.join(dir, 'out');
			assert.equal((await runCli(['extract', input, '--out', out])).code, 0);
			fs.writeFileSync(path.join(out, 'orders.csv'), 'symbol\nA\n');
			fs.symlinkSync(path.join(out, 'orders.csv'), path.join(dir, 'orders.csv'));
			const before = snapshot(out);
			const r = await runCli(['extract', input, '--out', out, '--orders', path.join(dir, 'orders.csv')]);
			assert.equal(r.code, 2, r.stderr);
			assert.match(r.stderr, /contains a file Sweep reads/);
			assert.equal(diffSnapshots(before, snapshot(out)), '');
		});

		it('an output folder that is a bind mount of the folder holding the input is refused (device + inode)', async function () {
			const why = canMount(dir);
			if (why) return skip(this, why);
			const input = put('data/in.csv', 'id,symbol\n1,A\n');
			const mnt = path.join(dir, 'mnt');
			fs.mkdirSync(mnt);
			execFileSync('mount', ['--bind', path.join(dir, 'data'), mnt]);
			const r = await runCli(['extract', input, '--out', mnt, '--force']);
			assert.equal(r.code, 2, r.stderr);
			assert.match(r.stderr, /contains the input file/);
			assert.ok(fs.existsSync(input));
			// And a bind mount of it inside the old output: never deleted through.
			execFileSync('umount', [mnt]);
			const out = path.join(dir, 'out');
			assert.equal((await runCli(['extract', input, '--out', out])).code, 0);
			fs.mkdirSync(path.join(out, 'inner'));
			execFileSync('mount', ['--bind', path.join(dir, 'data'), path.join(out, 'inner')]);
			const r2 = await runCli(['extract', input, '--out', out, '--force']);
			assert.equal(r2.code, 2, r2.stderr);
			assert.match(r2.stderr, /inner is a folder that holds .*in\.csv, which Sweep reads/);
			assert.ok(fs.existsSync(input));
		});
	});

	describe('run lock: one run at a time per output folder, not decided by PIDs', () => {
		it('a second run on a held folder exits 2 with one line naming the holder, and changes nothing', async () => {
			const input = put('in.csv', 'id,symbol\n1,A\n');
			const out = path.join(dir, 'out');
			assert.equal((await runCli(['extract', input, '--out', out])).code, 0);
			const before = snapshot(out);
			const lock = acquireRunLock(out);
			try {
				const r = await runCli(['extract', input, '--out', out]);
				assert.equal(r.code, 2, r.stderr);
				const lines = oneLine(r.stderr);
				assert.equal(lines.length, 1, r.stderr);
				assert.match(
					lines[0],
					new RegExp(`Another Sweep run holds the output folder .*host ${os.hostname()}, pid ${process.pid}, since `),
				);
				assert.equal(diffSnapshots(before, snapshot(out)), '');
				assert.deepEqual(leftovers(out), [path.basename(runLockFile(out))]);
			} finally {
				lock.release();
			}
			assert.deepEqual(leftovers(out), []);
			assert.equal((await runCli(['extract', input, '--out', out])).code, 0);
		});

		it('a lock from another PID namespace is respected even though its PID is not alive here', async () => {
			const input = put('in.csv', 'id,symbol\n1,A\n');
			const out = path.join(dir, 'out');
			// A live run in another container: fresh heartbeat, a PID that means nothing here.
			const holder = {
				id: 'x',
				host: 'container-7',
				pid: 1,
				since: new Date().toISOString(),
				boot: 'other',
				pidns: 'pid:[1]',
			};
			fs.writeFileSync(runLockFile(out), JSON.stringify(holder));
			const r = await runCli(['extract', input, '--out', out]);
			assert.equal(r.code, 2, r.stderr);
			assert.match(r.stderr, /host container-7, pid 1, since/);
			assert.ok(!fs.existsSync(out));
			// Its heartbeat stops: after STALE_MS the lock is taken over.
			const old = new Date(Date.now() - STALE_MS - 5000);
			fs.utimesSync(runLockFile(out), old, old);
			const r2 = await runCli(['extract', input, '--out', out]);
			assert.equal(r2.code, 0, r2.stderr);
			assert.deepEqual(leftovers(out), []);
		});

		/** Writes `out`'s run lock as a Sweep run with PID `pid` on this boot, in this PID namespace, would. */
		const heldHereBy = (out: string, pid: number) =>
			fs.writeFileSync(runLockFile(out), JSON.stringify({ ...newHolder(), pid }));

		it('a lock left by a killed run in this PID namespace is taken over at once', async () => {
			const input = put('in.csv', 'id,symbol\n1,A\n');
			const out = path.join(dir, 'out');
			const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
				encoding: 'utf8',
			});
			heldHereBy(out, Number(child.stdout));
			const r = await runCli(['extract', input, '--out', out]);
			assert.equal(r.code, 0, r.stderr);
			assert.deepEqual(leftovers(out), []);
		});

		it('a lock whose holder was killed but not yet reaped (a zombie) is taken over at once', async () => {
			const input = put('in.csv', 'id,symbol\n1,A\n');
			const out = path.join(dir, 'out');
			// `sleep 0` ends at once; its parent then becomes `sleep 30`, which never reaps it: a zombie for 30 s.
			const parent = spawn('sh', ['-c', 'sleep 0 & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] });
			try {
				const zombie = Number(
					await new Promise<string>((resolve) => parent.stdout.once('data', (d) => resolve(String(d)))),
				);
				const state = () => fs.readFileSync(`/proc/${zombie}/stat`, 'utf8').replace(/^.*\) /s, '')[0];
				for (let i = 0; i < 100 && state() !== 'Z'; i++) await new Promise((r) => setTimeout(r, 20));
				assert.equal(state(), 'Z', 'the child is a zombie');
				heldHereBy(out, zombie);
				const r = await runCli(['extract', input, '--out', out]);
				assert.equal(r.code, 0, r.stderr);
				assert.deepEqual(leftovers(out), []);
			} finally {
				parent.kill('SIGKILL');
			}
		});

		it('a lock whose holder lives on this machine is never taken over, however old its heartbeat (a suspended run)', async () => {
			const input = put('in.csv', 'id,symbol\n1,A\n');
			const out = path.join(dir, 'out');
			// This very process (its PID and start time), its heartbeat long stopped: kept.
			fs.writeFileSync(runLockFile(out), JSON.stringify(newHolder()));
			const old = new Date(Date.now() - STALE_MS - 5000);
			fs.utimesSync(runLockFile(out), old, old);
			const r = await runCli(['extract', input, '--out', out]);
			assert.equal(r.code, 2, r.stderr);
			assert.match(r.stderr, new RegExp(`pid ${process.pid}, since`));
			assert.ok(!fs.existsSync(out));
			// The same PID with another start time is another process (the PID was reused): the heartbeat decides.
			fs.writeFileSync(runLockFile(out), JSON.stringify({ ...newHolder(), start: '1' }));
			fs.utimesSync(runLockFile(out), old, old);
			const r2 = await runCli(['extract', input, '--out', out]);
			assert.equal(r2.code, 0, r2.stderr);
			assert.deepEqual(leftovers(out), []);
		});

		it('an append suspended (SIGSTOP) for longer than the heartbeat keeps its folder: a second append exits 2, the first completes', async function () {
			this.timeout(120_000);
			const day1 = path.join(dir, 'day1.csv');
			const day2 = path.join(dir, 'day2.csv');
			const day3 = path.join(dir, 'day3.csv');
			writeTrades(day1, 1000, 20, 1);
			writeTrades(day2, 400_000, 20, 2);
			writeTrades(day3, 1000, 20, 3);
			const out = path.join(dir, 'out');
			const ref = path.join(dir, 'ref');
			for (const [day, o, more] of [
				[day1, ref, []],
				[day2, ref, ['--append']],
				[day3, ref, ['--append']],
				[day1, out, []],
			] as const)
				assert.equal((await runCli(['extract', day, '--out', o, ...more])).code, 0);
			const first = startCli(['extract', day2, '--out', out, '--append', '--workers', '1']);
			// Stopped once it holds the lock and has begun (its journal exists), before it commits.
			const journalSeen = async () => {
				for (let i = 0; i < 400; i++) {
					if (fs.existsSync(path.join(out, APPEND_JOURNAL_FILE))) return true;
					await new Promise((r) => setTimeout(r, 10));
				}
				return false;
			};
			const begun = await journalSeen();
			first.child.kill('SIGSTOP');
			try {
				if (!begun)
					console.log('      (the append finished before it could be stopped: only the second run is checked)');
				await new Promise((r) => setTimeout(r, STALE_MS + 2000));
				const second = await runCli(['extract', day3, '--out', out, '--append']);
				if (begun) {
					assert.equal(second.code, 2, second.stderr);
					assert.match(second.stderr, /Another Sweep run holds the output folder/);
				}
			} finally {
				first.child.kill('SIGCONT');
			}
			const r1 = await first.done;
			assert.equal(r1.code, 0, r1.stderr);
			if (begun) assert.equal((await runCli(['extract', day3, '--out', out, '--append'])).code, 0);
			assert.deepEqual(outputBytes(out), outputBytes(ref));
		});

		it('recovery never deletes a temporary folder whose lock is fresh; a stale or lock-less one is removed', async () => {
			const input = put('in.csv', 'id,symbol\n1,A\n');
			const out = path.join(dir, 'out');
			const live = path.join(dir, 'out.sweep-tmp-11fe11fe11fe');
			const dead1 = path.join(dir, 'out.sweep-tmp-000000abcdef'); // killed before it took its lock: empty
			const dead2 = path.join(dir, 'out.sweep-tmp-57a1e57a1e57');
			for (const d of [live, dead1, dead2]) fs.mkdirSync(d);
			fs.writeFileSync(path.join(live, 'A.csv'), 'id,symbol\n');
			fs.writeFileSync(
				path.join(live, '.sweep-lock'),
				JSON.stringify({ id: 'z', host: 'elsewhere', pid: 1, since: '' }),
			);
			fs.writeFileSync(
				path.join(dead2, '.sweep-lock'),
				JSON.stringify({ id: 'w', host: 'elsewhere', pid: 1, since: '' }),
			);
			const old = new Date(Date.now() - STALE_MS - 5000);
			fs.utimesSync(path.join(dead2, '.sweep-lock'), old, old);
			const r = await runCli(['extract', input, '--out', out]);
			assert.equal(r.code, 0, r.stderr);
			assert.ok(fs.existsSync(path.join(live, 'A.csv')), 'a folder with a fresh lock was deleted');
			assert.ok(!fs.existsSync(dead1));
			assert.ok(!fs.existsSync(dead2));
			fs.utimesSync(path.join(live, '.sweep-lock'), old, old);
			assert.equal((await runCli(['extract', input, '--out', out])).code, 0);
			assert.deepEqual(leftovers(out), []);
		});

		it('two runs in different PID namespaces (unshare --pid --fork) on one folder: one runs, the other exits 2; a killed one is recovered', async function () {
			const why = canUnshare();
			if (why) return skip(this, why);
			const input = path.join(dir, 'trades.csv');
			writeTrades(input, 100_000, 500);
			const inputBytes = fs.readFileSync(input);
			const out = path.join(dir, 'out');
			const flags = ['--workers', '1', '--chunk-size', '1000'];
			for (let round = 0; round < 2; round++) {
				// The first run lives in a PID namespace of its own (where it is PID 1); the second starts on the host.
				const first = startCli(['extract', input, '--out', out, ...flags], {
					shellPrefix: `exec unshare --pid --fork --kill-child bash -c '"$@"' _`,
				});
				for (let i = 0; i < 200 && !fs.existsSync(runLockFile(out)); i++) await new Promise((r) => setTimeout(r, 25));
				const second = await runCli(['extract', input, '--out', out, ...flags]);
				const r1 = await first.done;
				assert.equal(r1.code, 0, r1.stderr);
				assert.equal(second.code, 2, second.stderr);
				assert.match(second.stderr, /Another Sweep run holds the output folder/);
				checkOutput(inputBytes, out, `round ${round}`);
				assert.deepEqual(leftovers(out), []);
			}
			// A run killed outright inside its namespace (PID 1 there): its lock and temporary folder are recovered by a
			// run on the host once the lock's heartbeat is stale, whatever its PID.
			const victim = startCli(['extract', input, '--out', out, ...flags], {
				shellPrefix: `exec unshare --pid --fork --kill-child bash -c '"$@"' _`,
			});
			for (let i = 0; i < 400 && !fs.readdirSync(dir).some((n) => n.startsWith('out.sweep-tmp-')); i++) {
				await new Promise((r) => setTimeout(r, 25));
			}
			victim.child.kill('SIGKILL');
			await victim.done;
			const lockText = fs.readFileSync(runLockFile(out), 'utf8');
			assert.match(lockText, /"pid":1,/, 'the run was PID 1 in its namespace');
			assert.equal((await runCli(['extract', input, '--out', out, ...flags])).code, 2, 'fresh lock still respected');
			await new Promise((r) => setTimeout(r, STALE_MS + 1500));
			const after = await runCli(['extract', input, '--out', out, ...flags]);
			assert.equal(after.code, 0, after.stderr);
			checkOutput(inputBytes, out, 'after the killed run');
			assert.deepEqual(leftovers(out), []);
		});

		it('campaign: 8 runs at once on one folder, many rounds: one whole output, no leftovers, losers exit 2 in one line', async () => {
			const rounds = Number(process.env.SWEEP_LOCK_ROUNDS ?? '6') || 6;
			const input = path.join(dir, 'trades.csv');
			writeTrades(input, 20_000, 50);
			const inputBytes = fs.readFileSync(input);
			const out = path.join(dir, 'out');
			let wins = 0;
			let losses = 0;
			let reference: Map<string, string> | undefined;
			for (let round = 0; round < rounds; round++) {
				const runs = Array.from({ length: 8 }, () => startCli(['extract', input, '--out', out, '--workers', '1']).done);
				const results = await Promise.all(runs);
				for (const r of results) {
					if (r.code === 0) wins++;
					else {
						losses++;
						assert.equal(r.code, 2, `round ${round}: exit ${r.code}: ${r.stderr}`);
						assert.equal(oneLine(r.stderr).length, 1, r.stderr);
						assert.match(
							oneLine(r.stderr)[0],
							/^sweep: error: Another Sweep run holds the output folder .* \(host .*, pid \d+, since .*\)/,
						);
					}
				}
				assert.ok(
					results.some((r) => r.code === 0),
					`round ${round}: no run succeeded`,
				);
				checkOutput(inputBytes, out, `round ${round}`);
				const bytes = outputBytes(out);
				if (reference) assert.deepEqual(bytes, reference);
				reference = bytes;
				assert.deepEqual(leftovers(out), [], `round ${round}`);
			}
			console.log(
				`      ${rounds} rounds of 8 runs: ${wins} succeeded, ${losses} exited 2 (another run held the folder)`,
			);
		});
	});

	describe('refusals create nothing; what can be checked is checked before writing', () => {
		it('too little free space: exit 2 and no folder created on the way to the output', async function () {
			const why = canMount(dir);
			if (why) return skip(this, why);
			const small = path.join(dir, 'small');
			fs.mkdirSync(small);
			execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', small]);
			const input = path.join(dir, 'in.csv');
			writeTrades(input, 20_000, 5);
			const r = await runCli(['extract', input, '--out', path.join(small, 'a', 'b', 'c', 'out')]);
			assert.equal(r.code, 2, r.stderr);
			// Sizes in units, not raw byte counts.
			assert.match(
				r.stderr,
				/Not enough free space in [^:]+: [\d.,]+ (bytes|KB) free, the output needs about [\d.]+ (KB|MB) \(/,
			);
			assert.deepEqual(fs.readdirSync(small), []);
		});

		it('a locked folder, a path through a file, a foreign folder: refused with nothing created', async () => {
			const input = put('in.csv', 'id,symbol\n1,A\n');
			put('file', 'x');
			const r1 = await runCli(['extract', input, '--out', path.join(dir, 'file', 'a', 'out')]);
			assert.equal(r1.code, 2, r1.stderr);
			const foreign = path.join(dir, 'deep', 'foreign');
			put('deep/foreign/x.txt', 'x');
			const r2 = await runCli(['extract', input, '--out', foreign]);
			assert.equal(r2.code, 2, r2.stderr);
			assert.deepEqual(fs.readdirSync(path.join(dir, 'deep')), ['foreign']);
			assert.deepEqual(fs.readdirSync(dir).sort(), ['deep', 'file', 'in.csv']);
		});

		it('a parent with the sticky bit owned by someone else: exit 2 before writing, not after the run', async function () {
			if (!isRoot) return skip(this, 'needs root to act as two users');
			const shared = path.join(dir, 'shared');
			fs.mkdirSync(shared, { mode: 0o1777 });
			fs.chmodSync(shared, 0o1777);
			fs.chmodSync(dir, 0o755);
			const input = put('in.csv', 'id,symbol\n1,A\n');
			fs.chmodSync(input, 0o644);
			const out = path.join(shared, 'out');
			assert.equal((await runCli(['extract', input, '--out', out])).code, 0); // root's output
			const before = snapshot(out);
			const r = await runCli(['extract', input, '--out', out], { asUser: NOBODY });
			assert.equal(r.code, 2, r.stderr);
			assert.equal(oneLine(r.stderr).length, 1, r.stderr);
			assert.match(r.stderr, /Cannot replace the output folder .*sticky bit/);
			assert.equal(diffSnapshots(before, snapshot(out)), '');
			assert.deepEqual(fs.readdirSync(shared), ['out']);
		});

		it('an old output holding a file the user cannot delete: exit 2 before writing, naming it', async function () {
			if (!isRoot) return skip(this, 'needs root to act as two users');
			fs.chmodSync(dir, 0o777);
			const input = put('in.csv', 'id,symbol\n1,A\n');
			fs.chmodSync(input, 0o644);
			const out = path.join(dir, 'out');
			const made = await runCli(['extract', input, '--out', out], { asUser: NOBODY });
			assert.equal(made.code, 0, made.stderr);
			fs.mkdirSync(path.join(out, 'keep'));
			fs.writeFileSync(path.join(out, 'keep', 'root.txt'), 'x');
			const before = snapshot(out);
			const r = await runCli(['extract', input, '--out', out, '--force'], { asUser: NOBODY });
			assert.equal(r.code, 2, r.stderr);
			assert.equal(oneLine(r.stderr).length, 1, r.stderr);
			assert.match(r.stderr, /Cannot replace the output folder .*cannot remove the files in .*keep/);
			assert.equal(diffSnapshots(before, snapshot(out)), '');
			assert.deepEqual(leftovers(out), []);
		});

		it('an old output that cannot be removed after the swap: exit 0, a warning naming it, later runs not blocked', async function () {
			if (!isRoot) return skip(this, 'needs root (chattr +i)');
			const input = put('in.csv', 'id,symbol\n1,A\n2,B\n');
			const out = path.join(dir, 'out');
			assert.equal((await runCli(['extract', input, '--out', out])).code, 0);
			// Immutable: not even root can delete it, and no permission check foresees it.
			const c = spawnSync('chattr', ['+i', path.join(out, 'A.csv')], { encoding: 'utf8' });
			if (c.status !== 0) return skip(this, `chattr +i fails here: ${c.stderr.trim()}`);
			const r = await runCli(['extract', input, '--out', out]);
			assert.equal(r.code, 0, r.stderr);
			assert.match(
				r.stderr,
				/warning: the new output is in place, but the previous one could not be removed completely: .*out\.sweep-old-\w+ is left/,
			);
			checkOutput(fs.readFileSync(input), out, 'new output in place');
			const r2 = await runCli(['extract', input, '--out', out]);
			assert.equal(r2.code, 0, r2.stderr);
			assert.match(r2.stderr, /warning: could not remove .*out\.sweep-old-/);
			spawnSync('chattr', ['-R', '-i', dir]);
			const r3 = await runCli(['extract', input, '--out', out]);
			assert.equal(r3.code, 0, r3.stderr);
			assert.equal(r3.stderr, '');
			assert.deepEqual(leftovers(out), []);
		});
	});

	it('a folder or a link where the run lock goes: exit 2 at once naming it (was: a wait, or a raw EISDIR)', async () => {
		const input = put('in.csv', 'id,symbol\n1,A\n');
		const out = path.join(dir, 'out');
		const lockPath = runLockFile(out);
		for (const [what, make] of [
			['a folder', () => fs.mkdirSync(lockPath)],
			['a symbolic link', () => fs.symlinkSync(path.join(dir, 'nowhere'), lockPath)],
		] as [string, () => void][]) {
			make();
			const t0 = Date.now();
			const r = await runCli(['extract', input, '--out', out]);
			assert.equal(r.code, 2, `${what}: ${r.stderr}`);
			assert.match(r.stderr, new RegExp(`is in the way of Sweep's run lock .*: it is ${what}, not a lock Sweep wrote`));
			assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
			assert.ok(Date.now() - t0 < 10_000, `${what}: no wait for a lock that is not one`);
			assert.ok(!fs.existsSync(out), `${what}: nothing created`);
			fs.rmSync(lockPath, { recursive: true, force: true });
		}
	});

	it('the engine: extract on a held folder rejects with output-locked; the lock is released after every run', async () => {
		const input = put('in.csv', 'id,symbol\n1,A\n');
		const out = path.join(dir, 'out');
		const lock = acquireRunLock(out.replace(/$/, ''));
		try {
			await assert.rejects(
				extract({ input, outDir: out, workers: 1, chunkSize: 10 }),
				/output-locked|Another Sweep run/,
			);
		} finally {
			lock.release();
		}
		await extract({ input, outDir: out, workers: 1, chunkSize: 10 });
		assert.ok(!fs.existsSync(runLockFile(out)));
		assert.ok(fs.existsSync(CLI));
	});
});
