import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { extract } from '../../src/engine';
import { CLI, requireCli, runCli, startCli, writeTrades } from '../fixtures/hostile/env';
import { checkOutput } from '../fixtures/hostile/oracle';
import { diffSnapshots, makeTmp, removeTmp, snapshot } from './helpers/fsutil';

/**
 * Which folders Sweep replaces or deletes (README "What Sweep guarantees"): only an output folder it wrote (its
 * `_manifest.json` is a Sweep manifest that lists everything in the folder) without `--force`, and only leftovers of
 * its own runs (named exactly `<out>.sweep-tmp-<12 hex>` / `<out>.sweep-old-<12 hex>` and marked as Sweep's). On the
 * real file system, through the CLI.
 */

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const oneLine = (s: string) => s.trim().split('\n').filter(Boolean);

describe('hostile output folder: what Sweep replaces or deletes', function () {
	this.timeout(120_000);
	let dir: string;
	let input: string;
	before(() => requireCli());
	beforeEach(() => {
		dir = makeTmp('sweep-outfolder-');
		input = path.join(dir, 'in.csv');
		fs.writeFileSync(input, 'id,symbol\n1,A\n2,B\n3,A\n');
	});
	afterEach(() => removeTmp(dir));

	/** Everything in `dir` but the input: name -> snapshot (folders) or bytes (files). */
	const tree = () => snapshot(dir);
	const put = (rel: string, text: string) => {
		const p = path.join(dir, rel);
		fs.mkdirSync(path.dirname(p), { recursive: true });
		fs.writeFileSync(p, text);
		return p;
	};
	const siblings = (out: string) =>
		fs
			.readdirSync(path.dirname(out))
			.filter((n) => n.startsWith(`${path.basename(out)}.sweep-`))
			.sort();

	describe('a folder with a _manifest.json Sweep did not write is refused without --force (exit 2, untouched)', () => {
		const cases: [string, string, RegExp][] = [
			['not JSON', 'not json at all\n', /its _manifest\.json is not JSON/],
			['JSON, not a manifest', '{"hello":1}\n', /its _manifest\.json is not a Sweep manifest/],
			['a JSON array', '[1,2,3]\n', /is not a Sweep manifest/],
			['version 1 only', '{"version":1,"partitions":[]}\n', /is not a Sweep manifest/],
			['empty', '', /its _manifest\.json is not JSON/],
		];
		for (const [what, text, message] of cases) {
			it(`${what}: exit 2, one line, the folder byte for byte as it was, nothing created`, async () => {
				const out = path.join(dir, 'other');
				put('other/_manifest.json', text);
				put('other/thesis.txt', 'my thesis\n');
				put('other/chapters/1.txt', 'chapter one\n');
				const before = tree();
				const r = await runCli(['extract', input, '--out', out]);
				assert.equal(r.code, 2, r.stderr);
				assert.equal(oneLine(r.stderr).length, 1, r.stderr);
				assert.match(r.stderr, /is not empty and was not written by Sweep \(.*\); use --force to replace it/);
				assert.match(r.stderr, message);
				assert.equal(diffSnapshots(before, tree()), '');
			});
		}

		it("a real Sweep manifest copied into someone's folder: refused, naming an entry it does not list", async () => {
			const made = path.join(dir, 'made');
			assert.equal((await runCli(['extract', input, '--out', made])).code, 0);
			const out = path.join(dir, 'thesis');
			fs.mkdirSync(out);
			fs.copyFileSync(path.join(made, '_manifest.json'), path.join(out, '_manifest.json'));
			put('thesis/thesis.txt', 'my thesis\n');
			const before = tree();
			const r = await runCli(['extract', input, '--out', out]);
			assert.equal(r.code, 2, r.stderr);
			assert.match(r.stderr, /it holds thesis\.txt, which its _manifest\.json does not list/);
			assert.equal(diffSnapshots(before, tree()), '');
			// --force replaces it, as before.
			const f = await runCli(['extract', input, '--out', out, '--force']);
			assert.equal(f.code, 0, f.stderr);
			assert.ok(!fs.existsSync(path.join(out, 'thesis.txt')));
			assert.deepEqual(siblings(out), []);
		});

		it("Sweep's own output is replaced without --force: flat, hive, capped, with rejects and a file browser's .DS_Store", async () => {
			fs.writeFileSync(input, 'id,symbol\n1,A\n2,B\n3,A\n4,A,extra\n5,C\n');
			for (const flags of [
				[],
				['--layout', 'hive'],
				['--max-rows-per-file', '1'],
				['--layout', 'hive', '--max-rows-per-file', '1'],
			]) {
				const out = path.join(dir, `out${flags.join('')}`);
				const first = await runCli(['extract', input, '--out', out, ...flags]);
				assert.equal(first.code, 0, first.stderr);
				assert.ok(fs.existsSync(path.join(out, '_rejects.csv')), 'the run has rejects');
				fs.writeFileSync(path.join(out, '.DS_Store'), 'x');
				const again = await runCli(['extract', input, '--out', out, ...flags]);
				assert.equal(again.code, 0, `${flags.join(' ')}: ${again.stderr}`);
				assert.equal(again.stderr, '');
				assert.deepEqual(siblings(out), []);
			}
		});

		it('a Sweep output someone added a file to: refused naming it (exit 2, untouched); --force replaces it', async () => {
			const out = path.join(dir, 'out');
			assert.equal((await runCli(['extract', input, '--out', out])).code, 0);
			put('out/notes.txt', 'my notes\n');
			const before = tree();
			const r = await runCli(['extract', input, '--out', out]);
			assert.equal(r.code, 2, r.stderr);
			assert.match(r.stderr, /it holds notes\.txt, which its _manifest\.json does not list/);
			assert.equal(diffSnapshots(before, tree()), '');
			assert.equal((await runCli(['extract', input, '--out', out, '--force'])).code, 0);
		});

		it('a file added inside a hive folder, or a folder where a partition file was: refused, naming it (both were deleted)', async () => {
			const hive = path.join(dir, 'hive');
			assert.equal((await runCli(['extract', input, '--out', hive, '--layout', 'hive'])).code, 0);
			const sub = fs.readdirSync(hive).find((n) => n.includes('='));
			assert.ok(sub);
			put(`hive/${sub}/notes.txt`, 'my notes\n');
			let before = snapshot(hive);
			const r = await runCli(['extract', input, '--out', hive, '--layout', 'hive']);
			assert.equal(r.code, 2, r.stderr);
			assert.match(r.stderr, new RegExp(`it holds ${sub}/notes\\.txt, which its _manifest\\.json does not list`));
			assert.equal(diffSnapshots(before, snapshot(hive)), '');
			const flat = path.join(dir, 'flat');
			assert.equal((await runCli(['extract', input, '--out', flat])).code, 0);
			const file = fs.readdirSync(flat).find((n) => n.endsWith('.csv') && !n.startsWith('_')) as string;
			fs.rmSync(path.join(flat, file));
			put(`flat/${file}/notes.txt`, 'my notes\n');
			before = snapshot(flat);
			const r2 = await runCli(['extract', input, '--out', flat]);
			assert.equal(r2.code, 2, r2.stderr);
			assert.match(r2.stderr, /lists as a file, is a folder/);
			assert.equal(diffSnapshots(before, snapshot(flat)), '');
			// A clean hive output is still replaced without --force.
			fs.rmSync(path.join(hive, sub, 'notes.txt'));
			assert.equal((await runCli(['extract', input, '--out', hive, '--layout', 'hive'])).code, 0);
		});
	});

	it('a full disk as the temporary folder lock is written: one line, exit 2, no temporary folder left (strace)', async function () {
		const probe = spawnSync('strace', ['-f', '-qq', '-o', '/dev/null', 'true'], { encoding: 'utf8' });
		if (probe.status !== 0) {
			console.log('      (skipped: strace, which injects the ENOSPC, is not installed or may not trace here)');
			return this.skip();
		}
		const out = path.join(dir, 'out');
		assert.equal((await runCli(['extract', input, '--out', out])).code, 0);
		const before = snapshot(out);
		// The second link(2) of the run is the temporary folder's lock (the first is the run lock).
		const r = spawnSync(
			'strace',
			[
				'-f',
				'-qq',
				'-o',
				'/dev/null',
				'-e',
				'trace=link',
				'-e',
				'inject=link:error=ENOSPC:when=2',
				process.execPath,
				CLI,
				'extract',
				input,
				'--out',
				out,
			],
			{ encoding: 'utf8' },
		);
		assert.equal(r.status, 2, r.stderr);
		assert.deepEqual(oneLine(r.stderr), [`sweep: error: Cannot write in ${dir}: no space left on the device.`]);
		assert.deepEqual(
			fs.readdirSync(dir).filter((n) => n.startsWith('out.')),
			[],
		);
		assert.equal(diffSnapshots(before, snapshot(out)), '');
	});

	describe('folders named like Sweep leftovers are left alone unless provably Sweep', () => {
		it('user folders named <out>.sweep-tmp-… / .sweep-old-… survive runs untouched, beside an output or not', async () => {
			const out = path.join(dir, 'out');
			const z = path.join(dir, 'z');
			// Names Sweep never generates, and exact names without Sweep's mark in them.
			put('out.sweep-tmp-backup/notes.txt', 'keep\n');
			put('out.sweep-old-mine/notes.txt', 'keep\n');
			put('out.sweep-tmp-0123456789ab/notes.txt', 'keep\n');
			put('out.sweep-old-0123456789ab/notes.txt', 'keep\n');
			put('out.sweep-old-ba9876543210/_manifest.json', '{"hello":1}\n');
			put('z.sweep-old-mine/notes.txt', 'keep\n');
			put('z.sweep-old-aaaaaaaaaaaa/notes.txt', 'keep\n');
			put('z.sweep-tmp-BBBBBBBBBBBB/notes.txt', 'keep\n');
			const before = tree();
			const r1 = await runCli(['extract', input, '--out', out]);
			assert.equal(r1.code, 0, r1.stderr);
			// The exact names are named in a warning (they look like Sweep's); the others are not Sweep's at all.
			assert.match(
				r1.stderr,
				/warning: left .*out\.sweep-tmp-0123456789ab in place: it is named like Sweep's but Sweep did not write it/,
			);
			assert.match(r1.stderr, /warning: left .*out\.sweep-old-0123456789ab in place/);
			assert.doesNotMatch(r1.stderr, /sweep-tmp-backup|sweep-old-mine/);
			const r2 = await runCli(['extract', input, '--out', out]);
			assert.equal(r2.code, 0, r2.stderr);
			// No z: none of z's look-alikes is taken for a swap interrupted between its renames.
			const r3 = await runCli(['extract', input, '--out', z]);
			assert.equal(r3.code, 0, r3.stderr);
			const after = tree();
			for (const [k, v] of before) assert.ok(after.get(k)?.equals(v), `${k} changed or went`);
			checkOutput(fs.readFileSync(input), z, 'z is the new output, not a look-alike put back');
		});

		it('a symbolic link named exactly like a leftover is left alone, and so is its target', async () => {
			const out = path.join(dir, 'out');
			put('target/notes.txt', 'keep\n');
			fs.symlinkSync(path.join(dir, 'target'), path.join(dir, 'out.sweep-tmp-cccccccccccc'));
			fs.symlinkSync(path.join(dir, 'target'), path.join(dir, 'out.sweep-old-dddddddddddd'));
			const r = await runCli(['extract', input, '--out', out]);
			assert.equal(r.code, 0, r.stderr);
			assert.ok(fs.lstatSync(path.join(dir, 'out.sweep-tmp-cccccccccccc')).isSymbolicLink());
			assert.ok(fs.lstatSync(path.join(dir, 'out.sweep-old-dddddddddddd')).isSymbolicLink());
			assert.equal(fs.readFileSync(path.join(dir, 'target', 'notes.txt'), 'utf8'), 'keep\n');
		});
	});

	describe("Sweep's own leftovers are still recovered", () => {
		it('kill -9 mid-run: the next run removes the temporary folder (its lock names a dead run) and writes the output', async () => {
			const big = path.join(dir, 'trades.csv');
			writeTrades(big, 200_000, 200);
			const out = path.join(dir, 'out');
			const flags = ['--workers', '1', '--chunk-size', '1000'];
			const victim = startCli(['extract', big, '--out', out, ...flags]);
			for (let i = 0; i < 400 && !siblings(out).some((n) => n.startsWith('out.sweep-tmp-')); i++) {
				await new Promise((r) => setTimeout(r, 20));
			}
			victim.child.kill('SIGKILL');
			const v = await victim.done;
			assert.equal(v.signal, 'SIGKILL', 'killed before it finished');
			const tmp = siblings(out).filter((n) => n.startsWith('out.sweep-tmp-'));
			assert.equal(tmp.length, 1, siblings(out).join(', '));
			assert.match(tmp[0], /^out\.sweep-tmp-[0-9a-f]{12}$/);
			const r = await runCli(['extract', big, '--out', out, ...flags]);
			assert.equal(r.code, 0, r.stderr);
			assert.equal(r.stderr, '');
			assert.deepEqual(siblings(out), []);
			checkOutput(fs.readFileSync(big), out, 'after the killed run');
		});

		it('kill -9 between the two renames: the old output is put back, then replaced (Sweep output, or forced)', async () => {
			const out = path.join(dir, 'out');
			// A complete temporary folder (its lock removed just before the rename) and the old output renamed aside.
			const crashed = async (old: () => void) => {
				assert.equal((await runCli(['extract', input, '--out', path.join(dir, 'made'), '--force'])).code, 0);
				old();
				fs.renameSync(out, `${out}.sweep-old-0a1b2c3d4e5f`);
				fs.renameSync(path.join(dir, 'made'), `${out}.sweep-tmp-0a1b2c3d4e5f`);
			};
			assert.equal((await runCli(['extract', input, '--out', out])).code, 0);
			await crashed(() => undefined);
			const r1 = await runCli(['extract', input, '--out', out]);
			assert.equal(r1.code, 0, r1.stderr);
			assert.equal(r1.stderr, '');
			assert.deepEqual(siblings(out), []);
			checkOutput(fs.readFileSync(input), out, 'Sweep output');
			// The old folder was someone's, replaced with --force: it is Sweep's by the temporary folder of its id.
			fs.rmSync(out, { recursive: true });
			put('out/thesis.txt', 'replaced on purpose\n');
			await crashed(() => undefined);
			const before = snapshot(`${out}.sweep-old-0a1b2c3d4e5f`);
			const r2 = await runCli(['extract', input, '--out', out]);
			// Put back, so it is the user's folder again: this run (without --force) refuses to replace it.
			assert.equal(r2.code, 2, r2.stderr);
			assert.match(r2.stderr, /was not written by Sweep \(no _manifest\.json\)/);
			assert.equal(diffSnapshots(before, snapshot(out)), '');
			assert.deepEqual(siblings(out), []);
		});

		it('kill -9 while the old output was being deleted: what is left (its manifest kept for last) is removed', async () => {
			const out = path.join(dir, 'out');
			assert.equal((await runCli(['extract', input, '--out', out])).code, 0);
			const old = `${out}.sweep-old-abcdefabcdef`;
			fs.cpSync(out, old, { recursive: true });
			fs.rmSync(path.join(old, 'A.csv'));
			const r = await runCli(['extract', input, '--out', out]);
			assert.equal(r.code, 0, r.stderr);
			assert.equal(r.stderr, '');
			assert.deepEqual(siblings(out), []);
		});

		it('a temporary folder killed before or while taking its lock (empty, or only the lock draft) is removed', async () => {
			const out = path.join(dir, 'out');
			fs.mkdirSync(`${out}.sweep-tmp-111111111111`);
			put('out.sweep-tmp-222222222222/.sweep-lock.0123456789abcdef', '{"id":"0123456789abcdef"}');
			const r = await runCli(['extract', input, '--out', out]);
			assert.equal(r.code, 0, r.stderr);
			assert.equal(r.stderr, '');
			assert.deepEqual(siblings(out), []);
		});

		it('a temporary folder whose lock names a live run elsewhere is left alone (no warning)', async () => {
			const out = path.join(dir, 'out');
			put('out.sweep-tmp-333333333333/A.csv', 'id,symbol\n');
			put('out.sweep-tmp-333333333333/.sweep-lock', JSON.stringify({ id: 'z', host: 'elsewhere', pid: 1, since: '' }));
			const r = await runCli(['extract', input, '--out', out]);
			assert.equal(r.code, 0, r.stderr);
			assert.equal(r.stderr, '');
			assert.deepEqual(siblings(out), ['out.sweep-tmp-333333333333']);
		});
	});

	// Found by review: a run that failed after creating the folders on the way to the output left them behind (it
	// tried to remove them while its own run lock, `<out>.sweep-lock`, still lay in the deepest one).
	describe('folders created on the way to the output go again when the run fails or is cancelled', () => {
		it('a run that fails mid-run (--max-rejects): exit 1, the folders it created gone, those that were there kept', async () => {
			fs.writeFileSync(input, 'id,symbol\n1,A\n2\n3,A\n');
			fs.mkdirSync(path.join(dir, 'keep', 'empty'), { recursive: true });
			const out = path.join(dir, 'keep', 'empty', 'a', 'b', 'c', 'out');
			const r = await runCli(['extract', input, '--out', out, '--max-rejects', '0']);
			assert.equal(r.code, 1, r.stderr);
			assert.match(r.stderr, /more than 0 rejected records/);
			// `keep/empty` was there (empty) before the run: it stays; a/b/c were the run's.
			assert.deepEqual(fs.readdirSync(path.join(dir, 'keep', 'empty')), []);
			assert.deepEqual(fs.readdirSync(dir).sort(), ['in.csv', 'keep']);
		});

		it('a cancelled run and a run whose input changes: the folders it created gone', async () => {
			writeTrades(input, 20_000, 5);
			const bytes = fs.readFileSync(input);
			for (const what of ['cancelled', 'input truncated']) {
				const out = path.join(dir, 'x', 'y', 'out');
				const ac = new AbortController();
				let once = false;
				const e = await extract(
					{ input, outDir: out, workers: 2, chunkSize: 100 },
					{
						signal: ac.signal,
						onProgress: () => {
							if (once) return;
							once = true;
							if (what === 'cancelled') ac.abort();
							else fs.truncateSync(input, Math.floor(bytes.length / 2));
						},
					},
				).then(
					() => assert.fail(`${what}: the run succeeded`),
					(err: { code?: string }) => err,
				);
				assert.equal(e.code, what === 'cancelled' ? 'aborted' : 'file-changed', `${what}: ${String(e)}`);
				assert.deepEqual(fs.readdirSync(dir).sort(), ['in.csv'], what);
				fs.writeFileSync(input, bytes);
			}
		});
	});

	describe('mount points (root: tmpfs)', () => {
		const mounted: string[] = [];
		afterEach(() => {
			for (const m of mounted.splice(0).reverse()) spawnSync('umount', ['-l', m]);
		});
		const mount = (p: string): string | null => {
			if (!isRoot || os.platform() !== 'linux') return 'needs root on Linux (mount -t tmpfs)';
			fs.mkdirSync(p, { recursive: true });
			const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', p], { encoding: 'utf8' });
			if (m.status !== 0) return `mount fails here: ${m.stderr.trim()}`;
			mounted.push(p);
			return null;
		};

		it('an output folder that is a mount point is refused up front (exit 2, one line, nothing created)', async function () {
			const out = path.join(dir, 'mnt');
			const why = mount(out);
			if (why) return this.skip();
			const r = await runCli(['extract', input, '--out', out]);
			assert.equal(r.code, 2, r.stderr);
			assert.equal(oneLine(r.stderr).length, 1, r.stderr);
			assert.match(r.stderr, /Cannot replace the output folder .*mnt: it is a mount point/);
			assert.deepEqual(fs.readdirSync(out), []);
			assert.deepEqual(fs.readdirSync(dir).sort(), ['in.csv', 'mnt']);
		});

		it('a bind mount of the same file system as the output folder is refused too', async function () {
			if (!isRoot || os.platform() !== 'linux') return this.skip();
			const src = path.join(dir, 'src');
			put('src/keep.txt', 'keep\n');
			const out = path.join(dir, 'out');
			fs.mkdirSync(out);
			if (spawnSync('mount', ['--bind', src, out]).status !== 0) return this.skip();
			mounted.push(out);
			const r = await runCli(['extract', input, '--out', out, '--force']);
			assert.equal(r.code, 2, r.stderr);
			assert.match(r.stderr, /it is a mount point/);
			assert.equal(fs.readFileSync(path.join(src, 'keep.txt'), 'utf8'), 'keep\n');
		});

		it('an old output with a file system mounted inside is refused (--force too): its files are not emptied', async function () {
			const out = path.join(dir, 'out');
			assert.equal((await runCli(['extract', input, '--out', out])).code, 0);
			const inner = path.join(out, 'data');
			const why = mount(inner);
			if (why) return this.skip();
			fs.writeFileSync(path.join(inner, 'precious.txt'), 'keep\n');
			const r = await runCli(['extract', input, '--out', out, '--force']);
			assert.equal(r.code, 2, r.stderr);
			assert.match(r.stderr, /Cannot replace the output folder .*data is a mount point/);
			assert.equal(fs.readFileSync(path.join(inner, 'precious.txt'), 'utf8'), 'keep\n');
			assert.deepEqual(siblings(out), []);
		});
	});
});
