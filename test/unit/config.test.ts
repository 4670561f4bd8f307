import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
	deriveChunkSize,
	deriveConversions,
	deriveWorkers,
	detectSystem,
	formatBytes,
	formatCount,
	formatReport,
	resolveConfig,
	type SystemInfo,
} from '../../src/config';
import { readCgroupLimits } from '../../src/config/detect';
import { SweepError } from '../../src/engine/errors';

const GB = 2 ** 30;

function detected(cpuCount: number, availableMemoryBytes: number): SystemInfo {
	return { cpuCount, availableMemoryBytes, method: 'systeminformation' };
}

/** 8 cores, 15.23 GB: the README's example machine. */
const EXAMPLE = detected(8, Math.round(15.23 * GB));

describe('config: detection rules (README "Workers and chunk size")', () => {
	const table: [number, number, number, number][] = [
		[2, 4, 1, 20_000],
		[4, 16, 3, 80_000],
		[8, 15.23, 6, 80_000],
		[16, 64, 14, 340_000],
		[64, 512, 16, 500_000],
		[1, 0.1, 1, 10_000],
	];
	for (const [cores, gb, workers, chunk] of table) {
		it(`${cores} cores, ${gb} GB -> ${workers} workers, chunk size ${formatCount(chunk)}`, () => {
			assert.equal(deriveWorkers(cores), workers);
			assert.equal(deriveChunkSize(gb * GB), chunk);
			const config = resolveConfig(detected(cores, gb * GB), {});
			assert.equal(config.workers, workers);
			assert.equal(config.chunkSize, chunk);
			assert.equal(config.enableParallel, workers > 1);
		});
	}

	it('derives workers across the boundaries', () => {
		assert.deepEqual([1, 2, 3, 4, 5, 6, 17, 18, 19, 128].map(deriveWorkers), [1, 1, 2, 3, 3, 4, 15, 16, 16, 16]);
	});

	it('derives Parquet conversions at a time: the workers and the core they leave, when the workers are detected', () => {
		assert.deepEqual([1, 2, 3, 4, 5, 6, 17, 18, 19, 128].map(deriveConversions), [1, 2, 3, 4, 4, 5, 16, 17, 17, 17]);
		assert.equal(resolveConfig(detected(2, 4 * GB), {}).conversions, 2);
		assert.equal(resolveConfig(detected(8, 4 * GB), {}).conversions, 7);
		// A worker count that was asked for is kept for the conversions too.
		assert.equal(resolveConfig(detected(2, 4 * GB), { flags: { workers: '1' } }).conversions, 1);
		assert.equal(resolveConfig(detected(8, 4 * GB), { env: { SWEEP_WORKERS: '3' } }).conversions, 3);
		assert.equal(resolveConfig(detected(8, 4 * GB), { settings: { workers: 12 } }).conversions, 12);
	});

	it('clamps the derived chunk size to [10,000, 500,000]', () => {
		assert.equal(deriveChunkSize(0), 10_000);
		assert.equal(deriveChunkSize(Number.NaN), 10_000);
		assert.equal(deriveChunkSize(10_000 * GB), 500_000);
	});
});

describe('config: the System Configuration report', () => {
	it('prints the example report byte for byte', () => {
		const expected =
			'System Configuration:\n' +
			'  CPU Cores: 8\n' +
			'  Workers: 6\n' +
			'  Available Memory: 15.23 GB\n' +
			'  Chunk Size: 80,000\n' +
			'  Parallel Processing: Enabled';
		assert.equal(formatReport(resolveConfig(EXAMPLE, {})), expected);
	});

	it('suffixes each figure that was not detected with its source, and lists warnings', () => {
		const config = resolveConfig(detected(2, 4 * GB), {
			env: { SWEEP_WORKERS: '8' },
			settings: { chunkSize: 200_000 },
		});
		assert.equal(
			formatReport(config),
			[
				'System Configuration:',
				'  CPU Cores: 2',
				'  Workers: 8 (SWEEP_WORKERS)',
				'  Available Memory: 4.00 GB',
				'  Chunk Size: 200,000 (setting sweep.chunkSize)',
				'  Parallel Processing: Enabled',
			].join('\n'),
		);
		const warned = resolveConfig(EXAMPLE, { env: { SWEEP_WORKERS: 'eight' } });
		assert.equal(
			formatReport(warned),
			[
				'System Configuration:',
				'  CPU Cores: 8',
				'  Workers: 6',
				'  Available Memory: 15.23 GB',
				'  Chunk Size: 80,000',
				'  Parallel Processing: Enabled',
				'  Warning: SWEEP_WORKERS="eight" is not a positive integer; ignored',
			].join('\n'),
		);
	});

	it('says Disabled for one worker and uses the flag label', () => {
		const report = formatReport(resolveConfig(EXAMPLE, { flags: { workers: '1', chunkSize: '12345' } }));
		assert.match(report, /^ {2}Workers: 1 \(--workers\)$/m);
		assert.match(report, /^ {2}Chunk Size: 12,345 \(--chunk-size\)$/m);
		assert.match(report, /^ {2}Parallel Processing: Disabled$/m);
	});

	it('formats numbers with "," whatever the locale, memory in GB of 2^30 bytes', () => {
		assert.equal(formatCount(0), '0');
		assert.equal(formatCount(999), '999');
		assert.equal(formatCount(1000), '1,000');
		assert.equal(formatCount(10_000_000), '10,000,000');
		assert.equal(formatBytes(GB), '1.00 GB');
		assert.equal(formatBytes(15.23 * GB), '15.23 GB');
		assert.equal(formatBytes(0.1 * GB), '0.10 GB');
		assert.equal(formatBytes(2048 * GB), '2,048.00 GB');
	});
});

describe('config: override precedence', () => {
	const flags = { workers: '4', chunkSize: '40000' };
	const settings = { workers: 5, chunkSize: 50_000 };
	const env = { SWEEP_WORKERS: '7', SWEEP_CHUNK_SIZE: '70000' };

	it('flag > setting > env > detected, for each figure', () => {
		const cases: [Parameters<typeof resolveConfig>[1], number, string, string | null][] = [
			[{ flags, settings, env }, 4, 'flag', '--workers'],
			[{ settings, env }, 5, 'setting', 'setting sweep.workers'],
			[{ env }, 7, 'env', 'SWEEP_WORKERS'],
			[{}, 6, 'detected', null],
		];
		for (const [inputs, workers, source, label] of cases) {
			const c = resolveConfig(EXAMPLE, inputs);
			assert.equal(c.workers, workers);
			assert.equal(c.sources.workers, source);
			assert.equal(c.labels.workers, label);
			assert.deepEqual(c.warnings, []);
		}
	});

	it('resolves each figure on its own', () => {
		const c = resolveConfig(EXAMPLE, {
			flags: { chunkSize: '40000' },
			settings: { workers: 5 },
			env: { SWEEP_CHUNK_SIZE: '70000', SWEEP_WORKERS: '7' },
		});
		assert.deepEqual([c.workers, c.sources.workers, c.chunkSize, c.sources.chunkSize], [5, 'setting', 40_000, 'flag']);
		const d = resolveConfig(EXAMPLE, { env: { SWEEP_CHUNK_SIZE: '70000' } });
		assert.deepEqual([d.workers, d.sources.workers, d.chunkSize, d.sources.chunkSize], [6, 'detected', 70_000, 'env']);
	});

	it('treats empty, 0, auto and null as not set at every level', () => {
		for (const unset of ['', '0', 'auto', 'AUTO', 'null', '  ']) {
			const c = resolveConfig(EXAMPLE, {
				flags: { workers: unset },
				settings: { workers: unset },
				env: { SWEEP_WORKERS: unset },
			});
			assert.equal(c.workers, 6, `"${unset}"`);
			assert.equal(c.sources.workers, 'detected');
			assert.deepEqual(c.warnings, []);
		}
		for (const unset of [null, 0, undefined]) {
			const c = resolveConfig(EXAMPLE, { settings: { workers: unset }, env: { SWEEP_WORKERS: '3' } });
			assert.equal(c.workers, 3);
			assert.equal(c.sources.workers, 'env');
		}
	});

	it('accepts settings as numbers or digit strings', () => {
		assert.equal(resolveConfig(EXAMPLE, { settings: { workers: '8' } }).workers, 8);
		assert.equal(resolveConfig(EXAMPLE, { settings: { workers: 8 } }).workers, 8);
		assert.equal(resolveConfig(EXAMPLE, { settings: { chunkSize: ' 25000 ' } }).chunkSize, 25_000);
	});
});

describe('config: bad values and clamps', () => {
	for (const bad of ['-1', '2.5', 'eight', '1e3', '0x10', '+4', '4 workers']) {
		it(`ignores SWEEP_WORKERS=${JSON.stringify(bad)} with a warning naming value and source`, () => {
			const c = resolveConfig(EXAMPLE, { env: { SWEEP_WORKERS: bad } });
			assert.equal(c.workers, 6);
			assert.equal(c.sources.workers, 'detected');
			assert.deepEqual(c.warnings, [`SWEEP_WORKERS=${JSON.stringify(bad)} is not a positive integer; ignored`]);
		});
	}

	const badSettings: [unknown, string][] = [
		[-1, '-1'],
		[2.5, '2.5'],
		['eight', '"eight"'],
		['1e3', '"1e3"'],
		[true, 'true'],
		[false, 'false'],
		[[4], '[4]'],
		[{ n: 4 }, '{"n":4}'],
		[Number.NaN, 'null'],
	];
	for (const [bad, shown] of badSettings) {
		it(`ignores setting sweep.chunkSize = ${shown} and falls through to the environment`, () => {
			const c = resolveConfig(EXAMPLE, { settings: { chunkSize: bad }, env: { SWEEP_CHUNK_SIZE: '30000' } });
			assert.equal(c.chunkSize, 30_000);
			assert.equal(c.sources.chunkSize, 'env');
			assert.deepEqual(c.warnings, [`setting sweep.chunkSize = ${shown} is not a positive integer; ignored`]);
		});
	}

	for (const bad of ['-1', '2.5', 'eight', '1e3']) {
		it(`rejects --workers ${bad} as a usage error (exit 2)`, () => {
			assert.throws(
				() => resolveConfig(EXAMPLE, { flags: { workers: bad } }),
				(e: unknown) =>
					e instanceof SweepError &&
					e.code === 'usage' &&
					e.exitCode === 2 &&
					e.message.includes('--workers') &&
					e.message.includes(JSON.stringify(bad)),
			);
		});
	}

	it('rejects a bad --chunk-size even when workers are fine', () => {
		assert.throws(
			() => resolveConfig(EXAMPLE, { flags: { workers: '2', chunkSize: 'lots' } }),
			(e: unknown) => e instanceof SweepError && e.code === 'usage' && e.message.includes('--chunk-size'),
		);
	});

	it('clamps workers above 256 and chunk sizes above 10,000,000 with a warning', () => {
		const c = resolveConfig(EXAMPLE, { env: { SWEEP_WORKERS: '1000' }, settings: { chunkSize: 20_000_000 } });
		assert.equal(c.workers, 256);
		assert.equal(c.chunkSize, 10_000_000);
		assert.equal(c.sources.workers, 'env');
		assert.equal(c.sources.chunkSize, 'setting');
		assert.deepEqual(c.warnings, [
			'SWEEP_WORKERS=1000 is above the maximum of 256; using 256',
			'setting sweep.chunkSize = 20000000 is above the maximum of 10,000,000; using 10,000,000',
		]);
		const f = resolveConfig(EXAMPLE, { flags: { workers: '257' } });
		assert.equal(f.workers, 256);
		assert.deepEqual(f.warnings, ['--workers 257 is above the maximum of 256; using 256']);
		assert.deepEqual(resolveConfig(EXAMPLE, { flags: { workers: '256', chunkSize: '10000000' } }).warnings, []);
	});
});

describe('config: detection and fallbacks', () => {
	const noCgroup = { cgroupRoot: null } as const;

	it('uses the detector when it answers', async () => {
		const system = await detectSystem({
			...noCgroup,
			detector: async () => ({ cpuCount: 8, availableMemoryBytes: 15.23 * GB }),
		});
		assert.deepEqual(system, {
			cpuCount: 8,
			availableMemoryBytes: Math.floor(15.23 * GB),
			method: 'systeminformation',
		});
	});

	it('falls back to os when the detector throws, and the report says so and why', async () => {
		const system = await detectSystem({
			...noCgroup,
			detector: async () => {
				throw new Error('EACCES reading /proc/cpuinfo');
			},
			osDetector: () => ({ cpuCount: 4, availableMemoryBytes: 16 * GB }),
		});
		assert.equal(system.method, 'os');
		assert.equal(system.fallbackReason, 'systeminformation failed: EACCES reading /proc/cpuinfo');
		const config = resolveConfig(system, {});
		assert.deepEqual([config.workers, config.chunkSize], [3, 80_000]);
		assert.deepEqual(config.sources, { workers: 'fallback', chunkSize: 'fallback' });
		assert.equal(
			formatReport(config),
			[
				'System Configuration:',
				'  CPU Cores: 4',
				'  Workers: 3 (fallback: os)',
				'  Available Memory: 16.00 GB',
				'  Chunk Size: 80,000 (fallback: os)',
				'  Parallel Processing: Enabled',
				"  Warning: System detection fell back to Node's os module: systeminformation failed: EACCES reading /proc/cpuinfo",
			].join('\n'),
		);
	});

	it('falls back to os when the detector throws synchronously or returns nonsense', async () => {
		const sync = await detectSystem({
			...noCgroup,
			detector: () => {
				throw new Error('boom');
			},
			osDetector: () => ({ cpuCount: 2, availableMemoryBytes: GB }),
		});
		assert.equal(sync.method, 'os');
		const zero = await detectSystem({
			...noCgroup,
			detector: async () => ({ cpuCount: 0, availableMemoryBytes: GB }),
			osDetector: () => ({ cpuCount: 2, availableMemoryBytes: GB }),
		});
		assert.equal(zero.method, 'os');
		assert.equal(zero.fallbackReason, 'systeminformation failed: reported 0 CPUs');
	});

	it('times out a detector that never answers', async () => {
		const started = Date.now();
		const system = await detectSystem({
			...noCgroup,
			timeoutMs: 50,
			detector: () => new Promise(() => {}),
			osDetector: () => ({ cpuCount: 2, availableMemoryBytes: 4 * GB }),
		});
		assert.ok(Date.now() - started < 5_000, 'resolved by the timeout');
		assert.equal(system.method, 'os');
		assert.equal(system.fallbackReason, 'systeminformation timed out after 50 ms');
		assert.deepEqual([system.cpuCount, system.availableMemoryBytes], [2, 4 * GB]);
	});

	it('uses the defaults when os fails too, with CPU and memory unknown', async () => {
		const system = await detectSystem({
			...noCgroup,
			timeoutMs: 20,
			detector: () => new Promise(() => {}),
			osDetector: () => {
				throw new Error('uv_cpu_info returned ENOSYS');
			},
		});
		assert.equal(system.method, 'defaults');
		assert.equal(system.cpuCount, null);
		assert.equal(system.availableMemoryBytes, null);
		const config = resolveConfig(system, {});
		assert.deepEqual([config.workers, config.chunkSize, config.enableParallel], [1, 100_000, false]);
		assert.deepEqual(config.sources, { workers: 'fallback', chunkSize: 'fallback' });
		assert.equal(
			formatReport(config),
			[
				'System Configuration:',
				'  CPU Cores: unknown',
				'  Workers: 1 (defaults)',
				'  Available Memory: unknown',
				'  Chunk Size: 100,000 (defaults)',
				'  Parallel Processing: Disabled',
				'  Warning: System detection failed, using defaults (1 worker, chunk size 100,000): ' +
					"systeminformation timed out after 20 ms; Node's os module failed too: uv_cpu_info returned ENOSYS",
			].join('\n'),
		);
	});

	it('lets overrides win over the defaults', async () => {
		const system: SystemInfo = { cpuCount: null, availableMemoryBytes: null, method: 'defaults', fallbackReason: 'x' };
		const config = resolveConfig(system, { env: { SWEEP_WORKERS: '2' } });
		assert.match(formatReport(config), /^ {2}Workers: 2 \(SWEEP_WORKERS\)$/m);
		assert.match(formatReport(config), /^ {2}Chunk Size: 100,000 \(defaults\)$/m);
	});

	it('detects this machine with systeminformation by default', async () => {
		const system = await detectSystem({ timeoutMs: 20_000 });
		assert.equal(system.method, 'systeminformation', system.fallbackReason);
		assert.ok(system.cpuCount! >= 1 && system.cpuCount! <= os.availableParallelism());
		assert.ok(system.availableMemoryBytes! > 0);
	});
});

describe('config: cgroup v2 limits', () => {
	let root: string;
	beforeEach(() => {
		root = fs.mkdtempSync(path.join(os.tmpdir(), 'sweep-cgroup-'));
	});
	afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

	function write(rel: string, text: string): string {
		const file = path.join(root, rel);
		fs.mkdirSync(path.dirname(file), { recursive: true });
		fs.writeFileSync(file, text);
		return file;
	}

	it('reads cpu.max and memory.max - memory.current, keeping the lowest along the path', () => {
		write('cg/cpu.max', '150000 100000\n');
		write('cg/memory.max', 'max\n');
		write('cg/app/cpu.max', 'max 100000\n');
		write('cg/app/memory.max', String(2 * GB));
		write('cg/app/memory.current', String(0.5 * GB));
		write('cpu.max', '400000 100000');
		const self = write('self-cgroup', '12:memory:/ignored\n0::/cg/app\n');
		assert.deepEqual(readCgroupLimits(root, self), { cpuCount: 1, availableMemoryBytes: 1.5 * GB });
	});

	it('treats missing, "max" and garbled files as no limit', () => {
		write('cpu.max', 'garbage');
		write('memory.max', 'max');
		assert.deepEqual(readCgroupLimits(root, path.join(root, 'nope')), { cpuCount: null, availableMemoryBytes: null });
		assert.deepEqual(readCgroupLimits(path.join(root, 'missing')), { cpuCount: null, availableMemoryBytes: null });
	});

	it('never reports negative memory when usage exceeds the limit', () => {
		write('memory.max', '1000');
		write('memory.current', '5000');
		assert.equal(readCgroupLimits(root, path.join(root, 'nope')).availableMemoryBytes, 0);
	});

	it('caps the built-in detectors where the cgroup is lower', async () => {
		write('cpu.max', '100000 100000');
		write('memory.max', String(GB));
		write('memory.current', String(GB / 2));
		const self = write('self-cgroup', '0::/\n');
		const system = await detectSystem({ cgroupRoot: root, procSelfCgroup: self, timeoutMs: 20_000 });
		assert.equal(system.method, 'systeminformation', system.fallbackReason);
		assert.equal(system.cpuCount, 1);
		assert.ok(system.availableMemoryBytes! <= GB / 2);
	});
});
