import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { JOURNAL } from '../../src/engine/journal';
import { cannotRunAsUser, requireCli, runCli, startCli } from './helpers/cli';
import { type GeneratorPrng, generateTrades, importGenerator } from './helpers/engine';
import { diffSnapshots, leftovers, makeTmp, removeTmp, snapshot } from './helpers/fsutil';

/**
 * `sweep extract --append` as a user runs it, and killed as a user (or the machine) kills it: SIGINT and SIGKILL at
 * random moments, a full disk (`ulimit -f`), two appends at once. After each, the folder holds either the old
 * output or the whole append, byte for byte, and never a leftover; a killed append is undone by the next run.
 */
/**
 * A fixed chunk size: the detected one follows the available memory, which changes between runs on a shared machine,
 * and the last digits of the manifest's float sums (VWAP's notional) depend on how rows fell into chunks.
 */
const CHUNK = ['--chunk-size', '50000'];
const SEED = Number(process.env.SWEEP_APPEND_SEED ?? String(Date.now() % 1_000_000_007));

/** The generator's seedable PRNG (scripts/gen-trades.mjs), loaded from its ES module in before(). */
let mulberry32: GeneratorPrng['mulberry32'];
before(async () => {
	({ mulberry32 } = await importGenerator());
});

/**
 * Day 1 and day 2 of `rows` generated trades, cut at `fraction` of the file's bytes (at a line end); day 2 gets the
 * header and one row of a new key, so an append also creates files.
 */
function splitDays(dir: string, rows: number, seed: string, fraction: number): { day1: string; day2: string } {
	const all = path.join(dir, 'all.csv');
	generateTrades(all, rows, ['--seed', seed]);
	const text = fs.readFileSync(all, 'latin1');
	const nl = text.indexOf('\n');
	const cut = text.indexOf('\n', Math.floor(text.length * fraction));
	const day1 = path.join(dir, 'day1.csv');
	const day2 = path.join(dir, 'day2.csv');
	fs.writeFileSync(day1, text.slice(0, cut + 1), 'latin1');
	fs.writeFileSync(
		day2,
		`${text.slice(0, nl + 1)}${text.slice(cut + 1)}X1,2024-03-12T10:00:00Z,NEWKEY,B,1,1,X,R\n`,
		'latin1',
	);
	return { day1, day2 };
}

/** A snapshot without `_manifest.json` (its run fields differ from run to run). */
function withoutManifest(snap: Map<string, Buffer>): Map<string, Buffer> {
	const m = new Map<string, Buffer>();
	for (const [k, v] of snap) if (k !== '_manifest.json') m.set(k, v);
	return m;
}

/** Makes `out` hold exactly `snap` (files and folders, as `snapshot` lists them). */
function restore(out: string, snap: Map<string, Buffer>): void {
	fs.rmSync(out, { recursive: true, force: true });
	fs.mkdirSync(out);
	for (const [k, v] of snap) {
		if (k.endsWith('/')) fs.mkdirSync(path.join(out, k), { recursive: true });
		else {
			fs.mkdirSync(path.dirname(path.join(out, k)), { recursive: true });
			fs.writeFileSync(path.join(out, k), v);
		}
	}
}

/**
 * For the hive suites: day 1 extracted with `opts` (2 workers), then day 2 appended; the output before and after
 * the append. `again` are the options an append repeats (the rest come from the manifest).
 */
async function hiveOutputs(
	prefix: string,
	rows: number,
	seed: string,
	opts: string[],
	again: string[],
): Promise<{ dir: string; day2: string; out: string; oldOutput: Map<string, Buffer>; newOutput: Map<string, Buffer> }> {
	const dir = makeTmp(prefix);
	const { day1, day2 } = splitDays(dir, rows, seed, 0.5);
	const out = path.join(dir, 'out');
	const r1 = await runCli(['extract', day1, '--out', out, '--workers', '2', ...opts]);
	assert.equal(r1.code, 0, r1.stderr);
	const oldOutput = snapshot(out);
	const r2 = await runCli(['extract', day2, '--out', out, '--append', '--workers', '2', ...again]);
	assert.equal(r2.code, 0, r2.stderr);
	const newOutput = snapshot(out);
	assert.ok(newOutput.has('symbol=NEWKEY/'), 'day 2 makes a new partition folder');
	return { dir, day2, out, oldOutput, newOutput };
}

describe('CLI: append under faults', function () {
	this.timeout(600_000);
	let dir: string;
	let day1: string;
	let day2: string;
	let out: string;
	/** The output after day 1, and after day 1 + day 2 (made once, by runs that were not interrupted). */
	let oldOutput: Map<string, Buffer>;
	let newOutput: Map<string, Buffer>;

	const withoutRunFields = (snap: Map<string, Buffer>) => {
		const m = new Map(snap);
		const manifest = m.get('_manifest.json');
		if (manifest) {
			const { config: _c, startedAt: _s, durationMs: _d, ...rest } = JSON.parse(manifest.toString('utf8'));
			m.set('_manifest.json', Buffer.from(JSON.stringify(rest)));
		}
		return m;
	};
	const reset = () => restore(out, oldOutput);
	const state = (): 'before' | 'after' | string => {
		const now = withoutRunFields(snapshot(out));
		if (diffSnapshots(withoutRunFields(oldOutput), now) === '') return 'before';
		if (diffSnapshots(withoutRunFields(newOutput), now) === '') return 'after';
		return `neither: ${diffSnapshots(withoutRunFields(newOutput), now)}`;
	};

	before(async () => {
		requireCli();
		dir = makeTmp('sweep-append-cli-');
		({ day1, day2 } = splitDays(dir, 400_000, '5', 0.4));
		out = path.join(dir, 'out');
		const r1 = await runCli(['extract', day1, '--out', out, '--workers', '1', ...CHUNK]);
		assert.equal(r1.code, 0, r1.stderr);
		oldOutput = snapshot(out);
		const r2 = await runCli(['extract', day2, '--out', out, '--append', '--workers', '1', ...CHUNK]);
		assert.equal(r2.code, 0, r2.stderr);
		assert.match(r2.stdout, /^Appended /);
		newOutput = snapshot(out);
		assert.ok(newOutput.has('NEWKEY.csv'));
	});
	after(() => removeTmp(dir));

	it('SIGINT or SIGTERM at random moments: exit 130 and the old output, or exit 0 and the whole append', async () => {
		const rand = mulberry32(SEED);
		console.log(`      (seed ${SEED}: SWEEP_APPEND_SEED replays it)`);
		for (let i = 0; i < 8; i++) {
			reset();
			const sig = i % 2 ? 'SIGTERM' : 'SIGINT';
			const { child, done } = startCli(['extract', day2, '--out', out, '--append', '--workers', '2', ...CHUNK]);
			const delay = Math.floor(rand() * 1500);
			setTimeout(() => child.kill(sig), delay);
			const r = await done;
			const s = state();
			if (r.code === 0) assert.equal(s, 'after', `${sig} after ${delay} ms, exit 0`);
			else if (r.signal !== null) {
				// The signal came before the CLI had set up its handlers (node still starting): nothing was begun.
				assert.equal(s, 'before', `${sig} after ${delay} ms, killed by it while starting`);
			} else {
				assert.equal(r.code, 130, `${sig} after ${delay} ms: ${r.stderr}`);
				assert.equal(s, 'before', `${sig} after ${delay} ms, exit 130`);
			}
			assert.ok(!fs.existsSync(path.join(out, JOURNAL)), 'no journal left');
			assert.deepEqual(leftovers(out), []);
		}
	});

	it('SIGKILL at random moments: the next run undoes the append (or keeps it, if it had committed)', async () => {
		const rand = mulberry32(SEED + 1);
		const seen = new Set<string>();
		for (let i = 0; i < 8; i++) {
			reset();
			const { child, done } = startCli(['extract', day2, '--out', out, '--append', '--workers', '2', ...CHUNK]);
			const delay = 400 + Math.floor(rand() * 4000);
			setTimeout(() => child.kill('SIGKILL'), delay);
			const r = await done;
			const killed = r.signal === 'SIGKILL';
			const journal = fs.existsSync(path.join(out, JOURNAL));
			seen.add(killed ? (journal ? 'killed mid-append' : 'killed outside the append') : 'finished');
			// The next run on the folder (here: the same append again) first undoes or completes what was left.
			const again = await runCli(['extract', day2, '--out', out, '--append', '--workers', '1', ...CHUNK]);
			if (state() === 'after') {
				// Either it had committed (and the second run refuses the duplicate) or the second run made it whole.
				assert.ok(again.code === 0 || again.code === 2, again.stderr);
				if (again.code === 2) assert.match(again.stderr, /already in/);
			} else assert.fail(`after SIGKILL at ${delay} ms and a second run: ${state()} (${again.stderr})`);
			assert.ok(!fs.existsSync(path.join(out, JOURNAL)));
		}
		// The undo itself, on its own: a killed append's folder, then a run that only reads the folder's state.
		for (let i = 0; i < 4; i++) {
			reset();
			const { child, done } = startCli(['extract', day2, '--out', out, '--append', '--workers', '1', ...CHUNK]);
			setTimeout(() => child.kill('SIGKILL'), 300 + Math.floor(rand() * 700));
			await done;
			if (!fs.existsSync(path.join(out, JOURNAL))) continue;
			// A run that is refused after the undo (a different header) leaves exactly the old output.
			const other = path.join(dir, 'other.csv');
			fs.writeFileSync(other, 'a,b\n1,2\n');
			const r = await runCli(['extract', other, '--out', out, '--append']);
			assert.equal(r.code, 2, r.stderr);
			assert.equal(state(), 'before', 'rolled back to the old bytes');
			seen.add('undone by a refused run');
		}
		console.log(`      (outcomes seen: ${[...seen].join(', ')})`);
	});

	it('disk full mid-append (ulimit -f): exit 1, one line, the old output byte for byte', async () => {
		reset();
		// Big enough for the journal and a first flush, too small for the whole append.
		const r = await runCli(['extract', day2, '--out', out, '--append', '--workers', '1', ...CHUNK], {
			shellPrefix: 'trap "" XFSZ; ulimit -f 3000;',
		});
		assert.equal(r.code, 1, r.stderr);
		assert.match(r.stderr, /file-size limit|as it was before the append/);
		assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
		assert.equal(state(), 'before');
		assert.ok(!fs.existsSync(path.join(out, JOURNAL)));
	});

	it('failing runs end their threads cleanly: 10 disk-full appends with 2 workers all exit 1, none aborts', async () => {
		// A run that fails stops its worker threads while they may be busy; terminating a thread while V8 compiles its
		// code can abort Node 20 (exit 134, threadStop.ts). Seen about once in 200 such runs before threads ended
		// themselves; this repeats the fault to catch it coming back (the README gives the 400-run measurement).
		for (let i = 0; i < 10; i++) {
			reset();
			const r = await runCli(['extract', day2, '--out', out, '--append', '--workers', '2', ...CHUNK], {
				shellPrefix: 'trap "" XFSZ; ulimit -f 3000;',
			});
			assert.equal(r.code, 1, `run ${i + 1}: ${r.stderr}`);
			assert.equal(state(), 'before');
		}
	});

	it('two appends at once: one appends, the other exits 2 saying another run holds the folder', async () => {
		for (let i = 0; i < 3; i++) {
			reset();
			const a = startCli(['extract', day2, '--out', out, '--append', '--workers', '1', ...CHUNK]);
			await new Promise((r) => setTimeout(r, 150 + i * 100));
			const b = await runCli(['extract', day2, '--out', out, '--append', '--workers', '1', ...CHUNK]);
			const ra = await a.done;
			const codes = [ra.code, b.code].sort();
			assert.deepEqual(codes, [0, 2], `${ra.stderr} | ${b.stderr}`);
			const loser = ra.code === 2 ? ra : b;
			assert.match(loser.stderr, /Another Sweep run holds the output folder|already in/);
			assert.equal(state(), 'after');
		}
	});
});

/**
 * The same faults with every output option at once: hive layout, `--max-rows-per-file`, gzip output. A SIGKILL at a
 * random moment, then the same append again: the folder ends exactly as one uninterrupted append leaves it (files
 * grown by gzip members, new part files and folders), never in between.
 */
describe('CLI: append under SIGKILL, hive + capped + gzip output', function () {
	this.timeout(600_000);
	let dir: string;
	let day2: string;
	let out: string;
	let oldOutput: Map<string, Buffer>;
	let newOutput: Map<string, Buffer>;
	const opts = ['--layout', 'hive', '--max-rows-per-file', '5000', '--compress', 'gzip', '--chunk-size', '20000'];

	const files = withoutManifest;
	const reset = () => restore(out, oldOutput);

	before(async () => {
		requireCli();
		({ dir, day2, out, oldOutput, newOutput } = await hiveOutputs('sweep-append-cli-hive-', 300_000, '9', opts, [
			'--chunk-size',
			'20000',
		]));
	});
	after(() => removeTmp(dir));

	it('SIGKILL at random moments, then the same append: exactly the uninterrupted append, no leftovers', async () => {
		const rand = mulberry32(SEED + 2);
		const seen = new Set<string>();
		for (let i = 0; i < 5; i++) {
			reset();
			const { child, done } = startCli(['extract', day2, '--out', out, '--append', '--workers', '2', ...opts]);
			const delay = 300 + Math.floor(rand() * 2500);
			setTimeout(() => child.kill('SIGKILL'), delay);
			const r = await done;
			seen.add(
				r.signal === 'SIGKILL' ? (fs.existsSync(path.join(out, JOURNAL)) ? 'killed mid-append' : 'killed') : 'done',
			);
			const again = await runCli(['extract', day2, '--out', out, '--append', '--workers', '1', ...opts]);
			assert.ok(again.code === 0 || /already in/.test(again.stderr), `after SIGKILL at ${delay} ms: ${again.stderr}`);
			assert.equal(diffSnapshots(files(newOutput), files(snapshot(out))), '', `after SIGKILL at ${delay} ms`);
			assert.ok(!fs.existsSync(path.join(out, JOURNAL)));
			assert.deepEqual(leftovers(out), []);
		}
		console.log(`      (outcomes seen: ${[...seen].join(', ')})`);
	});
});

/**
 * Appending to a Parquet output (new row groups over the old footer) killed at random moments — while the day is
 * read, while touched files get their row groups, before the commit — then the same append again: the folder ends
 * exactly as one uninterrupted append leaves it; a killed append followed by a refused run leaves the old output.
 */
describe('CLI: append to a Parquet output under SIGKILL, hive + capped', function () {
	this.timeout(600_000);
	let dir: string;
	let day2: string;
	let out: string;
	let oldOutput: Map<string, Buffer>;
	let newOutput: Map<string, Buffer>;
	const opts = ['--format', 'parquet', '--layout', 'hive', '--max-rows-per-file', '5000', '--chunk-size', '20000'];

	const files = withoutManifest;
	const reset = () => restore(out, oldOutput);

	before(async () => {
		requireCli();
		({ dir, day2, out, oldOutput, newOutput } = await hiveOutputs('sweep-append-cli-parquet-', 200_000, '11', opts, [
			'--chunk-size',
			'20000',
		]));
	});
	after(() => removeTmp(dir));

	it('SIGKILL at random moments, then the same append (exactly the uninterrupted one) or a refused run (the old output)', async () => {
		const rand = mulberry32(SEED + 3);
		const seen = new Set<string>();
		const journal = path.join(out, JOURNAL);
		const read = () => (fs.existsSync(journal) ? fs.readFileSync(journal, 'utf8') : null);
		/** Starts the append and kills it after `delay` ms, or (`footers`) that long after its footers are journaled. */
		const kill = async (delay: number, footers = false) => {
			reset();
			const { child, done } = startCli(['extract', day2, '--out', out, '--append', '--workers', '2', ...opts.slice(6)]);
			let timer: NodeJS.Timeout | undefined;
			if (!footers) timer = setTimeout(() => child.kill('SIGKILL'), delay);
			else {
				timer = setInterval(() => {
					if (read()?.includes('"footers"')) {
						clearInterval(timer);
						timer = setTimeout(() => child.kill('SIGKILL'), delay);
					}
				}, 5);
			}
			const r = await done;
			clearInterval(timer);
			clearTimeout(timer);
			const left = read();
			const what =
				r.signal !== 'SIGKILL'
					? 'done'
					: left === null
						? 'killed'
						: left.includes('"footers"')
							? 'killed while writing row groups'
							: 'killed mid-append';
			seen.add(what);
			return what;
		};
		for (let i = 0; i < 4; i++) {
			const delay = 300 + Math.floor(rand() * 6000);
			await kill(delay);
			const again = await runCli(['extract', day2, '--out', out, '--append', '--workers', '1', ...opts.slice(6)]);
			assert.ok(again.code === 0 || /already in/.test(again.stderr), `after SIGKILL at ${delay} ms: ${again.stderr}`);
			assert.equal(diffSnapshots(files(newOutput), files(snapshot(out))), '', `after SIGKILL at ${delay} ms`);
			assert.ok(!fs.existsSync(journal));
			assert.deepEqual(leftovers(out), []);
		}
		// Killed while the touched files get their row groups; a run refused after the undo leaves the old output.
		const other = path.join(dir, 'other.csv');
		fs.writeFileSync(other, 'a,b\n1,2\n');
		let undone = 0;
		for (let i = 0; i < 3; i++) {
			const delay = Math.floor(rand() * 400);
			if ((await kill(delay, true)) !== 'killed while writing row groups') continue;
			const r = await runCli(['extract', other, '--out', out, '--append']);
			assert.equal(r.code, 2, r.stderr);
			assert.equal(diffSnapshots(files(oldOutput), files(snapshot(out))), '', `undone after SIGKILL at ${delay} ms`);
			assert.ok(!fs.existsSync(journal));
			undone++;
		}
		console.log(`      (outcomes seen: ${[...seen].join(', ')}; ${undone} undone while writing row groups)`);
		assert.ok(undone > 0, 'at least one kill landed while the row groups were written');
	});
});

const NOBODY = 65534;

/**
 * Appends refused before anything is written, with one line naming the problem (exit 2): an input that is one of the
 * output's own files (a hard link), a folder Sweep did not write (with or without --force), a partition file the
 * append could not write or put back — immutable (`chattr +i`, as root) or another user's (run as `nobody`). The
 * hostile campaign's repro: a failed append whose undo failed too left the folder refusing every later run.
 */
describe('CLI: appends refused up front (hard link, foreign folder, files Sweep cannot write)', function () {
	this.timeout(120_000);
	let dir: string;
	beforeEach(() => {
		dir = makeTmp('sweep-append-refuse-');
	});
	afterEach(() => {
		// Always undone, even when a test failed half-way: an immutable file cannot be deleted.
		if (process.platform === 'linux') spawnSync('chattr', ['-R', '-i', dir]);
		removeTmp(dir);
	});
	const write = (name: string, text: string) => {
		const f = path.join(dir, name);
		fs.writeFileSync(f, text, { mode: 0o644 });
		return f;
	};
	const oneLineExit2 = (r: { code: number | null; stderr: string }) => {
		assert.equal(r.code, 2, r.stderr);
		assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
	};

	it('a hard link to one of the output files: exit 2, one line, nothing written', async () => {
		requireCli();
		const out = path.join(dir, 'o');
		assert.equal((await runCli(['extract', write('d1.csv', 'symbol,x\nA,1\n'), '--out', out])).code, 0);
		const before = snapshot(out);
		const hard = path.join(dir, 'hard.csv');
		fs.linkSync(path.join(out, 'A.csv'), hard);
		const r = await runCli(['extract', hard, '--out', out, '--append']);
		oneLineExit2(r);
		assert.match(r.stderr, /hard\.csv is .*A\.csv \(the same file, a hard link\)/);
		assert.equal(diffSnapshots(before, snapshot(out)), '');
		assert.ok(!fs.existsSync(path.join(out, JOURNAL)));
		assert.deepEqual(leftovers(out), []);
	});

	it('a folder Sweep did not write: exit 2, and the message does not send --append --force into the same refusal', async () => {
		requireCli();
		const foreign = path.join(dir, 'foreign');
		fs.mkdirSync(foreign);
		fs.writeFileSync(path.join(foreign, 'mine.txt'), 'keep');
		const day = write('d.csv', 'symbol,x\nA,1\n');
		for (const force of [[], ['--force']]) {
			const r = await runCli(['extract', day, '--out', foreign, '--append', ...force]);
			oneLineExit2(r);
			assert.match(r.stderr, /not a Sweep output folder/);
			assert.match(r.stderr, /with or without --force/);
			assert.doesNotMatch(r.stderr, /use --force to replace it/);
			assert.deepEqual(fs.readdirSync(foreign), ['mine.txt']);
		}
	});

	it('an immutable partition file (chattr +i, as root): exit 2 naming it, nothing written; later runs are not stuck', async function () {
		if (process.platform !== 'linux' || process.getuid?.() !== 0) this.skip();
		requireCli();
		const out = path.join(dir, 'o');
		assert.equal((await runCli(['extract', write('d1.csv', 'symbol,x\nA,1\nB,2\n'), '--out', out])).code, 0);
		const before = snapshot(out);
		const b = path.join(out, 'B.csv');
		if (spawnSync('chattr', ['+i', b]).status !== 0) this.skip(); // a file system without attributes
		const day2 = write('d2.csv', 'symbol,x\nA,3\nB,4\n');
		for (let i = 0; i < 2; i++) {
			const r = await runCli(['extract', day2, '--out', out, '--append']);
			oneLineExit2(r);
			assert.ok(r.stderr.includes(`cannot write to ${b} (permission denied`), r.stderr);
			assert.doesNotMatch(r.stderr, /EPERM/);
			assert.equal(diffSnapshots(before, snapshot(out)), '');
			assert.ok(!fs.existsSync(path.join(out, JOURNAL)));
		}
		assert.equal(spawnSync('chattr', ['-i', b]).status, 0);
		const ok = await runCli(['extract', day2, '--out', out, '--append']);
		assert.equal(ok.code, 0, ok.stderr);
		assert.equal(fs.readFileSync(b, 'utf8'), 'symbol,x\nB,2\nB,4\n');
	});

	it("another user's partition file (append run as nobody): exit 2 naming it, nothing written", async function () {
		const why = cannotRunAsUser(NOBODY);
		if (why) {
			console.log(`      (skipped: ${why})`);
			this.skip();
		}
		fs.chmodSync(dir, 0o755);
		const parent = path.join(dir, 'parent');
		fs.mkdirSync(parent, { mode: 0o777 });
		fs.chmodSync(parent, 0o777);
		const out = path.join(parent, 'o');
		const first = await runCli(['extract', write('d1.csv', 'symbol,x\nA,1\nB,2\n'), '--out', out], {
			asUser: NOBODY,
		});
		assert.equal(first.code, 0, first.stderr);
		// B.csv now belongs to root (mode 644): nobody can read it but not write to it.
		const b = path.join(out, 'B.csv');
		fs.chownSync(b, 0, 0);
		const before = snapshot(out);
		const r = await runCli(['extract', write('d2.csv', 'symbol,x\nA,3\nB,4\n'), '--out', out, '--append'], {
			asUser: NOBODY,
		});
		oneLineExit2(r);
		assert.ok(r.stderr.includes(`cannot write to ${b} (permission denied`), r.stderr);
		assert.equal(diffSnapshots(before, snapshot(out)), '');
		assert.ok(!fs.existsSync(path.join(out, JOURNAL)));
	});
});

describe('CLI: an append takes the output format, so its format options are checked against the output', () => {
	let dir: string;
	before(() => {
		requireCli();
		dir = makeTmp('sweep-append-format-');
	});
	after(() => removeTmp(dir));

	it('without --format: --compress snappy and --parquet-types fit a Parquet output; a CSV output refuses them naming it', async () => {
		const day = (n: number) => {
			const f = path.join(dir, `day${n}.csv`);
			fs.writeFileSync(f, `symbol,price\nAAPL,${n}\nMSFT,${n + 0.5}\n`);
			return f;
		};
		const pq = path.join(dir, 'pq');
		assert.equal((await runCli(['extract', day(1), '--out', pq, '--format', 'parquet'])).code, 0);
		// Were refused as CSV options (exit 2) although the output is Parquet with exactly these.
		const r = await runCli([
			'extract',
			day(2),
			'--out',
			pq,
			'--append',
			'--compress',
			'snappy',
			'--parquet-types',
			'infer',
		]);
		assert.equal(r.code, 0, r.stderr);
		const other = await runCli(['extract', day(3), '--out', pq, '--append', '--parquet-types', 'string']);
		assert.equal(other.code, 2, other.stderr);
		assert.match(other.stderr, /decided with --parquet-types infer, not string/);
		const csv = path.join(dir, 'csv');
		assert.equal((await runCli(['extract', day(1), '--out', csv])).code, 0);
		const t = await runCli(['extract', day(2), '--out', csv, '--append', '--parquet-types', 'infer']);
		assert.equal(t.code, 2, t.stderr);
		assert.match(t.stderr, /its files are CSV, and --parquet-types applies only to Parquet/);
		const c = await runCli(['extract', day(2), '--out', csv, '--append', '--compress', 'snappy']);
		assert.equal(c.code, 2, c.stderr);
		assert.match(c.stderr, /its files are not compressed, not snappy/);
	});
});
