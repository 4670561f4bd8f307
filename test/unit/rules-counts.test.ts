import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { resolveConfig, type SystemInfo } from '../../src/config';
import { extract } from '../../src/engine';
import { parseCount, parseOverride } from '../../src/rules';
import { expectSweepError } from './helpers/engine';
import { makeTmp, removeTmp } from './helpers/fsutil';
import { cliVerdict, settingsWith } from './helpers/layers';

/**
 * The counts rules (src/rules/counts.ts, docs/rules.md), one table each, run through every layer that reads them:
 * `--workers` / `--chunk-size` through the CLI, the settings (`sweep.workers`, `sweep.chunkSize`: warnings on the
 * status bar) and the environment; `--max-rejects` / `--max-partitions` through the CLI and the engine.
 */
const SYSTEM: SystemInfo = {
	cpuCount: 8,
	availableMemoryBytes: 16 * 2 ** 30,
	method: 'systeminformation',
} as SystemInfo;

/** Raw text -> the value it sets (null: "not set", detection decides). */
const OVERRIDE_ACCEPTED: [string, number | null][] = [
	['1', 1],
	['8', 8],
	[' 4 ', 4],
	['007', 7],
	['0', null],
	['auto', null],
	['AUTO', null],
	['', null],
];
const OVERRIDE_REFUSED = ['-1', '2.5', 'eight', '1e3', '0x10', '+3', '4 workers'];

describe('rules: workers and chunk size, the same from a flag, a setting and the environment', () => {
	for (const [flag, setting, env] of [
		['--workers', 'workers', 'SWEEP_WORKERS'],
		['--chunk-size', 'chunkSize', 'SWEEP_CHUNK_SIZE'],
	] as const) {
		const key = setting;
		for (const [raw, value] of OVERRIDE_ACCEPTED) {
			it(`${flag} / sweep.${setting} / ${env} accept ${JSON.stringify(raw)}`, async () => {
				assert.deepEqual(parseOverride(raw), value === null ? { kind: 'unset' } : { kind: 'value', value });
				const cli = await cliVerdict(['config', flag, raw]);
				assert.ok(cli.ok, `CLI: ${cli.ok ? '' : cli.stderr}`);
				const fromFlag = resolveConfig(SYSTEM, { flags: { [key]: raw } });
				const fromSetting = resolveConfig(SYSTEM, { settings: { [key]: settingsWith({ [setting]: raw })[setting] } });
				const fromEnv = resolveConfig(SYSTEM, { env: { [env]: raw } });
				for (const [layer, c] of [
					['flag', fromFlag],
					['setting', fromSetting],
					['env', fromEnv],
				] as const) {
					assert.deepEqual(c.warnings, [], layer);
					if (value !== null) assert.equal(c[key], value, layer);
					else assert.equal(c.sources[key], 'detected', `${layer}: not set means detected`);
				}
			});
		}
		for (const raw of OVERRIDE_REFUSED) {
			it(`${flag} / sweep.${setting} / ${env} refuse ${JSON.stringify(raw)} in the same words`, async () => {
				assert.deepEqual(parseOverride(raw), { kind: 'invalid' });
				const cli = await cliVerdict(['config', flag, raw]);
				assert.ok(!cli.ok);
				assert.equal(cli.exitCode, 2);
				assert.equal(
					cli.stderr,
					`sweep: error: ${flag} ${JSON.stringify(raw)} is not a positive integer (give a whole number >= 1, or auto)\n`,
				);
				const fromSetting = resolveConfig(SYSTEM, { settings: { [key]: settingsWith({ [setting]: raw })[setting] } });
				assert.deepEqual(fromSetting.warnings, [
					`setting sweep.${setting} = ${JSON.stringify(raw)} is not a positive integer; ignored`,
				]);
				assert.equal(fromSetting.sources[key], 'detected', 'a refused setting never fails the run');
				const fromEnv = resolveConfig(SYSTEM, { env: { [env]: raw } });
				assert.deepEqual(fromEnv.warnings, [`${env}=${JSON.stringify(raw)} is not a positive integer; ignored`]);
			});
		}
	}
	it('settings may also hold JSON numbers: the same verdicts', () => {
		for (const [raw, verdict] of [
			[3, 'value'],
			[0, 'unset'],
			[null, 'unset'],
			[-1, 'invalid'],
			[2.5, 'invalid'],
			[true, 'invalid'],
		] as const) {
			assert.equal(parseOverride(raw).kind, verdict, JSON.stringify(raw));
		}
	});
});

/** Raw text, the smallest value allowed -> the value. */
const COUNT_ACCEPTED: [string, 0 | 1, number][] = [
	['0', 0, 0],
	['1', 1, 1],
	['5', 0, 5],
	[' 12 ', 1, 12],
	['100000', 1, 100_000],
];
const COUNT_REFUSED: [string, 0 | 1][] = [
	['-1', 0],
	['0', 1],
	['2.5', 0],
	['ten', 1],
	['1e3', 1],
	['', 0],
	['99999999999999999999', 1],
];

describe('rules: --max-rejects and --max-partitions, the same in the CLI and the engine', () => {
	let dir: string;
	let input: string;
	before(() => {
		dir = makeTmp('sweep-rules-counts-');
		input = path.join(dir, 'in.csv');
		fs.writeFileSync(input, 'symbol,n\nA,1\nB,2\n');
	});
	after(() => removeTmp(dir));

	const flags = { 0: ['--max-rejects', 'maxRejects'], 1: ['--max-partitions', 'maxPartitions'] } as const;

	for (const [raw, min, value] of COUNT_ACCEPTED) {
		const [flag, option] = flags[min];
		it(`${flag} accepts ${JSON.stringify(raw)}`, async () => {
			assert.deepEqual(parseCount(raw, min), { ok: true, value });
			const cli = await cliVerdict(['extract', 'in.csv', flag, raw]);
			assert.ok(cli.ok && cli.command.kind === 'extract', `CLI: ${cli.ok ? '' : cli.stderr}`);
			assert.equal(cli.command.options[option], value);
			const outDir = path.join(dir, `out-${option}-${value}`);
			const m = await extract({ input, outDir, [option]: value, workers: 1, chunkSize: 1 }).catch((e) => e);
			// The value is taken; whether the run then stops on it is the limit's business, not the rule's.
			assert.ok(!(m instanceof Error) || !/is not a whole number/.test(m.message), String(m));
		});
	}

	for (const [raw, min] of COUNT_REFUSED) {
		const [flag, option] = flags[min];
		it(`${flag} refuses ${JSON.stringify(raw)} in the same words as the engine`, async () => {
			const problem = `is not a whole number >= ${min}`;
			assert.deepEqual(parseCount(raw, min), { ok: false, problem });
			const cli = await cliVerdict(['extract', 'in.csv', flag, raw]);
			assert.ok(!cli.ok);
			assert.equal(cli.exitCode, 2);
			assert.equal(cli.stderr, `sweep: error: ${flag} ${JSON.stringify(raw)} ${problem}\n`);
			const asNumber = /^\s*-?\d+(\.\d+)?\s*$/.test(raw) ? Number(raw) : raw;
			const outDir = path.join(dir, 'never');
			const e = await expectSweepError(
				extract({ input, outDir, [option]: asNumber as number, workers: 1, chunkSize: 1 }),
				'usage',
			);
			assert.equal(e.message, `${option} ${JSON.stringify(asNumber)} ${problem}`);
			assert.ok(!fs.existsSync(outDir), 'nothing written');
		});
	}
});
