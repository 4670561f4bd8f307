#!/usr/bin/env node
/**
 * Per-thread CPU and the calling thread's event-loop delay during one in-process extraction (issue 18).
 *
 *   npm run build && node bench/threads.cjs [--input FILE] [--workers N] [--chunk-size N] [--runs N]
 *
 * Runs `extract()` from dist/engine.js in this process (as VS Code's extension host does) on FILE (default: the
 * benchmark's 4M-row file, bench/data/trades-4000000.csv, made by `npm run bench`), samples every thread's CPU time
 * from /proc/self/task/<tid>/stat every 250 ms, and measures this thread's event-loop delay with
 * perf_hooks.monitorEventLoopDelay (10 ms resolution; the figures printed are the delay beyond it). Linux only.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { monitorEventLoopDelay } = require('node:perf_hooks');
const { parseArgs } = require('node:util');

const root = path.resolve(__dirname, '..');
const { values: opt } = parseArgs({
	options: {
		input: { type: 'string', default: path.join(root, 'bench', 'data', 'trades-4000000.csv') },
		workers: { type: 'string', default: '1' },
		'chunk-size': { type: 'string', default: '100000' },
		runs: { type: 'string', default: '3' },
	},
});
const engine = require(path.join(root, 'dist', 'engine.js'));
const RESOLUTION_MS = 10;

/** CPU seconds (user + system) of each thread of this process, by thread id. */
function threadCpu() {
	const out = new Map();
	for (const tid of fs.readdirSync('/proc/self/task')) {
		try {
			const stat = fs.readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
			const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
			out.set(tid, (Number(f[11]) + Number(f[12])) / 100);
		} catch {
			// the thread ended between readdir and read
		}
	}
	return out;
}

async function once(run) {
	const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sweep-threads-'));
	const before = threadCpu();
	const last = new Map();
	const sample = setInterval(() => {
		for (const [tid, cpu] of threadCpu()) last.set(tid, cpu - (before.get(tid) ?? 0));
	}, 250);
	const delay = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
	delay.enable();
	const started = process.hrtime.bigint();
	const m = await engine.extract({
		input: opt.input,
		outDir: path.join(outDir, 'out'),
		workers: Number(opt.workers),
		chunkSize: Number(opt['chunk-size']),
	});
	const wall = Number(process.hrtime.bigint() - started) / 1e9;
	delay.disable();
	clearInterval(sample);
	for (const [tid, cpu] of threadCpu()) last.set(tid, cpu - (before.get(tid) ?? 0));
	fs.rmSync(outDir, { recursive: true, force: true });
	const self = String(process.pid);
	const others = [...last].filter(([tid]) => tid !== self).map(([, cpu]) => cpu);
	const beyond = (ns) => Math.max(0, ns / 1e6 - RESOLUTION_MS).toFixed(1);
	const bytes = fs.statSync(opt.input).size;
	console.log(
		`run ${run}: ${m.rowsRead.toLocaleString('en-US')} rows, ${(bytes / 2 ** 20).toFixed(0)} MB in ${wall.toFixed(2)} s; ` +
			`calling thread CPU ${(last.get(self) ?? 0).toFixed(2)} s, event-loop delay p50 ${beyond(delay.percentile(50))} ms, ` +
			`p99 ${beyond(delay.percentile(99))} ms, max ${beyond(delay.max)} ms; busiest other thread ${Math.max(...others).toFixed(2)} s; ` +
			`threads over 0.1 s: ${others
				.filter((c) => c > 0.1)
				.sort((a, b) => b - a)
				.map((c) => c.toFixed(2))
				.join(' ')}`,
	);
}

(async () => {
	if (!fs.existsSync(opt.input)) {
		console.error(`bench/threads: ${opt.input} does not exist; run \`npm run bench\` once, or pass --input FILE.`);
		process.exit(2);
	}
	for (let i = 1; i <= Number(opt.runs); i++) await once(i);
})().catch((e) => {
	console.error(e);
	process.exit(1);
});
