/**
 * Parquet layout constants. The option rules (format, types, codec) live in src/rules/output.ts.
 */
export type { OutputFormat, ParquetCompression } from '../../rules';

/** Rows per row group (fewer when a group would hold more than ROW_GROUP_BYTES of CSV). */
export const ROW_GROUP_ROWS = 32_768;
/** CSV bytes per row group at most (a single larger record gets a group of its own). */
export const ROW_GROUP_BYTES = 4 * 1024 * 1024;

/**
 * Parquet type inference (docs/parquet.md, "How the types are decided"): each worker classifies the values of its
 * first chunks until it has classified this many bytes of records, then only the columns it has seen no value of;
 * the types decided from that sample are proven (or widened) by the conversion, which tests every value anyway.
 */
export const PARQUET_SAMPLE_BYTES = 4 * 1024 * 1024;
