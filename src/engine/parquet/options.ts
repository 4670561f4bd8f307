/**
 * The Parquet options, one parser each, shared by the CLI, the settings and the engine.
 * (To move into src/rules/ with the other option parsers once that module exists.) Pure: no imports, so the
 * extension can use them for settings without loading the engine.
 */
import type { ParquetTypesMode } from './types';

export type OutputFormat = 'csv' | 'parquet';
export type ParquetCompression = 'snappy' | 'zstd' | 'gzip' | 'none';

export const FORMATS: readonly OutputFormat[] = ['csv', 'parquet'];
export const PARQUET_TYPES: readonly ParquetTypesMode[] = ['infer', 'string'];
export const PARQUET_COMPRESSIONS: readonly ParquetCompression[] = ['snappy', 'zstd', 'gzip', 'none'];

/** Rows per row group (fewer when a group would hold more than ROW_GROUP_BYTES of CSV). */
export const ROW_GROUP_ROWS = 32_768;
/** CSV bytes per row group at most (a single larger record gets a group of its own). */
export const ROW_GROUP_BYTES = 4 * 1024 * 1024;

/** One of `allowed` (case-insensitive, trimmed), or an error message naming the value and the choices. */
function oneOf<T extends string>(value: unknown, allowed: readonly T[], what: string): T | { error: string } {
	const v = typeof value === 'string' ? (value.trim().toLowerCase() as T) : undefined;
	if (v !== undefined && allowed.includes(v)) return v;
	return { error: `${what} must be one of ${allowed.join(', ')} (got ${JSON.stringify(value)})` };
}

export const parseFormat = (v: unknown) => oneOf(v, FORMATS, 'format');
export const parseParquetTypes = (v: unknown) => oneOf(v, PARQUET_TYPES, 'parquet types');
export const parseParquetCompression = (v: unknown) => oneOf(v, PARQUET_COMPRESSIONS, 'Parquet compression');
