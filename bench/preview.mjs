#!/usr/bin/env node
/**
 * Times the preview (issue 17) on the benchmark's trades files: from the command to the first rows (the bounded
 * head read and the first page of the table, what the panel posts before anything else) and to the complete
 * sampled profile (its worker thread started, to the last snapshot). Each run is a fresh Node process loading
 * dist/preview.js, as the extension does on the first preview; the file is in the page cache after the first run,
 * as it is when a user previews a file they just downloaded or generated.
 *
 *   node bench/preview.mjs [--runs 3] [--size normal|big] [--data DIR] [--json]
 *
 * `npm run bench` runs it too (on the files it generated), unless `--no-preview`. Inputs: bench/data/
 * trades-4000000-s12345.csv and, with `--size big`, trades-40000000-s12345.csv (made by `npm run bench` or
 * scripts/gen-trades.mjs; `--data` points elsewhere). The webview's own start-up (~0.1–0.3 s in code-server) is not
 * part of these figures; the UI test (scripts/e2e/runner.mjs) logs the time from the click to rows on screen.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { commandLine, median } from './lib.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const FILES = { normal: 'trades-4000000-s12345.csv', big: 'trades-40000000-s12345.csv' };

/** In the child: time the head and the profile of `file`; print one JSON line. */
async function child(file) {
	const t0 = performance.now();
	const c0 = process.cpuUsage();
	const cpuMs = (since) => {
		const c = process.cpuUsage(since);
		return (c.user + c.system) / 1000;
	};
	const preview = require(path.join(root, 'dist', 'preview.js'));
	const head = await preview.readPreviewHead(file);
	const firstRowsMs = performance.now() - t0;
	const firstRowsCpuMs = cpuMs(c0);
	const c1 = process.cpuUsage();
	if (head.problem || head.rows.length === 0) throw new Error(head.problem?.message ?? 'no rows');
	let last;
	let firstProfileMs;
	const p0 = performance.now();
	const run = preview.startProfile(
		file,
		{},
		(s) => {
			firstProfileMs ??= performance.now() - t0;
			last = s;
		},
		(m) => {
			throw new Error(m);
		},
	);
	const how = await run.finished;
	if (how !== 'done' || !last?.done) throw new Error(`profile ${how}`);
	const profileMs = performance.now() - p0;
	// process.cpuUsage() counts every thread of the process: here the profile's worker (and its start-up).
	const profileCpuMs = cpuMs(c1);
	const symbol = last.columns.find((c) => c.name === 'symbol');
	console.log(
		JSON.stringify({
			firstRowsMs,
			firstRowsCpuMs,
			profileCpuMs,
			headBytes: head.headBytes,
			firstProfileMs,
			profileMs,
			totalMs: performance.now() - t0,
			workerMs: last.elapsedMs,
			records: last.headRecords + last.sampledRecords,
			blocks: last.blocksDone,
			rowsEstimate: last.rows.estimate,
			rowsLow: last.rows.low,
			rowsHigh: last.rows.high,
			symbols: symbol?.distinctEstimate,
		}),
	);
}

const require = (await import('node:module')).createRequire(import.meta.url);

/** Runs `runs` fresh processes per file and returns medians per file, or `{ skipped }`. */
export function measurePreview({ files, runs = 3 }) {
	const bundle = path.join(root, 'dist', 'preview.js');
	if (!existsSync(bundle)) return { skipped: 'dist/preview.js is not built (npm run build)' };
	const out = [];
	for (const file of files) {
		if (!existsSync(file)) {
			out.push({ file, skipped: `${path.relative(root, file)} does not exist` });
			continue;
		}
		const samples = [];
		for (let i = 0; i < runs; i++) {
			const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', file], { encoding: 'utf8' });
			const line = r.stdout.trim().split('\n').pop();
			if (r.status !== 0 || !line?.startsWith('{')) {
				out.push({ file, skipped: `run failed: ${(r.stderr || r.stdout).trim().split('\n').pop()}` });
				break;
			}
			samples.push(JSON.parse(line));
		}
		if (samples.length < runs) continue;
		const m = (k) => median(samples.map((s) => s[k]));
		out.push({
			file,
			bytes: statSync(file).size,
			runs,
			firstRowsMs: m('firstRowsMs'),
			firstRowsCpuMs: m('firstRowsCpuMs'),
			profileCpuMs: m('profileCpuMs'),
			firstProfileMs: m('firstProfileMs'),
			profileMs: m('profileMs'),
			totalMs: m('totalMs'),
			records: samples[0].records,
			blocks: samples[0].blocks,
			rowsEstimate: samples[0].rowsEstimate,
			rowsLow: samples[0].rowsLow,
			rowsHigh: samples[0].rowsHigh,
			symbols: samples[0].symbols,
		});
	}
	return { results: out };
}

const ms = (v) => (v === null || v === undefined ? 'n/a' : `${Math.round(v)} ms`);

/** A Markdown table for results.md. */
export function previewMarkdown(r) {
	if (r.skipped) return `Preview: skipped (${r.skipped}).`;
	const rows = r.results.map((x) =>
		x.skipped
			? `| ${path.basename(x.file)} | skipped: ${x.skipped} | | | | |`
			: `| ${path.basename(x.file)} (${(x.bytes / 1e6).toFixed(0)} MB) | ${ms(x.firstRowsMs)} (CPU ${ms(x.firstRowsCpuMs)}) | ${ms(x.firstProfileMs)} | ` +
				`${ms(x.profileMs)} (CPU ${ms(x.profileCpuMs)}) | ${x.records.toLocaleString('en-US')} in ${x.blocks} blocks | ` +
				`≈ ${x.rowsEstimate.toLocaleString('en-US')} (${x.rowsLow.toLocaleString('en-US')}–${x.rowsHigh.toLocaleString('en-US')}); symbol ≈ ${x.symbols} |`,
	);
	return [
		`Preview (medians of ${r.results.find((x) => x.runs)?.runs ?? 0} fresh processes; the webview's own start-up not included):`,
		'',
		'| file | first rows (wall, CPU) | first profile figures | complete profile (wall, CPU) | records sampled | estimates |',
		'| --- | ---: | ---: | ---: | ---: | --- |',
		...rows,
		'',
		"Targets: first rows under 1 s on any size; the sampled profile of the 3 GB file under 3 s. CPU is the process's" +
			' user + system time over the same span (all threads): what the wall time comes to on an otherwise idle core.',
	].join('\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
	const { values, positionals } = commandLine(import.meta.url, {
		allowPositionals: true,
		options: {
			child: { type: 'boolean', default: false },
			runs: { type: 'string', default: '3' },
			size: { type: 'string', default: 'normal' },
			data: { type: 'string', default: path.join(root, 'bench', 'data') },
			json: { type: 'boolean', default: false },
		},
	});
	if (values.child) {
		await child(positionals[0]);
	} else {
		const names = values.size === 'big' ? [FILES.normal, FILES.big] : [FILES.normal];
		const r = measurePreview({
			files: names.map((n) => path.join(path.resolve(values.data), n)),
			runs: Number(values.runs),
		});
		console.log(values.json ? JSON.stringify(r) : previewMarkdown(r));
		if (r.skipped || r.results.some((x) => x.skipped)) process.exitCode = 1;
	}
}
