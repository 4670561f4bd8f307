import * as assert from 'node:assert/strict';
import { parseExtractOptions } from '../../src/vscode/commandArgs';
import {
	chooseRestricted,
	DEFAULT_OUTPUT_DIRECTORY,
	type Inspected,
	parseColumnMapping,
	parseColumns,
	parseDelimiter,
	parseJsonc,
	parseKeepPartitionColumns,
	parseLayout,
	parseMaxRowsPerFile,
	parsePartitionBy,
	readFileSettings,
	type SettingsReader,
	settingIn,
} from '../../src/vscode/settingsModel';

/** A reader over literal scopes, as `getConfiguration('sweep', uri)` would give for one file. */
function reader(scopes: Record<string, Inspected>): SettingsReader {
	return {
		inspect: (key) => scopes[key],
		get: (key) => {
			const i = scopes[key];
			if (!i) return undefined;
			return i.workspaceFolderValue ?? i.workspaceValue ?? i.globalValue ?? i.defaultValue;
		},
	};
}

describe('vscode: settings parsing', () => {
	it('takes the package.json defaults when nothing is set', () => {
		const s = readFileSettings(reader({}), true);
		assert.deepEqual(s.partitionBy, ['symbol']);
		assert.deepEqual(s.columnMapping, {});
		assert.equal(s.delimiter, null);
		assert.equal(s.format, 'csv');
		assert.equal(s.parquetTypes, 'infer');
		assert.equal(s.outputDirectory, DEFAULT_OUTPUT_DIRECTORY);
		assert.equal(s.ordersFile, null);
		assert.equal(s.workers, undefined);
		assert.deepEqual(s.warnings, []);
		assert.deepEqual(s.notices, []);
	});

	it('sweep.format and sweep.parquetTypes: the engine parser; a bad value warns and keeps the default', () => {
		const ok = readFileSettings(
			reader({ format: { workspaceValue: 'Parquet' }, parquetTypes: { globalValue: 'string' } }),
			true,
		);
		assert.equal(ok.format, 'parquet');
		assert.equal(ok.parquetTypes, 'string');
		assert.deepEqual(ok.warnings, []);
		const bad = readFileSettings(
			reader({ format: { workspaceValue: 'xlsx' }, parquetTypes: { globalValue: 3 } }),
			true,
		);
		assert.equal(bad.format, 'csv');
		assert.equal(bad.parquetTypes, 'infer');
		assert.equal(bad.warnings.length, 2);
		assert.match(bad.warnings[0], /sweep\.format = "xlsx"/);
	});

	it('hands out fresh objects each time', () => {
		const r = reader({ partitionBy: { workspaceValue: ['a'] }, columnMapping: { workspaceValue: { s: 't' } } });
		const a = readFileSettings(r, true);
		a.partitionBy.push('mutated');
		a.columnMapping.x = 'y';
		const b = readFileSettings(r, true);
		assert.deepEqual(b.partitionBy, ['a']);
		assert.deepEqual(b.columnMapping, { s: 't' });
	});

	it('passes sweep.workers / sweep.chunkSize through raw (resolveConfig warns about them)', () => {
		const s = readFileSettings(reader({ workers: { workspaceValue: 'eight' }, chunkSize: { globalValue: -1 } }), true);
		assert.equal(s.workers, 'eight');
		assert.equal(s.chunkSize, -1);
		assert.deepEqual(s.warnings, []);
	});

	it('sweep.partitionBy: expressions the engine would refuse warn and use the default', () => {
		assert.deepEqual(parsePartitionBy(['symbol', 'hour(ts) as h', 'hash(symbol, 4)']), {
			value: ['symbol', 'hour(ts) as h', 'hash(symbol, 4)'],
		});
		for (const bad of [['hash(symbol, 0)'], ['foo(x)'], ['date(ts) as a/b'], ['date(ts) as d', 'month(ts) as D']]) {
			const r = parsePartitionBy(bad);
			assert.deepEqual(r.value, ['symbol'], JSON.stringify(bad));
			assert.match(r.warning ?? '', /^setting sweep\.partitionBy = .*; using \["symbol"\]$/, JSON.stringify(bad));
		}
	});

	it('sweep.layout, keepPartitionColumns, maxRowsPerFile and columns: bad values warn and fall back', () => {
		const good = readFileSettings(
			reader({
				layout: { workspaceValue: 'hive' },
				keepPartitionColumns: { workspaceValue: true },
				maxRowsPerFile: { workspaceValue: 100000 },
				columns: { workspaceValue: ['price', ' qty '] },
			}),
			true,
		);
		assert.equal(good.layout, 'hive');
		assert.equal(good.keepPartitionColumns, true);
		assert.equal(good.maxRowsPerFile, 100000);
		assert.deepEqual(good.columns, ['price', 'qty']);
		assert.deepEqual(good.warnings, []);
		const none = readFileSettings(reader({}), true);
		assert.deepEqual(
			[none.layout, none.keepPartitionColumns, none.maxRowsPerFile, none.columns],
			['flat', false, null, null],
		);
		assert.deepEqual(parseLayout('HIVE').value, 'flat');
		assert.match(
			parseLayout('HIVE').warning ?? '',
			/^setting sweep\.layout = "HIVE" is not flat or hive; using "flat"$/,
		);
		assert.match(parseKeepPartitionColumns('yes').warning ?? '', /sweep\.keepPartitionColumns = "yes"/);
		for (const bad of [0, -1, 1.5, '100', Number.NaN]) {
			const r = parseMaxRowsPerFile(bad);
			assert.equal(r.value, null, String(bad));
			assert.match(r.warning ?? '', /sweep\.maxRowsPerFile = .* is not a whole number >= 1/);
		}
		for (const bad of ['price', ['a', 'a'], ['a', ''], [1]]) {
			const r = parseColumns(bad);
			assert.equal(r.value, null, JSON.stringify(bad));
			assert.match(r.warning ?? '', /sweep\.columns = .* all columns are written/);
		}
		assert.deepEqual(parseColumns([]), { value: null });
	});

	it('sweep.partitionBy: a list of names; a single string is one column; anything else warns and uses the default', () => {
		assert.deepEqual(parsePartitionBy(['symbol', ' date(timestamp) ']), { value: ['symbol', 'date(timestamp)'] });
		assert.deepEqual(parsePartitionBy('venue'), { value: ['venue'] });
		for (const bad of [[], [1], 42, { a: 1 }]) {
			const r = parsePartitionBy(bad);
			assert.deepEqual(r.value, ['symbol']);
			assert.match(
				r.warning ?? '',
				/^setting sweep\.partitionBy = .* is not a list of column names; using \["symbol"\]$/,
			);
		}
		// A list the partition-spec rule refuses (see rules-partition.test.ts for the whole table).
		const r = parsePartitionBy(['']);
		assert.deepEqual(r, {
			value: ['symbol'],
			warning: 'setting sweep.partitionBy = [""]: an empty column name; using ["symbol"]',
		});
	});

	it('sweep.columnMapping: keeps good entries, names the bad ones once', () => {
		assert.deepEqual(parseColumnMapping({ symbol: 'ticker' }), { value: { symbol: 'ticker' } });
		const r = parseColumnMapping({ symbol: 'ticker', qty: 5, price: '' });
		assert.deepEqual(r.value, { symbol: 'ticker' });
		assert.equal(
			r.warning,
			'setting sweep.columnMapping: "qty": 5, "price": "" ignored (each entry maps a new name to a source column name)',
		);
		assert.match(parseColumnMapping(['a']).warning ?? '', /is not an object; ignored/);
	});

	it('sweep.delimiter: one character, tab spelled out, auto/empty/null sniff', () => {
		assert.deepEqual(parseDelimiter(';'), { value: ';' });
		assert.deepEqual(parseDelimiter('\t'), { value: '\t' });
		assert.deepEqual(parseDelimiter('tab'), { value: '\t' });
		assert.deepEqual(parseDelimiter('\\t'), { value: '\t' });
		for (const unset of [null, undefined, '', 'auto', 'AUTO']) assert.deepEqual(parseDelimiter(unset), { value: null });
		for (const bad of [',,', '"', 3]) {
			const r = parseDelimiter(bad);
			assert.equal(r.value, null);
			assert.match(r.warning ?? '', /is not one ASCII character .*; the delimiter is sniffed instead$/);
		}
	});

	it('collects one warning per bad value', () => {
		const s = readFileSettings(
			reader({
				partitionBy: { workspaceValue: 3 },
				delimiter: { globalValue: 'ab' },
				outputDirectory: { workspaceValue: 7 },
			}),
			true,
		);
		assert.equal(s.warnings.length, 3);
		assert.equal(s.outputDirectory, DEFAULT_OUTPUT_DIRECTORY);
	});
});

describe('vscode: Restricted Mode settings', () => {
	const out: Inspected = {
		defaultValue: DEFAULT_OUTPUT_DIRECTORY,
		globalValue: '~/sweep-out',
		workspaceValue: '/tmp/workspace-chose-this',
	};

	it('trusted: the most specific scope wins', () => {
		assert.deepEqual(chooseRestricted('outputDirectory', out, true), {
			value: '/tmp/workspace-chose-this',
			origin: 'workspace',
		});
		assert.equal(chooseRestricted('x', { ...out, workspaceFolderValue: 'f' }, true).origin, 'workspaceFolder');
	});

	it('untrusted: the user value, with a notice naming the ignored workspace value', () => {
		const c = chooseRestricted('outputDirectory', out, false);
		assert.equal(c.value, '~/sweep-out');
		assert.equal(c.origin, 'user');
		assert.equal(
			c.notice,
			'Restricted Mode: the workspace value of sweep.outputDirectory ("/tmp/workspace-chose-this") is ignored; using your user setting ("~/sweep-out"). Trust the workspace to use it.',
		);
	});

	it('untrusted without a user value: the default; no notice when the workspace sets nothing', () => {
		const c = chooseRestricted('ordersFile', { defaultValue: null, workspaceFolderValue: 'orders.csv' }, false);
		assert.equal(c.value, null);
		assert.equal(c.origin, 'default');
		assert.match(c.notice ?? '', /sweep\.ordersFile \("orders\.csv"\) is ignored; using the default/);
		assert.equal(chooseRestricted('ordersFile', { defaultValue: null, globalValue: 'o.csv' }, false).notice, undefined);
	});

	it('readFileSettings applies it to outputDirectory and ordersFile only', () => {
		const s = readFileSettings(
			reader({
				outputDirectory: out,
				ordersFile: { defaultValue: null, workspaceValue: '/etc/orders.csv' },
				partitionBy: { defaultValue: ['symbol'], workspaceValue: ['venue'] },
				workers: { workspaceValue: 2 },
			}),
			false,
		);
		assert.equal(s.outputDirectory, '~/sweep-out');
		assert.equal(s.outputDirectoryOrigin, 'user');
		assert.equal(s.ordersFile, null);
		assert.equal(s.ordersFileOrigin, 'default');
		assert.deepEqual(s.partitionBy, ['venue'], 'not restricted');
		assert.equal(s.workers, 2, 'not restricted');
		assert.equal(s.notices.length, 2);
		assert.ok(s.notices.every((n) => n.startsWith('Restricted Mode:')));
	});
});

describe('vscode: command options', () => {
	it('keeps well-typed known keys only', () => {
		assert.deepEqual(
			parseExtractOptions({
				force: true,
				partitionBy: ['symbol', 'date(timestamp)'],
				savePartitionBy: true,
				outDir: '/o',
				ordersFile: '/orders.csv',
				saveDirty: false,
				ifBusy: 'queue',
				interactive: false,
				notify: false,
				unknown: 1,
			}),
			{
				force: true,
				partitionBy: ['symbol', 'date(timestamp)'],
				savePartitionBy: true,
				outDir: '/o',
				ordersFile: '/orders.csv',
				saveDirty: false,
				ifBusy: 'queue',
				interactive: false,
				notify: false,
			},
		);
		assert.deepEqual(parseExtractOptions({ force: 'yes', partitionBy: [1], ifBusy: 'later', outDir: '' }), {});
		assert.deepEqual(parseExtractOptions({ partitionBy: 'venue' }), { partitionBy: ['venue'] });
	});

	it('ignores what menus pass in that position', () => {
		assert.deepEqual(parseExtractOptions([{ scheme: 'file' }]), {}, 'Explorer: the selected URIs');
		assert.deepEqual(parseExtractOptions({ groupId: 1, editorIndex: 0 }), {}, 'editor title: the editor context');
		assert.deepEqual(parseExtractOptions(undefined), {});
		assert.deepEqual(parseExtractOptions(new (class Uri {})()), {}, 'class instances are not options');
	});
});

describe('vscode: reading settings files (JSON with comments)', () => {
	it('parses comments and trailing commas, leaving strings alone', () => {
		const text = `// top
{
	/* block */ "sweep.outputDirectory": "//not/a/comment", // line
	"sweep": { "ordersFile": "a/*b*/c.csv", },
	"list": [1, 2,],
	"quote": "say \\"hi\\", // still text",
}`;
		assert.deepEqual(parseJsonc(text), {
			'sweep.outputDirectory': '//not/a/comment',
			sweep: { ordersFile: 'a/*b*/c.csv' },
			list: [1, 2],
			quote: 'say "hi", // still text',
		});
		assert.equal(parseJsonc('{ nope'), undefined);
		assert.equal(parseJsonc(''), undefined);
	});

	it('finds a setting written flat or nested', () => {
		const s = { 'sweep.outputDirectory': '/flat', sweep: { ordersFile: '/nested' } };
		assert.equal(settingIn(s, 'sweep.outputDirectory'), '/flat');
		assert.equal(settingIn(s, 'sweep.ordersFile'), '/nested');
		assert.equal(settingIn(s, 'sweep.delimiter'), undefined);
		assert.equal(settingIn(undefined, 'sweep.ordersFile'), undefined);
		assert.equal(settingIn({ settings: s }, 'settings'), s);
	});
});
