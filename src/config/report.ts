import { formatCount } from '../rules';
import type { ResolvedConfig } from './resolve';

export { formatCount };

const GIB = 2 ** 30;

/** Bytes as GB (2^30 bytes) with two decimals and `,` between thousands: `15.23 GB`. */
export function formatBytes(n: number): string {
	const [whole, fraction] = (n / GIB).toFixed(2).split('.');
	return `${formatCount(Number(whole))}.${fraction} GB`;
}

/** The System Configuration report of SPEC §3, byte for byte (lines joined with `\n`, no trailing newline). */
export function formatReport(config: ResolvedConfig): string {
	const suffix = (label: string | null) => (label === null ? '' : ` (${label})`);
	const lines = [
		'System Configuration:',
		`  CPU Cores: ${config.cpuCount === null ? 'unknown' : formatCount(config.cpuCount)}`,
		`  Workers: ${formatCount(config.workers)}${suffix(config.labels.workers)}`,
		`  Available Memory: ${config.availableMemoryBytes === null ? 'unknown' : formatBytes(config.availableMemoryBytes)}`,
		`  Chunk Size: ${formatCount(config.chunkSize)}${suffix(config.labels.chunkSize)}`,
		`  Parallel Processing: ${config.enableParallel ? 'Enabled' : 'Disabled'}`,
		...config.warnings.map((w) => `  Warning: ${w}`),
	];
	return lines.join('\n');
}
