// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are VS Code-style ${…} variables on purpose.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { SweepError } from '../../src/engine/errors';
import { checkOutputDirectory, expandVariables, isCsvPath, resolvePathSetting } from '../../src/vscode/variables';

const DEFAULT = '${fileDirname}/processed/${fileBasenameNoExtension}';

describe('vscode: ${…} variables in path settings', () => {
	const ctx = { file: '/ws/data/trades.2024.csv', workspaceFolder: '/ws', userHome: '/home/u', pathApi: path.posix };

	it('expands the default sweep.outputDirectory like the engine default', () => {
		assert.equal(expandVariables(DEFAULT, ctx), '/ws/data/processed/trades.2024');
	});

	it('expands ${workspaceFolder}, ${fileBasename}, ${fileExtname}, ${workspaceFolderBasename}, ${userHome}, a leading ~', () => {
		assert.equal(expandVariables('${workspaceFolder}/out/${fileBasename}', ctx), '/ws/out/trades.2024.csv');
		assert.equal(expandVariables('${fileExtname}|${workspaceFolderBasename}', ctx), '.csv|ws');
		assert.equal(expandVariables('${userHome}/x', ctx), '/home/u/x');
		assert.equal(expandVariables('~/parts/${fileBasenameNoExtension}', ctx), '/home/u/parts/trades.2024');
		assert.equal(expandVariables('a~b', ctx), 'a~b', 'a ~ elsewhere is kept');
	});

	it('replaces every occurrence and leaves text without variables alone', () => {
		assert.equal(
			expandVariables('${fileBasenameNoExtension}-${fileBasenameNoExtension}', ctx),
			'trades.2024-trades.2024',
		);
		assert.equal(expandVariables('/plain/path', ctx), '/plain/path');
	});

	it('rejects an unknown variable with a SweepError naming it and the setting', () => {
		assert.throws(
			() => expandVariables('${fileDirnam}/x', ctx),
			(e: unknown) =>
				e instanceof SweepError &&
				e.code === 'usage' &&
				e.message.includes('${fileDirnam}') &&
				e.message.includes('sweep.outputDirectory'),
		);
		assert.throws(() => expandVariables('${env:HOME}', ctx, 'sweep.ordersFile'), /sweep\.ordersFile: unknown variable/);
	});

	it('${workspaceFolder} for a file outside any folder is an error, not an empty string', () => {
		assert.throws(
			() => expandVariables('${workspaceFolder}/out', { file: '/tmp/a.csv', pathApi: path.posix }),
			/not in a workspace folder/,
		);
	});

	it('resolves a relative result against the workspace folder, or the file folder without one', () => {
		assert.equal(resolvePathSetting('out/${fileBasenameNoExtension}', ctx, 's'), '/ws/out/trades.2024');
		assert.equal(resolvePathSetting('out', { file: '/tmp/d/a.csv', pathApi: path.posix }, 's'), '/tmp/d/out');
		assert.equal(resolvePathSetting('  /abs/../abs2  ', ctx, 's'), '/abs2', 'trimmed and normalised');
		assert.throws(() => resolvePathSetting('   ', ctx, 'sweep.outputDirectory'), /sweep\.outputDirectory is empty/);
	});

	it('works with Windows paths', () => {
		const win = {
			file: 'C:\\data\\Trades.CSV',
			workspaceFolder: 'C:\\data',
			pathApi: path.win32,
			userHome: 'C:\\Users\\u',
		};
		assert.equal(resolvePathSetting(DEFAULT, win, 's'), 'C:\\data\\processed\\Trades');
	});
});

describe('vscode: output folder checks', () => {
	const base = {
		input: '/ws/data/trades.csv',
		workspaceFolders: ['/ws'],
		trusted: true,
		origin: 'setting' as const,
		userHome: '/home/u',
		pathApi: path.posix,
		caseInsensitive: false,
	};

	it('accepts the default output folder', () => {
		assert.equal(checkOutputDirectory({ ...base, outDir: '/ws/data/processed/trades' }), undefined);
	});

	it('refuses a folder that holds the input (Sweep replaces the whole folder)', () => {
		assert.match(checkOutputDirectory({ ...base, outDir: '/ws/data' }) ?? '', /holds the input file/);
		assert.match(checkOutputDirectory({ ...base, outDir: '/ws/data/' }) ?? '', /holds the input file/);
	});

	it('refuses a workspace folder, the home folder and a root', () => {
		assert.match(checkOutputDirectory({ ...base, input: '/elsewhere/a.csv', outDir: '/ws' }) ?? '', /workspace folder/);
		assert.match(checkOutputDirectory({ ...base, outDir: '/home/u' }) ?? '', /home folder/);
		assert.match(checkOutputDirectory({ ...base, outDir: '/' }) ?? '', /file-system root/);
	});

	it('in an untrusted workspace refuses an argument outside the workspace, not a setting', () => {
		const untrusted = { ...base, trusted: false };
		assert.match(
			checkOutputDirectory({ ...untrusted, origin: 'argument', outDir: '/tmp/evil' }) ?? '',
			/Restricted Mode.*outside the workspace/,
		);
		assert.equal(checkOutputDirectory({ ...untrusted, origin: 'argument', outDir: '/ws/out' }), undefined);
		assert.equal(checkOutputDirectory({ ...untrusted, origin: 'setting', outDir: '/tmp/mine' }), undefined);
		assert.equal(
			checkOutputDirectory({ ...base, origin: 'argument', outDir: '/tmp/ok' }),
			undefined,
			'trusted: allowed',
		);
	});

	it('compares ignoring case where the file system does', () => {
		const ci = { ...base, caseInsensitive: true };
		assert.match(checkOutputDirectory({ ...ci, outDir: '/WS/Data' }) ?? '', /holds the input file/);
		assert.equal(checkOutputDirectory({ ...base, outDir: '/WS/Data' }), undefined);
	});
});

describe('vscode: which files Sweep extracts', () => {
	it('.csv and .tsv in any case, also gzip- or zstd-compressed', () => {
		for (const f of ['a.csv', 'a.CSV', '/x/y.Tsv', 'b.tsv', 'a.csv.gz', 'A.CSV.GZ', 'b.tsv.zst', 'c.csv.Zst']) {
			assert.equal(isCsvPath(f), true, f);
		}
		for (const f of ['a.txt', 'csv', 'a.json', 'a.csvx', 'a.gz', 'a.txt.gz', 'a.csv.bz2', 'a.zst']) {
			assert.equal(isCsvPath(f), false, f);
		}
	});

	it('${fileBasenameNoExtension} drops a compression suffix too: trades.csv.gz goes to processed/trades', () => {
		const ctx = { file: '/data/trades.csv.gz', workspaceFolder: '/data' };
		assert.equal(expandVariables('${fileDirname}/processed/${fileBasenameNoExtension}', ctx), '/data/processed/trades');
		assert.equal(expandVariables('${fileBasenameNoExtension}', { ...ctx, file: '/d/t.TSV.ZST' }), 't');
		assert.equal(expandVariables('${fileBasenameNoExtension}', { ...ctx, file: '/d/t.csv' }), 't');
		// Never empty, `.` or `..` (the CLI's rule, rules/compression.ts outputStem): `..csv` went to processed/. (the
		// processed folder itself) and `n/.zst` to n/processed/n, where n/n.csv's output is.
		for (const [file, want] of [
			['/d/n/.zst', '.zst'],
			['/d/n/.gz', '.gz'],
			['/d/..csv', '..csv'],
			['/d/..csv.gz', '..csv'],
			['/d/.csv', '.csv'],
			['/d/a.b.csv', 'a.b'],
		])
			assert.equal(expandVariables('${fileBasenameNoExtension}', { ...ctx, file }), want, file);
	});
});
