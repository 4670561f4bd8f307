import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { extract, isSweepError, type Manifest } from '../../src/engine';
import { requireCli, runCli } from '../fixtures/hostile/env';
import { checkOutput, splitRecords } from '../fixtures/hostile/oracle';
import { sweepErrorOf } from './helpers/engine';
import { diffSnapshots, leftovers, makeTmp, removeTmp, snapshot } from './helpers/fsutil';

/**
 * Issue 7, where files go: partition keys never decide a path outside the output folder, names follow README "What extraction does" (safe on
 * Windows, macOS and Linux), and symbolic links are never followed to write elsewhere.
 */

const sha8 = (s: string) => createHash('sha1').update(Buffer.from(s, 'utf8')).digest('hex').slice(0, 8);
const LONG_A = `${'k'.repeat(150)}${'a'.repeat(150)}`;
const LONG_B = `${'k'.repeat(150)}${'b'.repeat(150)}`;
const LONG_E = 'é'.repeat(300);
const NFC = 'é'.normalize('NFC');
const NFD = 'é'.normalize('NFD');

/** Key value -> the file name README "What extraction does" gives it (in this order of first appearance). */
const KEYS: [string, string][] = [
	['..', '%2E%2E.csv'],
	['.', '%2E.csv'],
	['../../etc/passwd', '%2E.%2F..%2Fetc%2Fpasswd.csv'],
	['/abs', '%2Fabs.csv'],
	['/', '%2F.csv'],
	['C:\\x', 'C%3A%5Cx.csv'],
	['D:', 'D%3A.csv'],
	['a/b', 'a%2Fb.csv'],
	['a\\b', 'a%5Cb.csv'],
	['\\\\server\\share', '%5C%5Cserver%5Cshare.csv'],
	['CON', 'CON~.csv'],
	['con.txt', 'con~.txt.csv'],
	['LPT1', 'LPT1~.csv'],
	['nul', 'nul~.csv'],
	['Com9.log', 'Com9~.log.csv'],
	['name.', 'name%2E.csv'],
	['name ', 'name%20.csv'],
	[' lead', '%20lead.csv'],
	['.hidden', '%2Ehidden.csv'],
	['_x', '%5Fx.csv'],
	['_manifest.json', '%5Fmanifest.json.csv'],
	['', '~empty.csv'],
	['~empty', '%7Eempty.csv'],
	['%41', '%2541.csv'],
	['A', 'A.csv'],
	['a*?"<>|:', 'a%2A%3F%22%3C%3E%7C%3A.csv'],
	['tab\there', 'tab%09here.csv'],
	['line\nbreak', 'line%0Abreak.csv'],
	['AAPL', 'AAPL.csv'],
	['aapl', 'aapl~2.csv'],
	['Aapl', 'Aapl~3.csv'],
	[NFC, '%C3%A9.csv'],
	[NFD, 'e%CC%81.csv'],
	['k'.repeat(300), `${'k'.repeat(100)}~${sha8('k'.repeat(300))}.csv`],
	[LONG_A, `${'k'.repeat(100)}~${sha8(LONG_A)}.csv`],
	[LONG_B, `${'k'.repeat(100)}~${sha8(LONG_B)}.csv`],
	// A cut never splits a %XX escape (the 100th character here would be the `%` of `%A9`).
	[LONG_E, `${'%C3%A9'.repeat(16)}%C3~${sha8(LONG_E)}.csv`],
];

const DEVICE = /^(CON|PRN|AUX|NUL|COM[1-9]|LPT[1-9])(\.|$)/i;

function field(v: string): string {
	return /[",\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v;
}

/** Checks a file name against the README's rules (independently of how it was derived). */
function assertSafeName(name: string): void {
	assert.match(name, /^[A-Za-z0-9._%~+-]+\.csv$/, `${name}: only A–Z a–z 0–9 . - _ % ~ + characters`);
	const stem = name.slice(0, -4);
	assert.ok(!/^[_.]/.test(stem), `${name}: does not start with _ or .`);
	assert.ok(!/[. ]$/.test(stem), `${name}: does not end with a dot or space`);
	assert.ok(!DEVICE.test(stem), `${name}: not a Windows device name`);
	assert.ok(Buffer.byteLength(stem) <= 130, `${name}: short (${Buffer.byteLength(stem)} bytes)`);
}

describe('hostile paths', function () {
	this.timeout(120_000);
	let dir = '';
	beforeEach(() => {
		dir = makeTmp('sweep-hostile-paths-');
	});
	afterEach(() => removeTmp(dir));

	// Found by a hostile campaign: a /sys file reports 4,096 bytes and holds a few, so a run read it as a file that
	// "became shorter while it was read". Files under /proc and /sys (also through a link) are refused before reading.
	it('refuses a file under /proc or /sys, also through a link, saying its size means nothing (exit 2)', async () => {
		const candidates = ['/proc/self/status', '/sys/kernel/mm/transparent_hugepage/enabled', '/sys/power/state'];
		const present = candidates.filter((f) => fs.existsSync(f));
		if (present.length === 0) {
			console.log('      (skipped: no /proc or /sys file here)');
			return;
		}
		const link = path.join(dir, 'link.csv');
		for (const file of present) {
			fs.rmSync(link, { force: true });
			fs.symlinkSync(file, link);
			for (const input of [file, link]) {
				const e = await sweepErrorOf(extract({ input, outDir: path.join(dir, 'out'), workers: 1, chunkSize: 100 }));
				assert.equal(e.exitCode, 2, e.message);
				assert.match(e.message, /a file under \/proc or \/sys: its size says nothing of what it holds/, e.message);
				assert.ok(!fs.existsSync(path.join(dir, 'out')), 'nothing written');
			}
		}
	});

	it('keeps every partition file inside the output folder, named per the README, and maps keys to files both ways', async () => {
		const rows = ['symbol,n'];
		// Each key twice, the second time after all the others, so records of one key span chunks.
		for (const round of [0, 1000]) for (const [i, [k]] of KEYS.entries()) rows.push(`${field(k)},${round + i}`);
		const input = Buffer.from(`${rows.join('\n')}\n`, 'utf8');
		const work = path.join(dir, 'deep', 'er');
		fs.mkdirSync(work, { recursive: true });
		const file = path.join(work, 'keys.csv');
		fs.writeFileSync(file, input);
		const outDir = path.join(work, 'out');
		const m = await extract({ input: file, outDir, workers: 2, chunkSize: 3 });
		checkOutput(input, outDir, 'hostile keys');

		// Nothing anywhere but the output folder: the test folder holds the input and the output only.
		assert.deepEqual(fs.readdirSync(dir), ['deep']);
		assert.deepEqual(fs.readdirSync(path.join(dir, 'deep')), ['er']);
		assert.deepEqual(fs.readdirSync(work).sort(), ['keys.csv', 'out']);
		const real = fs.realpathSync(outDir);
		const names = fs.readdirSync(outDir);
		assert.equal(names.length, KEYS.length + 1, 'one file per key and the manifest');
		const lower = new Set(names.map((n) => n.toLowerCase()));
		assert.equal(lower.size, names.length, 'no two names differ only by case');
		for (const name of names) {
			const p = fs.realpathSync(path.join(outDir, name));
			assert.equal(path.dirname(p), real, `${name} is directly inside the output folder`);
			assert.ok(fs.lstatSync(p).isFile(), `${name} is a regular file`);
			if (name !== '_manifest.json') assertSafeName(name);
		}

		assert.equal(m.partitions.length, KEYS.length, 'NFC and NFD, case variants and long keys are distinct partitions');
		for (const [key, expected] of KEYS) {
			const matches = m.partitions.filter((p) => p.key.length === 1 && p.key[0] === key);
			assert.equal(matches.length, 1, `one partition for ${JSON.stringify(key)}`);
			assert.equal(matches[0].file, expected, `file of ${JSON.stringify(key)}`);
			assert.equal(matches[0].rows, 2);
			// Round trip: the file holds exactly the records of that key.
			const bytes = fs.readFileSync(path.join(outDir, expected));
			const recs = splitRecords(bytes, 0, bytes.length, 0x2c).slice(1);
			assert.deepEqual(
				recs.map((r) => r.fields[0].toString('utf8')),
				[key, key],
				`${expected} holds the records of ${JSON.stringify(key)}`,
			);
		}
		const onDisk = JSON.parse(fs.readFileSync(path.join(outDir, '_manifest.json'), 'utf8')) as Manifest;
		assert.deepEqual(
			onDisk.partitions.map((p) => [p.key, p.file]),
			m.partitions.map((p) => [p.key, p.file]),
		);
	});

	it('joins several key columns with + without ambiguity', async () => {
		const input = Buffer.from('symbol,venue\n"a+b",c\na,"b+c"\n..,..\n,\nCON,x\n/,\\\n', 'utf8');
		const file = path.join(dir, 'two.csv');
		fs.writeFileSync(file, input);
		const outDir = path.join(dir, 'out');
		const m = await extract({ input: file, outDir, partitionBy: ['symbol', 'venue'], workers: 1, chunkSize: 2 });
		assert.deepEqual(
			m.partitions.map((p) => [p.key, p.file]),
			[
				[['a+b', 'c'], 'a%2Bb+c.csv'],
				[['a', 'b+c'], 'a+b%2Bc.csv'],
				[['..', '..'], '%2E%2E+%2E%2E.csv'],
				[['', ''], '~empty+~empty.csv'],
				[['CON', 'x'], 'CON~+x.csv'],
				[['/', '\\'], '%2F+%5C.csv'],
			],
		);
		for (const p of m.partitions) assertSafeName(p.file!);
		assert.deepEqual(fs.readdirSync(dir).sort(), ['out', 'two.csv']);
	});

	it('never follows a symbolic link inside an existing Sweep output folder (replaced; the targets untouched)', async () => {
		const outside = path.join(dir, 'outside');
		fs.mkdirSync(path.join(outside, 'dir'), { recursive: true });
		fs.writeFileSync(path.join(outside, 'victim.csv'), 'do not touch\n');
		fs.writeFileSync(path.join(outside, 'victim-rejects.csv'), 'do not touch either\n');
		fs.writeFileSync(path.join(outside, 'manifest.json'), '{"not":"yours"}\n');
		fs.writeFileSync(path.join(outside, 'dir', 'keep.txt'), 'keep\n');
		const outsideBefore = snapshot(outside);
		const outsideTimes = fs.readdirSync(outside).map((n) => fs.statSync(path.join(outside, n)).mtimeMs);

		const input = Buffer.from('symbol,x\nAAPL,1\nMSFT,2\nbad\nAAPL,3\n', 'utf8');
		const file = path.join(dir, 'in.csv');
		fs.writeFileSync(file, input);
		const outDir = path.join(dir, 'out');
		await extract({ input: file, outDir, workers: 1, chunkSize: 10 });
		// Plant links where the next run writes its files, and a linked folder.
		for (const [name, target] of [
			['AAPL.csv', 'victim.csv'],
			['_rejects.csv', 'victim-rejects.csv'],
			['_manifest.json', 'manifest.json'],
			['sub', 'dir'],
		]) {
			fs.rmSync(path.join(outDir, name), { force: true });
			fs.symlinkSync(path.join(outside, target), path.join(outDir, name));
		}

		// A manifest that is a link, and a link the manifest does not list: no longer a folder Sweep wrote (refused,
		// untouched, without force); replaced with force, without following a link.
		await assert.rejects(extract({ input: file, outDir, workers: 2, chunkSize: 1 }), (e: unknown) => {
			assert.ok(isSweepError(e) && e.code === 'output-foreign', String(e));
			assert.match((e as Error).message, /its _manifest\.json is not a file/);
			return true;
		});
		const m = await extract({ input: file, outDir, workers: 2, chunkSize: 1, force: true });
		assert.equal(m.rowsWritten, 3);
		assert.equal(diffSnapshots(outsideBefore, snapshot(outside)), '', 'nothing outside changed');
		assert.deepEqual(
			fs.readdirSync(outside).map((n) => fs.statSync(path.join(outside, n)).mtimeMs),
			outsideTimes,
			'nothing outside was written to',
		);
		for (const name of fs.readdirSync(outDir)) {
			assert.ok(fs.lstatSync(path.join(outDir, name)).isFile(), `${name} is a regular file now`);
		}
		assert.deepEqual(fs.readdirSync(outDir).sort(), ['AAPL.csv', 'MSFT.csv', '_manifest.json', '_rejects.csv']);
		checkOutput(input, outDir, 'after links were planted');
		assert.deepEqual(leftovers(outDir), []);
	});

	it("refuses an output folder that is itself a symbolic link ('output-invalid', exit 2), leaving it and its target alone", async () => {
		const target = path.join(dir, 'real-target');
		fs.mkdirSync(target);
		fs.writeFileSync(path.join(target, 'precious.txt'), 'precious\n');
		const link = path.join(dir, 'out');
		fs.symlinkSync(target, link);
		const dangling = path.join(dir, 'dangling');
		fs.symlinkSync(path.join(dir, 'nowhere'), dangling);
		const file = path.join(dir, 'in.csv');
		fs.writeFileSync(file, 'symbol,x\nA,1\n');
		const targetBefore = snapshot(target);

		for (const outDir of [link, dangling]) {
			for (const force of [false, true]) {
				try {
					await extract({ input: file, outDir, workers: 1, chunkSize: 10, force });
					assert.fail(`${outDir}: extract resolved`);
				} catch (e) {
					if (!isSweepError(e)) throw e;
					assert.equal(e.code, 'output-invalid', e.message);
					assert.equal(e.exitCode, 2);
					assert.match(e.message, /symbolic link/);
				}
			}
		}
		requireCli();
		const r = await runCli(['extract', file, '--out', link, '--force']);
		assert.equal(r.code, 2, r.stderr);
		assert.match(r.stderr, /symbolic link/);
		assert.equal(r.stderr.trim().split('\n').length, 1);

		assert.equal(fs.readlinkSync(link), target, 'the link is still there');
		assert.equal(fs.readlinkSync(dangling), path.join(dir, 'nowhere'));
		assert.equal(diffSnapshots(targetBefore, snapshot(target)), '', 'its target is untouched');
		assert.ok(!fs.existsSync(path.join(dir, 'nowhere')));
		assert.deepEqual(fs.readdirSync(dir).sort(), ['dangling', 'in.csv', 'out', 'real-target']);
	});
	it("says how long an output folder's name may be: 232 bytes work, 233 exit 2 naming the limit", async () => {
		const file = path.join(dir, 'in.csv');
		fs.writeFileSync(file, 'symbol,x\nA,1\n');
		const ok = path.join(dir, 'x'.repeat(232));
		const m = await extract({ input: file, outDir: ok, workers: 1, chunkSize: 10 });
		assert.equal(m.rowsWritten, 1);
		requireCli();
		const long = path.join(dir, 'y'.repeat(233));
		const r = await runCli(['extract', file, '--out', long]);
		assert.equal(r.code, 2, r.stderr);
		assert.match(r.stderr, /^sweep: error: [^\n]*too long[^\n]*may have at most 232 bytes\)\.\n$/);
		assert.ok(!fs.existsSync(long));
		assert.deepEqual(leftovers(long), []);
	});
});
