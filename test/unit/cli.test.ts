import * as assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { type CliIO, parseCommandLine, run } from '../../src/cli';
import { SweepError } from '../../src/engine/errors';

// Compiled to out/test/unit/: the repository root is three levels up.
const root = path.resolve(__dirname, '..', '..', '..');
const CLI = path.join(root, 'dist', 'cli.js');

interface Result {
	code: number | null;
	signal: NodeJS.Signals | null;
	stdout: string;
	stderr: string;
}

/** The environment without any SWEEP_* variable of the test runner's own. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
	const env: NodeJS.ProcessEnv = {};
	for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('SWEEP_')) env[k] = v;
	return { ...env, ...extra };
}

function start(args: string[], env: Record<string, string> = {}, cwd = root): ChildProcess {
	return spawn(process.execPath, [CLI, ...args], { cwd, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
}

function finish(child: ChildProcess): Promise<Result> {
	let stdout = '';
	let stderr = '';
	child.stdout!.on('data', (d) => {
		stdout += d;
	});
	child.stderr!.on('data', (d) => {
		stderr += d;
	});
	return new Promise((resolve, reject) => {
		child.on('error', reject);
		child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
	});
}

function sweep(args: string[], env: Record<string, string> = {}, cwd = root): Promise<Result> {
	return finish(start(args, env, cwd));
}

/** A usage error: exit 2, exactly one line on stderr, nothing on stdout. */
function assertUsageError(r: Result, pattern: RegExp): void {
	assert.equal(r.code, 2, `exit status; stderr: ${r.stderr}`);
	assert.equal(r.stdout, '');
	assert.match(r.stderr, /^sweep: error: [^\n]+\n$/);
	assert.match(r.stderr, pattern);
}

function requireBuiltCli(): void {
	if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` before the CLI tests`);
}

describe('cli: argument parsing', () => {
	function usage(argv: string[]): string {
		try {
			parseCommandLine(argv);
		} catch (e) {
			assert.ok(e instanceof SweepError && e.code === 'usage' && e.exitCode === 2, String(e));
			return e.message;
		}
		assert.fail(`no usage error for ${JSON.stringify(argv)}`);
	}

	it('parses every extract option', () => {
		const cmd = parseCommandLine([
			'extract',
			'in.tsv',
			'--out',
			'o',
			'--partition-by',
			'symbol, date(timestamp)',
			'--orders',
			'orders.csv',
			'--map',
			'symbol=ticker',
			'--map=timestamp=ts',
			'--delimiter',
			'tab',
			'--workers',
			'3',
			'--chunk-size',
			'auto',
			'--force',
			'--json',
			'--max-rejects',
			'0',
			'--max-partitions',
			'10',
			'--strict-utf8',
		]);
		assert.deepEqual(cmd, {
			kind: 'extract',
			json: true,
			workers: '3',
			chunkSize: 'auto',
			options: {
				input: 'in.tsv',
				outDir: 'o',
				partitionBy: ['symbol', 'date(timestamp)'],
				mapping: { symbol: 'ticker', timestamp: 'ts' },
				ordersFile: 'orders.csv',
				delimiter: '\t',
				force: true,
				maxRejects: 0,
				maxPartitions: 10,
				strictUtf8: true,
			},
		});
	});

	it('leaves unset options to the engine defaults', () => {
		assert.deepEqual(parseCommandLine(['extract', 'a.csv']), {
			kind: 'extract',
			json: false,
			workers: undefined,
			chunkSize: undefined,
			options: {
				input: 'a.csv',
				outDir: undefined,
				partitionBy: undefined,
				mapping: undefined,
				ordersFile: null,
				delimiter: null,
				force: false,
				maxRejects: null,
				strictUtf8: false,
			},
		});
	});

	it('accepts tab as tab, \\t or the character itself, and any single character', () => {
		for (const d of ['tab', 'TAB', '\\t', '\t']) {
			const cmd = parseCommandLine(['extract', 'a.csv', '--delimiter', d]);
			assert.equal(cmd.kind === 'extract' && cmd.options.delimiter, '\t');
		}
		const semi = parseCommandLine(['extract', 'a.csv', '--delimiter', ';']);
		assert.equal(semi.kind === 'extract' && semi.options.delimiter, ';');
	});

	it('recognises help and version', () => {
		assert.deepEqual(parseCommandLine(['--help']), { kind: 'help' });
		assert.deepEqual(parseCommandLine(['extract', '-h']), { kind: 'help' });
		assert.deepEqual(parseCommandLine(['config', '--help']), { kind: 'help' });
		assert.deepEqual(parseCommandLine(['--version']), { kind: 'version' });
	});

	it('rejects malformed command lines with one clear message', () => {
		assert.match(usage([]), /no command given/);
		assert.match(usage(['frob']), /unknown command 'frob'/);
		assert.match(usage(['--frob']), /unknown option '--frob'/);
		assert.match(usage(['config', '--out', 'x']), /config: unknown option '--out'/);
		assert.match(usage(['config', 'extra']), /unexpected argument 'extra'/);
		assert.match(usage(['extract']), /missing <input.csv>/);
		assert.match(usage(['extract', 'a.csv', 'b.csv']), /unexpected argument 'b.csv'/);
		assert.match(usage(['extract', 'a.csv', '--workers']), /--workers needs a value/);
		assert.match(usage(['extract', 'a.csv', '--force=yes']), /--force takes no value/);
		assert.match(usage(['extract', 'a.csv', '--map', 'symbol']), /--map "symbol" is not CANONICAL=SOURCE/);
		assert.match(usage(['extract', 'a.csv', '--map', '=ticker']), /--map "=ticker"/);
		assert.match(usage(['extract', 'a.csv', '--map', 's=a', '--map', 's=b']), /--map gives 's' twice/);
		assert.match(
			usage(['extract', 'a.csv', '--keep-partition-columns']),
			/--keep-partition-columns applies only with --layout hive/,
		);
		assert.match(
			usage(['extract', 'a.csv', '--layout', 'flat', '--keep-partition-columns']),
			/--keep-partition-columns applies only with --layout hive/,
		);
		assert.match(usage(['extract', 'a.csv', '--partition-by', 'a,,b']), /empty column name/);
		assert.match(usage(['extract', 'a.csv', '--delimiter', ',,']), /--delimiter ",," is not one ASCII character/);
		assert.match(usage(['extract', 'a.csv', '--delimiter', '"']), /--delimiter "\\"" is not one ASCII character/);
		assert.match(usage(['extract', 'a.csv', '--max-rejects', '-1']), /--max-rejects "-1" is not a whole number >= 0/);
		assert.match(usage(['extract', 'a.csv', '--max-partitions', '0']), /--max-partitions "0"/);
		assert.match(usage(['extract', 'a.csv', '--out', '']), /--out needs a path/);
	});

	for (const bad of ['-1', '2.5', 'eight', '1e3']) {
		it(`rejects --workers ${bad} and --chunk-size ${bad} before detection`, () => {
			assert.match(usage(['config', '--workers', bad]), /--workers "[^"]+" is not a positive integer/);
			assert.match(usage(['extract', 'a.csv', '--chunk-size', bad]), /--chunk-size "[^"]+" is not a positive integer/);
		});
	}
});

describe('cli: sweep config (dist/cli.js)', () => {
	before(requireBuiltCli);
	it('honours SWEEP_WORKERS and SWEEP_CHUNK_SIZE', async () => {
		const r = await sweep(['config'], { SWEEP_WORKERS: '3', SWEEP_CHUNK_SIZE: '12345' });
		assert.equal(r.code, 0, r.stderr);
		assert.equal(r.stderr, '');
		const lines = r.stdout.split('\n');
		assert.equal(lines[0], 'System Configuration:');
		assert.ok(lines.includes('  Workers: 3 (SWEEP_WORKERS)'), r.stdout);
		assert.ok(lines.includes('  Chunk Size: 12,345 (SWEEP_CHUNK_SIZE)'), r.stdout);
		assert.ok(lines.includes('  Parallel Processing: Enabled'), r.stdout);
		assert.match(r.stdout, /^ {2}CPU Cores: \d+\n/m);
		assert.match(r.stdout, /^ {2}Available Memory: [\d,]+\.\d\d GB\n/m);
	});

	it('warns about SWEEP_WORKERS=abc, keeps the detected value and exits 0', async () => {
		const [plain, bad] = await Promise.all([sweep(['config', '--json']), sweep(['config'], { SWEEP_WORKERS: 'abc' })]);
		assert.equal(bad.code, 0, bad.stderr);
		const detected = JSON.parse(plain.stdout).workers;
		assert.match(bad.stdout, new RegExp(`^ {2}Workers: ${detected}\\n`, 'm'));
		assert.match(bad.stdout, /^ {2}Warning: SWEEP_WORKERS="abc" is not a positive integer; ignored$/m);
	});

	it('prints the README JSON with --json', async () => {
		const r = await sweep(['config', '--json', '--chunk-size', '50000'], { SWEEP_WORKERS: 'abc' });
		assert.equal(r.code, 0, r.stderr);
		const json = JSON.parse(r.stdout);
		assert.deepEqual(Object.keys(json), [
			'cpuCount',
			'workers',
			'availableMemoryBytes',
			'chunkSize',
			'enableParallel',
			'sources',
			'warnings',
		]);
		assert.ok(Number.isInteger(json.cpuCount) && json.cpuCount >= 1);
		assert.ok(Number.isInteger(json.availableMemoryBytes) && json.availableMemoryBytes > 0);
		assert.equal(json.chunkSize, 50_000);
		assert.equal(json.enableParallel, json.workers > 1);
		assert.deepEqual(json.sources, { workers: 'detected', chunkSize: 'flag' });
		assert.deepEqual(json.warnings, ['SWEEP_WORKERS="abc" is not a positive integer; ignored']);
		assert.equal(r.stderr, 'sweep: warning: SWEEP_WORKERS="abc" is not a positive integer; ignored\n');
	});

	it('lets flags win over the environment', async () => {
		const r = await sweep(['config', '--workers', '4'], { SWEEP_WORKERS: '3' });
		assert.equal(r.code, 0, r.stderr);
		assert.match(r.stdout, /^ {2}Workers: 4 \(--workers\)$/m);
	});

	it('clamps with a warning', async () => {
		const r = await sweep(['config', '--workers=1000']);
		assert.equal(r.code, 0, r.stderr);
		assert.match(r.stdout, /^ {2}Workers: 256 \(--workers\)$/m);
		assert.match(r.stdout, /^ {2}Warning: --workers 1000 is above the maximum of 256; using 256$/m);
	});

	it('exits 2 with one line for --workers -1', async () => {
		assertUsageError(await sweep(['config', '--workers', '-1']), /--workers "-1" is not a positive integer/);
		assertUsageError(await sweep(['config', '--chunk-size=eight']), /--chunk-size "eight"/);
	});

	it('exits 2 for an unknown command or flag, 0 for --help', async () => {
		assertUsageError(await sweep(['frobnicate']), /unknown command 'frobnicate'/);
		assertUsageError(await sweep(['config', '--verbose']), /unknown option '--verbose'/);
		assertUsageError(await sweep([]), /no command given/);
		const help = await sweep(['--help']);
		assert.equal(help.code, 0);
		assert.match(help.stdout, /^Usage:\n {2}sweep config/);
	});
});

describe('cli: sweep extract (dist/cli.js)', function () {
	this.timeout(120_000);
	before(requireBuiltCli);
	let dir: string;
	let input: string;
	beforeEach(() => {
		dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sweep-cli-'));
		input = path.join(dir, 'trades.csv');
		fs.copyFileSync(path.join(root, 'samples', 'trades.csv'), input);
	});
	afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

	/** Every file under `folder` with its bytes, to compare a folder before and after. */
	function snapshot(folder: string): Record<string, string> {
		const files: Record<string, string> = {};
		for (const name of fs.readdirSync(folder, { recursive: true }) as string[]) {
			const file = path.join(folder, name);
			if (fs.statSync(file).isFile()) files[name] = fs.readFileSync(file).toString('base64');
		}
		return files;
	}

	it('writes the partitions and a summary, nothing on stderr when it is not a terminal', async () => {
		const r = await sweep(['extract', input, '--workers', '2', '--chunk-size', '700']);
		assert.equal(r.code, 0, r.stderr);
		assert.equal(r.stderr, '');
		const out = path.join(dir, 'processed', 'trades');
		const manifest = JSON.parse(fs.readFileSync(path.join(out, '_manifest.json'), 'utf8'));
		assert.equal(manifest.rowsRead, 5000);
		assert.deepEqual(manifest.config, { workers: 2, chunkSize: 700, sources: { workers: 'flag', chunkSize: 'flag' } });
		assert.match(r.stdout, /^Read 5,000 rows: 5,000 written, 0 rejected, 0 filtered out$/m);
		assert.match(r.stdout, new RegExp(`^Partitions: ${manifest.partitions.length}$`, 'm'));
		assert.match(r.stdout, /^Time: \d+\.\d\d s \(\d+\.\d MB\/s\)$/m);
		assert.ok(r.stdout.includes(`Output: ${out}\n`), r.stdout);
		// A compressed input: the speed of its CSV text, then of its bytes on disk.
		const gz = path.join(dir, 'trades.csv.gz');
		fs.writeFileSync(gz, zlib.gzipSync(fs.readFileSync(input)));
		const z = await sweep(['extract', gz, '--out', path.join(dir, 'gz-out')]);
		assert.equal(z.code, 0, z.stderr);
		const [, csv, disk] =
			/^Time: \d+\.\d\d s \((\d+\.\d) MB\/s of CSV, (\d+\.\d) MB\/s gzip-compressed\)$/m.exec(z.stdout) ?? [];
		assert.ok(csv && disk && Number(csv) >= Number(disk), z.stdout);
	});

	it('prints the manifest with --json, records env sources, warns about bad env values on stderr', async () => {
		const out = path.join(dir, 'o');
		const r = await sweep(
			['extract', input, '--out', out, '--json', '--orders', path.join(root, 'samples', 'orders.csv')],
			{ SWEEP_WORKERS: '2', SWEEP_CHUNK_SIZE: 'lots' },
		);
		assert.equal(r.code, 0, r.stderr);
		assert.equal(r.stderr, 'sweep: warning: SWEEP_CHUNK_SIZE="lots" is not a positive integer; ignored\n');
		const manifest = JSON.parse(r.stdout);
		const onDisk = JSON.parse(fs.readFileSync(path.join(out, '_manifest.json'), 'utf8'));
		assert.equal(manifest.rowsRead, 5000);
		assert.deepEqual(manifest.partitions, onDisk.partitions);
		assert.equal(manifest.rowsRead, manifest.rowsWritten + manifest.rowsRejected + manifest.rowsFilteredOut);
		assert.deepEqual(manifest.config.sources, { workers: 'env', chunkSize: 'detected' });
		assert.notEqual(manifest.orders, null);
	});

	it('exits 2 with one line and writes nothing for a missing input or column', async () => {
		assertUsageError(await sweep(['extract', path.join(dir, 'nope.csv')]), /nope\.csv/);
		assertUsageError(await sweep(['extract', input, '--partition-by', 'ticker']), /ticker/);
		assertUsageError(await sweep(['extract', input, '--map', 'symbol=ticker']), /ticker/);
		assert.deepEqual(fs.readdirSync(dir), ['trades.csv']);
	});

	// Found by a hostile campaign: the header is the file's data, and the CLI added it raw to the message when its
	// names were not there verbatim (they are, escaped and cut short), so a header could set the terminal's title and
	// clear the screen, or print megabytes of NUL bytes as one line.
	it('never prints a header raw: terminal escapes and NUL bytes in column names stay escaped', async () => {
		const odd = path.join(os.tmpdir(), `sweep-cli-odd-${process.pid}`);
		fs.mkdirSync(odd, { recursive: true });
		try {
			const esc = path.join(odd, 'esc.csv');
			fs.writeFileSync(esc, 'ticker,\x1b]0;pwned\x07\x1b[2J\x1b[31mred\rX,c\nA,1,2\n');
			const nul = path.join(odd, 'nul.csv');
			fs.writeFileSync(nul, Buffer.concat([Buffer.from('ticker,'), Buffer.alloc(300_000), Buffer.from('\nA,1\n')]));
			for (const file of [esc, nul]) {
				const r = await sweep(['extract', file, '--out', path.join(odd, 'out')]);
				assertUsageError(r, /"symbol" is not in the header/);
				assert.doesNotMatch(
					r.stderr,
					/[\x00-\x08\x0b-\x1f\x7f]/,
					`control characters on stderr: ${JSON.stringify(r.stderr.slice(0, 300))}`,
				);
				assert.ok(r.stderr.length < 2000, `${r.stderr.length} characters on stderr`);
			}
		} finally {
			fs.rmSync(odd, { recursive: true, force: true });
		}
	});

	it('refuses a foreign output folder (exit 2, untouched) unless --force', async () => {
		const out = path.join(dir, 'mine');
		fs.mkdirSync(out);
		fs.writeFileSync(path.join(out, 'notes.txt'), 'keep me');
		const refused = await sweep(['extract', input, '--out', out]);
		assertUsageError(refused, /--force/);
		assert.deepEqual(snapshot(out), { 'notes.txt': Buffer.from('keep me').toString('base64') });
		const forced = await sweep(['extract', input, '--out', out, '--force']);
		assert.equal(forced.code, 0, forced.stderr);
		assert.ok(fs.existsSync(path.join(out, '_manifest.json')));
		assert.ok(!fs.existsSync(path.join(out, 'notes.txt')));
	});

	it('exits 1 when --max-rejects is exceeded, leaving the previous output as it was', async () => {
		const out = path.join(dir, 'o');
		const first = await sweep(['extract', input, '--out', out]);
		assert.equal(first.code, 0, first.stderr);
		const before = snapshot(out);
		fs.appendFileSync(input, 'only,three,fields\nTRD,2024-03-11T13:30:00.000Z,ZZ,B,1,1,X,F,extra\n');
		const r = await sweep(['extract', input, '--out', out, '--max-rejects', '1']);
		assert.equal(r.code, 1, r.stderr);
		assert.equal(r.stdout, '');
		assert.match(r.stderr, /^sweep: error: [^\n]+\n$/);
		assert.deepEqual(snapshot(out), before);
		assert.deepEqual(fs.readdirSync(dir).sort(), ['o', 'trades.csv']);
	});

	it('shows a progress line on a terminal stderr, rewritten in place and cleared at the end', async () => {
		const writes: string[] = [];
		const stdout: string[] = [];
		const io: CliIO = {
			stdout: { write: (t: string) => stdout.push(t) } as unknown as NodeJS.WritableStream,
			stderr: Object.assign({ write: (t: string) => writes.push(t) }, { isTTY: true }) as unknown as CliIO['stderr'],
			env: {},
		};
		const code = await run(['extract', input, '--workers', '1', '--chunk-size', '500'], io);
		assert.equal(code, 0, writes.join(''));
		const lines = writes.filter((w) => w.startsWith('\r\x1b[KSweep: '));
		assert.ok(lines.length >= 1, JSON.stringify(writes));
		for (const line of lines) {
			assert.match(line, /^\r\x1b\[KSweep: \d+\.\d% of 0\.4 MB · [\d,]+ rows · [\d,]+ rows\/s · [\d,]+ partitions$/);
		}
		assert.equal(writes.at(-1), '\r\x1b[K');
		assert.match(stdout.join(''), /^Read 5,000 rows/);
	});

	it('exits 130 on SIGINT and SIGTERM, leaving the previous output as it was and nothing else', async () => {
		const big = path.join(dir, 'big.csv');
		execFileSync(process.execPath, [path.join(root, 'scripts', 'gen-trades.mjs'), '--rows', '600000', '--out', big]);
		const out = path.join(dir, 'out');
		const first = await sweep(['extract', input, '--out', out]);
		assert.equal(first.code, 0, first.stderr);
		const before = snapshot(out);

		for (const signal of ['SIGINT', 'SIGTERM'] as const) {
			const child = start(['extract', big, '--out', out, '--workers', '1', '--chunk-size', '500']);
			const result = finish(child);
			// Interrupt once the run has started writing beside the output folder.
			const deadline = Date.now() + 60_000;
			let exited = false;
			void result.then(() => {
				exited = true;
			});
			while (!exited && !fs.readdirSync(dir).some((n) => n.startsWith('out.sweep-tmp-'))) {
				if (Date.now() > deadline) assert.fail('the run never started writing');
				await new Promise((r) => setTimeout(r, 10));
			}
			if (exited) assert.fail(`the run finished before it could be interrupted: ${(await result).stderr}`);
			child.kill(signal);
			const r = await result;
			assert.equal(r.code, 130, `${signal}: ${r.stderr}`);
			assert.equal(r.stdout, '');
			assert.match(r.stderr, /interrupted; the output folder is as it was before/);
			assert.deepEqual(snapshot(out), before);
			assert.deepEqual(fs.readdirSync(dir).sort(), ['big.csv', 'big.csv.truth.json', 'out', 'trades.csv']);
		}
	});
});
