import * as assert from 'node:assert/strict';
import { resolveConfig, type SystemInfo } from '../../src/config';
import { SweepError } from '../../src/engine/errors';
import type { Manifest } from '../../src/engine/types';
import { columnChoices, replacePartitionColumn } from '../../src/vscode/columns';
import {
	alreadyRunningMessage,
	completionMessage,
	DETECTING_TEXT,
	describeDetection,
	errorLine,
	escapeMarkdown,
	formatDuration,
	progressMessage,
	queueQuestion,
	runningStatusText,
	statusBarText,
	statusBarTooltip,
} from '../../src/vscode/messages';

const GB = 2 ** 30;
const machine: SystemInfo = { cpuCount: 8, availableMemoryBytes: 15.23 * GB, method: 'systeminformation' };

function manifest(over: Partial<Manifest> = {}): Manifest {
	return {
		version: 1,
		source: { path: '/ws/trades.csv', bytes: 303_000_000, header: ['symbol', 'qty'], delimiter: ',' },
		columns: ['symbol', 'qty'],
		partitionBy: ['symbol'],
		orders: null,
		config: { workers: 6, chunkSize: 80_000, sources: { workers: 'detected', chunkSize: 'detected' } },
		rowsRead: 4_000_012,
		rowsWritten: 4_000_000,
		rowsRejected: 12,
		rowsFilteredOut: 0,
		partitions: Array.from({ length: 500 }, (_, i) => ({ key: [`S${i}`], file: `S${i}.csv`, rows: 8000, stats: {} })),
		rejects: '_rejects.csv',
		startedAt: '2024-03-11T13:30:00.000Z',
		durationMs: 2100,
		...over,
	};
}

describe('vscode: status bar text and tooltip', () => {
	it('shows workers and chunk size as the README says', () => {
		assert.equal(statusBarText(resolveConfig(machine, {})), '$(server-process) 6 workers · 80,000 rows');
		const one = resolveConfig({ cpuCount: 2, availableMemoryBytes: 4 * GB, method: 'systeminformation' }, {});
		assert.equal(statusBarText(one), '$(server-process) 1 worker · 20,000 rows');
		assert.equal(DETECTING_TEXT, '$(server-process) Sweep: detecting…');
	});

	it('shows a spinner and the percentage during a run', () => {
		assert.equal(runningStatusText(42.9), '$(loading~spin) Sweep 42%');
		assert.equal(runningStatusText(100), '$(loading~spin) Sweep 100%');
	});

	it('tooltip: cores, memory, each figure with its source, then the warnings', () => {
		const config = resolveConfig(machine, {
			settings: { workers: 4, chunkSize: 'lots' },
			env: { SWEEP_CHUNK_SIZE: '-1' },
		});
		const tip = statusBarTooltip(config, ['Restricted Mode: the workspace value of sweep.ordersFile ("x") is ignored']);
		assert.match(tip, /^CPU cores: 8 \(detected\) {2}$/m);
		assert.match(tip, /^Available memory: 15\.23 GB \(detected\) {2}$/m);
		assert.match(tip, /^Workers: 4 \(setting sweep\.workers\) {2}$/m);
		assert.match(tip, /^Chunk size: 80,000 rows \(detected\) {2}$/m);
		assert.match(tip, /^Parallel processing: enabled$/m);
		const warnings = tip.split('\n').filter((l) => l.startsWith('$(warning) '));
		assert.equal(warnings.length, 3, tip);
		assert.ok(warnings[0].includes('setting sweep.chunkSize = "lots" is not a positive integer; ignored'));
		assert.ok(warnings[1].includes('SWEEP\\_CHUNK\\_SIZE="-1"'), 'markdown-escaped');
		assert.ok(warnings[2].includes('Restricted Mode'));
	});

	it('tooltip names the fallback', () => {
		const config = resolveConfig(
			{ cpuCount: 4, availableMemoryBytes: GB, method: 'os', fallbackReason: 'timed out' },
			{},
		);
		const tip = statusBarTooltip(config, [], 'backend');
		assert.match(tip, /\(backend\)/);
		assert.match(tip, /CPU cores: 4 \(fallback: Node's os module\)/);
		assert.match(tip, /Workers: 3 \(fallback: os\)/);
	});

	it('escapes Markdown in values that come from settings or the environment', () => {
		assert.equal(
			escapeMarkdown('[x](command:evil) <b>*_`|~$&'),
			'\\[x\\](command:evil) \\<b\\>\\*\\_\\`\\|\\~\\$&amp;',
		);
	});
});

describe('vscode: progress and completion messages', () => {
	it('progress: percent of bytes, rows, rows/s, partitions so far', () => {
		assert.equal(
			progressMessage({ bytesRead: 42, totalBytes: 100, rowsRead: 1_700_000, partitions: 312, elapsedMs: 2000 }),
			'42% · 1,700,000 rows · 850,000 rows/s · 312 partitions',
		);
		assert.equal(
			progressMessage({ bytesRead: 0, totalBytes: 0, rowsRead: 1, partitions: 1, elapsedMs: 0 }),
			'0% · 1 row · 0 rows/s · 1 partition',
		);
	});

	it('completion, as in issue 4', () => {
		assert.equal(completionMessage(manifest()), 'Extracted 4,000,000 rows into 500 partitions in 2.1 s · 12 rejected');
		assert.equal(
			completionMessage(
				manifest({ rowsRejected: 0, rowsWritten: 1, partitions: [{ key: ['A'], file: 'A.csv', rows: 1, stats: {} }] }),
			),
			'Extracted 1 row into 1 partition in 2.1 s',
		);
	});

	it('completion with orders counts partitions with a file and the rows filtered out', () => {
		const m = manifest({
			orders: { path: '/o.csv', keys: 3 },
			rowsRejected: 0,
			rowsWritten: 10,
			rowsFilteredOut: 90,
			partitions: [
				{ key: ['A'], file: 'A.csv', rows: 10, stats: {} },
				{ key: ['Z'], file: null, rows: 0, stats: {} },
			],
		});
		assert.equal(completionMessage(m), 'Extracted 10 rows into 1 partition in 2.1 s · 90 not in orders');
	});

	it('durations', () => {
		assert.equal(formatDuration(0), '0.0 s');
		assert.equal(formatDuration(2149), '2.1 s');
		assert.equal(formatDuration(65_000), '1 min 05 s');
		assert.equal(formatDuration(3_720_000), '1 h 02 min');
	});

	it('errors: the one-line cause', () => {
		assert.equal(
			errorLine(new SweepError('input-missing', '/x.csv does not exist.\nmore detail')),
			'Sweep: /x.csv does not exist.',
		);
		assert.equal(errorLine(new TypeError('boom')), 'Sweep failed unexpectedly: boom');
		assert.equal(errorLine('weird'), 'Sweep failed unexpectedly: weird');
	});

	it('busy and queue sentences', () => {
		assert.equal(alreadyRunningMessage('a.csv', false), 'Sweep is already extracting a.csv.');
		assert.equal(alreadyRunningMessage('a.csv', true), 'Sweep: a.csv is already queued for extraction.');
		assert.equal(queueQuestion('a.csv', 'b.csv'), 'Sweep is extracting a.csv. Extract b.csv when it is done?');
	});

	it('detection log line', () => {
		assert.equal(
			describeDetection(machine, 120),
			'Detected 8 CPU cores, 15.23 GB available, with systeminformation, in 120 ms',
		);
		assert.equal(
			describeDetection({ cpuCount: null, availableMemoryBytes: null, method: 'defaults', fallbackReason: 'no os' }, 5),
			'Detected unknown CPU cores, unknown available memory, nothing (defaults: no os), in 5 ms',
		);
	});
});

describe('vscode: partition column pick', () => {
	it('lists output columns (after mapping) with a sample value each', () => {
		const choices = columnChoices(
			['ticker', 'ts', 'price', 'note', 'ticker'],
			[
				['AAPL', '2024-01-01T00:00:00Z', '1.5', ''],
				['MSFT', '2024-01-01T00:00:01Z', '2', 'x'.repeat(100)],
			],
			{ symbol: 'ticker' },
		);
		assert.deepEqual(choices.slice(0, 3), [
			{ column: 'symbol', source: 'ticker', sample: 'AAPL' },
			{ column: 'ts', sample: '2024-01-01T00:00:00Z' },
			{ column: 'price', sample: '1.5' },
		]);
		assert.equal(choices[3].column, 'note');
		assert.equal(choices[3].sample, `${'x'.repeat(59)}…`, 'first non-empty value, shortened');
		assert.equal(choices.length, 4, 'duplicate names once');
		assert.deepEqual(columnChoices(['a'], [], {}), [{ column: 'a' }], 'no sample rows');
	});

	it('replaces the missing column in partitionBy', () => {
		assert.deepEqual(replacePartitionColumn(['symbol'], 'symbol', 'ticker'), ['ticker']);
		assert.deepEqual(replacePartitionColumn(['symbol', 'date(timestamp)'], 'timestamp', 'ts'), ['symbol', 'date(ts)']);
		assert.deepEqual(replacePartitionColumn(['symbol', 'date(timestamp)'], 'date(timestamp)', 'ts'), [
			'symbol',
			'date(ts)',
		]);
		assert.deepEqual(replacePartitionColumn(['a', 'b'], 'c', 'x'), ['x']);
	});
});
