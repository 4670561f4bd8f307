import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { extract } from '../../src/engine';
import {
	defaultPartitionName,
	formatPartitionSpec,
	type PartitionFn,
	type PartitionSpec,
	parsePartitionList,
	parsePartitionSpec,
	splitPartitionList,
} from '../../src/rules';
import { replacePartitionColumn } from '../../src/vscode/columns';
import { expectSweepError } from './helpers/engine';
import { makeTmp, removeTmp } from './helpers/fsutil';
import { cliVerdict, settingsWith } from './helpers/layers';

/**
 * The partition-spec rule (src/rules/partitionSpec.ts, docs/rules.md), one table run through `--partition-by`,
 * `sweep.partitionBy` and the engine's `partitionBy`: the same lists accepted (as the same specs) and refused (in the
 * same words). Function names and `as` are case-insensitive; column names are exact.
 */
const ACCEPTED: [specs: string[], parsed: Omit<PartitionSpec, 'spec'>[]][] = [
	[['symbol'], [{ column: 'symbol', fn: 'value', name: 'symbol' }]],
	[['date(ts)'], [{ column: 'ts', fn: 'date', name: 'ts_date' }]],
	[['Date(ts)'], [{ column: 'ts', fn: 'date', name: 'ts_date' }]],
	[['DATE ( ts )'], [{ column: 'ts', fn: 'date', name: 'ts_date' }]],
	[['symbol as sym'], [{ column: 'symbol', fn: 'value', name: 'sym' }]],
	[['date(ts) AS day'], [{ column: 'ts', fn: 'date', name: 'day' }]],
	[
		['symbol', 'date(ts)'],
		[
			{ column: 'symbol', fn: 'value', name: 'symbol' },
			{ column: 'ts', fn: 'date', name: 'ts_date' },
		],
	],
	[
		['ts', 'date(ts)'],
		[
			{ column: 'ts', fn: 'value', name: 'ts' },
			{ column: 'ts', fn: 'date', name: 'ts_date' },
		],
	],
	[['my col'], [{ column: 'my col', fn: 'value', name: 'my col' }]],
	[['date(my ts) as d.1'], [{ column: 'my ts', fn: 'date', name: 'd.1' }]],
	// The grains and hash buckets the engine computes (docs/output.md).
	[['year(ts)'], [{ column: 'ts', fn: 'year', name: 'ts_year' }]],
	[['Month(ts) as m'], [{ column: 'ts', fn: 'month', name: 'm' }]],
	[['hour(ts)'], [{ column: 'ts', fn: 'hour', name: 'ts_hour' }]],
	[['hash(symbol, 8)'], [{ column: 'symbol', fn: 'hash', buckets: 8, name: 'symbol_hash' }]],
];

const REFUSED: [specs: string[], problem: string][] = [
	[[''], 'an empty column name'],
	[['symbol', ''], 'an empty column name'],
	[['foo(ts)'], 'foo(ts): unknown function foo(); the functions are date(), year(), month(), hour(), hash()'],
	[
		['Trunc(ts) as t'],
		'Trunc(ts) as t: unknown function Trunc(); the functions are date(), year(), month(), hour(), hash()',
	],
	[['date()'], 'date(): the column is missing'],
	[['hash(symbol, 0)'], 'hash(symbol, 0): N must be a whole number from 1 to 100,000 (got 0)'],
	[['hash(symbol, -2)'], 'hash(symbol, -2): N must be a whole number from 1 to 100,000 (got -2)'],
	[['hash(symbol, 2.5)'], 'hash(symbol, 2.5): N must be a whole number from 1 to 100,000 (got 2.5)'],
	[['hash(symbol, many)'], 'hash(symbol, many): N must be a whole number from 1 to 100,000 (got many)'],
	[['hash(symbol, 100001)'], 'hash(symbol, 100001): N must be a whole number from 1 to 100,000 (got 100001)'],
	[['hash(symbol,)'], 'hash(symbol,): N must be a whole number from 1 to 100,000 (got nothing)'],
	[['hash(symbol)'], 'hash(symbol): hash needs a bucket count, as in hash(COL, N)'],
	[
		['symbol as _s'],
		'symbol as _s: "_s" is not a valid name (letters, digits, _ . -, starting with a letter or digit)',
	],
	[
		['symbol as a/b'],
		'symbol as a/b: "a/b" is not a valid name (letters, digits, _ . -, starting with a letter or digit)',
	],
	[
		['symbol as a=b'],
		'symbol as a=b: "a=b" is not a valid name (letters, digits, _ . -, starting with a letter or digit)',
	],
	[['symbol', 'symbol'], 'symbol is given twice'],
	[['date(ts)', 'Date(ts)'], 'date(ts) and Date(ts) are both named ts_date; rename one with "as NAME"'],
	[
		['date(ts)', 'symbol as ts_date'],
		'date(ts) and symbol as ts_date are both named ts_date; rename one with "as NAME"',
	],
	[['symbol', 'ts as SYMBOL'], 'symbol and ts as SYMBOL are both named SYMBOL; rename one with "as NAME"'],
];

describe('rules: partition specs, the same in the CLI, the settings and the engine', () => {
	let dir: string;
	let input: string;
	before(() => {
		dir = makeTmp('sweep-rules-partition-');
		input = path.join(dir, 'in.csv');
		fs.writeFileSync(
			input,
			'symbol,ts,my col,my ts\nA,2024-03-15T10:00:00Z,x,2024-01-01\nB,2024-03-16 09:30,y,2024-01-02\n',
		);
	});
	after(() => removeTmp(dir));

	ACCEPTED.forEach(([specs, parsed], n) => {
		it(`accepts ${JSON.stringify(specs)}`, async () => {
			const rule = parsePartitionList(specs);
			assert.ok(rule.ok);
			assert.deepEqual(
				rule.value.map(({ spec, ...rest }) => rest),
				parsed,
			);
			const texts = rule.value.map((p) => p.spec);
			assert.deepEqual(
				texts,
				specs.map((s) => s.trim()),
			);

			const cli = await cliVerdict(['extract', 'in.csv', '--partition-by', specs.join(',')]);
			assert.ok(cli.ok, `CLI: ${cli.ok ? '' : cli.stderr}`);
			assert.deepEqual(cli.command.kind === 'extract' && cli.command.options.partitionBy, texts);

			const settings = settingsWith({ partitionBy: specs });
			assert.deepEqual(settings.warnings, []);
			assert.deepEqual(settings.partitionBy, texts);

			const m = await extract({
				input,
				outDir: path.join(dir, `out-${n}`),
				partitionBy: specs,
				workers: 1,
				chunkSize: 1,
			});
			assert.deepEqual(m.partitionBy, texts);
			assert.equal(m.rowsWritten, 2);
		});
	});

	for (const [specs, problem] of REFUSED) {
		it(`refuses ${JSON.stringify(specs)}: ${problem}`, async () => {
			assert.deepEqual(parsePartitionList(specs), { ok: false, problem });

			const joined = specs.join(',');
			const cli = await cliVerdict(['extract', 'in.csv', '--partition-by', joined]);
			assert.ok(!cli.ok, 'the CLI refuses it');
			assert.equal(cli.exitCode, 2);
			assert.equal(cli.stderr, `sweep: error: --partition-by ${JSON.stringify(joined)}: ${problem}\n`);

			const settings = settingsWith({ partitionBy: specs });
			assert.deepEqual(settings.partitionBy, ['symbol'], 'a refused setting falls back to the default');
			assert.deepEqual(settings.warnings, [
				`setting sweep.partitionBy = ${JSON.stringify(specs)}: ${problem}; using ["symbol"]`,
			]);

			const outDir = path.join(dir, 'never');
			const e = await expectSweepError(
				extract({ input, outDir, partitionBy: specs, workers: 1, chunkSize: 1 }),
				'usage',
			);
			assert.equal(e.message, `partitionBy ${JSON.stringify(specs)}: ${problem}`);
			assert.ok(!fs.existsSync(outDir), 'nothing written');
		});
	}

	it('splits a --partition-by list at commas outside parentheses', () => {
		assert.deepEqual(splitPartitionList('symbol, hash(id, 8) as b ,date(ts)'), [
			'symbol',
			'hash(id, 8) as b',
			'date(ts)',
		]);
		assert.deepEqual(splitPartitionList('a,,b'), ['a', '', 'b']);
		assert.deepEqual(splitPartitionList('date(a,b)'), ['date(a,b)']);
	});

	it('parses hash(COL, N) (its engine semantics come later) and names levels by default as COL_FN', () => {
		const all = new Set<PartitionFn>(['value', 'date', 'year', 'month', 'hour', 'hash']);
		assert.deepEqual(parsePartitionSpec('HASH( account id , 16 )', all), {
			ok: true,
			value: {
				spec: 'HASH( account id , 16 )',
				column: 'account id',
				fn: 'hash',
				buckets: 16,
				name: 'account id_hash',
			},
		});
		assert.deepEqual(parsePartitionSpec('hour(ts) as h', all), {
			ok: true,
			value: { spec: 'hour(ts) as h', column: 'ts', fn: 'hour', name: 'h' },
		});
		assert.deepEqual(parsePartitionSpec('year(ts)', all), {
			ok: true,
			value: { spec: 'year(ts)', column: 'ts', fn: 'year', name: 'ts_year' },
		});
		assert.equal(parsePartitionSpec('month(ts)', all).ok, true);
		assert.equal(parsePartitionSpec('hash(id, 16)').ok, true, 'the engine computes hash()');
		assert.equal(defaultPartitionName('date', 'timestamp'), 'timestamp_date');
		assert.equal(defaultPartitionName('hash', 'id'), 'id_hash');
		assert.equal(defaultPartitionName('value', 'symbol'), 'symbol');
		assert.equal(formatPartitionSpec({ column: 'id', fn: 'hash', buckets: 8, name: 'id_hash' }), 'hash(id, 8)');
		assert.equal(formatPartitionSpec({ column: 'ts', fn: 'date', name: 'day' }), 'date(ts) as day');
	});

	it('the column picker keeps the function and the as name of the spec it fixes', () => {
		assert.deepEqual(replacePartitionColumn(['symbol', 'Date(timestamp)'], 'timestamp', 'ts'), ['symbol', 'date(ts)']);
		assert.deepEqual(replacePartitionColumn(['date(timestamp) as day'], 'timestamp', 'ts'), ['date(ts) as day']);
		assert.deepEqual(replacePartitionColumn(['sym as s'], 'sym', 'symbol'), ['symbol as s']);
		assert.deepEqual(replacePartitionColumn(['venue'], 'symbol', 'ticker'), ['ticker']);
	});

	it('a key of several columns: each part as it is written, the same day however it goes on, a bad day after a good one rejected', async () => {
		// The worker looks each column's part up on its own and reuses the previous record's part when its bytes are
		// the same (chunkProcessor.ts): a value that shares a good day's first ten bytes but not what must follow, a
		// quoted value, a longer value with the same start must each still get their own answer.
		const file = path.join(dir, 'several.csv');
		const lines = [
			'sym,ts,v',
			'A,2024-03-15T10:00:00Z,1',
			'A,2024-03-15x,2',
			'"A",2024-03-15 09:00,3',
			'AB,2024-03-15,4',
			'A,2024-03-16,5',
			'A,"2024-03-15",6',
			'AB,2024-03-15T,7',
			'A,2024-03-1,8',
			'ABC,2024-03-15Z,9',
			'AB,2024-03-15+01:00,10',
		];
		fs.writeFileSync(file, `${lines.join('\n')}\n`);
		for (const [workers, chunkSize] of [
			[1, 1],
			[2, 3],
			[1, 1_000_000],
		]) {
			const outDir = path.join(dir, `several-${workers}-${chunkSize}`);
			const m = await extract({ input: file, outDir, partitionBy: ['sym', 'date(ts)'], workers, chunkSize });
			const got = Object.fromEntries(
				m.partitions.map((p) => [
					`${p.key.join('/')}`,
					fs
						.readFileSync(path.join(outDir, p.file as string), 'utf8')
						.trim()
						.split('\n')
						.slice(1)
						.map((l) => l.split(',').pop()),
				]),
			);
			assert.deepEqual(
				got,
				{
					'A/2024-03-15': ['1', '3', '6'],
					'AB/2024-03-15': ['4', '7', '10'],
					'A/2024-03-16': ['5'],
					'ABC/2024-03-15': ['9'],
				},
				`workers ${workers}, chunk size ${chunkSize}`,
			);
			assert.equal(m.rowsRejected, 2);
			const rejects = fs.readFileSync(path.join(outDir, '_rejects.csv'), 'utf8');
			assert.match(rejects, /^3,"column ""ts"": ""2024-03-15x"" does not start with/m);
			assert.match(rejects, /^9,"column ""ts"": ""2024-03-1"" does not start with/m);
		}
	});

	it('a key of one date grain: runs of the same day, quoted and not, go to one partition each, in order', async () => {
		// One key column that is not looked up as its whole value (a grain): a record whose day equals the previous
		// record's reuses its id; it must not be taken for a new key (which would also shift every later key's bucket).
		const file = path.join(dir, 'one-grain.csv');
		const days = ['2024-03-15', '2024-03-15', '2024-03-16', '2024-03-16', '2024-03-15', '2024-03-16', '2024-03-17'];
		// The sixth quoted: its day is read from the value, not where it lies.
		const lines = ['ts,v', ...days.map((d, i) => (i === 5 ? `"${d}T0${i}:00:00Z",${i}` : `${d}T0${i}:00:00Z,${i}`))];
		fs.writeFileSync(file, `${lines.join('\n')}\n`);
		for (const [spec, want] of [
			['date(ts)', { '2024-03-15': ['0', '1', '4'], '2024-03-16': ['2', '3', '5'], '2024-03-17': ['6'] }],
			['month(ts)', { '2024-03': ['0', '1', '2', '3', '4', '5', '6'] }],
		] as const) {
			for (const [workers, chunkSize] of [
				[1, 1_000_000],
				[2, 2],
			]) {
				const outDir = path.join(dir, `one-grain-${spec.slice(0, 4)}-${workers}-${chunkSize}`);
				const m = await extract({ input: file, outDir, partitionBy: [spec], workers, chunkSize });
				const got = Object.fromEntries(
					m.partitions.map((p) => [
						p.key.join('/'),
						fs
							.readFileSync(path.join(outDir, p.file as string), 'utf8')
							.trim()
							.split('\n')
							.slice(1)
							.map((l) => l.split(',').pop()),
					]),
				);
				assert.deepEqual(got, want, `${spec}, workers ${workers}, chunk size ${chunkSize}`);
			}
		}
	});
});
