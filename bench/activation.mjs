#!/usr/bin/env node
/**
 * Measures the extension's start-up cost: loading the bundle (`require('dist/extension.js')`) and
 * `activate()`, each in a fresh Node process with a minimal fake `vscode` module injected through a
 * `Module._load` hook. A measurement, not a test: the fake answers every API with an inert stand-in.
 *
 *   node bench/activation.mjs [--runs 15] [--json] [--bundle dist/extension.js]
 *
 * Reports medians (ms) of: bundle load, `activate()` returning, activation total, the first status bar
 * `show()` after the start of loading, and `whenReady()` (detection done) when the API offers it; both
 * with the Node built-ins an extension host has already loaded ("warm", the headline) and in a bare process.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { commandLine } from './lib.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const median = (values) => {
	const s = values.filter((v) => typeof v === 'number').sort((a, b) => a - b);
	if (s.length === 0) return null;
	const m = s.length >> 1;
	return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Top-level names the real `vscode` module exports, read from @types/vscode. */
function vscodeExports() {
	try {
		const dts = readFileSync(path.join(root, 'node_modules', '@types', 'vscode', 'index.d.ts'), 'utf8');
		return [...dts.matchAll(/^\texport (?:namespace|class|enum|const|let|function) (\w+)/gm)].map((m) => m[1]);
	} catch {
		return ['window', 'workspace', 'commands', 'env', 'extensions', 'Uri', 'EventEmitter', 'Disposable'];
	}
}

/** Runs in the fresh child process: hook, load, activate, report one JSON line. */
async function child(bundle, warm) {
	const { createRequire } = await import('node:module');
	const Module = (await import('node:module')).default;
	const require = createRequire(import.meta.url);
	const marks = { statusBarShownMs: null };
	let t0 = 0;

	const scalar = new Map([
		['vscode.workspace.isTrusted', true],
		['vscode.workspace.workspaceFolders', undefined],
		['vscode.workspace.workspaceFile', undefined],
		['vscode.window.activeTextEditor', undefined],
		['vscode.window.tabGroups.activeTabGroup.activeTab', undefined],
		['vscode.env.language', 'en'],
		['vscode.env.appName', 'Visual Studio Code'],
		['vscode.env.remoteName', undefined],
		['vscode.env.uiKind', 1],
		['vscode.version', '1.90.0'],
		['vscode.StatusBarAlignment.Left', 1],
		['vscode.StatusBarAlignment.Right', 2],
		['vscode.ProgressLocation.SourceControl', 1],
		['vscode.ProgressLocation.Window', 10],
		['vscode.ProgressLocation.Notification', 15],
		['vscode.ConfigurationTarget.Global', 1],
		['vscode.ConfigurationTarget.Workspace', 2],
		['vscode.ConfigurationTarget.WorkspaceFolder', 3],
		['vscode.ExtensionMode.Production', 1],
		['context.extensionMode', 1],
		['context.extensionPath', root],
	]);
	const calls = {
		get: (args) => args[1],
		inspect: () => undefined,
		has: () => false,
		dispose: () => undefined,
		show: (_args, name) => {
			if (name.includes('createStatusBarItem') && marks.statusBarShownMs === null)
				marks.statusBarShownMs = performance.now() - t0;
		},
		asAbsolutePath: (args) => path.join(root, String(args[0])),
		registerCommand: () => fake('disposable'),
		executeCommand: () => Promise.resolve(undefined),
		showInformationMessage: () => Promise.resolve(undefined),
		showWarningMessage: () => Promise.resolve(undefined),
		showErrorMessage: () => Promise.resolve(undefined),
		getExtension: () => undefined,
	};

	/** An inert stand-in for any part of the API: callable, constructible, remembers what is assigned. */
	function fake(name) {
		const assigned = new Map();
		const children = new Map();
		// A `function` (not an arrow) so that `new vscode.X()` works too.
		const target = function stub() {};
		return new Proxy(target, {
			get(_t, prop) {
				if (assigned.has(prop)) return assigned.get(prop);
				if (prop === 'then') return undefined;
				if (prop === Symbol.toPrimitive) return () => name;
				if (prop === Symbol.iterator) return function* () {};
				if (typeof prop === 'symbol') return undefined;
				if (prop === 'length') return 0;
				if (prop === 'toString' || prop === 'toJSON') return () => name;
				const full = `${name}.${prop}`;
				if (scalar.has(full)) return scalar.get(full);
				if (!children.has(prop)) children.set(prop, fake(full));
				return children.get(prop);
			},
			set(_t, prop, value) {
				assigned.set(prop, value);
				return true;
			},
			apply(_t, _this, args) {
				const last = name.slice(name.lastIndexOf('.') + 1);
				if (Object.hasOwn(calls, last)) return calls[last](args, name);
				// Event registration (`onDid…(listener)`) and everything else: a disposable stand-in.
				return fake(`${name}()`);
			},
			construct(_t, args) {
				const made = fake(`new ${name}`);
				if (name.endsWith('.Disposable') && typeof args[0] === 'function') made.dispose = args[0];
				return made;
			},
		});
	}

	// The module itself is a plain object like the real one (bundles copy its properties once per
	// `import * as vscode`); each namespace or class behind it is a stand-in, made on first use.
	const vscode = {};
	for (const key of vscodeExports()) {
		let made;
		Object.defineProperty(vscode, key, {
			get: () => {
				const full = `vscode.${key}`;
				made ??= scalar.has(full) ? { value: scalar.get(full) } : { value: fake(full) };
				return made.value;
			},
			enumerable: true,
			configurable: true,
		});
	}
	const originalLoad = Module._load;
	Module._load = function load(request, ...rest) {
		if (request === 'vscode') return vscode;
		return originalLoad.call(this, request, ...rest);
	};
	const context = fake('context');
	context.subscriptions = [];

	if (warm) {
		for (const m of HOST_BUILTINS) require(m);
		// The host's CommonJS loader has long been in use: warm ours on a tiny file (inert without BENCH_RSS_OUT).
		require(path.join(root, 'bench', 'rss-probe.cjs'));
	}

	t0 = performance.now();
	const ext = require(bundle);
	const loaded = performance.now();
	let api = ext.activate(context);
	const activated = performance.now();
	if (api && typeof api.then === 'function') api = await api;
	const resolved = performance.now();
	let readyMs = null;
	if (api && typeof api.whenReady === 'function') {
		const ready = await Promise.race([
			api.whenReady().then(() => true),
			new Promise((r) => setTimeout(() => r(false), 5000)),
		]);
		if (ready) readyMs = performance.now() - t0;
	}
	// Give a status bar that appears after detection its chance (it should show within a second of activation).
	const waitUntil = t0 + 1500;
	while (marks.statusBarShownMs === null && performance.now() < waitUntil) await new Promise((r) => setTimeout(r, 10));
	process.stdout.write(
		`${JSON.stringify({
			loadMs: loaded - t0,
			activateMs: activated - loaded,
			activateResolvedMs: resolved - loaded,
			totalMs: activated - t0,
			statusBarShownMs: marks.statusBarShownMs,
			readyMs,
		})}\n`,
	);
	try {
		await ext.deactivate?.();
	} catch {
		// Deactivation errors do not matter to the measurement.
	}
	process.exit(0);
}

/**
 * Node built-ins that VS Code's extension host has already loaded before any extension activates (it
 * talks over sockets, spawns processes, reads files, hashes). Loading them again costs an extension nothing.
 */
const HOST_BUILTINS = [
	'node:fs',
	'node:fs/promises',
	'node:path',
	'node:os',
	'node:events',
	'node:util',
	'node:stream',
	'node:net',
	'node:child_process',
	'node:crypto',
	'node:url',
	'node:zlib',
	'node:http',
	'node:https',
	'node:string_decoder',
	'node:readline',
	'node:perf_hooks',
	'node:timers',
	'node:assert',
];

function runChild(bundle, warm) {
	const r = spawnSync(
		process.execPath,
		[fileURLToPath(import.meta.url), '--child', bundle, ...(warm ? ['--warm'] : [])],
		{ encoding: 'utf8', timeout: 30_000 },
	);
	const line = r.stdout.trim().split('\n').at(-1);
	if (r.status !== 0 || !line?.startsWith('{')) {
		const out = (r.stderr || r.stdout || '').trim().split('\n');
		const why = out.find((l) => /Error/.test(l)) ?? out[0];
		throw new Error(`activation failed (exit ${r.status}): ${why}`);
	}
	return JSON.parse(line);
}

/**
 * Runs `runs` fresh processes per mode (interleaved) and returns the medians, or `{ skipped }` with a reason.
 * `warm`: the host's built-ins preloaded (what an extension host looks like); `cold`: a bare Node process.
 * @param {{ runs?: number, bundle?: string }} [options]
 */
export function measureActivation(options = {}) {
	const bundle = options.bundle ?? path.join(root, 'dist', 'extension.js');
	const runs = options.runs ?? 15;
	if (!existsSync(bundle)) return { skipped: `${path.relative(root, bundle)} not built (npm run build)` };
	const samples = { warm: [], cold: [] };
	try {
		for (let i = 0; i < runs; i++) {
			samples.warm.push(runChild(bundle, true));
			samples.cold.push(runChild(bundle, false));
		}
	} catch (err) {
		return { skipped: err instanceof Error ? err.message : String(err) };
	}
	const medians = (list) => {
		const pick = (k) => median(list.map((s) => s[k]));
		return {
			loadMs: pick('loadMs'),
			activateMs: pick('activateMs'),
			activateResolvedMs: pick('activateResolvedMs'),
			totalMs: pick('totalMs'),
			statusBarShownMs: pick('statusBarShownMs'),
			readyMs: pick('readyMs'),
		};
	};
	return { runs, ...medians(samples.warm), cold: medians(samples.cold) };
}

const fmt = (v) => (v === null || v === undefined ? 'n/a' : `${v.toFixed(2)} ms`);

/** A Markdown paragraph for results.md. */
export function activationMarkdown(r) {
	if (r.skipped) return `Extension activation: skipped (${r.skipped}).`;
	return (
		`Extension activation (median of ${r.runs} fresh processes each way, fake \`vscode\`; \`dist/extension.js\` as built): ` +
		`with the extension host's Node built-ins already loaded, bundle load ${fmt(r.loadMs)} + \`activate()\` ` +
		`${fmt(r.activateMs)}, total **${fmt(r.totalMs)}** (target ≤ 20 ms); in a bare Node process ${fmt(r.cold.totalMs)} ` +
		`(load ${fmt(r.cold.loadMs)}). Status bar shown ${fmt(r.statusBarShownMs)} after loading began; ` +
		`detection ready after ${fmt(r.readyMs)}.`
	);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
	const { values, positionals } = commandLine(import.meta.url, {
		allowPositionals: true,
		options: {
			child: { type: 'boolean', default: false },
			warm: { type: 'boolean', default: false },
			runs: { type: 'string', default: '15' },
			json: { type: 'boolean', default: false },
			bundle: { type: 'string' },
		},
	});
	if (values.child) {
		await child(positionals[0], values.warm);
	} else {
		const r = measureActivation({
			runs: Number(values.runs),
			bundle: values.bundle && path.resolve(values.bundle),
		});
		console.log(values.json ? JSON.stringify(r) : activationMarkdown(r));
		if (r.skipped) process.exitCode = 1;
	}
}
