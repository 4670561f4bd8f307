import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { SweepApi } from '../../src/vscode/api';
import { e2eContext } from './context';

/** The extension under test. */
export const EXTENSION_ID = 'sweep-dev.sweep';

/** Activates Sweep (if the host has not yet) and waits until detection is done. */
export async function sweepApi(): Promise<SweepApi> {
	const ext = vscode.extensions.getExtension<SweepApi>(EXTENSION_ID);
	if (!ext) throw new Error(`extension ${EXTENSION_ID} is not loaded`);
	const api = await ext.activate();
	if (!api || typeof api.statusBar !== 'function') throw new Error('activate() did not return the SweepApi');
	await api.whenReady();
	return api;
}

/** Polls `probe` until it returns a truthy value; a hang guard, not a performance assertion. */
export async function waitFor<T>(
	probe: () => T | Promise<T>,
	what: string | (() => string),
	timeoutMs = 20_000,
	intervalMs = 50,
): Promise<NonNullable<T>> {
	const until = Date.now() + timeoutMs;
	let last: unknown;
	for (;;) {
		try {
			const value = await probe();
			if (value) return value as NonNullable<T>;
			last = value;
		} catch (e) {
			last = e;
		}
		if (Date.now() > until) {
			const detail = last instanceof Error ? last.message : JSON.stringify(last);
			const described = typeof what === 'function' ? what() : what;
			throw new Error(`timed out after ${timeoutMs} ms waiting for ${described} (last: ${detail})`);
		}
		await sleep(intervalMs);
	}
}

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Writes `sweep.<key>` into the workspace's settings (.vscode/settings.json), as a user editing them would. */
export async function setWorkspaceSetting(key: string, value: unknown): Promise<void> {
	await vscode.workspace.getConfiguration('sweep').update(key, value, vscode.ConfigurationTarget.Workspace);
}

/**
 * Workspace settings for the calling suite: the function returned sets them and, when they include `workers`, waits
 * until Sweep's configuration shows it; they are unset again after the suite.
 */
export function suiteSettings(settings: [string, unknown][]): (api: SweepApi) => Promise<void> {
	after(async () => {
		for (const [key] of settings) await setWorkspaceSetting(key, undefined);
	});
	return async (api) => {
		for (const [key, value] of settings) await setWorkspaceSetting(key, value);
		const workers = settings.find(([key]) => key === 'workers')?.[1];
		if (workers !== undefined) await waitFor(() => api.config()?.workers === workers, 'settings applied');
	};
}

/** `80,000` whatever the locale: written here independently of the code under test. */
export function count(n: number): string {
	return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** The status bar text README "Using Sweep in VS Code" gives for these figures (before any run): `6 workers · 80,000 rows`. */
export function statusFigures(workers: number, chunkSize: number): string {
	return `${workers} ${workers === 1 ? 'worker' : 'workers'} · ${count(chunkSize)} rows`;
}

/** Workspace-relative path → absolute path in the opened workspace. */
export function wsPath(...parts: string[]): string {
	return path.join(e2eContext().workspace, ...parts);
}

/** Every file below `dir`, as sorted relative paths. */
export function listFiles(dir: string): string[] {
	const out: string[] = [];
	const walk = (rel: string) => {
		for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
			const r = rel ? path.join(rel, entry.name) : entry.name;
			if (entry.isDirectory()) walk(r);
			else out.push(r);
		}
	};
	walk('');
	return out.sort();
}

/** Runs `node dist/cli.js ARGS` with the system's Node, as a user would in a terminal. */
export function runCli(
	args: string[],
	env: Record<string, string | undefined> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
	const ctx = e2eContext();
	const childEnv = { ...process.env, ...env };
	delete childEnv.SWEEP_WORKERS;
	delete childEnv.SWEEP_CHUNK_SIZE;
	// The extension host sets these for itself; a CLI started from a terminal would not have them.
	delete childEnv.ELECTRON_RUN_AS_NODE;
	delete childEnv.VSCODE_AMD_ENTRYPOINT;
	return new Promise((resolve) => {
		execFile(
			ctx.node,
			[ctx.cli, ...args],
			{ env: childEnv, maxBuffer: 64 * 1024 * 1024, cwd: ctx.workspace },
			(error, stdout, stderr) => {
				const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
				resolve({ code, stdout, stderr });
			},
		);
	});
}

/** Names (`comm`) of this process's threads by thread id: Linux only, which the harness requires. */
export function threads(): Map<string, string> {
	const map = new Map<string, string>();
	for (const tid of fs.readdirSync('/proc/self/task')) {
		try {
			map.set(tid, fs.readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim());
		} catch {
			// the thread ended between readdir and read
		}
	}
	return map;
}

/**
 * Samples this process's threads (every 20 ms) until `stop()` and reports the threads that did not exist before
 * and are not Node's own helpers (libuv's pool, V8's platform threads): the worker threads started meanwhile.
 * Node 24 names a worker thread `WorkerThread` (or its `name` option); `maxWorkers` is the most seen at once.
 */
export function watchNewThreads(): { stop: () => { max: number; maxWorkers: number; names: string[] } } {
	const before = new Set(threads().keys());
	const helpers = /^(libuv-worker|V8Worker|V8 DefaultWorke|DelayedTaskSche|SignalInspector)$/;
	let max = 0;
	let maxWorkers = 0;
	const names = new Map<string, number>();
	const sample = () => {
		let n = 0;
		let workers = 0;
		for (const [tid, name] of threads()) {
			if (before.has(tid) || helpers.test(name)) continue;
			n++;
			if (name === 'WorkerThread') workers++;
			names.set(`${name}#${tid}`, 1);
		}
		max = Math.max(max, n);
		maxWorkers = Math.max(maxWorkers, workers);
	};
	const timer = setInterval(sample, 20);
	return {
		stop: () => {
			clearInterval(timer);
			sample();
			return { max, maxWorkers, names: [...names.keys()] };
		},
	};
}

/** Sibling folders of `outDir` that a run leaves behind only when it failed to clean up (`<out>.sweep-tmp-*`). */
export function tempSiblings(outDir: string): string[] {
	const parent = path.dirname(outDir);
	if (!fs.existsSync(parent)) return [];
	const base = path.basename(outDir);
	return fs.readdirSync(parent).filter((n) => n.startsWith(`${base}.sweep-tmp-`) || n.startsWith(`${base}.sweep-old-`));
}

/** A digest of every file under `dir` (name → bytes as base64 of sha256), to show a folder is untouched. */
export function snapshot(dir: string): Record<string, string> {
	const { createHash } = require('node:crypto') as typeof import('node:crypto');
	const out: Record<string, string> = {};
	for (const f of listFiles(dir))
		out[f] = createHash('sha256')
			.update(fs.readFileSync(path.join(dir, f)))
			.digest('hex');
	return out;
}
