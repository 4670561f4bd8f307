import { SweepError } from '../engine/errors';
import type { ConfigSource } from '../engine/types';
import {
	DEFAULT_CHUNK_SIZE,
	DEFAULT_WORKERS,
	formatCount,
	MAX_CHUNK_SIZE,
	MAX_WORKERS,
	OVERRIDE_HINT,
	OVERRIDE_PROBLEM,
	type Override,
	parseOverride,
	show,
} from '../rules';
import type { SystemInfo } from './detect';
import { deriveChunkSize, deriveConversions, deriveWorkers } from './rules';

/** Raw override values, as the user wrote them (README "Workers and chunk size"). */
export interface OverrideInputs {
	/** Raw CLI strings (`--workers`, `--chunk-size`); a bad one is a usage error. */
	flags?: { workers?: string; chunkSize?: string };
	/** Raw values from settings.json (`sweep.workers`, `sweep.chunkSize`): any JSON. */
	settings?: { workers?: unknown; chunkSize?: unknown };
	/** The environment (`SWEEP_WORKERS`, `SWEEP_CHUNK_SIZE`). */
	env?: Record<string, string | undefined>;
}

/** The figures a run uses, where each came from, and what went wrong on the way. */
export interface ResolvedConfig {
	cpuCount: number | null;
	availableMemoryBytes: number | null;
	workers: number;
	chunkSize: number;
	/**
	 * Parquet conversions at a time: by the machine (deriveConversions) when the worker count is detected, else the
	 * worker count that was asked for.
	 */
	conversions: number;
	/** Workers > 1. */
	enableParallel: boolean;
	sources: { workers: ConfigSource; chunkSize: ConfigSource };
	/** The report's suffix for each figure (`SWEEP_WORKERS`, `setting sweep.chunkSize`, `--workers`, `fallback: os`, `defaults`); null when detected. */
	labels: { workers: string | null; chunkSize: string | null };
	/** Bad values ignored, values clamped, detection fallbacks: one sentence each. */
	warnings: string[];
	system: SystemInfo;
}

interface FigureSpec {
	flag: string;
	setting: string;
	env: string;
	max: number;
	/** How the figure follows from the detected system. */
	derive: (system: SystemInfo) => number | null;
	fallbackDefault: number;
}

const WORKERS: FigureSpec = {
	flag: '--workers',
	setting: 'sweep.workers',
	env: 'SWEEP_WORKERS',
	max: MAX_WORKERS,
	derive: (s) => (s.cpuCount === null ? null : deriveWorkers(s.cpuCount)),
	fallbackDefault: DEFAULT_WORKERS,
};

const CHUNK_SIZE: FigureSpec = {
	flag: '--chunk-size',
	setting: 'sweep.chunkSize',
	env: 'SWEEP_CHUNK_SIZE',
	max: MAX_CHUNK_SIZE,
	derive: (s) => (s.availableMemoryBytes === null ? null : deriveChunkSize(s.availableMemoryBytes)),
	fallbackDefault: DEFAULT_CHUNK_SIZE,
};

/**
 * Resolves workers and chunk size, each on its own: flag > setting > environment > detected >
 * fallback (README "Workers and chunk size"). Pure. Bad settings and environment values are ignored with a warning; a bad
 * flag throws SweepError `usage`. Values above the maximum are clamped with a warning.
 */
export function resolveConfig(system: SystemInfo, inputs: OverrideInputs = {}): ResolvedConfig {
	const warnings: string[] = [];
	if (system.method !== 'systeminformation') warnings.push(fallbackWarning(system));
	const workers = resolveFigure(WORKERS, system, inputs.flags?.workers, inputs.settings?.workers, inputs.env, warnings);
	const chunkSize = resolveFigure(
		CHUNK_SIZE,
		system,
		inputs.flags?.chunkSize,
		inputs.settings?.chunkSize,
		inputs.env,
		warnings,
	);
	return {
		cpuCount: system.cpuCount,
		availableMemoryBytes: system.availableMemoryBytes,
		workers: workers.value,
		chunkSize: chunkSize.value,
		conversions:
			workers.source === 'detected' && system.cpuCount !== null
				? Math.max(workers.value, deriveConversions(system.cpuCount))
				: workers.value,
		enableParallel: workers.value > 1,
		sources: { workers: workers.source, chunkSize: chunkSize.source },
		labels: { workers: workers.label, chunkSize: chunkSize.label },
		warnings,
		system,
	};
}

/** The usage error of a bad `--workers` / `--chunk-size` flag (the CLI checks flags with it before detection runs). */
export function badOverrideFlag(flag: string, raw: string | undefined): SweepError {
	return new SweepError('usage', `${flag} ${JSON.stringify(raw)} ${OVERRIDE_PROBLEM} ${OVERRIDE_HINT}`);
}

function resolveFigure(
	spec: FigureSpec,
	system: SystemInfo,
	flag: string | undefined,
	setting: unknown,
	env: Record<string, string | undefined> | undefined,
	warnings: string[],
): { value: number; source: ConfigSource; label: string | null } {
	const flagValue = parseOverride(flag);
	if (flagValue.kind === 'invalid') throw badOverrideFlag(spec.flag, flag);
	const settingValue = parseOverride(setting);
	if (settingValue.kind === 'invalid') {
		warnings.push(`setting ${spec.setting} = ${show(setting)} ${OVERRIDE_PROBLEM}; ignored`);
	}
	const envRaw = env?.[spec.env];
	const envValue = parseOverride(envRaw);
	if (envValue.kind === 'invalid') {
		warnings.push(`${spec.env}=${JSON.stringify(envRaw)} ${OVERRIDE_PROBLEM}; ignored`);
	}

	const overrides: [Override, ConfigSource, string, string][] = [
		[flagValue, 'flag', spec.flag, `${spec.flag} ${flag?.trim()}`],
		[settingValue, 'setting', `setting ${spec.setting}`, `setting ${spec.setting} = ${show(setting)}`],
		[envValue, 'env', spec.env, `${spec.env}=${envRaw?.trim()}`],
	];
	for (const [parsed, source, label, shown] of overrides) {
		if (parsed.kind !== 'value') continue;
		let value = parsed.value;
		if (value > spec.max) {
			warnings.push(`${shown} is above the maximum of ${formatCount(spec.max)}; using ${formatCount(spec.max)}`);
			value = spec.max;
		}
		return { value, source, label };
	}

	const derived = spec.derive(system);
	if (derived === null || system.method === 'defaults') {
		return { value: spec.fallbackDefault, source: 'fallback', label: 'defaults' };
	}
	if (system.method === 'os') return { value: derived, source: 'fallback', label: 'fallback: os' };
	return { value: derived, source: 'detected', label: null };
}

function fallbackWarning(system: SystemInfo): string {
	const why = system.fallbackReason ?? 'no reason given';
	if (system.method === 'os') return `System detection fell back to Node's os module: ${why}`;
	return (
		`System detection failed, using defaults (${formatCount(DEFAULT_WORKERS)} worker, chunk size ` +
		`${formatCount(DEFAULT_CHUNK_SIZE)}): ${why}`
	);
}
