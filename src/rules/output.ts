import { accept, type Checked, refuse } from './checked';

/**
 * The output options (docs/output.md): how partition files are laid out, and which columns they hold. The CLI, the
 * settings reader and the engine all call these (`--max-rows-per-file` / `sweep.maxRowsPerFile` is a count:
 * `parseCount(raw, 1)`).
 */

/** `flat`: `AAPL.csv`; `hive`: `symbol=AAPL/data.csv`. */
export type Layout = 'flat' | 'hive';
export const LAYOUTS: readonly Layout[] = ['flat', 'hive'];

/** `--layout` / `sweep.layout` / `layout`: `flat` or `hive` (exactly; null and undefined mean `flat`). */
export function parseLayout(raw: unknown): Checked<Layout> {
	if (raw === undefined || raw === null) return accept('flat');
	if (raw === 'flat' || raw === 'hive') return accept(raw);
	return refuse('is not flat or hive');
}

/**
 * `--columns a,b,c` / `sweep.columns` / `columns`: distinct, non-empty output column names, in output order (a
 * string is split at commas; blanks around names are trimmed). Null, undefined or an empty list: all columns (null).
 */
export function parseColumnList(raw: unknown): Checked<string[] | null> {
	if (raw === undefined || raw === null) return accept(null);
	const list = typeof raw === 'string' ? raw.split(',') : raw;
	if (!Array.isArray(list) || !list.every((c) => typeof c === 'string')) return refuse('is not a list of column names');
	if (list.length === 0) return accept(null);
	const names = list.map((c: string) => c.trim());
	if (names.some((c) => c === '')) return refuse('has an empty column name');
	const seen = new Set<string>();
	for (const c of names) {
		if (seen.has(c)) return refuse(`names column ${JSON.stringify(c)} twice`);
		seen.add(c);
	}
	return accept(names);
}

/** Output format of the partitions (`--format`, `sweep.format`). */
export type OutputFormat = 'csv' | 'parquet';
/** How Parquet column types are chosen (`--parquet-types`, `sweep.parquetTypes`; docs/parquet.md). */
export type ParquetTypesMode = 'infer' | 'string';
/** The codec of Parquet column chunks (`--compress` with `--format parquet`). */
export type ParquetCompression = 'snappy' | 'zstd' | 'gzip' | 'none';

export const OUTPUT_FORMATS: readonly OutputFormat[] = ['csv', 'parquet'];
export const PARQUET_TYPES_MODES: readonly ParquetTypesMode[] = ['infer', 'string'];
export const PARQUET_COMPRESSIONS: readonly ParquetCompression[] = ['snappy', 'zstd', 'gzip', 'none'];

/** One of `allowed` (case-insensitive, trimmed); absent, null or empty is `fallback`. */
function oneOf<T extends string>(raw: unknown, allowed: readonly T[], fallback: T): Checked<T> {
	if (raw === undefined || raw === null || raw === '') return accept(fallback);
	const v = typeof raw === 'string' ? raw.trim().toLowerCase() : undefined;
	if (v !== undefined && (allowed as readonly string[]).includes(v)) return accept(v as T);
	return refuse(`is not ${allowed.slice(0, -1).join(', ')} or ${allowed[allowed.length - 1]}`);
}

/** The output format rule: `csv` (default) or `parquet`. */
export const parseOutputFormat = (raw: unknown) => oneOf(raw, OUTPUT_FORMATS, 'csv');
/** The Parquet types rule: `infer` (default) or `string`. */
export const parseParquetTypes = (raw: unknown) => oneOf(raw, PARQUET_TYPES_MODES, 'infer');
/** The Parquet codec rule: `snappy` (default), `zstd`, `gzip` or `none`. */
export const parseParquetCompression = (raw: unknown) => oneOf(raw, PARQUET_COMPRESSIONS, 'snappy');
