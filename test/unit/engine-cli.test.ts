import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Manifest } from '../../src/engine/types';
import { CLI, type CliResult, requireCli, runCli, startCli } from './helpers/cli';
import { assertMatchesReference } from './helpers/compare';
import { generateTrades } from './helpers/engine';
import { diffSnapshots, leftovers, makeTmp, removeTmp, snapshot } from './helpers/fsutil';
import { reference } from './reference';

/** `node dist/cli.js extract` where exit statuses and process limits matter (README "Command line"). */

let tmp: string;

function file(name: string, content: string | Buffer): string {
	const p = path.join(tmp, name);
	fs.writeFileSync(p, content);
	return p;
}

/** One clear line on stderr: non-empty, no stack trace. */
function assertClearError(r: CliResult, pattern?: RegExp): void {
	const msg = r.stderr.trim();
	assert.ok(msg.length > 0, 'a message on stderr');
	assert.doesNotMatch(msg, /\n\s+at /, `no stack trace: ${msg}`);
	if (pattern) assert.match(msg, pattern);
}

describe('engine: the CLI (dist/cli.js extract)', function () {
	this.timeout(300_000);
	before(() => requireCli());
	beforeEach(() => {
		tmp = makeTmp('sweep-cli-');
	});
	afterEach(() => removeTmp(tmp));

	it("the run's threads optimize their code themselves, not in V8's shared background threads (threadStop.ts)", () => {
		// A background compile job of a thread's code that outlives the thread deadlocks Node 20 at the thread's end
		// (nodejs/node#54918; seen with 24-32 workers). V8 prints each optimization with its mode.
		const rows = Array.from(
			{ length: 150_000 },
			(_, i) => `${i},S${i % 50},2024-01-0${1 + (i % 9)}T10:00:00Z,${i % 97}.5`,
		);
		const input = file('in.csv', `id,symbol,timestamp,price\n${rows.join('\n')}\n`);
		const r = spawnSync(
			process.execPath,
			['--trace-opt', CLI, 'extract', input, '--out', path.join(tmp, 'out'), '--workers', '2', '--chunk-size', '20000'],
			{ encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 120_000 },
		);
		assert.equal(r.status, 0, r.stderr);
		const loop = r.stdout.split('\n').filter((l) => /^\[compiling method .*<JSFunction process /.test(l));
		assert.ok(loop.length > 0, "the workers' record loop was optimized");
		for (const l of loop) assert.match(l, /ConcurrencyMode::kSynchronous/, l);
	});

	it('empty file: exit 2, one clear line, nothing written (not even processed/)', async () => {
		const p = file('empty.csv', '');
		const r = await runCli(['extract', p]);
		assert.equal(r.code, 2, r.stderr);
		assertClearError(r, /empty/i);
		assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
		assert.deepEqual(fs.readdirSync(tmp), ['empty.csv']);
	});

	it('unknown partition column or mapped column: exit 2, naming it, nothing written', async () => {
		const p = file('in.csv', 'ticker,n\nA,1\n');
		const out = path.join(tmp, 'out');
		const r1 = await runCli(['extract', p, '--out', out, '--partition-by', 'symbol']);
		assert.equal(r1.code, 2, r1.stderr);
		assertClearError(r1, /symbol/);
		const r2 = await runCli(['extract', p, '--out', out, '--map', 'symbol=sym']);
		assert.equal(r2.code, 2, r2.stderr);
		assertClearError(r2, /sym/);
		assert.deepEqual(fs.readdirSync(tmp), ['in.csv']);
	});

	it('--map renames the header, --json prints the manifest that was written', async () => {
		const content = 'ticker,px\nA,1\nB,2\nA,3\n';
		const p = file('in.csv', content);
		const out = path.join(tmp, 'out');
		const r = await runCli(['extract', p, '--out', out, '--map', 'symbol=ticker', '--json', '--workers', '2']);
		assert.equal(r.code, 0, r.stderr);
		const printed = JSON.parse(r.stdout) as Manifest;
		const written = JSON.parse(fs.readFileSync(path.join(out, '_manifest.json'), 'utf8')) as Manifest;
		const { outDir: _o, ...rest } = printed;
		assert.deepEqual(rest, written);
		assert.equal(fs.readFileSync(path.join(out, 'A.csv'), 'utf8'), 'symbol,px\nA,1\nA,3\n');
		assertMatchesReference(out, reference(Buffer.from(content), { delimiter: ',', mapping: { symbol: 'ticker' } }), {
			input: p,
			partitionBy: ['symbol'],
		});
	});

	it('5,000 partitions under ulimit -n 256', async () => {
		const lines = ['symbol,n'];
		for (let round = 0; round < 3; round++) for (let i = 0; i < 5000; i++) lines.push(`S${(i * 7919) % 5000},${round}`);
		const content = `${lines.join('\n')}\n`;
		const p = file('many.csv', content);
		const out = path.join(tmp, 'out');
		const r = await runCli(['extract', p, '--out', out, '--workers', '2', '--chunk-size', '1000'], {
			shellPrefix: 'ulimit -n 256;',
		});
		assert.equal(r.code, 0, r.stderr);
		const ref = reference(Buffer.from(content), { delimiter: ',' });
		assert.equal(ref.files.size, 5000);
		const m = assertMatchesReference(out, ref, { input: p, partitionBy: ['symbol'] });
		assert.equal(m.partitions.length, 5000);
		assert.ok(m.partitions.every((x) => x.rows === 3));
	});

	it('disk full (ulimit -f, SIGXFSZ ignored): exit 1, clear message, previous output intact, nothing left', async () => {
		const out = path.join(tmp, 'out');
		const prev = file('prev.csv', 'symbol,n\nOLD,1\n');
		assert.equal((await runCli(['extract', prev, '--out', out])).code, 0);
		const before = snapshot(out);
		// One partition of ~1 MB: beyond the 200 KiB file-size limit.
		const row = `A,${'x'.repeat(90)}\n`;
		const p = file('in.csv', `symbol,pad\n${row.repeat(12_000)}`);
		const r = await runCli(['extract', p, '--out', out], { shellPrefix: 'trap "" XFSZ; ulimit -f 200;' });
		assert.equal(r.code, 1, `exit ${r.code} ${r.signal}: ${r.stderr}`);
		assertClearError(r, /EFBIG|file.size|too large|space|disk/i);
		assert.equal(diffSnapshots(before, snapshot(out)), '', 'previous output unchanged');
		assert.deepEqual(leftovers(out), []);
	});

	it('--force: a foreign non-empty folder is refused (exit 2, untouched) and replaced with --force', async () => {
		const out = path.join(tmp, 'out');
		fs.mkdirSync(out);
		fs.writeFileSync(path.join(out, 'notes.txt'), 'mine');
		const p = file('in.csv', 'symbol,n\nA,1\n');
		const r = await runCli(['extract', p, '--out', out]);
		assert.equal(r.code, 2, r.stderr);
		assertClearError(r, /--force/);
		assert.deepEqual(fs.readdirSync(out), ['notes.txt']);
		const f = await runCli(['extract', p, '--out', out, '--force']);
		assert.equal(f.code, 0, f.stderr);
		assert.deepEqual(fs.readdirSync(out).sort(), ['A.csv', '_manifest.json']);
		// Sweep's own output needs no --force.
		const again = await runCli(['extract', file('in2.csv', 'symbol,n\nB,1\n'), '--out', out]);
		assert.equal(again.code, 0, again.stderr);
		assert.deepEqual(fs.readdirSync(out).sort(), ['B.csv', '_manifest.json']);
		assert.deepEqual(leftovers(out), []);
	});

	it('--max-rejects exceeded: exit 1, previous output intact', async () => {
		const out = path.join(tmp, 'out');
		assert.equal((await runCli(['extract', file('prev.csv', 'symbol,n\nOLD,1\n'), '--out', out])).code, 0);
		const before = snapshot(out);
		const r = await runCli(['extract', file('in.csv', 'symbol,n\nA\nB\nC,1\n'), '--out', out, '--max-rejects', '1']);
		assert.equal(r.code, 1, r.stderr);
		assertClearError(r);
		assert.equal(diffSnapshots(before, snapshot(out)), '');
		assert.deepEqual(leftovers(out), []);
	});

	for (const sig of ['SIGINT', 'SIGTERM'] as const) {
		it(`${sig} mid-run: exit 130, previous output intact, no temporary folder`, async () => {
			const out = path.join(tmp, 'out');
			assert.equal((await runCli(['extract', file('prev.csv', 'symbol,n\nOLD,1\n'), '--out', out])).code, 0);
			const before = snapshot(out);
			const big = path.join(tmp, 'big.csv');
			generateTrades(big, 600_000);
			const { child, done } = startCli(['extract', big, '--out', out, '--workers', '2', '--chunk-size', '500']);
			// Interrupt once the run is writing (its temporary folder exists).
			let exited = false;
			void done.then(() => {
				exited = true;
			});
			while (!exited && leftovers(out).length === 0) await new Promise((r) => setTimeout(r, 5));
			assert.ok(!exited, 'the run was still going when interrupted');
			child.kill(sig);
			const r = await done;
			assert.equal(r.code, 130, `exit ${r.code} ${r.signal}: ${r.stderr}`);
			assert.equal(diffSnapshots(before, snapshot(out)), '', 'previous output unchanged');
			assert.deepEqual(leftovers(out), []);
		});
	}

	it('--workers 64 on a file of one chunk starts one worker, not 64 (peak RSS far below 64 heaps)', async function () {
		if (!fs.existsSync('/usr/bin/time')) {
			console.log('      skipped: /usr/bin/time (GNU time) is needed to measure the child peak RSS');
			this.skip();
		}
		const lines = ['symbol,n'];
		for (let i = 0; i < 20_000; i++) lines.push(`S${i % 50},${i}`);
		const input = file('small.csv', `${lines.join('\n')}\n`);
		const rss = path.join(tmp, 'rss');
		const r = spawnSync(
			'/usr/bin/time',
			['-f', '%M', '-o', rss, process.execPath, CLI, 'extract', input, '--out', path.join(tmp, 'o'), '--workers', '64'],
			{ encoding: 'utf8' },
		);
		assert.equal(r.status, 0, r.stderr);
		const peakMB = Number(fs.readFileSync(rss, 'utf8').trim().split('\n').pop()) / 1024;
		console.log(`      peak RSS of the CLI child: ${peakMB.toFixed(0)} MB`);
		// Each worker thread has its own heap (~9 MB here): 64 of them came to 600 MB before workers started on demand.
		assert.ok(peakMB < 250, `peak RSS ${peakMB.toFixed(0)} MB`);
	});

	it('runs from any working directory', async () => {
		const p = file('in.csv', 'symbol,n\nA,1\n');
		const r = await runCli(['extract', 'in.csv', '--out', 'o'], { cwd: tmp });
		assert.equal(r.code, 0, r.stderr);
		assert.ok(fs.existsSync(path.join(tmp, 'o', 'A.csv')), `${CLI} wrote relative to its cwd`);
		assert.ok(fs.existsSync(p));
	});
});
