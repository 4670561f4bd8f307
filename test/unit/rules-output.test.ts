import * as assert from 'node:assert/strict';
import { isSweepError } from '../../src/engine';
import { normalizeExtractOptions } from '../../src/engine/extract';
import type { ExtractOptions } from '../../src/engine/types';
import { refusal } from '../../src/rules';
import { cliVerdict, settingsWith } from './helpers/layers';

/**
 * The output-option rules (src/rules/output.ts, compression.ts, counts.ts; docs/rules.md), one table each, run
 * through the three layers that read them: the command line (exit 2 with one line), the settings reader (a warning,
 * never a failed run) and the engine (a usage error). A value is accepted by all three or refused by all three, in
 * the same words.
 */
interface Rule {
	/** The CLI flag, the setting key and the engine option. */
	flag: string;
	setting: string;
	option: keyof ExtractOptions;
	/** Extra CLI flags / engine options the value needs (e.g. `--format parquet` for the Parquet codec). */
	cliExtra?: string[];
	engineExtra?: Partial<ExtractOptions>;
	/** No setting reads this value (the Parquet codec comes from `sweep.compression`). */
	noSetting?: boolean;
	/** How a raw CLI text is given as a setting / an engine option (default: as is). */
	asValue?: (raw: string) => unknown;
	accepted: [string, unknown][];
	refused: [string, string][];
}

const list = (raw: string) => raw.split(',');
const num = (raw: string) => (/^-?\d+(\.\d+)?$/.test(raw.trim()) ? Number(raw) : raw);

const RULES: Rule[] = [
	{
		flag: '--layout',
		setting: 'layout',
		option: 'layout',
		accepted: [
			['flat', 'flat'],
			['hive', 'hive'],
		],
		refused: [
			['HIVE', 'is not flat or hive'],
			['nested', 'is not flat or hive'],
		],
	},
	{
		flag: '--format',
		setting: 'format',
		option: 'format',
		accepted: [
			['csv', 'csv'],
			['parquet', 'parquet'],
			[' Parquet ', 'parquet'],
		],
		refused: [
			['xml', 'is not csv or parquet'],
			['arrow', 'is not csv or parquet'],
		],
	},
	{
		flag: '--parquet-types',
		setting: 'parquetTypes',
		option: 'parquetTypes',
		cliExtra: ['--format', 'parquet'],
		engineExtra: { format: 'parquet' },
		accepted: [
			['infer', 'infer'],
			['STRING', 'string'],
		],
		refused: [['auto', 'is not infer or string']],
	},
	{
		flag: '--compress',
		setting: 'compression',
		option: 'compress',
		accepted: [
			['gzip', 'gzip'],
			['GZIP', 'gzip'],
			['none', 'none'],
		],
		refused: [
			['brotli', 'is not one of none, gzip, zstd'],
			['snappy', 'is not one of none, gzip, zstd'],
		],
	},
	{
		flag: '--compress',
		setting: 'compression',
		option: 'compress',
		cliExtra: ['--format', 'parquet'],
		engineExtra: { format: 'parquet' },
		noSetting: true,
		accepted: [
			['snappy', 'snappy'],
			['gzip', 'gzip'],
			['none', 'none'],
		],
		refused: [['lz4', 'is not snappy, zstd, gzip or none']],
	},
	{
		flag: '--columns',
		setting: 'columns',
		option: 'columns',
		asValue: list,
		accepted: [
			['a,b', ['a', 'b']],
			[' price , ts ', ['price', 'ts']],
		],
		refused: [
			['a,,b', 'has an empty column name'],
			['a,b,a', 'names column "a" twice'],
		],
	},
	{
		flag: '--max-rows-per-file',
		setting: 'maxRowsPerFile',
		option: 'maxRowsPerFile',
		asValue: num,
		accepted: [
			['1', 1],
			['100000', 100_000],
		],
		refused: [
			['0', 'is not a whole number >= 1'],
			['-5', 'is not a whole number >= 1'],
			['2.5', 'is not a whole number >= 1'],
		],
	},
];

/** The engine's verdict: the value it settled on, or its usage error. */
function engineVerdict(rule: Rule, value: unknown): { ok: true; settings: unknown } | { ok: false; message: string } {
	try {
		const o = normalizeExtractOptions({
			input: 'in.csv',
			workers: 1,
			chunkSize: 1,
			...rule.engineExtra,
			[rule.option]: value,
		} as ExtractOptions);
		return { ok: true, settings: o };
	} catch (e) {
		assert.ok(isSweepError(e) && e.code === 'usage', String(e));
		return { ok: false, message: e.message };
	}
}

/** Where the engine keeps each option once checked. */
function engineValue(rule: Rule, settings: unknown): unknown {
	const s = settings as Record<string, unknown> & {
		compress: { codec: string } | null;
		parquet: { types: string; codec: string } | null;
	};
	switch (rule.option) {
		case 'format':
			return s.parquet ? 'parquet' : 'csv';
		case 'parquetTypes':
			return s.parquet?.types;
		case 'compress':
			return s.parquet ? s.parquet.codec : (s.compress?.codec ?? 'none');
		default:
			return s[rule.option];
	}
}

describe('rules: output options, the same verdict from the CLI, the settings and the engine', () => {
	for (const rule of RULES) {
		const as = rule.asValue ?? ((raw: string) => raw);
		const label = `${rule.flag}${rule.cliExtra ? ` (${rule.cliExtra.join(' ')})` : ''}`;
		for (const [raw, value] of rule.accepted) {
			it(`${label} / sweep.${rule.setting} accept ${JSON.stringify(raw)}`, async () => {
				const cli = await cliVerdict(['extract', 'in.csv', ...(rule.cliExtra ?? []), rule.flag, raw]);
				assert.ok(cli.ok && cli.command.kind === 'extract', `CLI: ${cli.ok ? '' : cli.stderr}`);
				const fromCli = (cli.command.options as Record<string, unknown>)[rule.option];
				assert.deepEqual(fromCli, value, 'CLI');
				if (!rule.noSetting) {
					const s = settingsWith({ [rule.setting]: as(raw), ...(rule.engineExtra ?? {}) });
					assert.deepEqual(s.warnings, [], 'no settings warning');
					assert.deepEqual((s as unknown as Record<string, unknown>)[rule.setting], value, 'settings');
				}
				const engine = engineVerdict(rule, as(raw));
				assert.ok(engine.ok, `engine: ${engine.ok ? '' : engine.message}`);
				assert.deepEqual(engineValue(rule, engine.settings), value, 'engine');
			});
		}
		for (const [raw, problem] of rule.refused) {
			it(`${label} / sweep.${rule.setting} refuse ${JSON.stringify(raw)} in the same words`, async () => {
				const cli = await cliVerdict(['extract', 'in.csv', ...(rule.cliExtra ?? []), rule.flag, raw]);
				assert.ok(!cli.ok, 'CLI refuses');
				assert.equal(cli.exitCode, 2);
				assert.equal(cli.stderr, `sweep: error: ${refusal(rule.flag, JSON.stringify(raw), problem)}\n`);
				if (!rule.noSetting) {
					const s = settingsWith({ [rule.setting]: as(raw) });
					assert.equal(s.warnings.length, 1, `one settings warning: ${s.warnings.join(' | ')}`);
					assert.ok(s.warnings[0].startsWith(`setting sweep.${rule.setting} = `), s.warnings[0]);
					assert.ok(s.warnings[0].includes(problem), s.warnings[0]);
				}
				const engine = engineVerdict(rule, as(raw));
				assert.ok(!engine.ok, 'engine refuses');
				assert.ok(engine.message.includes(problem), engine.message);
			});
		}
	}
});
