import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { isSweepError, type SweepError } from '../../../src/engine';
import { REPO_ROOT } from './fsutil';

/** Races `p` against a timer: a hang guard (it rejects after `ms`), never a performance check. */
export function hangGuard<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
	let timer: NodeJS.Timeout | undefined;
	const guard = new Promise<never>((_, reject) => {
		timer = setTimeout(() => reject(new Error(`hang: ${what} did not settle within ${ms} ms`)), ms);
	});
	return Promise.race([p, guard]).finally(() => clearTimeout(timer));
}

/** Awaits `p`, which must reject with a SweepError (of any code); returns that error. */
export async function sweepErrorOf(p: Promise<unknown>, hangGuardMs = 120_000): Promise<SweepError> {
	try {
		await hangGuard(p, hangGuardMs, 'the call');
	} catch (e) {
		if (isSweepError(e)) return e;
		throw e;
	}
	assert.fail('the call succeeded; a SweepError was expected');
}

/** Awaits `p`, which must reject with a SweepError of `code`; returns that error. */
export async function expectSweepError(p: Promise<unknown>, code: string, hangGuardMs = 60_000): Promise<SweepError> {
	const e = await sweepErrorOf(p, hangGuardMs);
	assert.equal(e.code, code, `expected SweepError ${code}, got ${e.code}: ${e.message}`);
	return e;
}

/** OS threads of this process (Linux): each worker thread adds one. */
export function threadCount(): number {
	return fs.readdirSync('/proc/self/task').length;
}

/** Waits (up to `ms`) until this process has at most `max` threads; returns the last count seen. */
export async function settleThreads(max: number, ms = 5000): Promise<number> {
	const until = Date.now() + ms;
	let n = threadCount();
	while (n > max && Date.now() < until) {
		await new Promise((r) => setTimeout(r, 50));
		n = threadCount();
	}
	return n;
}

/** Truth written beside a generated trades file. */
export interface TradesTruth {
	rows: number;
	bytes: number;
	symbols: Record<string, { rows: number; qty: number }>;
}

/** What every test takes from the generator's module: its seedable PRNG (mulberry32, in [0, 1)). */
export interface GeneratorPrng {
	mulberry32(seed: number): () => number;
}

// The generator is an ES module; TypeScript's CommonJS output would turn `import()` into `require()`.
const importEsm = new Function('url', 'return import(url)') as (url: string) => Promise<unknown>;

/** The project's generator module (scripts/gen-trades.mjs), for a test's `before()`. */
export async function importGenerator<M extends GeneratorPrng = GeneratorPrng>(): Promise<M> {
	return (await importEsm(pathToFileURL(path.join(REPO_ROOT, 'scripts', 'gen-trades.mjs')).href)) as M;
}

/** Generates a trades CSV with the project's generator (scripts/gen-trades.mjs) and returns its truth. */
export function generateTrades(out: string, rows: number, extra: string[] = []): TradesTruth {
	// Real path: the script runs its CLI only when argv[1] is its own path.
	const script = fs.realpathSync(path.join(REPO_ROOT, 'scripts', 'gen-trades.mjs'));
	const r = spawnSync(process.execPath, [script, '--rows', String(rows), '--out', out, ...extra], {
		encoding: 'utf8',
	});
	assert.equal(r.status, 0, `gen-trades failed: ${r.stderr}`);
	return JSON.parse(fs.readFileSync(`${out}.truth.json`, 'utf8')) as TradesTruth;
}
