import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CLI, requireCli } from '../fixtures/hostile/env';
import { leftovers, makeTmp, removeTmp } from './helpers/fsutil';

/**
 * Issue 12 (9): a SIGTERM or Ctrl-C early in the CLI's life. From the first statement of dist/cli.js on, a signal
 * ends the CLI with 130, never the signal's default action (143). Only Node's own start-up, before any of Sweep's
 * code runs, is out of reach (nothing is opened or written then).
 *
 * To hit "while the bundle is still loading" every time, the test runs a copy of dist/cli.js with a pause inserted
 * right after its banner (its first statements), announced on stderr; the signal arrives during that pause.
 */

const MARK = 'sweep-test: banner done';

/** A copy of dist/cli.js (beside its siblings, linked) that pauses `ms` right after the banner. */
function pausedCopy(dir: string, ms: number): string {
	const lines = fs.readFileSync(CLI, 'utf8').split('\n');
	assert.match(lines[1], /sweep\.earlySignal/, 'line 2 of dist/cli.js is the early-signal banner');
	const pause = `process.stderr.write(${JSON.stringify(`${MARK}\n`)}); { const t = Date.now() + ${ms}; while (Date.now() < t); }`;
	lines.splice(2, 0, pause);
	const dist = path.join(dir, 'dist');
	fs.mkdirSync(dist);
	for (const sibling of fs.readdirSync(path.dirname(CLI))) {
		if (sibling.endsWith('.js')) fs.symlinkSync(path.join(path.dirname(CLI), sibling), path.join(dist, sibling));
	}
	const copy = path.join(dist, 'cli-paused.js');
	fs.writeFileSync(copy, lines.join('\n'));
	return copy;
}

describe('hostile start-up: early signals', function () {
	this.timeout(300_000);
	let dir = '';
	before(() => requireCli());
	beforeEach(() => {
		dir = makeTmp('sweep-hostile-startup-');
	});
	afterEach(() => removeTmp(dir));

	for (const signal of ['SIGTERM', 'SIGINT'] as const) {
		it(`${signal} while the bundle is still loading: exit 130, nothing written (5 runs)`, async () => {
			const cli = pausedCopy(dir, 400);
			const input = path.join(dir, 'in.csv');
			fs.writeFileSync(input, 'id,symbol\n1,A\n');
			const out = path.join(dir, 'out');
			const codes: (number | string)[] = [];
			for (let run = 0; run < 5; run++) {
				const child = spawn(process.execPath, [cli, 'extract', input, '--out', out], {
					stdio: ['ignore', 'ignore', 'pipe'],
				});
				let stderr = '';
				const done = new Promise<number | string>((resolve) =>
					child.on('close', (code, sig) => resolve(code ?? sig ?? 'none')),
				);
				await new Promise<void>((resolve) => {
					child.stderr.setEncoding('utf8').on('data', (d: string) => {
						stderr += d;
						if (stderr.includes(MARK)) resolve();
					});
					child.on('close', () => resolve());
				});
				child.kill(signal);
				codes.push(await done);
			}
			assert.deepEqual(codes, Array(5).fill(130), `exit statuses: ${codes.join(' ')}`);
			assert.ok(!fs.existsSync(out));
			assert.deepEqual(leftovers(out), []);
		});
	}

	it('SIGTERM at moments spread over the first second: always 130 once Sweep runs (or killed before Node started it)', async () => {
		const input = path.join(dir, 'in.csv');
		fs.writeFileSync(input, 'id,symbol\n1,A\n');
		const tally = new Map<string, number>();
		for (let run = 0; run < 12; run++) {
			const out = path.join(dir, `out-${run}`);
			const child = spawn(process.execPath, [CLI, 'extract', input, '--out', out], {
				stdio: ['ignore', 'ignore', 'pipe'],
			});
			let stderr = '';
			child.stderr.setEncoding('utf8').on('data', (d: string) => {
				stderr += d;
			});
			const done = new Promise<number | string>((resolve) =>
				child.on('close', (code, sig) => resolve(code ?? sig ?? 'none')),
			);
			await new Promise((r) => setTimeout(r, run * 80));
			child.kill('SIGTERM');
			const code = await done;
			tally.set(String(code), (tally.get(String(code)) ?? 0) + 1);
			// 0: it finished first; 130: interrupted; SIGTERM: still in Node's own start-up (documented).
			assert.ok(code === 0 || code === 130 || code === 'SIGTERM', `run ${run}: ${code}: ${stderr}`);
			if (code === 130) assert.ok(!fs.existsSync(out) || fs.existsSync(path.join(out, '_manifest.json')));
			assert.deepEqual(leftovers(out), []);
		}
		console.log(`      exit statuses: ${[...tally].map(([k, v]) => `${k} ×${v}`).join(', ')}`);
	});
});
