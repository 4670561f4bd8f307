#!/usr/bin/env node
/**
 * Per-thread CPU and the calling thread's event-loop delay during in-process extractions (issue 18).
 *
 *   npm run build && node bench/threads.cjs [--input FILE] [--workers N[,N…]] [--chunk-size N] [--runs N]
 *                                            [--scaling] [--markdown FILE]
 *
 * Runs `extract()` from dist/engine.js in this process (as VS Code's extension host does) on FILE (default: the
 * 12M-row benchmark file bench/data/trades-12000000-s12345.csv when present, else the 4M-row one made by
 * `npm run bench`), samples every thread's CPU time from /proc/self/task/<tid>/stat every 20 ms on a
 * sampling thread of its own (left out of the figures), and measures the calling
 * thread's event-loop delay with perf_hooks.monitorEventLoopDelay (10 ms resolution; the figures printed are the
 * delay beyond it). Linux only.
 *
 * Each thread of the run says what it is (coordinator, worker, source — the decompression thread —, hasher — the
 * input's SHA-256) through SWEEP_THREAD_ROLES (src/engine/threadRole.ts); workers are numbered in the order they
 * started. Other threads (libuv's pool, which also runs gzip inflation, V8's helpers) count as "other".
 *
 * --scaling runs once at each worker count of --workers (default 1,2,16) and prints the projection of issue 18:
 * projected N-core throughput = bytes / max(busiest thread's CPU at N workers, total CPU at 2 workers ÷ N), for
 * N = 4, 8, 16 (the busiest thread at the most workers measured when N was not).
 * The busiest thread bounds any machine (it cannot be split); the total CPU at 2 workers ÷ N is the work spread
 * over N cores. Also printed: the projection without the input's SHA-256 thread, the bound that thread alone sets,
 * and 2 workers ÷ 1 worker against the most this machine's cores allow. --markdown FILE also writes the table as Markdown (bench/run.mjs includes it in its results).
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { monitorEventLoopDelay } = require('node:perf_hooks');
const { parseArgs } = require('node:util');

const root = path.resolve(__dirname, '..');
const dataDir = path.join(root, 'bench', 'data');
const defaultInput = ['trades-12000000-s12345.csv', 'trades-4000000-s12345.csv', 'trades-4000000.csv']
	.map((f) => path.join(dataDir, f))
	.find((f) => fs.existsSync(f));
const { values: opt } = parseArgs({
	options: {
		input: { type: 'string', default: defaultInput ?? path.join(dataDir, 'trades-4000000-s12345.csv') },
		workers: { type: 'string' },
		'chunk-size': { type: 'string', default: '100000' },
		runs: { type: 'string' },
		scaling: { type: 'boolean', default: false },
		markdown: { type: 'string' },
	},
});
const engine = require(path.join(root, 'dist', 'engine.js'));
const RESOLUTION_MS = 10;
const SAMPLE_MS = 20;
const PROJECT_CORES = [4, 8, 16];

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

/**
 * Samples every thread's CPU every SAMPLE_MS on a thread of its own (so that sampling costs the calling thread
 * nothing), keeping each thread's last value: threads that end before the run does (the workers) keep theirs.
 */
const SAMPLER = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const last = new Map();
const take = () => {
	for (const tid of fs.readdirSync('/proc/self/task')) {
		try {
			const stat = fs.readFileSync('/proc/self/task/' + tid + '/stat', 'utf8');
			const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
			last.set(tid, (Number(f[11]) + Number(f[12])) / 100);
		} catch {}
	}
};
const self = fs.readFileSync('/proc/thread-self/stat', 'utf8').split(' ')[0];
const timer = setInterval(take, workerData);
parentPort.on('message', () => {
	clearInterval(timer);
	take();
	parentPort.postMessage({ self, last });
	parentPort.close();
});
parentPort.postMessage({ self });
`;

function startSampler() {
	const { Worker } = require('node:worker_threads');
	const w = new Worker(SAMPLER, { eval: true, workerData: SAMPLE_MS });
	const first = new Promise((resolve) => w.once('message', resolve));
	return first.then(({ self }) => ({
		self,
		stop: () =>
			new Promise((resolve) => {
				w.once('message', (m) => resolve(m.last));
				w.postMessage('stop');
			}),
	}));
}

/** One extraction with `workers` workers: wall time, each thread's CPU by role, event-loop delay. */
async function once(workers) {
	const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sweep-threads-'));
	await fs.promises.stat(opt.input); // libuv's thread pool exists before the run, so it is not taken for a run thread
	const sampler = await startSampler();
	const before = threadCpu();
	const cpuBefore = process.cpuUsage();
	const delay = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
	delay.enable();
	// Each thread of the run says what it is (src/engine/threadRole.ts).
	const rolesFile = path.join(outDir, 'roles');
	process.env.SWEEP_THREAD_ROLES = rolesFile;
	const started = process.hrtime.bigint();
	const m = await engine.extract({
		input: opt.input,
		outDir: path.join(outDir, 'out'),
		workers,
		chunkSize: Number(opt['chunk-size']),
	});
	const wall = Number(process.hrtime.bigint() - started) / 1e9;
	delay.disable();
	const cpu = process.cpuUsage(cpuBefore);
	const last = new Map();
	for (const [tid, c] of await sampler.stop()) last.set(tid, c - (before.get(tid) ?? 0));
	delete process.env.SWEEP_THREAD_ROLES;
	const announced = fs.existsSync(rolesFile)
		? fs
				.readFileSync(rolesFile, 'utf8')
				.trim()
				.split('\n')
				.map((l) => l.split(' '))
		: [];
	fs.rmSync(outDir, { recursive: true, force: true });
	const self = String(process.pid);
	const roles = new Map();
	roles.set(self, 'calling');
	roles.set(sampler.self, 'sampler');
	// Workers numbered in the order they started; threads that did not announce themselves (libuv's, V8's) are "other".
	let nWorkers = 0;
	for (const [tid, role] of announced.sort((a, b) => Number(a[0]) - Number(b[0]))) {
		roles.set(tid, role === 'worker' ? `worker ${++nWorkers}` : role);
	}
	const threads = [...last]
		.filter(([tid]) => tid !== sampler.self)
		.map(([tid, s]) => ({ tid, role: roles.get(tid) ?? 'other', cpu: s }))
		.sort((a, b) => b.cpu - a.cpu);
	const beyond = (ns) => Math.max(0, ns / 1e6 - RESOLUTION_MS);
	return {
		workers,
		rows: m.rowsRead,
		bytes: fs.statSync(opt.input).size,
		wall,
		// the process's CPU (threads that ended included) without the sampler's
		total: (cpu.user + cpu.system) / 1e6 - (last.get(sampler.self) ?? 0),
		threads,
		busiest: threads[0],
		calling: last.get(self) ?? 0,
		coordinator: threads.find((t) => t.role === 'coordinator')?.cpu ?? 0,
		workerCpu: threads.filter((t) => t.role.startsWith('worker')).map((t) => t.cpu),
		// every thread but the calling one, the coordinator and the workers: the hashing and decompression threads
		// (also listed on their own), libuv's pool, V8's helpers
		other: threads
			.filter((t) => t.role !== 'calling' && t.role !== 'coordinator' && !t.role.startsWith('worker'))
			.reduce((s, t) => s + t.cpu, 0),
		helpers: threads.filter((t) => t.role === 'hasher' || t.role === 'source'),
		p50: beyond(delay.percentile(50)),
		p99: beyond(delay.percentile(99)),
		max: beyond(delay.max),
	};
}

const f2 = (v) => v.toFixed(2);

function describe(r) {
	const ws = r.workerCpu;
	return (
		`${r.workers} worker${r.workers === 1 ? '' : 's'}: ${r.rows.toLocaleString('en-US')} rows, ${(r.bytes / 1e6).toFixed(0)} MB ` +
		`in ${f2(r.wall)} s; CPU total ${f2(r.total)} s — calling ${f2(r.calling)}, coordinator ${f2(r.coordinator)}, ` +
		`workers ${ws.length ? `${f2(Math.min(...ws))}–${f2(Math.max(...ws))} (Σ ${f2(ws.reduce((s, c) => s + c, 0))})` : 'n/a'}, ` +
		`other ${f2(r.other)}${r.helpers.length ? ` (${r.helpers.map((t) => `${t.role} ${f2(t.cpu)}`).join(', ')})` : ''}; busiest: ${r.busiest.role} ${f2(r.busiest.cpu)} s; ` +
		`event-loop delay p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms, max ${r.max.toFixed(1)} ms`
	);
}

/** Issue 18's projection from the runs at 2 workers and at each core count (or the most workers measured). */
function projection(results) {
	const at = (n) => results.find((r) => r.workers === n);
	const two = at(2);
	if (!two) return null;
	const most = results.reduce((a, b) => (b.workers > a.workers ? b : a));
	return PROJECT_CORES.map((cores) => {
		const r = at(cores) ?? most;
		const spread = two.total / cores;
		const bound = Math.max(r.busiest.cpu, spread);
		// The same without the input's SHA-256 thread: what every other thread allows (see hashFloor).
		const other = r.threads.find((t) => t.role !== 'hasher') ?? r.busiest;
		return {
			cores,
			busiest: r.busiest,
			busiestAt: r.workers,
			spread,
			gbPerS: r.bytes / bound / 1e9,
			limit: r.busiest.cpu >= spread ? `${r.busiest.role} thread` : 'total CPU',
			other,
			gbPerSWithoutHash: r.bytes / Math.max(other.cpu, spread) / 1e9,
		};
	});
}

/**
 * The input's SHA-256 (manifest `inputs[].sha256`, issue 16's contract) is one chain over every byte of a plain
 * input, on one thread: bytes ÷ that thread's CPU at the most workers bounds any number of cores.
 */
function hashFloor(results) {
	const most = results.reduce((a, b) => (b.workers > a.workers ? b : a));
	const hasher = most.threads.find((t) => t.role === 'hasher');
	return hasher ? { cpu: hasher.cpu, gbPerS: most.bytes / hasher.cpu / 1e9, at: most.workers } : null;
}

/**
 * 2 workers over 1 worker: measured, and the most this machine allows: a run can at best spread its CPU over every
 * core, so wall at 2 workers ≥ total CPU at 2 workers ÷ cores; 1 worker already uses total ÷ wall cores (the
 * coordinator and the hashing thread run beside it).
 */
function twoOverOne(results) {
	const one = results.find((r) => r.workers === 1);
	const two = results.find((r) => r.workers === 2);
	if (!one || !two) return null;
	const cores = os.availableParallelism();
	return {
		measured: one.wall / two.wall,
		ceiling: one.wall / (two.total / cores),
		coresAtOne: one.total / one.wall,
		cores,
	};
}

const floorText = (f) =>
	`The input's SHA-256 thread (manifest \`inputs[].sha256\`, one chain over the file): ${f2(f.cpu)} s at ${f.at} workers, so at most ${f.gbPerS.toFixed(2)} GB/s on any number of cores.`;
const ratioText = (r) =>
	`2 workers ÷ 1 worker: ${r.measured.toFixed(2)}× measured; at most ${r.ceiling.toFixed(2)}× on these ${r.cores} cores (1 worker already keeps ${r.coresAtOne.toFixed(2)} cores busy).`;

function markdown(results, proj, floor, ratio) {
	const load = os
		.loadavg()
		.map((l) => l.toFixed(2))
		.join(' ');
	const r0 = results[0];
	const lines = [
		`### Per-thread CPU (bench/threads.cjs, in-process \`extract()\`, ${(r0.bytes / 1e6).toFixed(0)} MB, ` +
			`${r0.rows.toLocaleString('en-US')} rows, chunk size ${Number(opt['chunk-size']).toLocaleString('en-US')}, ` +
			`${os.availableParallelism()} cores, load average ${load} at the end)`,
		'',
		'| workers | wall s | CPU total s | calling s | coordinator s | workers s (min–max) | other s (of which hashing, decompression) | busiest thread s | event-loop p99 ms |',
		'|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
		...results.map((r) => {
			const ws = r.workerCpu;
			return `| ${r.workers} | ${f2(r.wall)} | ${f2(r.total)} | ${f2(r.calling)} | ${f2(r.coordinator)} | ${
				ws.length ? `${f2(Math.min(...ws))}–${f2(Math.max(...ws))}` : 'n/a'
			} | ${f2(r.other)}${r.helpers.length ? ` (${r.helpers.map((t) => `${t.role} ${f2(t.cpu)}`).join(', ')})` : ''} | ${r.busiest.role} ${f2(r.busiest.cpu)} | ${r.p99.toFixed(1)} |`;
		}),
	];
	if (proj) {
		lines.push(
			'',
			'Projected throughput = bytes / max(busiest thread CPU at N workers, total CPU at 2 workers ÷ N):',
			'',
			'| cores | busiest thread (at N workers) s | total CPU at 2 workers ÷ N s | projected GB/s | bound by | without the SHA-256 thread GB/s |',
			'|---:|---:|---:|---:|---|---:|',
			...proj.map(
				(p) =>
					`| ${p.cores} | ${p.busiest.role} ${f2(p.busiest.cpu)}${p.busiestAt === p.cores ? '' : ` (at ${p.busiestAt})`} | ${f2(p.spread)} | ${p.gbPerS.toFixed(2)} | ${p.limit} | ${p.gbPerSWithoutHash.toFixed(2)} (${p.other.role} ${f2(p.other.cpu)}) |`,
			),
		);
	}
	if (floor || ratio) lines.push('');
	if (floor) lines.push(`- ${floorText(floor)}`);
	if (ratio) lines.push(`- ${ratioText(ratio)}`);
	return lines.join('\n');
}

(async () => {
	if (!fs.existsSync(opt.input)) {
		console.error(`bench/threads: ${opt.input} does not exist; run \`npm run bench\` once, or pass --input FILE.`);
		process.exit(2);
	}
	const counts = (opt.workers ?? (opt.scaling ? '1,2,16' : '1')).split(',').map(Number);
	const runs = Number(opt.runs ?? (opt.scaling ? 1 : 3));
	const results = [];
	for (const w of counts) {
		for (let i = 1; i <= runs; i++) {
			const r = await once(w);
			console.log(describe(r));
			if (i === runs) results.push(r);
		}
	}
	if (opt.scaling || opt.markdown) {
		const proj = projection(results);
		if (proj) {
			for (const p of proj)
				console.log(
					`projected ${p.cores} cores: ${p.gbPerS.toFixed(2)} GB/s (busiest ${p.busiest.role} ${f2(p.busiest.cpu)} s at ${p.busiestAt} workers, total at 2 workers ÷ ${p.cores} = ${f2(p.spread)} s; bound by ${p.limit}); without the SHA-256 thread ${p.gbPerSWithoutHash.toFixed(2)} GB/s (${p.other.role} ${f2(p.other.cpu)} s)`,
				);
		}
		const floor = hashFloor(results);
		if (floor) console.log(floorText(floor));
		const ratio = twoOverOne(results);
		if (ratio) console.log(ratioText(ratio));
		const md = markdown(results, proj, floor, ratio);
		if (opt.markdown) fs.writeFileSync(opt.markdown, `${md}\n`);
	}
})().catch((e) => {
	console.error(e);
	process.exit(1);
});
