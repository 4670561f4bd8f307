import { accept, type Checked, refuse } from './checked';

/** A workers / chunk-size override as written: not set, a positive integer, or invalid. */
export type Override = { kind: 'unset' } | { kind: 'value'; value: number } | { kind: 'invalid' };

/** What is wrong with an invalid override (after the value: `--workers "-1" is not a positive integer …`). */
export const OVERRIDE_PROBLEM = 'is not a positive integer';
/** The hint a command line adds to {@link OVERRIDE_PROBLEM}. */
export const OVERRIDE_HINT = '(give a whole number >= 1, or auto)';

/**
 * Reads one `--workers` / `--chunk-size` / `sweep.workers` / `sweep.chunkSize` / `SWEEP_WORKERS` /
 * `SWEEP_CHUNK_SIZE` value. Empty, `0`, `auto` and `null` mean "not set"; a positive integer (a JSON number or a
 * string of digits) is a value (clamped later to its maximum); anything else (`-1`, `2.5`, `eight`, `1e3`, `true`) is invalid.
 */
export function parseOverride(raw: unknown): Override {
	if (raw === undefined || raw === null) return { kind: 'unset' };
	if (typeof raw === 'number') {
		if (raw === 0) return { kind: 'unset' };
		return Number.isInteger(raw) && raw > 0 ? { kind: 'value', value: raw } : { kind: 'invalid' };
	}
	if (typeof raw !== 'string') return { kind: 'invalid' };
	const text = raw.trim();
	if (text === '' || text.toLowerCase() === 'auto' || text.toLowerCase() === 'null') return { kind: 'unset' };
	if (!/^\d+$/.test(text)) return { kind: 'invalid' };
	const value = Number(text);
	return value === 0 ? { kind: 'unset' } : { kind: 'value', value };
}

/**
 * A count with no "auto" (`--max-rejects` from 0, `--max-partitions` from 1, and the engine's `maxRejects`,
 * `maxPartitions`, `workers`, `chunkSize`): a whole number >= `min`, given as a JSON number or a string of digits.
 */
export function parseCount(raw: unknown, min: 0 | 1): Checked<number> {
	const text = typeof raw === 'string' ? raw.trim() : null;
	const n = typeof raw === 'number' ? raw : text !== null && /^\d+$/.test(text) ? Number(text) : Number.NaN;
	if (!Number.isSafeInteger(n) || n < min) return refuse(`is not a whole number >= ${min}`);
	return accept(n);
}
