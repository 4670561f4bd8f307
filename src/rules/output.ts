import { accept, type Checked, refuse } from './checked';

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
