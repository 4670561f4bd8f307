/**
 * The figures Sweep derives from the machine, as pure functions of numbers (README "Workers and chunk size"). The
 * fixed defaults and maximums live in src/rules/limits.ts.
 */

/** Share of the available memory a run may keep in flight. */
const MEMORY_SHARE = 0.05;
/** Approximate in-memory cost of one row in flight, in bytes. */
const BYTES_PER_ROW = 10_240;
const CHUNK_STEP = 10_000;
const MIN_DERIVED_CHUNK = 10_000;
const MAX_DERIVED_CHUNK = 500_000;

/**
 * Worker threads for a machine with `cpuCount` logical CPUs: 1 up to 2 cores, cores - 1 up to 4,
 * otherwise min(cores - 2, 16). Leaves room for the main thread, which reads and writes.
 */
export function deriveWorkers(cpuCount: number): number {
	const cores = Number.isFinite(cpuCount) ? Math.floor(cpuCount) : 1;
	if (cores <= 2) return 1;
	if (cores <= 4) return cores - 1;
	return Math.min(cores - 2, 16);
}

/**
 * Parquet conversions at a time (the second phase, docs/parquet.md) for a machine with `cpuCount` logical CPUs: the
 * workers' cores and the one they leave to the thread that reads and writes, which is idle while files are converted
 * (1 on 1 core, 2 on 2, all of them up to 4, otherwise the workers + 1).
 */
export function deriveConversions(cpuCount: number): number {
	const cores = Number.isFinite(cpuCount) ? Math.max(1, Math.floor(cpuCount)) : 1;
	return Math.min(cores, deriveWorkers(cores) + 1);
}

/**
 * Rows per chunk for `availableBytes` of available memory: 5% of it at ~10 KiB per row in flight,
 * rounded to the nearest 10,000 and clamped to [10,000, 500,000].
 */
export function deriveChunkSize(availableBytes: number): number {
	const bytes = Number.isFinite(availableBytes) && availableBytes > 0 ? availableBytes : 0;
	const rounded = Math.round((bytes * MEMORY_SHARE) / BYTES_PER_ROW / CHUNK_STEP) * CHUNK_STEP;
	return Math.min(MAX_DERIVED_CHUNK, Math.max(MIN_DERIVED_CHUNK, rounded));
}
