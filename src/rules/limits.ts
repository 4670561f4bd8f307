/**
 * Sweep's fixed figures and names, one home each. The README ("What Sweep guarantees", "Workers and chunk size",
 * "Command line") states them for users.
 */

/** Workers used when nothing could be detected (README "Workers and chunk size"). */
export const DEFAULT_WORKERS = 1;
/** Rows per chunk when nothing could be detected. */
export const DEFAULT_CHUNK_SIZE = 100_000;
/** Worker counts above this are clamped, with a warning. */
export const MAX_WORKERS = 256;
/** Chunk sizes above this are clamped, with a warning. */
export const MAX_CHUNK_SIZE = 10_000_000;

/** Byte cap of one chunk, and so of one record: a longer record stops the run, naming its line. */
export const MAX_RECORD_BYTES = 64 * 1024 * 1024;
/**
 * Partition files kept open at once, the rest reopened to append (fewer when descriptors run out): half the
 * process's open-file limit (engine/writer.ts `defaultMaxOpenFiles`), at least MIN_OPEN_FILES (also where the limit
 * cannot be read) and at most MAX_OPEN_FILES.
 */
export const MIN_OPEN_FILES = 512;
export const MAX_OPEN_FILES = 8192;
/** Orders files are read whole: larger ones are refused. */
export const MAX_ORDERS_BYTES = 512 * 1024 * 1024;
/** A run stops beyond this many partitions unless `--max-partitions` says otherwise. */
export const DEFAULT_MAX_PARTITIONS = 100_000;
/** Buckets `hash(COL, N)` may ask for: N from 1 to this. */
export const MAX_HASH_BUCKETS = DEFAULT_MAX_PARTITIONS;

/** What the partitions are named by when neither a flag nor a setting says. */
export const DEFAULT_PARTITION_BY: readonly string[] = ['symbol'];

/** Sweep's own files in an output folder. Partition files never start with `_`, so they cannot collide. */
export const MANIFEST_FILE = '_manifest.json';
export const REJECTS_FILE = '_rejects.csv';
/** Kept beside the output files while an append runs (docs/append.md); the new manifest is written to the next one. */
export const APPEND_JOURNAL_FILE = '_append-journal.json';
export const APPEND_JOURNAL_NEXT_FILE = '_append-journal.json.next';
export const MANIFEST_NEXT_FILE = '_manifest.json.next';
/** Sweep's bookkeeping files an interrupted or failed append can leave in an output folder (besides the manifest). */
export const APPEND_LEFTOVER_FILES = [APPEND_JOURNAL_FILE, APPEND_JOURNAL_NEXT_FILE, MANIFEST_NEXT_FILE] as const;
