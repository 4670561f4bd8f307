/**
 * Appending to an existing Sweep output (docs/append.md): reading and checking the folder and its manifest, and
 * deciding which settings the append runs with. The pipeline itself is extract()'s.
 */
import { constants } from 'node:fs';
import { access, lstat, open, readdir, readFile, realpath, stat, statfs } from 'node:fs/promises';
import * as path from 'node:path';
import {
	formatSize,
	APPEND_JOURNAL_FILE as JOURNAL,
	type Layout,
	MANIFEST_FILE as MANIFEST,
	MANIFEST_NEXT_FILE as MANIFEST_NEXT,
	REJECTS_FILE as REJECTS,
} from '../rules';
import { type OutputCompression, outputCompression } from './compression';
import { sniffFileDelimiter } from './dialect';
import { SweepError } from './errors';
import type { ColumnPlan } from './header';
import { sha256 } from './journal';
import type { Orders } from './orders';
import type { ParquetCompression } from './parquet/options';
import type { ParquetTypesMode } from './parquet/types';
import { type FileStamp, sameStamp } from './sameFile';
import type { ExtractOptions, Manifest, ManifestInput } from './types';

/** The existing output an append adds to. */
export interface AppendBase {
	outDir: string;
	manifest: Manifest & { inputs: ManifestInput[]; eol: '\n' | '\r\n'; sourceColumns: string[] };
	/** SHA-256 of `_manifest.json` as it is now (the journal's witness of "not committed yet"). */
	manifestSha256: string;
	/** Current size of every file the append may grow: the partition files and `_rejects.csv`. */
	sizes: Record<string, number>;
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const isStringArray = (x: unknown): x is string[] => Array.isArray(x) && x.every((s) => typeof s === 'string');
const list = (xs: readonly string[]) => xs.join(',');

/** Relative paths (with `/`) of every entry under `dir`, folders included, without following links. */
async function listTree(dir: string, under = ''): Promise<{ rel: string; isDir: boolean; isLink: boolean }[]> {
	const out: { rel: string; isDir: boolean; isLink: boolean }[] = [];
	for (const e of await readdir(path.join(dir, under), { withFileTypes: true })) {
		const rel = under === '' ? e.name : `${under}/${e.name}`;
		out.push({ rel, isDir: e.isDirectory(), isLink: e.isSymbolicLink() });
		if (e.isDirectory()) out.push(...(await listTree(dir, rel)));
	}
	return out;
}

/**
 * Reads and checks the output folder an append goes into (call it holding the folder's run lock, after a killed
 * append was undone). Refuses (exit 2): a missing folder, a link, a folder without `_manifest.json` or whose manifest
 * is corrupt or from a Sweep without append support, a folder that holds the input, an input that is one of the
 * output's files (a hard link), a listed file that is missing or (unless `force`) whose size differs from the
 * manifest, a file or link Sweep did not list (a new partition could collide with it), and a folder Sweep cannot
 * create files in or a listed file it cannot write to.
 */
export async function openAppendTarget(outDirGiven: string, input: string, force: boolean): Promise<AppendBase> {
	const outDir = path.resolve(outDirGiven);
	const st = await lstat(outDir).catch(() => null);
	if (!st) {
		throw new SweepError(
			'output-invalid',
			`Cannot append: the output folder ${outDir} does not exist (run without --append first).`,
			{ file: outDir },
		);
	}
	if (st.isSymbolicLink()) {
		throw new SweepError(
			'output-invalid',
			`The output folder ${outDir} is a symbolic link; Sweep does not write through links. Give the real path instead.`,
			{ file: outDir },
		);
	}
	if (!st.isDirectory()) {
		throw new SweepError('output-invalid', `The output path ${outDir} exists and is not a folder.`, { file: outDir });
	}
	const realOut = await realpath(outDir);
	const realInput = await realpath(input).catch(() => input);
	const rel = path.relative(realOut, realInput);
	if (rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel))) {
		throw new SweepError(
			'output-invalid',
			`The output folder ${outDir} contains the input file; Sweep never appends a folder's own file to it.`,
			{ file: outDir },
		);
	}
	const manifestFile = path.join(outDir, MANIFEST);
	const bytes = await readFile(manifestFile).catch((e: NodeJS.ErrnoException) => {
		if (e.code === 'ENOENT') {
			throw new SweepError(
				'output-foreign',
				`Cannot append: ${outDir} is not a Sweep output folder (it has no ${MANIFEST}), and an append adds only to one, with or without --force. Give the folder of an earlier extract, or extract without --append to make a new output there (--force replaces what the folder holds).`,
				{ file: outDir },
			);
		}
		throw new SweepError('output-invalid', `Cannot read ${manifestFile}: ${e.message}.`, { file: manifestFile });
	});
	const manifest = checkManifest(bytes, manifestFile);

	// The input must not be one of the files the append grows (a hard link: it would read its own writes).
	const inputSt = await stat(input).catch(() => null);
	// Every listed file must be there, a regular file of the size the manifest says (unless --force).
	const sizes: Record<string, number> = {};
	const listed = new Set<string>([MANIFEST]);
	const folders = new Set<string>();
	const expect: [string, number][] = [];
	for (const p of manifest.partitions) {
		if (p.file === null) continue;
		if (p.files) for (const f of p.files) expect.push([f.file, f.bytes as number]);
		else expect.push([p.file, p.bytes as number]);
	}
	if (manifest.rejects !== null) expect.push([REJECTS, manifest.rejectsBytes as number]);
	for (const [name, size] of expect) {
		listed.add(name);
		for (let d = path.posix.dirname(name); d !== '.'; d = path.posix.dirname(d)) folders.add(d);
		const full = path.join(outDir, ...name.split('/'));
		const fst = await lstat(full).catch(() => null);
		if (!fst?.isFile()) {
			throw new SweepError(
				'output-modified',
				`Cannot append: ${full} is listed in ${MANIFEST} but ${fst ? 'is not a regular file' : 'is missing'}; extract the output again.`,
				{ file: full },
			);
		}
		if (fst.size !== size && !force) {
			throw new SweepError(
				'output-modified',
				`Cannot append: ${full} was changed since Sweep wrote it (${fst.size} bytes, the manifest says ${size}); use --force to append anyway.`,
				{ file: full },
			);
		}
		if (inputSt && fst.ino === inputSt.ino && fst.dev === inputSt.dev) {
			throw new SweepError(
				'output-invalid',
				`Cannot append: ${input} is ${full} (the same file, a hard link); Sweep never appends a folder's own file to it.`,
				{ file: input },
			);
		}
		sizes[name] = fst.size;
	}
	for (const e of await listTree(outDir)) {
		if (e.isDir && !e.isLink && folders.has(e.rel)) continue;
		if (!e.isDir && !e.isLink && (listed.has(e.rel) || e.rel === JOURNAL || e.rel === MANIFEST_NEXT)) continue;
		if (e.isDir && !e.isLink && [...listed].some((l) => l.startsWith(`${e.rel}/`))) continue;
		const full = path.join(outDir, ...e.rel.split('/'));
		throw new SweepError(
			'output-modified',
			`Cannot append: ${full} is in the output folder but not in its ${MANIFEST} (a new partition could need that name); move it out of the folder.`,
			{ file: full },
		);
	}
	await checkWritable(outDir, Object.keys(sizes), folders, manifest.format === 'parquet');
	return { outDir, manifest, manifestSha256: sha256(bytes), sizes };
}

function cannot(e: unknown): string {
	switch ((e as NodeJS.ErrnoException).code) {
		case 'EACCES':
		case 'EPERM':
			return "permission denied: it is read-only, immutable or append-only (chattr), or another user's";
		case 'EROFS':
			return 'the file system is read-only';
		default:
			return (e as Error).message;
	}
}

/**
 * Before anything is written: the append must be able to create files in the output's folders (the journal, new
 * partitions) and to write to — and, to undo, truncate — every existing file it may grow (which ones it grows is
 * known only once the input is read). Each file is opened for writing, without truncating or writing anything, and
 * closed: unlike access(), that also finds an append-only file, which could be grown but not put back. Refused with
 * exit 2, naming the first one.
 */
async function checkWritable(outDir: string, files: string[], folders: Set<string>, parquet: boolean): Promise<void> {
	for (const rel of ['', ...folders]) {
		const dir = rel === '' ? outDir : path.join(outDir, ...rel.split('/'));
		try {
			await access(dir, constants.W_OK | constants.X_OK);
		} catch (e) {
			throw new SweepError('output-invalid', `Cannot append: Sweep cannot create files in ${dir} (${cannot(e)}).`, {
				file: dir,
				cause: e,
			});
		}
	}
	// A Parquet file is read as well (its footer); no O_APPEND: the workers write at offsets.
	const flags = (parquet ? constants.O_RDWR : constants.O_WRONLY) | (constants.O_NOFOLLOW ?? 0);
	for (const rel of files) {
		const file = path.join(outDir, ...rel.split('/'));
		try {
			const fh = await open(file, flags);
			await fh.close();
		} catch (e) {
			throw new SweepError(
				'output-invalid',
				`Cannot append: Sweep cannot write to ${file} (${cannot(e)}), and an append may add records to any file of the output. Make it writable, or extract all the inputs again into another folder.`,
				{ file, cause: e },
			);
		}
	}
}

const isSafeRelative = (f: unknown): f is string =>
	typeof f === 'string' &&
	f !== '' &&
	!f.includes('\\') &&
	!f.startsWith('_') &&
	!f.startsWith('.') &&
	f.split('/').every((seg) => seg !== '' && seg !== '.' && seg !== '..');

/** Parses `_manifest.json` and checks it holds what an append needs. */
function checkManifest(bytes: Buffer, file: string): AppendBase['manifest'] {
	const bad = (why: string) =>
		new SweepError('manifest-invalid', `Cannot append: ${file} ${why}.`, {
			file,
		});
	let raw: unknown;
	try {
		raw = JSON.parse(bytes.toString('utf8'));
	} catch {
		throw bad('is not valid JSON (corrupt?); extract the output again');
	}
	if (!isObject(raw)) throw bad('is not a Sweep manifest');
	if (raw.version !== 1) {
		throw bad(`is version ${JSON.stringify(raw.version)}; this Sweep appends to version 1 outputs`);
	}
	if (raw.format === 'parquet') {
		// New row groups go into the touched files, with the column types the output has (docs/append.md).
		const pq = raw.parquet;
		const types = ['int64', 'double', 'boolean', 'date', 'timestamp', 'timestamp_local', 'string', 'binary'];
		if (
			!isObject(pq) ||
			(pq.types !== 'infer' && pq.types !== 'string') ||
			!['snappy', 'zstd', 'gzip', 'none'].includes(pq.compression as string) ||
			!Array.isArray(pq.columns) ||
			!isStringArray(raw.columns) ||
			pq.columns.length !== raw.columns.length ||
			!pq.columns.every(
				(c, i) => isObject(c) && c.name === (raw.columns as string[])[i] && types.includes(c.type as string),
			)
		)
			throw bad('has no complete "parquet" section (column types); extract the output again');
	} else if (raw.format !== undefined && raw.format !== 'csv') throw bad(`has an unknown format ${raw.format}`);
	if (!Array.isArray(raw.inputs) || raw.eol === undefined || !isStringArray(raw.sourceColumns)) {
		throw bad('was written by a Sweep without append support (it has no inputs list); extract the output again');
	}
	const src = raw.source;
	const out = raw.output;
	const capped = raw.maxRowsPerFile !== null && raw.maxRowsPerFile !== undefined;
	const ok =
		raw.inputs.every((i) => isObject(i) && typeof i.sha256 === 'string' && typeof i.path === 'string') &&
		(raw.eol === '\n' || raw.eol === '\r\n') &&
		isObject(src) &&
		typeof src.delimiter === 'string' &&
		typeof src.path === 'string' &&
		isObject(out) &&
		(raw.format === 'parquet' || ['none', 'gzip', 'zstd'].includes(out.compression as string)) &&
		(raw.layout === 'flat' || raw.layout === 'hive') &&
		(!capped || (Number.isSafeInteger(raw.maxRowsPerFile) && (raw.maxRowsPerFile as number) >= 1)) &&
		(raw.selectedColumns === null || isStringArray(raw.selectedColumns)) &&
		typeof raw.keepPartitionColumns === 'boolean' &&
		isStringArray(raw.columns) &&
		isStringArray(raw.partitionBy) &&
		(raw.mapping === undefined || isObject(raw.mapping)) &&
		(raw.orders === null || (isObject(raw.orders) && typeof raw.orders.path === 'string')) &&
		['rowsRead', 'rowsWritten', 'rowsRejected', 'rowsFilteredOut'].every((k) => Number.isSafeInteger(raw[k])) &&
		(raw.rejects === null || (raw.rejects === REJECTS && Number.isSafeInteger(raw.rejectsBytes))) &&
		Array.isArray(raw.partitions) &&
		raw.partitions.every(
			(p) =>
				isObject(p) &&
				isStringArray(p.key) &&
				(p.keyHex === undefined || isStringArray(p.keyHex)) &&
				Number.isSafeInteger(p.rows) &&
				isObject(p.stats) &&
				(p.file === null ||
					(isSafeRelative(p.file) &&
						Number.isSafeInteger(p.bytes) &&
						(!capped ||
							(Array.isArray(p.files) &&
								p.files.length > 0 &&
								p.files.every(
									(f) =>
										isObject(f) &&
										isSafeRelative(f.file) &&
										Number.isSafeInteger(f.rows) &&
										Number.isSafeInteger(f.bytes),
								))))),
		);
	if (!ok)
		throw bad('is not a complete Sweep manifest (a field is missing or of the wrong type); extract the output again');
	return raw as unknown as AppendBase['manifest'];
}

/** The output options an append runs with: the output's own, read from its manifest. */
export interface AppendSettings {
	mapping: Record<string, string>;
	partitionBy: string[];
	delimiter: string;
	ordersFile: string | null;
	layout: Layout;
	keepPartitionColumns: boolean;
	maxRowsPerFile: number | null;
	columns: string[] | null;
	compress: OutputCompression | null;
	/** Parquet output: the output's type mode and codec (its column types are in the manifest), or null. */
	parquet: { types: ParquetTypesMode; codec: ParquetCompression } | null;
}

/**
 * For an append whose input's columns do not fit the output (a missing partition column, other columns) and whose
 * delimiter was not given: when the input's own delimiter (sniffed) is not the output's, that is the problem to name,
 * not a column. Null when the delimiters agree.
 */
export function appendDelimiterMismatch(base: AppendBase, file: string, sample: Buffer): SweepError | null {
	const own = sniffFileDelimiter(sample);
	const theirs = base.manifest.source.delimiter;
	if (own === theirs) return null;
	return new SweepError(
		'append-mismatch',
		`Cannot append ${file} to ${base.outDir}: its delimiter is ${JSON.stringify(theirs)}, and ${file}'s looks like ${JSON.stringify(own)}; records are appended with the output's delimiter, so the file must use it.`,
		{ file },
	);
}

/**
 * The settings an append runs with: the output's own (from its manifest), unless given, and then they must agree:
 * a difference is exit 2 naming it.
 */
export function appendSettings(
	base: AppendBase,
	options: ExtractOptions,
	delimiterGiven: string | null,
): AppendSettings {
	const m = base.manifest;
	const differ = (what: string) =>
		new SweepError('append-mismatch', `Cannot append to ${base.outDir}: ${what}.`, { file: base.outDir });
	if (options.partitionBy && options.partitionBy.length > 0 && list(options.partitionBy) !== list(m.partitionBy)) {
		throw differ(
			`it is partitioned by ${list(m.partitionBy)}, not by ${list(options.partitionBy)} (leave out --partition-by to use the output's)`,
		);
	}
	if (delimiterGiven && delimiterGiven !== m.source.delimiter) {
		throw differ(`its delimiter is ${JSON.stringify(m.source.delimiter)}, not ${JSON.stringify(delimiterGiven)}`);
	}
	const pq = m.format === 'parquet' ? m.parquet : undefined;
	const format = pq ? 'parquet' : 'csv';
	if (options.format !== undefined && options.format !== format) {
		throw differ(
			`its files are ${pq ? 'Parquet' : 'CSV'}, not ${options.format} (leave out --format to use the output's)`,
		);
	}
	if (!pq && options.parquetTypes !== undefined)
		throw differ('its files are CSV, and --parquet-types applies only to Parquet');
	if (pq && options.parquetTypes !== undefined && options.parquetTypes !== pq.types) {
		throw differ(`its column types were decided with --parquet-types ${pq.types}, not ${options.parquetTypes}`);
	}
	const layout = m.layout ?? 'flat';
	if (options.layout !== undefined && options.layout !== layout) {
		throw differ(`its layout is ${layout}, not ${options.layout} (leave out --layout to use the output's)`);
	}
	const keep = m.keepPartitionColumns ?? false;
	if (options.keepPartitionColumns !== undefined && options.keepPartitionColumns !== keep) {
		throw differ(
			keep
				? 'it keeps the partition columns in the files (--keep-partition-columns), and this run does not'
				: 'it leaves the partition columns out of the files, and this run gives --keep-partition-columns',
		);
	}
	const maxRows = m.maxRowsPerFile ?? null;
	if (options.maxRowsPerFile != null && options.maxRowsPerFile !== maxRows) {
		throw differ(
			maxRows === null
				? `it has one file per partition, and this run gives --max-rows-per-file ${options.maxRowsPerFile}`
				: `its files hold at most ${maxRows} rows, not ${options.maxRowsPerFile} (--max-rows-per-file)`,
		);
	}
	const selected = m.selectedColumns ?? null;
	if (options.columns && options.columns.length > 0 && list(options.columns) !== list(selected ?? [])) {
		throw differ(
			selected === null
				? `it holds every column, and this run selects --columns ${list(options.columns)}`
				: `its files hold --columns ${list(selected)}, not ${list(options.columns)}`,
		);
	}
	const codec = m.output?.compression ?? 'none';
	const level = m.output?.compressionLevel ?? null;
	if (pq && options.compress != null && options.compress !== pq.compression) {
		throw differ(`its Parquet column chunks are ${pq.compression}-compressed, not ${options.compress} (--compress)`);
	}
	if (pq && options.compressLevel != null) {
		throw differ('its files are Parquet, and a compression level applies only to CSV output');
	}
	if (!pq && options.compress !== undefined) {
		const given = options.compress ?? 'none';
		if (given !== codec) {
			throw differ(
				`its files are ${codec === 'none' ? 'not compressed' : `${codec}-compressed`}, not ${given} (--compress)`,
			);
		}
		if (options.compressLevel != null && options.compressLevel !== level) {
			throw differ(`its files are compressed at level ${level}, not ${options.compressLevel} (--compress-level)`);
		}
	}
	let ordersFile = m.orders ? m.orders.path : null;
	if (options.ordersFile) {
		if (!m.orders) throw differ('it was extracted without an orders file, and this run gives one');
		ordersFile = options.ordersFile;
	}
	return {
		mapping: options.mapping && Object.keys(options.mapping).length > 0 ? options.mapping : (m.mapping ?? {}),
		partitionBy: m.partitionBy,
		delimiter: m.source.delimiter,
		ordersFile,
		layout,
		keepPartitionColumns: keep,
		maxRowsPerFile: maxRows,
		columns: selected,
		compress: pq ? null : outputCompression(codec, level),
		parquet: pq ? { types: pq.types, codec: pq.compression } : null,
	};
}

/** Refuses an input whose header (after mapping) or orders differ from the output's. */
export function checkAppendColumns(base: AppendBase, input: string, plan: ColumnPlan, orders: Orders | null): void {
	const m = base.manifest;
	const differ = (what: string) =>
		new SweepError('append-mismatch', `Cannot append ${input} to ${base.outDir}: ${what}.`, {
			file: input,
		});
	const want = m.sourceColumns;
	if (list(plan.columns) !== list(want) || plan.columns.length !== want.length) {
		const n = Math.max(plan.columns.length, want.length);
		let i = 0;
		while (i < n && plan.columns[i] === want[i]) i++;
		const show = (c: string | undefined) => (c === undefined ? 'nothing' : JSON.stringify(c));
		throw differ(
			`its column ${i + 1} is ${show(plan.columns[i])} after mapping, the output's is ${show(want[i])} (the output's columns: ${list(want)})`,
		);
	}
	if (m.orders && orders) {
		const sha = ordersSha256(orders);
		if (orders.keys.length !== m.orders.keys || (m.orders.keysSha256 && m.orders.keysSha256 !== sha)) {
			throw differ(
				`the orders file ${orders.path} holds other keys than when the output was made (${orders.keys.length} keys now, ${m.orders.keys} then)`,
			);
		}
	}
}

/** SHA-256 of an orders file's distinct keys in order (its identity for an append). */
export function ordersSha256(orders: Orders): string {
	return sha256(Buffer.from(orders.keys.join('\n'), 'latin1'));
}

/**
 * The input listed earlier with the same content, or (before reading it) the same path and the same stamp — size,
 * modification and change time, the rule of sameFile.ts — if any.
 */
export function earlierInput(
	base: AppendBase,
	match: { sha256: string } | { path: string; stamp: FileStamp },
): { index: number; input: ManifestInput } | null {
	const inputs = base.manifest.inputs;
	for (let i = 0; i < inputs.length; i++) {
		const e = inputs[i];
		if ('sha256' in match ? e.sha256 === match.sha256 : e.path === match.path && sameStamp(e, match.stamp))
			return { index: i, input: e };
	}
	return null;
}

export function duplicateError(
	input: string,
	base: AppendBase,
	found: { index: number; input: ManifestInput },
): SweepError {
	const e = found.input;
	return new SweepError(
		'duplicate-input',
		`${input} is already in ${base.outDir}: the same content (SHA-256 ${e.sha256.slice(0, 12)}…) was added by the ${ordinal(found.index + 1)} of its ${base.manifest.inputs.length} runs, from ${e.path} (modified ${e.mtime}). Use --allow-duplicate-input to add it again.`,
		{ file: input },
	);
}

function ordinal(n: number): string {
	const s = n % 100 >= 11 && n % 100 <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th');
	return `${n}${s}`;
}

/** Free space for the append (about the input's size), checked before anything is written. */
export async function checkAppendSpace(outDir: string, bytes: number): Promise<void> {
	try {
		const fs = await statfs(outDir);
		const free = fs.bavail * fs.bsize;
		if (free < bytes) {
			throw new SweepError(
				'no-space',
				`Not enough free space in ${outDir}: ${formatSize(free)} free, the append needs about ${formatSize(bytes)} (estimated from the input's size and the output's compression).`,
				{ file: outDir },
			);
		}
	} catch (e) {
		if (e instanceof SweepError) throw e;
	}
}
