import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { e2eContext } from './context';
import { count, sweepApi, waitFor } from './helpers';

/** `15.23 GB` (GB = 2^30 bytes), written out again here. */
const gb = (bytes: number) => {
	const [whole, fraction] = (bytes / 2 ** 30).toFixed(2).split('.');
	return `${count(Number(whole))}.${fraction} GB`;
};

/**
 * The Sweep output channel is a log channel: VS Code writes it to `Sweep.log` in the extension host's log folder
 * (inside this session's user data folder), which is what the Output view shows.
 */
function sweepLogFiles(): string[] {
	const logs = path.join(e2eContext().sessionDir, 'udd', 'logs');
	const found: string[] = [];
	const walk = (dir: string, depth: number) => {
		if (depth > 4 || !fs.existsSync(dir)) return;
		for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
			const p = path.join(dir, e.name);
			if (e.isDirectory()) walk(p, depth + 1);
			else if (e.name === 'Sweep.log') found.push(p);
		}
	};
	walk(logs, 0);
	return found;
}

describe('Show System Configuration', () => {
	it('returns the System Configuration report for the resolved configuration', async () => {
		const api = await sweepApi();
		const c = api.config()!;
		const report = await vscode.commands.executeCommand<string>('sweep.showConfiguration');
		assert.equal(typeof report, 'string');
		// A figure that did not come from detection names its source, e.g. `(fallback: os)` (README "Workers and chunk size").
		const from = (label: string | null) => (label === null ? '' : ` (${label})`);
		assert.equal(
			report,
			[
				'System Configuration:',
				`  CPU Cores: ${count(c.cpuCount!)}`,
				`  Workers: ${count(c.workers)}${from(c.labels.workers)}`,
				`  Available Memory: ${gb(c.availableMemoryBytes!)}`,
				`  Chunk Size: ${count(c.chunkSize)}${from(c.labels.chunkSize)}`,
				`  Parallel Processing: ${c.workers > 1 ? 'Enabled' : 'Disabled'}`,
				...c.warnings.map((w) => `  Warning: ${w}`),
			].join('\n'),
		);
	});

	it('writes the report to the "Sweep" output channel', async () => {
		const report = await vscode.commands.executeCommand<string>('sweep.showConfiguration');
		// Log channels are flushed to disk shortly after each line.
		const file = await waitFor(
			() =>
				sweepLogFiles().find((f) => {
					const text = fs.readFileSync(f, 'utf8');
					return report.split('\n').every((line) => text.includes(line));
				}),
			'every line of the report in Sweep.log',
			15_000,
			200,
		);
		assert.ok(file.includes('sweep-dev.sweep') || file.includes('exthost'), `log file ${file}`);
	});

	it('Re-detect System runs detection again and returns the report', async () => {
		const api = await sweepApi();
		const before = api.config()!;
		const report = await vscode.commands.executeCommand<string>('sweep.redetect');
		assert.match(report, /^System Configuration:\n {2}CPU Cores: [\d,]+\n {2}Workers: /);
		const after = api.config()!;
		assert.equal(after.cpuCount, before.cpuCount);
		assert.equal(after.workers, before.workers);
		assert.match(report, new RegExp(`^  Workers: ${count(after.workers)}( \\(fallback: os\\))?$`, 'm'));
	});
});
