// Builds the CommonJS bundles Sweep ships:
//   dist/extension.js         the VS Code extension (vscode is provided by the host, so external)
//   dist/worker.js            the worker_threads entry the pool starts (must never pull in vscode)
//   dist/sourceWorker.js      the thread that decompresses a .gz / .zst input
//   dist/coordinator.js       the thread extract() runs an extraction on, so the calling thread stays free
//   dist/cli.js               the command-line interface on the same engine
//   dist/systeminformation.js loaded lazily by both, only when detection runs
//   dist/engine.js            the engine for the extension, loaded on the first extraction
//   dist/errors.js            SweepError, shared by extension.js and engine.js (one class, so instanceof works)
//   dist/preview.js           the preview's reader (head, rows, profile worker), loaded when a preview opens
//   dist/previewWorker.js     the worker_threads entry of the preview's column profile
//   dist/previewPanel.js      the preview's webview panel (extension side), loaded when a preview opens
// Flags: --production (minify, no source maps), --watch (rebuild on change).
const path = require('node:path');
const esbuild = require('esbuild');
const stopSignals = require('./src/stopSignals.json');

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');

/** Prints errors in the `file:line:col: error` shape VS Code's $esbuild-watch problem matcher reads. */
const problemMatcher = {
	name: 'problem-matcher',
	setup(build) {
		build.onStart(() => console.log('[watch] build started'));
		build.onEnd((result) => {
			for (const { text, location } of result.errors) {
				console.error(`✘ [ERROR] ${text}`);
				if (location) console.error(`    ${location.file}:${location.line}:${location.column}:`);
			}
			console.log('[watch] build finished');
		});
	},
};

const common = {
	bundle: true,
	platform: 'node',
	format: 'cjs',
	target: 'node20',
	minify: production,
	sourcemap: !production,
	sourcesContent: false,
	logLevel: 'warning',
	plugins: watch ? [problemMatcher] : [],
};

/**
 * `systeminformation` is large (about 730 KB); compiling it inside extension.js cost 15–20 ms of activation.
 * It is built into a file of its own, which the lazy `require('systeminformation')` in src/config/detect.ts
 * loads only when detection runs, after activation.
 */
const separateSysteminformation = {
	name: 'separate-systeminformation',
	setup(build) {
		build.onResolve({ filter: /^systeminformation$/ }, () => ({ path: './systeminformation.js', external: true }));
	},
};

/**
 * The engine and csv-parse (about 120 KB) are likewise kept out of extension.js: src/vscode/engine.ts requires the
 * engine on the first extraction, which then loads dist/engine.js. Both bundles take SweepError from dist/errors.js,
 * so an error thrown by the engine is `instanceof SweepError` in the extension.
 */
const separateEngine = {
	name: 'separate-engine',
	setup(build) {
		build.onResolve({ filter: /^\.\.\/engine$/ }, (a) =>
			a.importer.includes(`${path.sep}vscode${path.sep}`) ? { path: './engine.js', external: true } : undefined,
		);
		// The preview likewise: its reader (dist/preview.js) and its panel (dist/previewPanel.js), loaded when a
		// preview first opens.
		build.onResolve({ filter: /^\.\.\/preview$/ }, (a) =>
			a.importer.includes(`${path.sep}vscode${path.sep}`) ? { path: './preview.js', external: true } : undefined,
		);
		build.onResolve({ filter: /^\.\/previewPanel$/ }, (a) =>
			a.importer.endsWith(`${path.sep}vscode${path.sep}preview.ts`)
				? { path: './previewPanel.js', external: true }
				: undefined,
		);
		build.onResolve({ filter: /(^|\/)errors$/ }, (a) =>
			/[\\/]engine[\\/]errors$/.test(path.resolve(a.resolveDir, a.path))
				? { path: './errors.js', external: true }
				: undefined,
		);
	},
};

/**
 * The Parquet writer (hyparquet-writer, about 100 KB) is built into dist/parquet.js: the worker requires it on its
 * first conversion task, so neither CSV runs nor the extension ever load it.
 */
const separateParquet = {
	name: 'separate-parquet',
	setup(build) {
		build.onResolve({ filter: /^\.\/parquet\/convert$/ }, () => ({ path: './parquet.js', external: true }));
	},
};

const builds = [
	{
		...common,
		entryPoints: ['src/extension.ts'],
		outfile: 'dist/extension.js',
		external: ['vscode'],
		plugins: [...common.plugins, separateSysteminformation, separateEngine],
	},
	{
		...common,
		entryPoints: ['src/engine/index.ts'],
		outfile: 'dist/engine.js',
		plugins: [...common.plugins, separateEngine],
	},
	{ ...common, entryPoints: ['src/engine/errors.ts'], outfile: 'dist/errors.js' },
	{
		...common,
		entryPoints: ['src/preview/index.ts'],
		outfile: 'dist/preview.js',
		plugins: [...common.plugins, separateEngine],
	},
	{ ...common, entryPoints: ['src/preview/previewWorker.ts'], outfile: 'dist/previewWorker.js' },
	{
		...common,
		entryPoints: ['src/vscode/previewPanel.ts'],
		outfile: 'dist/previewPanel.js',
		external: ['vscode'],
		plugins: [...common.plugins, separateEngine],
	},
	{
		...common,
		entryPoints: ['src/engine/worker.ts'],
		outfile: 'dist/worker.js',
		plugins: [...common.plugins, separateParquet],
	},
	{ ...common, entryPoints: ['src/engine/sourceWorker.ts'], outfile: 'dist/sourceWorker.js' },
	{ ...common, entryPoints: ['src/engine/coordinator.ts'], outfile: 'dist/coordinator.js' },
	{ ...common, entryPoints: ['src/engine/parquet/convert.ts'], outfile: 'dist/parquet.js' },
	{
		...common,
		entryPoints: ['src/cli.ts'],
		outfile: 'dist/cli.js',
		// The very first statements: a stop signal (src/stopSignals.json: Ctrl-C, SIGTERM, SIGHUP) while the bundle
		// loads ends the process with 130 (nothing has been written yet) instead of the signal's default action (143
		// for SIGTERM). src/cli.ts takes over from these, with the same list.
		banner: {
			js: [
				'#!/usr/bin/env node',
				`const __sweepEarlySignal = () => process.exit(130); for (const s of ${JSON.stringify(stopSignals)}) process.on(s, __sweepEarlySignal); globalThis[Symbol.for('sweep.earlySignal')] = __sweepEarlySignal;`,
			].join('\n'),
		},
		plugins: [...common.plugins, separateSysteminformation],
	},
	{ ...common, entryPoints: [require.resolve('systeminformation')], outfile: 'dist/systeminformation.js' },
];

async function main() {
	const contexts = await Promise.all(builds.map((b) => esbuild.context(b)));
	if (watch) {
		await Promise.all(contexts.map((c) => c.watch()));
		return;
	}
	await Promise.all(contexts.map((c) => c.rebuild()));
	await Promise.all(contexts.map((c) => c.dispose()));
}

main().catch((e) => {
	console.error(e);
	process.exit(1);
});
