// Builds the CommonJS bundles Sweep ships:
//   dist/extension.js         the VS Code extension (vscode is provided by the host, so external)
//   dist/worker.js            the worker_threads entry the pool starts (must never pull in vscode)
//   dist/cli.js               the command-line interface on the same engine
//   dist/systeminformation.js loaded lazily by both, only when detection runs
// Flags: --production (minify, no source maps), --watch (rebuild on change).
const esbuild = require('esbuild');

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

const builds = [
	{
		...common,
		entryPoints: ['src/extension.ts'],
		outfile: 'dist/extension.js',
		external: ['vscode'],
		plugins: [...common.plugins, separateSysteminformation],
	},
	{ ...common, entryPoints: ['src/engine/worker.ts'], outfile: 'dist/worker.js' },
	{
		...common,
		entryPoints: ['src/cli.ts'],
		outfile: 'dist/cli.js',
		banner: { js: '#!/usr/bin/env node' },
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
