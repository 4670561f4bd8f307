/**
 * The `sweep` command line (README "Command line"): `sweep config` prints the System Configuration, `sweep extract`
 * partitions a CSV on the same engine the extension uses. Exit status: 0 done, 1 failed during the
 * run, 2 bad usage or input found before writing, 130 interrupted.
 */
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { version } from '../package.json';
import { detectSystem, formatReport, type ResolvedConfig, resolveConfig } from './config';
import { badOverrideFlag } from './config/resolve';
import { defaultOutDir, extract } from './engine';
import { isSweepError, SweepError } from './engine/errors';
import type { ExtractOptions, ExtractProgress, Manifest } from './engine/types';
import {
	type Checked,
	DEFAULT_MAX_PARTITIONS,
	formatCount,
	MANIFEST_FILE,
	parseColumnList,
	parseCompression,
	parseCompressionLevel,
	parseCount,
	parseDelimiter,
	parseLayout,
	parseOutputFormat,
	parseOverride,
	parseParquetCompression,
	parseParquetTypes,
	parsePartitionList,
	REJECTS_FILE,
	refusal,
	showNames,
	splitPartitionList,
} from './rules';
import stopSignals from './stopSignals.json';

/** Usage text printed by `--help` and pointed to by usage errors. */
export const USAGE = `Usage:
  sweep config  [--json] [--workers N] [--chunk-size N]
  sweep extract <input.csv> [--out DIR] [--partition-by COL[,COL...]] [--orders FILE]
                [--map CANONICAL=SOURCE]... [--delimiter C] [--workers N] [--chunk-size N]
                [--force] [--json] [--max-rejects N] [--max-partitions N] [--strict-utf8]
                [--compress gzip|zstd|none] [--compress-level N]
                [--format csv|parquet] [--parquet-types infer|string]
                [--layout flat|hive] [--keep-partition-columns] [--max-rows-per-file N]
                [--columns COL[,COL...]] [--append [--allow-duplicate-input]]

The input may be gzip- or zstd-compressed (input.csv.gz, input.csv.zst; recognised by its first bytes).

Commands:
  config     Show the System Configuration: CPUs, workers, available memory, chunk size.
  extract    Write one CSV per partition key, plus ${MANIFEST_FILE} and ${REJECTS_FILE}.

Options:
  --workers N               Worker threads (over sweep.workers and SWEEP_WORKERS; 0 or auto = detect).
  --chunk-size N            About this many records per chunk (over SWEEP_CHUNK_SIZE; 0 or auto = detect).
  --json                    config: the figures as JSON; extract: the manifest as JSON on stdout.
  --out DIR                 Output folder (default: <input folder>/processed/<input name>).
  --partition-by COLS       Comma-separated output columns naming partitions (default: symbol);
                            date(COL), year(COL), month(COL) and hour(COL) take the YYYY-MM-DD,
                            YYYY, YYYY-MM or YYYY-MM-DDTHH that starts an ISO-8601 value of COL;
                            hash(COL, N) a bucket 0..N-1 (FNV-1a of the value); "... as NAME" names one.
  --layout flat|hive        flat (default): AAPL.csv; hive: symbol=AAPL/data.csv, one folder per
                            partition column, partition columns left out of the files.
  --keep-partition-columns  hive layout: keep the partition columns in the files too.
  --max-rows-per-file N     At most N records per file; files are numbered (AAPL-00001.csv,
                            part-00001.csv), each with the header.
  --columns COLS            Write only these output columns, in this order (comma-separated).
  --orders FILE             Keep only rows whose partition key appears in this CSV.
  --map CANONICAL=SOURCE    Rename source column SOURCE to CANONICAL (repeatable; also applies to --orders).
  --delimiter C             One ASCII character, or comma, semicolon, pipe, tab (default: auto, sniffed
                            from , ; TAB |).
  --force                   Replace an existing non-empty output folder Sweep did not write.
  --max-rejects N           Stop (exit 1) when more than N records are rejected.
  --max-partitions N        Stop (exit 1) beyond N partitions (default ${formatCount(DEFAULT_MAX_PARTITIONS)}).
  --strict-utf8             Stop (exit 1) on bytes that are not valid UTF-8 (default: kept as they are).
  --compress C              Write partitions compressed: gzip (AAPL.csv.gz), zstd (AAPL.csv.zst; Node 22.15+)
                            or none (the default). _rejects.csv and _manifest.json stay plain. With
                            --format parquet: the column chunks' codec, snappy (default), zstd, gzip or none.
  --compress-level N        gzip 1-9 (default 6), zstd 1-19 (default 3); CSV output only.
  --format csv|parquet      Write each partition as CSV (default) or as a Parquet file (AAPL.parquet).
  --parquet-types MODE      infer (default): each column's type decided over the whole run (int64, double,
                            boolean, date, timestamp, else string); string: every value as text.
  --append                  Add the input's rows to the existing Sweep output in --out, in place, all or
                            nothing, as one run over all its inputs would have written them; the
                            output's partitions, mapping, delimiter, orders, layout, compression and
                            file options apply (given ones must agree, else exit 2).
                            With --force: append even if a partition file's size differs from the manifest.
  --allow-duplicate-input   With --append: add an input whose content (SHA-256) the output already holds.
  -h, --help                Show this help.
  --version                 Show the version.

Environment: SWEEP_WORKERS, SWEEP_CHUNK_SIZE (below flags and settings); SWEEP_DEBUG=1 prints stack traces.
Exit status: 0 done, 1 failed during the run (output folder left as it was), 2 bad usage or input
(nothing written), 130 interrupted (output folder left as it was).
`;

type OptionSpec = { type: 'string' | 'boolean'; multiple?: boolean; short?: string };

const COMMON_OPTIONS = {
	json: { type: 'boolean' },
	workers: { type: 'string' },
	'chunk-size': { type: 'string' },
	help: { type: 'boolean', short: 'h' },
} satisfies Record<string, OptionSpec>;

const EXTRACT_OPTIONS = {
	...COMMON_OPTIONS,
	out: { type: 'string' },
	'partition-by': { type: 'string' },
	orders: { type: 'string' },
	map: { type: 'string', multiple: true },
	delimiter: { type: 'string' },
	force: { type: 'boolean' },
	'max-rejects': { type: 'string' },
	'max-partitions': { type: 'string' },
	'strict-utf8': { type: 'boolean' },
	compress: { type: 'string' },
	'compress-level': { type: 'string' },
	layout: { type: 'string' },
	'keep-partition-columns': { type: 'boolean' },
	'max-rows-per-file': { type: 'string' },
	columns: { type: 'string' },
	format: { type: 'string' },
	'parquet-types': { type: 'string' },
	append: { type: 'boolean' },
	'allow-duplicate-input': { type: 'boolean' },
} satisfies Record<string, OptionSpec>;

/** A parsed command line. */
export type Command =
	| { kind: 'help' }
	| { kind: 'version' }
	| { kind: 'config'; json: boolean; workers?: string; chunkSize?: string }
	| {
			kind: 'extract';
			json: boolean;
			workers?: string;
			chunkSize?: string;
			options: Omit<ExtractOptions, 'workers' | 'chunkSize' | 'configSources'>;
	  };

/** Where the CLI writes and what it reads from its surroundings; the real process by default. */
export interface CliIO {
	stdout: NodeJS.WritableStream;
	stderr: NodeJS.WritableStream & { isTTY?: boolean };
	env: Record<string, string | undefined>;
}

/** A usage error; `hint` points to --help where the shape of the command line is wrong. */
function usageError(message: string, hint = false): SweepError {
	return new SweepError('usage', hint ? `${message}; see sweep --help` : message);
}

/** Parses argv (without `node` and the script); throws SweepError `usage` on anything wrong. */
export function parseCommandLine(argv: string[]): Command {
	const [command, ...rest] = argv;
	if (command === undefined) throw usageError('no command given: use sweep config or sweep extract <input.csv>', true);
	if (command === '-h' || command === '--help' || command === 'help') return { kind: 'help' };
	if (command === '--version' || command === '-v') return { kind: 'version' };
	if (command !== 'config' && command !== 'extract') {
		const what = command.startsWith('-') ? 'option' : 'command';
		throw usageError(`unknown ${what} '${command}': expected config or extract`, true);
	}
	const options = command === 'config' ? COMMON_OPTIONS : EXTRACT_OPTIONS;
	let parsed: ReturnType<typeof parseArgs<{ options: typeof EXTRACT_OPTIONS; allowPositionals: true; strict: true }>>;
	try {
		parsed = parseArgs({
			args: joinNegativeValues(rest, options),
			options: options as typeof EXTRACT_OPTIONS,
			allowPositionals: true,
			strict: true,
		});
	} catch (e) {
		throw usageError(`${command}: ${describeParseError(e)}`, true);
	}
	const v = parsed.values;
	if (v.help) return { kind: 'help' };
	if (command === 'config') {
		if (parsed.positionals.length > 0) {
			throw usageError(`config: unexpected argument '${parsed.positionals[0]}'`, true);
		}
		const cmd: Command = { kind: 'config', json: v.json === true, workers: v.workers, chunkSize: v['chunk-size'] };
		checkFlags(cmd);
		return cmd;
	}

	if (parsed.positionals.length === 0) throw usageError('extract: missing <input.csv>', true);
	if (parsed.positionals.length > 1) {
		throw usageError(`extract: unexpected argument '${parsed.positionals[1]}'`, true);
	}
	const input = parsed.positionals[0]!;
	if (input.trim() === '') throw usageError('extract: <input.csv> is empty', true);
	const cmd: Command = {
		kind: 'extract',
		json: v.json === true,
		workers: v.workers,
		chunkSize: v['chunk-size'],
		options: {
			input,
			outDir: nonEmpty('--out', v.out),
			partitionBy:
				v['partition-by'] === undefined
					? undefined
					: flagValue('--partition-by', v['partition-by'], parsePartitionBy(v['partition-by'])),
			mapping: v.map === undefined ? undefined : parseMappings(v.map),
			ordersFile: nonEmpty('--orders', v.orders) ?? null,
			delimiter: v.delimiter === undefined ? null : flagValue('--delimiter', v.delimiter, parseDelimiter(v.delimiter)),
			force: v.force === true,
			maxRejects:
				v['max-rejects'] === undefined
					? null
					: flagValue('--max-rejects', v['max-rejects'], parseCount(v['max-rejects'], 0)),
			strictUtf8: v['strict-utf8'] === true,
		},
	};
	parseFormatFlags(cmd.options, v.format, v['parquet-types'], v.compress, v['compress-level'], v.append === true);
	if (v.layout !== undefined) cmd.options.layout = flagValue('--layout', v.layout, parseLayout(v.layout));
	if (v['keep-partition-columns'] === true) cmd.options.keepPartitionColumns = true;
	if (v['max-rows-per-file'] !== undefined) {
		const raw = v['max-rows-per-file'];
		cmd.options.maxRowsPerFile = flagValue('--max-rows-per-file', raw, parseCount(raw, 1));
	}
	if (v.columns !== undefined) {
		cmd.options.columns = flagValue('--columns', v.columns, parseColumnList(v.columns)) ?? undefined;
	}
	if (v.append === true) cmd.options.append = true;
	// As --parquet-types without --format parquet: an option that would change nothing is a mistake to point out. (An
	// append takes its layout from the output, so there the engine checks it against that.)
	if (cmd.options.keepPartitionColumns && cmd.options.layout !== 'hive' && v.append !== true) {
		throw usageError('--keep-partition-columns applies only with --layout hive');
	}
	if (v['allow-duplicate-input'] === true) {
		if (v.append !== true) throw usageError('--allow-duplicate-input goes with --append');
		cmd.options.allowDuplicateInput = true;
	}
	if (v['max-partitions'] !== undefined) {
		cmd.options.maxPartitions = flagValue('--max-partitions', v['max-partitions'], parseCount(v['max-partitions'], 1));
	}
	checkFlags(cmd);
	return cmd;
}

/**
 * `--workers -1` would make parseArgs complain that the value looks like an option; joining it as
 * `--workers=-1` lets the real problem (not a positive integer) be reported instead.
 */
function joinNegativeValues(args: string[], options: Record<string, OptionSpec>): string[] {
	const out: string[] = [];
	for (let i = 0; i < args.length; i++) {
		const arg = args[i]!;
		if (arg === '--') {
			out.push(...args.slice(i));
			break;
		}
		const name = arg.startsWith('--') ? arg.slice(2) : null;
		const next = args[i + 1];
		if (name !== null && options[name]?.type === 'string' && next !== undefined && /^-[\d.]/.test(next)) {
			out.push(`${arg}=${next}`);
			i++;
		} else {
			out.push(arg);
		}
	}
	return out;
}

/** Bad --workers / --chunk-size are usage errors, found before any detection runs. */
function checkFlags(cmd: { workers?: string; chunkSize?: string }): void {
	for (const [flag, raw] of [
		['--workers', cmd.workers],
		['--chunk-size', cmd.chunkSize],
	] as const) {
		if (parseOverride(raw).kind === 'invalid') throw badOverrideFlag(flag, raw);
	}
}

/** --format, --parquet-types and --compress (the Parquet codec), with the engine's parsers. */
/**
 * --format, --parquet-types, --compress and --compress-level, by the engine's rules: --compress is the partition
 * files' codec for CSV (gzip, zstd, none) and the column chunks' codec for Parquet (snappy, zstd, gzip, none).
 */
function parseFormatFlags(
	options: Omit<ExtractOptions, 'workers' | 'chunkSize' | 'configSources'>,
	format: string | undefined,
	types: string | undefined,
	compress: string | undefined,
	compressLevel: string | undefined,
	append: boolean,
): void {
	if (append && format === undefined) {
		// An append takes the output's format: the values are checked against the output's (append.ts), not
		// refused here for a format the CLI cannot know yet.
		if (types !== undefined) options.parquetTypes = flagValue('--parquet-types', types, parseParquetTypes(types));
		if (compress !== undefined && !parseCompression(compress).ok && parseParquetCompression(compress).ok) {
			options.compress = flagValue('--compress', compress, parseParquetCompression(compress));
			if (compressLevel !== undefined) throw usageError('--compress-level applies only to CSV output');
			return;
		}
	}
	const fmt = format === undefined ? 'csv' : flagValue('--format', format, parseOutputFormat(format));
	if (format !== undefined) options.format = fmt;
	if (types !== undefined && !(append && format === undefined)) {
		const t = flagValue('--parquet-types', types, parseParquetTypes(types));
		if (fmt !== 'parquet') throw usageError('--parquet-types applies only with --format parquet');
		options.parquetTypes = t;
	}
	if (fmt === 'parquet') {
		if (compress !== undefined) options.compress = flagValue('--compress', compress, parseParquetCompression(compress));
		if (compressLevel !== undefined) throw usageError('--compress-level applies only to CSV output');
		return;
	}
	if (compress === undefined && compressLevel === undefined) return;
	const codec = compress === undefined ? 'none' : flagValue('--compress', compress, parseCompression(compress));
	const level = compressLevel ?? '';
	options.compress = codec;
	options.compressLevel = flagValue('--compress-level', level, parseCompressionLevel(level, codec));
}

function nonEmpty(flag: string, value: string | undefined): string | undefined {
	if (value !== undefined && value.trim() === '') throw usageError(`${flag} needs a path`);
	return value;
}

/** The value of a flag its rule accepted; a refused one is a usage error in the rule's words. */
function flagValue<T>(flag: string, raw: string, checked: Checked<T>): T {
	if (checked.ok) return checked.value;
	throw usageError(refusal(flag, JSON.stringify(raw), checked.problem));
}

/** `--partition-by` takes a comma-separated list of specs (commas inside `hash(COL, N)` belong to the spec). */
function parsePartitionBy(raw: string): Checked<string[]> {
	const checked = parsePartitionList(splitPartitionList(raw));
	return checked.ok ? { ok: true, value: checked.value.map((p) => p.spec) } : checked;
}

function parseMappings(raws: string[]): Record<string, string> {
	const mapping: Record<string, string> = {};
	for (const raw of raws) {
		const eq = raw.indexOf('=');
		const canonical = eq < 0 ? '' : raw.slice(0, eq).trim();
		const source = eq < 0 ? '' : raw.slice(eq + 1).trim();
		if (canonical === '' || source === '') {
			throw usageError(`--map ${JSON.stringify(raw)} is not CANONICAL=SOURCE (e.g. --map symbol=ticker)`);
		}
		if (Object.hasOwn(mapping, canonical)) throw usageError(`--map gives '${canonical}' twice`);
		mapping[canonical] = source;
	}
	return mapping;
}

/** parseArgs' messages run over several lines and talk about its own syntax: say it shorter. */
function describeParseError(e: unknown): string {
	const message = e instanceof Error ? e.message : String(e);
	const code = (e as { code?: string } | null)?.code;
	const option = /'(-[^' ]+)/.exec(message)?.[1];
	if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option) return `unknown option '${option}'`;
	if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && option) {
		if (message.includes('does not take an argument')) return `${option} takes no value`;
		return `${option} needs a value`;
	}
	return message.split('\n')[0]!.trim();
}

/** Runs one command line; resolves to the exit status. Never throws. */
export async function run(argv: string[], io: CliIO = processIO()): Promise<number> {
	const out = (text: string) => io.stdout.write(text);
	const err = (text: string) => io.stderr.write(text);
	try {
		const cmd = parseCommandLine(argv);
		switch (cmd.kind) {
			case 'help':
				out(USAGE);
				return 0;
			case 'version':
				out(`${version}\n`);
				return 0;
			case 'config': {
				const config = await resolve(cmd, io.env);
				if (cmd.json) {
					out(`${JSON.stringify(configJson(config), null, 2)}\n`);
					for (const w of config.warnings) err(`sweep: warning: ${w}\n`);
				} else {
					out(`${formatReport(config)}\n`);
				}
				return 0;
			}
			case 'extract':
				return await runExtract(cmd, io);
		}
	} catch (e) {
		return reportError(e, io);
	}
}

async function resolve(cmd: { workers?: string; chunkSize?: string }, env: CliIO['env']): Promise<ResolvedConfig> {
	const system = await detectSystem();
	return resolveConfig(system, { flags: { workers: cmd.workers, chunkSize: cmd.chunkSize }, env });
}

/** The JSON `sweep config --json` prints (README "Command line"). */
function configJson(c: ResolvedConfig) {
	return {
		cpuCount: c.cpuCount,
		workers: c.workers,
		availableMemoryBytes: c.availableMemoryBytes,
		chunkSize: c.chunkSize,
		enableParallel: c.enableParallel,
		sources: { workers: c.sources.workers, chunkSize: c.sources.chunkSize },
		warnings: c.warnings,
	};
}

/**
 * Signals before a run has its own handlers (module loading, argument parsing, `config`): nothing has been written
 * yet, so they end the process at once with 130. `runExtract` takes over while an extraction runs; the bundle's
 * banner (esbuild.js) covers the loading of the bundle itself.
 */
let extractOwnsSignals = false;
/**
 * The signals that stop a run cleanly (exit 130, the output folder as it was): Ctrl-C, `kill`, and SIGHUP, which a
 * terminal or SSH session sends when it closes. (SIGQUIT keeps its default, a core dump; what it leaves behind the
 * next run on the folder clears.) The list is src/stopSignals.json, which the bundle's banner uses too.
 */
const STOP_SIGNALS = stopSignals as readonly NodeJS.Signals[];
const onSignals = (handler: (signal: NodeJS.Signals) => void) => {
	for (const s of STOP_SIGNALS) process.on(s, handler);
};
const offSignals = (handler: (signal: NodeJS.Signals) => void) => {
	for (const s of STOP_SIGNALS) process.off(s, handler);
};
function exitOnEarlySignal(): void {
	if (!extractOwnsSignals) process.exit(130);
}

function installEarlySignalHandlers(): void {
	const banner = (globalThis as Record<symbol, unknown>)[Symbol.for('sweep.earlySignal')];
	onSignals(exitOnEarlySignal);
	if (typeof banner === 'function') offSignals(banner as () => void);
}

/** A second stop signal this soon after the first is the same interrupt delivered twice, not "stop at once". */
const SECOND_SIGNAL_MS = 250;

async function runExtract(cmd: Extract<Command, { kind: 'extract' }>, io: CliIO): Promise<number> {
	const err = (text: string) => io.stderr.write(text);
	const controller = new AbortController();
	let signalled: NodeJS.Signals | null = null;
	const progress = io.stderr.isTTY ? new ProgressLine(io.stderr) : null;
	/**
	 * The output is committed (the engine's onCommitted: the new folder renamed into place, or an append's manifest):
	 * the run is complete, and what is left (removing the old folder, ending threads, the summary) is not stopped.
	 */
	let completed = false;
	let toldCompleted = false;
	let signalledAt = 0;
	const onSignal = (signal: NodeJS.Signals) => {
		if (completed) {
			// Nothing to stop or clean up: say so once, then the summary and exit 0 follow as usual.
			if (!toldCompleted) {
				toldCompleted = true;
				progress?.clear();
				err(`sweep: ${signal} received after the run completed (its output is in place); finishing\n`);
			}
			return;
		}
		// One interrupt can arrive twice within microseconds: GNU `timeout` signals the command and then its process
		// group, which includes it. Only a second interrupt after SECOND_SIGNAL_MS forces the exit.
		if (signalled !== null && Date.now() - signalledAt < SECOND_SIGNAL_MS) return;
		if (signalled !== null) {
			// A second interrupt while cleaning up: stop at once.
			progress?.clear();
			err('sweep: interrupted again; exiting without waiting for clean-up\n');
			process.exit(130);
		}
		signalled = signal;
		signalledAt = Date.now();
		progress?.clear();
		err(`sweep: ${signal} received; stopping and cleaning up (again to force)\n`);
		controller.abort();
	};
	// Handlers first: a signal during detection (a few hundred ms) must also end in a clean exit 130.
	onSignals(onSignal);
	extractOwnsSignals = true;
	try {
		// Detection (~0.1 s) runs while extract opens the input, reads its header, prepares the output folder and
		// starts the first worker.
		const config = resolve(cmd, io.env).then((c) => {
			for (const w of c.warnings) err(`sweep: warning: ${w}\n`);
			return { workers: c.workers, chunkSize: c.chunkSize, configSources: c.sources, conversions: c.conversions };
		});
		const manifest = await extract(
			{ ...cmd.options, pendingConfig: config },
			{
				signal: controller.signal,
				onProgress: progress ? (p) => progress.update(p) : undefined,
				onCommitted: () => {
					completed = true;
				},
			},
		);
		completed = true;
		progress?.clear();
		// A stop asked for just before the commit, which the run had already passed: it did not stop, and says so.
		if (signalled !== null && !toldCompleted)
			err('sweep: the run completed before it could stop; its output is in place\n');
		for (const w of manifest.warnings ?? []) err(`sweep: warning: ${w}\n`);
		io.stdout.write(
			cmd.json
				? `${JSON.stringify(manifest, null, 2)}\n`
				: summary(manifest, cmd.options.input, cmd.options.outDir, cmd.options.append === true),
		);
		return 0;
	} catch (e) {
		progress?.clear();
		// (A run that failed after its commit is not "as it was before": its error is reported as it is.)
		if (!completed && (signalled !== null || (isSweepError(e) && e.code === 'aborted'))) {
			// An interrupted append whose undo could not finish: the folder is not as it was, and the message says why.
			if (isSweepError(e) && e.details.notUndone) err(`sweep: error: ${oneLine(e.message)}\n`);
			else err('sweep: interrupted; the output folder is as it was before\n');
			return 130;
		}
		throw e;
	} finally {
		offSignals(onSignal);
		extractOwnsSignals = false;
	}
}

const MIB = 2 ** 20;

/** The short end-of-run summary printed on stdout without --json. */
function summary(m: Manifest, input: string, requestedOut: string | undefined, append: boolean): string {
	const seconds = Math.max(m.durationMs, 1) / 1000;
	const files = m.partitions.filter((p) => p.file !== null).length;
	const outDir = m.outDir ?? path.resolve(requestedOut ?? defaultOutDir(input));
	const last = m.inputs?.[m.inputs.length - 1];
	const bytes = append && last ? last.bytes : m.source.bytes;
	const rate = (n: number) => `${(n / MIB / seconds).toFixed(1)} MB/s`;
	// A compressed input: the speed of its CSV text first (what compares with a plain file's), then of its bytes on disk.
	const text = m.source.decompressedBytes;
	const speed =
		!append && text !== undefined && m.source.compression && m.source.compression !== 'none'
			? `${rate(text)} of CSV, ${rate(bytes)} ${m.source.compression}-compressed`
			: rate(bytes);
	const lines = [
		`Read ${formatCount(m.rowsRead)} rows: ${formatCount(m.rowsWritten)} written, ${formatCount(m.rowsRejected)} ` +
			`rejected, ${formatCount(m.rowsFilteredOut)} filtered out`,
		`Partitions: ${formatCount(m.partitions.length)}` +
			(files === m.partitions.length ? '' : ` (${formatCount(files)} with rows)`),
		`Time: ${seconds.toFixed(2)} s (${speed})`,
		`Output: ${outDir}`,
	];
	if (append && last && m.inputs) {
		lines.unshift(
			`Appended ${formatCount(last.rowsRead)} rows (${formatCount(last.rowsWritten)} written, ${formatCount(last.rowsRejected)} rejected, ${formatCount(last.rowsFilteredOut)} filtered out); the output now holds ${m.inputs.length} inputs:`,
		);
	}
	if (m.rejects !== null) lines.push(`Rejects: ${path.join(outDir, m.rejects)}`);
	return `${lines.join('\n')}\n`;
}

/** One progress line on a terminal's stderr, rewritten in place. */
class ProgressLine {
	private shown = false;

	constructor(private readonly stream: NodeJS.WritableStream) {}

	update(p: ExtractProgress): void {
		const pct = p.totalBytes > 0 ? Math.min(100, (100 * p.bytesRead) / p.totalBytes) : 0;
		const rate = p.elapsedMs > 0 ? (p.rowsRead * 1000) / p.elapsedMs : 0;
		const text =
			`Sweep: ${pct.toFixed(1)}% of ${(p.totalBytes / MIB).toFixed(1)} MB · ${formatCount(p.rowsRead)} rows · ` +
			`${formatCount(Math.round(rate))} rows/s · ${formatCount(p.partitions)} partitions`;
		this.stream.write(`\r\x1b[K${text}`);
		this.shown = true;
	}

	clear(): void {
		if (this.shown) this.stream.write('\r\x1b[K');
		this.shown = false;
	}
}

function reportError(e: unknown, io: CliIO): number {
	const debug = io.env.SWEEP_DEBUG === '1';
	if (isSweepError(e)) {
		io.stderr.write(`sweep: error: ${oneLine(explain(e))}\n`);
		if (debug) io.stderr.write(`${e.stack}\n`);
		return e.exitCode;
	}
	const message = e instanceof Error ? e.message : String(e);
	io.stderr.write(`sweep: error: ${oneLine(message)}\n`);
	if (debug && e instanceof Error) io.stderr.write(`${e.stack}\n`);
	return 1;
}

/** Adds what a terminal user needs to the engine's message (the flag to use, the columns there are). */
function explain(e: SweepError): string {
	let message = e.message;
	if (e.code === 'output-foreign' && !message.includes('--force')) message += ' (use --force to replace it)';
	const header = e.details.header;
	// The header is the file's data: listed escaped and cut short (showNames), as the engine's messages list it.
	if (e.code === 'missing-column' && header && !message.includes(showNames(header))) {
		message += ` (columns: ${showNames(header)})`;
	}
	return message;
}

function oneLine(text: string): string {
	return text.replace(/\s*\n\s*/g, ' ').trim();
}

function processIO(): CliIO {
	return { stdout: process.stdout, stderr: process.stderr, env: process.env };
}

/** Waits until everything written so far has left the process, then exits. */
function exitAfterFlush(code: number): void {
	let pending = 2;
	const done = () => {
		if (--pending === 0) process.exit(code);
	};
	process.stdout.write('', done);
	process.stderr.write('', done);
}

if (require.main === module) {
	installEarlySignalHandlers();
	// `sweep extract --json | head` closes stdout early: stop writing to it instead of crashing.
	process.stdout.on('error', (e: NodeJS.ErrnoException) => {
		if (e.code !== 'EPIPE') throw e;
	});
	void run(process.argv.slice(2)).then((code) => {
		// The run is over (an extraction's output is in place or untouched): a signal from now on ends the process with
		// the run's own status instead of killing it by the signal's default action.
		const exit = () => process.exit(code);
		offSignals(exitOnEarlySignal);
		onSignals(exit);
		exitAfterFlush(code);
	});
}
