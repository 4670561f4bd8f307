import * as zlib from 'node:zlib';
/**
 * Parsing of Sweep's settings into typed values. Plain Node (no `vscode`): `settings.ts` feeds it
 * what `WorkspaceConfiguration.get/inspect` return, tests feed it literals. Parsers accept any JSON
 * and fall back safely, with one sentence per bad value. The rules themselves (what a delimiter or a
 * partition spec may be) live in src/rules, shared with the CLI and the engine: a value the engine
 * would refuse is a warning here, never a failed run.
 */
import {
	type Checked,
	type Compression,
	DEFAULT_PARTITION_BY,
	parseDelimiter as delimiterRule,
	type Layout,
	parseLayout as layoutRule,
	nodeHasZstd,
	type OutputFormat,
	type ParquetTypesMode,
	parseColumnList,
	parseCompression,
	parseCount,
	parseOutputFormat,
	parseParquetTypes,
	parsePartitionList,
	refusal,
	show,
	zstdOutputProblem,
} from '../rules';

export { show };

/** Default of `sweep.outputDirectory` (mirrors package.json). */
// biome-ignore lint/suspicious/noTemplateCurlyInString: VS Code-style variables, expanded by expandVariables.
export const DEFAULT_OUTPUT_DIRECTORY = '${fileDirname}/processed/${fileBasenameNoExtension}';

/** The scopes of `WorkspaceConfiguration.inspect()` Sweep looks at. */
export interface Inspected {
	defaultValue?: unknown;
	globalValue?: unknown;
	workspaceValue?: unknown;
	workspaceFolderValue?: unknown;
}

/** Where a setting's value came from. */
export type SettingOrigin = 'default' | 'user' | 'workspace' | 'workspaceFolder';

/** What `settings.ts` reads through; `getConfiguration('sweep', resource)` in VS Code. */
export interface SettingsReader {
	get(key: string): unknown;
	inspect(key: string): Inspected | undefined;
}

/**
 * Sweep's settings for one file (resource scope), typed. Every call makes a fresh object.
 * Mirrors the `contributes.configuration` of package.json.
 */
export interface FileSettings {
	/** `sweep.workers`, raw: resolved (and warned about) by `resolveConfig`. */
	workers: unknown;
	/** `sweep.chunkSize`, raw: resolved (and warned about) by `resolveConfig`. */
	chunkSize: unknown;
	/** `sweep.partitionBy`: output columns or `date(COL)`. */
	partitionBy: string[];
	/** `sweep.columnMapping`: canonical name -> source column. */
	columnMapping: Record<string, string>;
	/** `sweep.delimiter`: one character, or null to sniff. */
	delimiter: string | null;
	/** `sweep.compression`: how partition files are written. */
	compression: Compression;
	/** `sweep.format`: `csv` or `parquet`. */
	format: OutputFormat;
	/** `sweep.parquetTypes`: `infer` or `string` (Parquet output only). */
	parquetTypes: ParquetTypesMode;
	/** `sweep.outputDirectory`, unexpanded (may hold `${…}` variables). */
	outputDirectory: string;
	outputDirectoryOrigin: SettingOrigin;
	/** `sweep.layout`. */
	layout: 'flat' | 'hive';
	/** `sweep.keepPartitionColumns`. */
	keepPartitionColumns: boolean;
	/** `sweep.maxRowsPerFile`, or null for one file per partition. */
	maxRowsPerFile: number | null;
	/** `sweep.columns`, or null for all columns. */
	columns: string[] | null;
	/** `sweep.ordersFile`, unexpanded, or null. */
	ordersFile: string | null;
	ordersFileOrigin: SettingOrigin;
	/** Bad values ignored: one sentence each. */
	warnings: string[];
	/** Restricted Mode notes: workspace values that were ignored. */
	notices: string[];
}

/** A value picked among the scopes of a setting, and what was ignored on the way. */
export interface RestrictedChoice {
	value: unknown;
	origin: SettingOrigin;
	/** Set when a workspace value was ignored because the workspace is not trusted. */
	notice?: string;
}

/**
 * Picks the value of a setting that workspaces may not set in Restricted Mode (`outputDirectory`,
 * `ordersFile`): trusted, the most specific scope wins; untrusted, only the user value or the default.
 */
export function chooseRestricted(key: string, inspected: Inspected | undefined, trusted: boolean): RestrictedChoice {
	const i = inspected ?? {};
	if (trusted) {
		if (i.workspaceFolderValue !== undefined) return { value: i.workspaceFolderValue, origin: 'workspaceFolder' };
		if (i.workspaceValue !== undefined) return { value: i.workspaceValue, origin: 'workspace' };
	}
	const chosen: RestrictedChoice =
		i.globalValue !== undefined
			? { value: i.globalValue, origin: 'user' }
			: { value: i.defaultValue, origin: 'default' };
	const ignored = i.workspaceFolderValue !== undefined ? i.workspaceFolderValue : i.workspaceValue;
	if (!trusted && ignored !== undefined) {
		const using = chosen.origin === 'user' ? `your user setting (${show(chosen.value)})` : 'the default';
		chosen.notice = `Restricted Mode: the workspace value of sweep.${key} (${show(ignored)}) is ignored; using ${using}. Trust the workspace to use it.`;
	}
	return chosen;
}

/**
 * `sweep.partitionBy`: a non-empty array of partition specs (a single string is taken as one spec), each valid by
 * the partition-spec rule; otherwise the default, with a warning.
 */
export function parsePartitionBy(raw: unknown): { value: string[]; warning?: string } {
	if (raw === undefined || raw === null) return { value: [...DEFAULT_PARTITION_BY] };
	const list = typeof raw === 'string' ? [raw] : raw;
	const fallback = `using ${show(DEFAULT_PARTITION_BY)}`;
	if (!Array.isArray(list) || list.length === 0 || !list.every((c) => typeof c === 'string')) {
		return {
			value: [...DEFAULT_PARTITION_BY],
			warning: `setting sweep.partitionBy = ${show(raw)} is not a list of column names; ${fallback}`,
		};
	}
	const checked = parsePartitionList(list);
	if (!checked.ok) {
		const warning = `${refusal('setting sweep.partitionBy =', show(raw), checked.problem)}; ${fallback}`;
		return { value: [...DEFAULT_PARTITION_BY], warning };
	}
	return { value: checked.value.map((p) => p.spec) };
}

/** `sweep.columnMapping`: `{ canonical: source }` with string values; bad entries are dropped. */
export function parseColumnMapping(raw: unknown): { value: Record<string, string>; warning?: string } {
	if (raw === undefined || raw === null) return { value: {} };
	if (typeof raw !== 'object' || Array.isArray(raw)) {
		return { value: {}, warning: `setting sweep.columnMapping = ${show(raw)} is not an object; ignored` };
	}
	const value: Record<string, string> = {};
	const bad: string[] = [];
	for (const [canonical, source] of Object.entries(raw)) {
		if (canonical.trim() !== '' && typeof source === 'string' && source !== '') value[canonical] = source;
		else bad.push(`${show(canonical)}: ${show(source)}`);
	}
	if (bad.length === 0) return { value };
	return {
		value,
		warning: `setting sweep.columnMapping: ${bad.join(', ')} ignored (each entry maps a new name to a source column name)`,
	};
}

/** `sweep.delimiter` by the delimiter rule (null: sniff it); a refused value is sniffed instead, with a warning. */
export function parseDelimiter(raw: unknown): { value: string | null; warning?: string } {
	const checked = delimiterRule(raw);
	if (checked.ok) return { value: checked.value };
	const warning = `${refusal('setting sweep.delimiter =', show(raw), checked.problem)}; the delimiter is sniffed instead`;
	return { value: null, warning };
}

/**
 * `sweep.compression` through the compression rule; zstd on an extension host whose Node lacks it (before 22.15) is
 * a warning too, and plain files are written.
 */
export function parseCompressionSetting(raw: unknown): { value: Compression; warning?: string } {
	const r = byRule<Compression>('compression', raw, parseCompression(raw), 'none', 'writing plain files');
	if (r.value === 'zstd' && !nodeHasZstd(zlib)) {
		return {
			value: 'none',
			warning: `setting sweep.compression = "zstd": ${zstdOutputProblem(process.version)}; writing plain files`,
		};
	}
	return r;
}

/** A setting read by its rule (src/rules); a refused value falls back, with one warning in the rule's words. */
function byRule<T>(
	key: string,
	raw: unknown,
	rule: Checked<T>,
	fallback: T,
	using: string,
): { value: T; warning?: string } {
	if (rule.ok) return { value: rule.value };
	return { value: fallback, warning: `${refusal(`setting sweep.${key} =`, show(raw), rule.problem)}; ${using}` };
}

/** `sweep.layout`: `flat` or `hive`. */
export function parseLayout(raw: unknown): { value: Layout; warning?: string } {
	return byRule('layout', raw, layoutRule(raw), 'flat', 'using "flat"');
}

/** `sweep.keepPartitionColumns`: a boolean. */
export function parseKeepPartitionColumns(raw: unknown): { value: boolean; warning?: string } {
	if (raw === undefined || raw === null) return { value: false };
	if (typeof raw === 'boolean') return { value: raw };
	return {
		value: false,
		warning: `setting sweep.keepPartitionColumns = ${show(raw)} is not true or false; using false`,
	};
}

/** `sweep.maxRowsPerFile`: a whole number >= 1 (the count rule), or null. */
export function parseMaxRowsPerFile(raw: unknown): { value: number | null; warning?: string } {
	if (raw === undefined || raw === null) return { value: null };
	return byRule(
		'maxRowsPerFile',
		raw,
		parseCount(typeof raw === 'number' ? raw : Number.NaN, 1),
		null,
		'files are not capped',
	);
}

/** `sweep.columns`: distinct, non-empty column names (the column-list rule), or null (all columns). */
export function parseColumns(raw: unknown): { value: string[] | null; warning?: string } {
	if (typeof raw === 'string') {
		return {
			value: null,
			warning: `setting sweep.columns = ${show(raw)} is not a list of column names; all columns are written`,
		};
	}
	return byRule('columns', raw, parseColumnList(raw), null, 'all columns are written');
}

/** A path setting that may be unset (`sweep.ordersFile`). */
function parseOptionalPath(key: string, raw: unknown): { value: string | null; warning?: string } {
	if (raw === undefined || raw === null || (typeof raw === 'string' && raw.trim() === '')) return { value: null };
	if (typeof raw === 'string') return { value: raw.trim() };
	return { value: null, warning: `setting sweep.${key} = ${show(raw)} is not a path; ignored` };
}

/** Reads all of Sweep's settings for one resource. Pure given the reader. */
export function readFileSettings(reader: SettingsReader, trusted: boolean): FileSettings {
	const warnings: string[] = [];
	const notices: string[] = [];
	const take = <T>(r: { value: T; warning?: string }): T => {
		if (r.warning) warnings.push(r.warning);
		return r.value;
	};

	const out = chooseRestricted('outputDirectory', reader.inspect('outputDirectory'), trusted);
	if (out.notice) notices.push(out.notice);
	let outputDirectory = DEFAULT_OUTPUT_DIRECTORY;
	if (typeof out.value === 'string' && out.value.trim() !== '') outputDirectory = out.value.trim();
	else if (out.value !== undefined && out.value !== null && out.value !== '') {
		warnings.push(`setting sweep.outputDirectory = ${show(out.value)} is not a path; using the default`);
	}

	const orders = chooseRestricted('ordersFile', reader.inspect('ordersFile'), trusted);
	if (orders.notice) notices.push(orders.notice);

	return {
		workers: reader.get('workers'),
		chunkSize: reader.get('chunkSize'),
		partitionBy: take(parsePartitionBy(reader.get('partitionBy'))),
		columnMapping: take(parseColumnMapping(reader.get('columnMapping'))),
		delimiter: take(parseDelimiter(reader.get('delimiter'))),
		compression: take(parseCompressionSetting(reader.get('compression'))),
		layout: take(parseLayout(reader.get('layout'))),
		keepPartitionColumns: take(parseKeepPartitionColumns(reader.get('keepPartitionColumns'))),
		maxRowsPerFile: take(parseMaxRowsPerFile(reader.get('maxRowsPerFile'))),
		columns: take(parseColumns(reader.get('columns'))),
		format: take(byRule('format', reader.get('format'), parseOutputFormat(reader.get('format')), 'csv', 'using csv')),
		parquetTypes: take(
			byRule(
				'parquetTypes',
				reader.get('parquetTypes'),
				parseParquetTypes(reader.get('parquetTypes')),
				'infer',
				'using infer',
			),
		),
		outputDirectory,
		outputDirectoryOrigin: out.origin,
		ordersFile: take(parseOptionalPath('ordersFile', orders.value)),
		ordersFileOrigin: orders.origin,
		warnings,
		notices,
	};
}

/**
 * Parses the JSON with comments and trailing commas that settings.json and .code-workspace files hold.
 * Returns undefined for text that is not valid even so.
 */
export function parseJsonc(text: string): unknown {
	let out = '';
	let i = 0;
	const n = text.length;
	while (i < n) {
		const c = text[i];
		if (c === '"') {
			const start = i++;
			while (i < n && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
			out += text.slice(start, ++i);
		} else if (c === '/' && text[i + 1] === '/') {
			while (i < n && text[i] !== '\n') i++;
		} else if (c === '/' && text[i + 1] === '*') {
			const end = text.indexOf('*/', i + 2);
			i = end < 0 ? n : end + 2;
		} else {
			out += c;
			i++;
		}
	}
	// Outside strings now only: drop a comma that is followed (after blanks) by } or ].
	let json = '';
	for (let j = 0; j < out.length; j++) {
		const c = out[j];
		if (c === '"') {
			const start = j++;
			while (j < out.length && out[j] !== '"') j += out[j] === '\\' ? 2 : 1;
			json += out.slice(start, j + 1);
			continue;
		}
		if (c === ',') {
			let k = j + 1;
			while (k < out.length && /\s/.test(out[k])) k++;
			if (out[k] === '}' || out[k] === ']') continue;
		}
		json += c;
	}
	try {
		return JSON.parse(json);
	} catch {
		return undefined;
	}
}

/**
 * The value of `key` (e.g. `sweep.ordersFile`) in a parsed settings object, written flat
 * (`"sweep.ordersFile": …`) or nested (`"sweep": { "ordersFile": … }`); undefined when absent.
 */
export function settingIn(settings: unknown, key: string): unknown {
	if (typeof settings !== 'object' || settings === null || Array.isArray(settings)) return undefined;
	const record = settings as Record<string, unknown>;
	if (Object.hasOwn(record, key)) return record[key];
	const dot = key.indexOf('.');
	if (dot < 0) return undefined;
	return settingIn(record[key.slice(0, dot)], key.slice(dot + 1));
}
