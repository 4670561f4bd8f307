/**
 * Parquet layout constants. The option rules (format, types, codec) live in src/rules/output.ts.
 */
export type { OutputFormat, ParquetCompression } from '../../rules';

/** Rows per row group (fewer when a group would hold more than ROW_GROUP_BYTES of CSV). */
export const ROW_GROUP_ROWS = 32_768;
/** CSV bytes per row group at most (a single larger record gets a group of its own). */
export const ROW_GROUP_BYTES = 4 * 1024 * 1024;
