import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** What detection found out about the machine (README "Workers and chunk size"). */
export interface SystemInfo {
	/** Logical CPUs usable by this process; null when nothing could be detected. */
	cpuCount: number | null;
	/** Memory available to this process, in bytes; null when nothing could be detected. */
	availableMemoryBytes: number | null;
	/** Which way the figures were obtained: the normal path, the first fallback, or the defaults. */
	method: 'systeminformation' | 'os' | 'defaults';
	/** Why detection fell back, when it did. */
	fallbackReason?: string;
}

/** The machine's figures as a detector reports them. */
export interface DetectedFigures {
	cpuCount: number;
	availableMemoryBytes: number;
}

/** The main detector: asynchronous, may throw or never answer (it is raced against a timeout). */
export type Detector = () => Promise<DetectedFigures>;

/** Limits a cgroup v2 hierarchy puts on this process; null where there is none. */
export interface CgroupLimits {
	/** CPUs allowed by `cpu.max` (quota / period, at least 1). */
	cpuCount: number | null;
	/** Bytes left under `memory.max` (`memory.max` - `memory.current`). */
	availableMemoryBytes: number | null;
}

/** Options of {@link detectSystem}; every part is injectable for tests. */
export interface DetectOptions {
	/** Replaces the `systeminformation` detector (taken as-is, no caps applied). */
	detector?: Detector;
	/** Replaces the Node `os` fallback (taken as-is, no caps applied). */
	osDetector?: () => DetectedFigures;
	/** How long the main detector may take; default 2,000 ms. */
	timeoutMs?: number;
	/** cgroup v2 mount read by the built-in detectors; default `/sys/fs/cgroup`, null = ignore cgroups. */
	cgroupRoot?: string | null;
	/** File naming this process's cgroup (`0::/path`); default `/proc/self/cgroup`. */
	procSelfCgroup?: string;
}

/** How long detection may take before Sweep falls back to Node's `os` module (README "Workers and chunk size"). */
export const DETECTION_TIMEOUT_MS = 2_000;
const DEFAULT_CGROUP_ROOT = '/sys/fs/cgroup';
const DEFAULT_PROC_SELF_CGROUP = '/proc/self/cgroup';

/**
 * Detects CPUs and available memory: `systeminformation` first (with a timeout), then Node's `os`
 * module, then nothing (the caller uses defaults). Never throws; the result says which way it went
 * and why.
 */
export async function detectSystem(opts: DetectOptions = {}): Promise<SystemInfo> {
	const timeoutMs = opts.timeoutMs ?? DETECTION_TIMEOUT_MS;
	const cgroupRoot = opts.cgroupRoot === undefined ? DEFAULT_CGROUP_ROOT : opts.cgroupRoot;
	const procSelfCgroup = opts.procSelfCgroup ?? DEFAULT_PROC_SELF_CGROUP;
	const limits = () => (cgroupRoot === null ? NO_LIMITS : readCgroupLimits(cgroupRoot, procSelfCgroup));
	const detector = opts.detector ?? (() => systeminformationDetector(limits));
	const osDetector = opts.osDetector ?? (() => nodeOsDetector(limits()));

	let mainFailure: string;
	try {
		const figures = validFigures(await withTimeout(detector, timeoutMs));
		return {
			cpuCount: figures.cpuCount,
			availableMemoryBytes: figures.availableMemoryBytes,
			method: 'systeminformation',
		};
	} catch (e) {
		mainFailure = `systeminformation ${e instanceof TimeoutError ? e.message : `failed: ${errorText(e)}`}`;
	}
	try {
		const figures = validFigures(osDetector());
		return {
			cpuCount: figures.cpuCount,
			availableMemoryBytes: figures.availableMemoryBytes,
			method: 'os',
			fallbackReason: mainFailure,
		};
	} catch (e) {
		return {
			cpuCount: null,
			availableMemoryBytes: null,
			method: 'defaults',
			fallbackReason: `${mainFailure}; Node's os module failed too: ${errorText(e)}`,
		};
	}
}

/**
 * Reads the cgroup v2 limits that apply to this process: its own cgroup and every ancestor up to
 * `root`, keeping the lowest. Missing or unreadable files simply mean "no limit".
 */
export function readCgroupLimits(
	root: string = DEFAULT_CGROUP_ROOT,
	procSelfCgroup = DEFAULT_PROC_SELF_CGROUP,
): CgroupLimits {
	let cpuCount: number | null = null;
	let availableMemoryBytes: number | null = null;
	for (const dir of cgroupDirs(root, procSelfCgroup)) {
		const cpu = parseCpuMax(readSmall(path.join(dir, 'cpu.max')));
		if (cpu !== null && (cpuCount === null || cpu < cpuCount)) cpuCount = cpu;
		const max = parseBytes(readSmall(path.join(dir, 'memory.max')));
		if (max !== null) {
			const current = parseBytes(readSmall(path.join(dir, 'memory.current'))) ?? 0;
			const left = Math.max(0, max - current);
			if (availableMemoryBytes === null || left < availableMemoryBytes) availableMemoryBytes = left;
		}
	}
	return { cpuCount, availableMemoryBytes };
}

const NO_LIMITS: CgroupLimits = { cpuCount: null, availableMemoryBytes: null };

/** The process's own cgroup folder and its ancestors, deepest first, ending with `root`. */
function cgroupDirs(root: string, procSelfCgroup: string): string[] {
	const dirs: string[] = [];
	const own = readSmall(procSelfCgroup)
		?.split('\n')
		.find((line) => line.startsWith('0::'))
		?.slice(3)
		.trim();
	if (own && own !== '/') {
		const parts = own.split('/').filter((p) => p !== '' && p !== '.' && p !== '..');
		for (let n = parts.length; n > 0; n--) dirs.push(path.join(root, ...parts.slice(0, n)));
	}
	dirs.push(root);
	return dirs;
}

function readSmall(file: string): string | null {
	try {
		return fs.readFileSync(file, 'utf8');
	} catch {
		return null;
	}
}

/** `cpu.max` is `<quota> <period>` or `max <period>`. */
function parseCpuMax(text: string | null): number | null {
	if (text === null) return null;
	const [quota, period] = text.trim().split(/\s+/);
	if (quota === undefined || quota === 'max') return null;
	const q = Number(quota);
	const p = period === undefined ? 100_000 : Number(period);
	if (!Number.isFinite(q) || !Number.isFinite(p) || q <= 0 || p <= 0) return null;
	return Math.max(1, Math.floor(q / p));
}

function parseBytes(text: string | null): number | null {
	if (text === null) return null;
	const t = text.trim();
	if (!/^\d+$/.test(t)) return null;
	const n = Number(t);
	return Number.isFinite(n) ? n : null;
}

function capped(figures: DetectedFigures, limits: CgroupLimits): DetectedFigures {
	return {
		cpuCount: limits.cpuCount === null ? figures.cpuCount : Math.min(figures.cpuCount, limits.cpuCount),
		availableMemoryBytes:
			limits.availableMemoryBytes === null
				? figures.availableMemoryBytes
				: Math.min(figures.availableMemoryBytes, limits.availableMemoryBytes),
	};
}

/** The default detector. `systeminformation` is required here, never at module load (activation < 20 ms). */
async function systeminformationDetector(limits: () => CgroupLimits): Promise<DetectedFigures> {
	const si = require('systeminformation') as typeof import('systeminformation');
	const [cpu, mem] = await Promise.all([si.cpu(), si.mem()]);
	const cores = Math.min(cpu.cores, os.availableParallelism());
	return capped({ cpuCount: cores, availableMemoryBytes: mem.available }, limits());
}

function nodeOsDetector(limits: CgroupLimits): DetectedFigures {
	return capped({ cpuCount: os.availableParallelism(), availableMemoryBytes: os.freemem() }, limits);
}

function validFigures(f: DetectedFigures): DetectedFigures {
	if (typeof f !== 'object' || f === null) throw new Error(`returned ${String(f)}`);
	const { cpuCount, availableMemoryBytes } = f;
	if (typeof cpuCount !== 'number' || !Number.isInteger(cpuCount) || cpuCount < 1) {
		throw new Error(`reported ${String(cpuCount)} CPUs`);
	}
	if (typeof availableMemoryBytes !== 'number' || !Number.isFinite(availableMemoryBytes) || availableMemoryBytes < 0) {
		throw new Error(`reported ${String(availableMemoryBytes)} bytes of available memory`);
	}
	return { cpuCount, availableMemoryBytes: Math.floor(availableMemoryBytes) };
}

class TimeoutError extends Error {}

function withTimeout<T>(fn: () => Promise<T>, ms: number): Promise<T> {
	return new Promise<T>((resolve, reject) => {
		const timer = setTimeout(() => reject(new TimeoutError(`timed out after ${formatDuration(ms)}`)), ms);
		// Not unref'd: a detector stuck on a promise with no pending I/O must still time out rather than
		// let the process exit with detection unanswered.
		Promise.resolve()
			.then(fn)
			.then(
				(v) => {
					clearTimeout(timer);
					resolve(v);
				},
				(e) => {
					clearTimeout(timer);
					reject(e);
				},
			);
	});
}

function formatDuration(ms: number): string {
	return ms >= 1000 && ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

function errorText(e: unknown): string {
	const text = e instanceof Error ? e.message : String(e);
	return text.replace(/\s+/g, ' ').trim() || 'unknown error';
}
