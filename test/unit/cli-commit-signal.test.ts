import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import stopSignals from '../../src/stopSignals.json';
import { writeTrades } from '../fixtures/hostile/env';
import { leftovers, makeTmp, REPO_ROOT, removeTmp } from './helpers/fsutil';

/**
 * A stop signal (Ctrl-C, SIGTERM, SIGHUP) that arrives once the run's output is committed — the new folder renamed
 * into place, or an append's manifest — stops nothing: the run is complete. The CLI says so in one line, prints its
 * summary and exits 0 (README "Command line"); it used to say "stopping and cleaning up" and then exit 0 with the
 * output in place, or with a second signal exit 130 without its summary. The moment is made exact by a fixture that
 * runs the CLI with the engine's extract() wrapped (test/fixtures/cli-signal-at-commit.js).
 */

const STOP_SIGNALS = stopSignals as readonly NodeJS.Signals[];
const FIXTURE = path.join(REPO_ROOT, 'test', 'fixtures', 'cli-signal-at-commit.js');

interface Ran {
	code: number | null;
	stdout: string;
	stderr: string;
}

function runAt(args: string[], env: Record<string, string>): Promise<Ran> {
	return new Promise((resolve, reject) => {
		const child = spawn(process.execPath, [FIXTURE, ...args], { env: { ...process.env, ...env } });
		let stdout = '';
		let stderr = '';
		child.stdout.setEncoding('utf8').on('data', (d: string) => {
			stdout += d;
		});
		child.stderr.setEncoding('utf8').on('data', (d: string) => {
			stderr += d;
		});
		const timer = setTimeout(() => {
			child.kill('SIGKILL');
			reject(new Error(`hang: ${args.join(' ')}\n${stderr}`));
		}, 120_000);
		child.on('error', reject);
		child.on('close', (code) => {
			clearTimeout(timer);
			resolve({ code, stdout, stderr });
		});
	});
}

/** stderr without the warning a loaded machine may add (system detection falling back to Node's os). */
const said = (stderr: string) =>
	stderr
		.trim()
		.split('\n')
		.filter((l) => l !== '' && !l.startsWith('sweep: warning: System detection'));

describe('CLI: a stop signal once the output is committed', function () {
	this.timeout(300_000);
	let dir: string;
	let input: string;
	before(() => {
		if (!fs.existsSync(path.join(REPO_ROOT, 'out', 'src', 'cli.js'))) throw new Error('run `npm run compile-tests`');
		dir = makeTmp('sweep-commit-signal-');
		input = path.join(dir, 'day1.csv');
		writeTrades(input, 3000, 7);
	});
	after(() => removeTmp(dir));

	for (const signal of STOP_SIGNALS) {
		it(`${signal} right after the commit of an extract, then again: exit 0, the summary, one line saying it had completed`, async () => {
			const out = path.join(dir, `out-${signal}`);
			// A previous output, so that the commit is followed by its removal (the run's clean-up after the commit).
			const first = await runAt(['extract', input, '--out', out], {});
			assert.equal(first.code, 0, first.stderr);
			const r = await runAt(['extract', input, '--out', out, '--workers', '2', '--chunk-size', '100'], {
				SWEEP_TEST_SIGNAL: signal,
				SWEEP_TEST_SIGNALS: '2',
				SWEEP_TEST_AT: 'committed',
			});
			assert.equal(r.code, 0, r.stderr);
			assert.deepEqual(said(r.stderr), [
				`sweep: ${signal} received after the run completed (its output is in place); finishing`,
			]);
			assert.match(r.stdout, /^Read 3,000 rows: 3,000 written, 0 rejected, 0 filtered out$/m);
			assert.match(r.stdout, /^Output: .*out-SIG/m);
			assert.ok(fs.existsSync(path.join(out, '_manifest.json')));
			assert.deepEqual(leftovers(out), [], 'no temporary or old folder, no lock');
		});
	}

	it('SIGINT right after the commit of an append (--json): exit 0, the manifest on stdout, the append whole', async () => {
		const out = path.join(dir, 'out-append');
		assert.equal((await runAt(['extract', input, '--out', out], {})).code, 0);
		const day2 = path.join(dir, 'day2.csv');
		writeTrades(day2, 1000, 7, 2);
		const r = await runAt(['extract', day2, '--out', out, '--append', '--json'], {
			SWEEP_TEST_SIGNAL: 'SIGINT',
			SWEEP_TEST_AT: 'committed',
		});
		assert.equal(r.code, 0, r.stderr);
		assert.deepEqual(said(r.stderr), [
			'sweep: SIGINT received after the run completed (its output is in place); finishing',
		]);
		const m = JSON.parse(r.stdout) as { inputs: unknown[]; rowsRead: number };
		assert.equal(m.inputs.length, 2);
		assert.equal(m.rowsRead, 4000);
		assert.deepEqual(
			fs.readdirSync(out).filter((n) => n.startsWith('_')),
			['_manifest.json'],
			'no journal left',
		);
		assert.deepEqual(leftovers(out), []);
	});

	it('a signal the run could no longer act on (it completed anyway): "stopping", then that it completed; exit 0', async () => {
		const out = path.join(dir, 'out-unseen');
		const r = await runAt(['extract', input, '--out', out], { SWEEP_TEST_SIGNAL: 'SIGTERM', SWEEP_TEST_AT: 'unseen' });
		assert.equal(r.code, 0, r.stderr);
		assert.deepEqual(said(r.stderr), [
			'sweep: SIGTERM received; stopping and cleaning up (again to force)',
			'sweep: the run completed before it could stop; its output is in place',
		]);
		assert.match(r.stdout, /^Output: /m);
		assert.deepEqual(leftovers(out), []);
	});
});
