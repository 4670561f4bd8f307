/**
 * Every sentence Sweep shows in VS Code, as pure functions of plain values (no `vscode`), so the
 * wording is unit-tested and the same everywhere.
 */
import type { ResolvedConfig, SystemInfo } from '../config';
import { formatBytes, formatCount } from '../config';
import { isSweepError } from '../engine/errors';
import type { ExtractProgress, Manifest } from '../engine/types';
import { MANIFEST_FILE } from '../rules';

/** Status bar text before the first detection has finished. */
export const DETECTING_TEXT = '$(server-process) Sweep: detecting…';

/** `1 worker`, `6 workers`. */
export function plural(n: number, one: string, many = `${one}s`): string {
	return `${formatCount(n)} ${n === 1 ? one : many}`;
}

/** Status bar text for a configuration: `$(server-process) 6 workers · 80,000 rows`. */
export function statusBarText(config: ResolvedConfig): string {
	return `$(server-process) ${plural(config.workers, 'worker')} · ${plural(config.chunkSize, 'row')}`;
}

/** Status bar text during a run: `$(loading~spin) Sweep 42%`. */
export function runningStatusText(percent: number): string {
	return `$(loading~spin) Sweep ${Math.floor(percent)}%`;
}

/** Escapes text for a MarkdownString (values come from settings and the environment). */
export function escapeMarkdown(text: string): string {
	return text.replace(/[\\`*_[\]|<>~$&]/g, (c) => (c === '&' ? '&amp;' : `\\${c}`));
}

function sourceWords(label: string | null): string {
	return label === null ? 'detected' : label;
}

/**
 * The status bar tooltip (Markdown): cores, available memory, each figure with its source, then the
 * warnings. `folder` names the workspace folder whose settings are shown, when there are several.
 */
export function statusBarTooltip(
	config: ResolvedConfig,
	extraWarnings: readonly string[] = [],
	folder?: string,
): string {
	const method =
		config.system.method === 'systeminformation'
			? 'detected'
			: config.system.method === 'os'
				? "fallback: Node's os module"
				: 'detection failed';
	const cores = config.cpuCount === null ? 'unknown' : formatCount(config.cpuCount);
	const memory = config.availableMemoryBytes === null ? 'unknown' : formatBytes(config.availableMemoryBytes);
	const lines = [
		`**Sweep — System Configuration**${folder ? ` (${escapeMarkdown(folder)})` : ''}`,
		'',
		`CPU cores: ${cores} (${escapeMarkdown(method)})  `,
		`Available memory: ${memory} (${escapeMarkdown(method)})  `,
		`Workers: ${formatCount(config.workers)} (${escapeMarkdown(sourceWords(config.labels.workers))})  `,
		`Chunk size: ${formatCount(config.chunkSize)} rows (${escapeMarkdown(sourceWords(config.labels.chunkSize))})  `,
		`Parallel processing: ${config.enableParallel ? 'enabled' : 'disabled'}`,
	];
	const warnings = [...config.warnings, ...extraWarnings];
	if (warnings.length > 0) {
		lines.push('', ...warnings.map((w) => `$(warning) ${escapeMarkdown(w)}  `));
	}
	lines.push('', 'Click to show the report in the Sweep output.');
	return lines.join('\n');
}

/** Percent of the input's bytes read, 0–100. */
export function percentOf(p: Pick<ExtractProgress, 'bytesRead' | 'totalBytes'>): number {
	if (p.totalBytes <= 0) return 0;
	return Math.min(100, Math.max(0, (p.bytesRead / p.totalBytes) * 100));
}

/** Rows per second so far (0 before the first second's worth of time). */
export function rowsPerSecond(p: Pick<ExtractProgress, 'rowsRead' | 'elapsedMs'>): number {
	return p.elapsedMs > 0 ? Math.round((p.rowsRead * 1000) / p.elapsedMs) : 0;
}

/** Progress notification message: `42% · 1,200,000 rows · 850,000 rows/s · 312 partitions`. */
export function progressMessage(p: ExtractProgress): string {
	return [
		`${Math.floor(percentOf(p))}%`,
		plural(p.rowsRead, 'row'),
		`${formatCount(rowsPerSecond(p))} rows/s`,
		plural(p.partitions, 'partition'),
	].join(' · ');
}

/** `0.4 s`, `2.1 s`, `1 min 05 s`, `1 h 02 min`. */
export function formatDuration(ms: number): string {
	const s = Math.max(0, ms) / 1000;
	if (s < 60) return `${s.toFixed(1)} s`;
	const total = Math.round(s);
	if (total < 3600) return `${Math.floor(total / 60)} min ${String(total % 60).padStart(2, '0')} s`;
	return `${Math.floor(total / 3600)} h ${String(Math.floor((total % 3600) / 60)).padStart(2, '0')} min`;
}

/** Partitions that have a file (order keys without rows have none). */
export function writtenPartitions(m: Pick<Manifest, 'partitions'>): number {
	return m.partitions.filter((p) => p.file !== null).length;
}

/** After a run: `Extracted 4,000,000 rows into 500 partitions in 2.1 s · 12 rejected`. */
export function completionMessage(m: Manifest): string {
	let text = `Extracted ${plural(m.rowsWritten, 'row')} into ${plural(writtenPartitions(m), 'partition')} in ${formatDuration(m.durationMs)}`;
	if (m.rowsRejected > 0) text += ` · ${formatCount(m.rowsRejected)} rejected`;
	if (m.orders !== null && m.rowsFilteredOut > 0) text += ` · ${formatCount(m.rowsFilteredOut)} not in orders`;
	return text;
}

/**
 * The one-line cause of a failure, for `showErrorMessage`. Another run holding the output folder (another window, a
 * terminal, a container sharing the folder) reads, as in the CLI: `Sweep: Another Sweep run holds the output folder
 * … (host H, pid P, since T); wait for it to finish or choose another folder.`
 */
export function errorLine(error: unknown): string {
	if (isSweepError(error)) return `Sweep: ${firstLine(error.message)}`;
	const message = error instanceof Error ? error.message : String(error);
	return `Sweep failed unexpectedly: ${firstLine(message)}`;
}

function firstLine(text: string): string {
	const line = text.split(/\r?\n/, 1)[0].trim();
	return line === '' ? 'no details' : line;
}

/** A second request for a file that is already being extracted. */
export function alreadyRunningMessage(file: string, queued: boolean): string {
	return queued ? `Sweep: ${file} is already queued for extraction.` : `Sweep is already extracting ${file}.`;
}

/** A request for another file while one runs. */
export function queueQuestion(running: string, requested: string): string {
	return `Sweep is extracting ${running}. Extract ${requested} when it is done?`;
}

/** The modal question for a dirty editor. */
export function dirtyQuestion(file: string): string {
	return `${file} has unsaved changes. Sweep reads the file from disk: save it first?`;
}

/** The modal question for an output folder Sweep did not write. */
export function foreignOutputQuestion(outDir: string): string {
	return `The output folder ${outDir} already exists, is not empty and was not written by Sweep (it has no Sweep ${MANIFEST_FILE} that lists everything in it). Replace it?`;
}

/** Placeholder of the partition-column quick pick. */
export function missingColumnPlaceholder(column: string, file: string): string {
	return `${file} has no column "${column}". Pick the column to partition by (the save button also stores it in the workspace settings).`;
}

/** When a cancelled run is over. */
export const CANCELLED_MESSAGE = 'Sweep: extraction cancelled; the previous output, if any, is untouched.';

/** One log line about a detection. */
export function describeDetection(system: SystemInfo, ms: number): string {
	const cores = system.cpuCount === null ? 'unknown CPU cores' : `${formatCount(system.cpuCount)} CPU cores`;
	const memory =
		system.availableMemoryBytes === null
			? 'unknown available memory'
			: `${formatBytes(system.availableMemoryBytes)} available`;
	const how =
		system.method === 'systeminformation'
			? 'with systeminformation'
			: system.method === 'os'
				? `with Node's os module (fallback: ${system.fallbackReason ?? 'no reason given'})`
				: `nothing (defaults: ${system.fallbackReason ?? 'no reason given'})`;
	return `Detected ${cores}, ${memory}, ${how}, in ${formatCount(ms)} ms`;
}
