/**
 * Helpers shared by the benchmark scripts: counting CSV records in output files, checking a run's
 * output against the generator's truth file, summarising CPU profiles, statistics.
 */
import { spawnSync } from 'node:child_process';
import {
	closeSync,
	existsSync,
	mkdirSync,
	openSync,
	readdirSync,
	readFileSync,
	readSync,
	renameSync,
	rmSync,
	statfsSync,
	statSync,
} from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

/**
 * A bench script's command line (node:util parseArgs), with `--help`/`-h` printing the script's opening comment
 * (its usage) and a mistyped option stopping with one line and exit 2 instead of a stack trace.
 * @param {string} scriptUrl the script's `import.meta.url`
 * @param {import('node:util').ParseArgsConfig} config
 */
export function commandLine(scriptUrl, config) {
	const file = fileURLToPath(scriptUrl);
	const name = path.relative(process.cwd(), file) || path.basename(file);
	try {
		const parsed = parseArgs({ ...config, options: { ...config.options, help: { type: 'boolean', short: 'h' } } });
		if (parsed.values.help) {
			const text = readFileSync(file, 'utf8');
			const doc = /\/\*\*([\s\S]*?)\*\//.exec(text);
			const usage = doc ? doc[1].split('\n').map((l) => l.replace(/^\s*\* ?/, '')) : [`${name}: no usage written`];
			console.log(usage.join('\n').trim());
			process.exit(0);
		}
		return parsed;
	} catch (e) {
		console.error(`${name}: ${e instanceof Error ? e.message : String(e)} (--help lists the options)`);
		process.exit(2);
	}
}

const LF = 10;
const QUOTE = 34;
const READ_BYTES = 8 << 20;

/**
 * The environment of every timed run, the same for each system: Sweep's own overrides and Node's options out (the
 * figures are the ones a run detects), and NODE_EXTRA_CA_CERTS out. That one tells Node to trust extra TLS
 * certificates, which it loads when the process starts, whatever the process does: about 90 ms per Node process on
 * the sandbox this benchmark was developed in, which sets it. Sweep's CLI and DuckDB's runner (bench/
 * duckdb-partition.mjs) are both Node processes, and neither makes a network connection.
 */
export function timedEnv() {
	const env = { ...process.env };
	for (const k of ['SWEEP_WORKERS', 'SWEEP_CHUNK_SIZE', 'NODE_OPTIONS', 'BENCH_RSS_OUT', 'NODE_EXTRA_CA_CERTS'])
		delete env[k];
	return env;
}

/**
 * Counts the CSV records in a file (RFC 4180 quoting: line breaks inside quotes do not end a record;
 * `""` toggles the quote state twice, so parity is enough). Streams the file in 8 MiB reads.
 * @param {string} file
 * @returns {{ records: number, header: string }} records including the header line; the header's text
 */
export function countRecords(file) {
	const fd = openSync(file, 'r');
	const buf = Buffer.allocUnsafe(READ_BYTES);
	let records = 0;
	let inQuote = false;
	let pendingData = false;
	let header = '';
	try {
		const first = readSync(fd, buf, 0, 1 << 16, 0);
		const end = buf.subarray(0, first).indexOf(LF);
		header = buf.toString('utf8', 0, end === -1 ? first : end).replace(/\r$/, '');
		for (;;) {
			const n = readSync(fd, buf, 0, READ_BYTES, null);
			if (n === 0) break;
			const chunk = buf.subarray(0, n);
			let i = 0;
			let q = chunk.indexOf(QUOTE);
			while (i < n) {
				if (inQuote) {
					if (q === -1) {
						i = n;
						break;
					}
					inQuote = false;
					i = q + 1;
					q = chunk.indexOf(QUOTE, i);
					continue;
				}
				const nl = chunk.indexOf(LF, i);
				if (q !== -1 && (nl === -1 || q < nl)) {
					inQuote = true;
					pendingData = true;
					i = q + 1;
					q = chunk.indexOf(QUOTE, i);
					continue;
				}
				if (nl === -1) {
					pendingData = true;
					i = n;
					break;
				}
				records++;
				pendingData = false;
				i = nl + 1;
			}
		}
	} finally {
		closeSync(fd);
	}
	if (pendingData) records++;
	return { records, header };
}

/**
 * Compares per-symbol data-row counts with the truth. Returns a list of problems (empty when right).
 * @param {Map<string, number>} counted rows per symbol found in the output
 * @param {{ rows: number, symbols: Record<string, { rows: number }> }} truth
 */
export function compareCounts(counted, truth) {
	const problems = [];
	const expected = Object.entries(truth.symbols);
	for (const [sym, { rows }] of expected) {
		const got = counted.get(sym) ?? 0;
		if (got !== rows) problems.push(`${sym}: ${got} rows, expected ${rows}`);
	}
	for (const sym of counted.keys()) if (!(sym in truth.symbols)) problems.push(`unexpected partition ${sym}`);
	const total = [...counted.values()].reduce((a, b) => a + b, 0);
	if (total !== truth.rows) problems.push(`${total} rows in all, expected ${truth.rows}`);
	return problems.slice(0, 10);
}

/** Checks Sweep's output folder: manifest, partition files (rows counted in the files), nothing else. */
export function verifySweep(outDir, truth, header) {
	const manifestPath = path.join(outDir, '_manifest.json');
	if (!existsSync(manifestPath)) return [`no _manifest.json in ${outDir}`];
	const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
	const problems = [];
	if (manifest.rowsRead !== truth.rows) problems.push(`manifest rowsRead ${manifest.rowsRead}, expected ${truth.rows}`);
	if (manifest.rowsWritten !== truth.rows)
		problems.push(`manifest rowsWritten ${manifest.rowsWritten}, expected ${truth.rows}`);
	if (manifest.rowsRejected !== 0) problems.push(`manifest rowsRejected ${manifest.rowsRejected}`);
	const counted = new Map();
	const files = new Set();
	// The files' header: the input's, or the manifest's columns when some were left out (hive layout, --columns).
	const expected =
		manifest.columns && manifest.columns.length !== header.split(',').length ? manifest.columns.join(',') : header;
	const cap = manifest.maxRowsPerFile ?? null;
	for (const p of manifest.partitions ?? []) {
		if (!p.file) continue;
		const list = p.files ?? [{ file: p.file, rows: p.rows }];
		let rows = 0;
		for (const f of list) {
			files.add(f.file);
			const { records, header: h } = countRecords(path.join(outDir, f.file));
			if (h !== expected) problems.push(`${f.file}: header ${JSON.stringify(h)}`);
			if (records - 1 !== f.rows) problems.push(`${f.file}: ${records - 1} rows, manifest says ${f.rows}`);
			if (cap !== null && f.rows > cap) problems.push(`${f.file}: ${f.rows} rows, over the cap of ${cap}`);
			rows += records - 1;
		}
		if (rows !== p.rows) problems.push(`${p.file}: ${rows} rows in its files, manifest says ${p.rows}`);
		counted.set(p.key[0], (counted.get(p.key[0]) ?? 0) + rows);
	}
	for (const f of walk(outDir)) {
		if (!f.startsWith('_') && !files.has(f)) problems.push(`file ${f} not in the manifest`);
	}
	return [...problems, ...compareCounts(counted, truth)].slice(0, 10);
}

/** Relative paths (with `/`) of the files under `dir`. */
function walk(dir, under = '') {
	const out = [];
	for (const e of readdirSync(path.join(dir, under), { withFileTypes: true })) {
		const rel = under ? `${under}/${e.name}` : e.name;
		if (e.isDirectory()) out.push(...walk(dir, rel));
		else out.push(rel);
	}
	return out;
}

/** Checks DuckDB's hive-partitioned output: `symbol=<value>/[…/]data_*.csv`, each file with a header. */
export function verifyDuckdb(outDir, truth) {
	const counted = new Map();
	for (const f of walk(outDir)) {
		if (!f.startsWith('symbol=')) return [`unexpected entry ${f}`];
		const sym = decodeURIComponent(f.slice('symbol='.length, f.indexOf('/')));
		const { records } = countRecords(path.join(outDir, f));
		counted.set(sym, (counted.get(sym) ?? 0) + Math.max(0, records - 1));
	}
	return compareCounts(counted, truth);
}

/** Checks the csv-parse baseline's output: `<encodeURIComponent(symbol)>.csv`, each with the header. */
export function verifyBaseline(outDir, truth, header) {
	const counted = new Map();
	const problems = [];
	for (const f of readdirSync(outDir)) {
		const { records, header: h } = countRecords(path.join(outDir, f));
		if (h !== header) problems.push(`${f}: header ${JSON.stringify(h)}`);
		counted.set(decodeURIComponent(f.replace(/\.csv$/, '')), records - 1);
	}
	return [...problems, ...compareCounts(counted, truth)].slice(0, 10);
}

/** Median of numbers (the mean of the middle two for an even count). */
export function median(values) {
	const s = [...values].sort((a, b) => a - b);
	if (s.length === 0) return Number.NaN;
	const m = s.length >> 1;
	return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Self time per function from a V8 `.cpuprofile` (each sample is charged the time until the next one).
 * @param {string} file
 * @returns {{ totalMs: number, functions: { name: string, where: string, selfMs: number }[] }}
 */
export function summariseProfile(file) {
	const profile = JSON.parse(readFileSync(file, 'utf8'));
	const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
	const self = new Map();
	const { samples, timeDeltas } = profile;
	for (let i = 0; i < samples.length; i++) {
		const dt = (i + 1 < timeDeltas.length ? timeDeltas[i + 1] : 0) / 1000;
		const n = nodes.get(samples[i]);
		const cf = n.callFrame;
		const url = cf.url ? cf.url.replace(/^file:\/\//, '') : '';
		const where = url ? `${path.basename(url)}:${cf.lineNumber + 1}` : '';
		const key = `${cf.functionName || '(anonymous)'}\u0000${where}`;
		self.set(key, (self.get(key) ?? 0) + dt);
	}
	const functions = [...self]
		.map(([k, selfMs]) => {
			const [name, where] = k.split('\u0000');
			return { name, where, selfMs };
		})
		.sort((a, b) => b.selfMs - a.selfMs);
	return { totalMs: (profile.endTime - profile.startTime) / 1000, functions };
}

/** Total size in bytes of the files under a folder. */
export function folderBytes(dir) {
	let total = 0;
	for (const e of readdirSync(dir, { withFileTypes: true })) {
		const p = path.join(dir, e.name);
		total += e.isDirectory() ? folderBytes(p) : statSync(p).size;
	}
	return total;
}

/**
 * Where a script puts the outputs of its timed runs once it is done with them: moved into `<runsDir>/trash`, not
 * deleted, until the script ends (`empty()`), or sooner when the disk holds less than `keepFreeBytes` more.
 *
 * Why: on ext4 without a journal (this project's machines), creating a file skips the inodes freed in the last
 * 30 seconds (5 minutes while their inode-table block is not yet written; fs/ext4/ialloc.c, `recently_deleted()`),
 * so a run right after deleting the previous run's 1,500–3,500 files paid 0.2–0.4 ms of kernel time for each file
 * it created (measured: 1,500 files in a fresh folder 250–400 ms right after such a deletion, 42 ms 35 s later;
 * ~1 s of a hive run by `symbol,date(timestamp)`). That is a cost of the benchmark, not of the tools: each system
 * now writes into a folder with no deletion just before it. When the trash is emptied mid-run, the next run waits
 * until the deleted inodes are 35 s old (after a `sync`).
 */
export function outputTrash(runsDir, { keepFreeBytes = 8e9, log = () => {} } = {}) {
	const dir = path.join(runsDir, 'trash');
	let n = 0;
	let emptiedAt = 0;
	const empty = () => {
		if (!existsSync(dir)) return;
		rmSync(dir, { recursive: true, force: true });
		spawnSync('sync');
		emptiedAt = Date.now();
	};
	return {
		/** Moves `target` (a file or folder on the same disk as `runsDir`) out of the way, if it exists. */
		discard(target) {
			if (!existsSync(target)) return;
			mkdirSync(dir, { recursive: true });
			renameSync(target, path.join(dir, `${n++}-${path.basename(target)}`));
			const { bavail, bsize } = statfsSync(dir);
			if (bavail * bsize < keepFreeBytes) {
				log(`  (emptying ${path.relative(process.cwd(), dir)}: less than ${keepFreeBytes / 1e9} GB free)`);
				empty();
			}
		},
		/** Says that files were deleted just now (by someone else): `settle` waits for them too. */
		deleted() {
			emptiedAt = Date.now();
		},
		/** Before a timed run: waits until inodes deleted by emptying the trash (or `deleted`) are 35 s old. */
		settle() {
			const wait = emptiedAt + 35_000 - Date.now();
			if (wait > 0) spawnSync('sleep', [String(wait / 1000)]);
		},
		/** Deletes everything discarded (at the end, and at the start for an earlier script's leftovers). */
		empty,
	};
}
