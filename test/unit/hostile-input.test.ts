import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { extract, type Manifest } from '../../src/engine';
import { requireCli, runCli, startCli, writeTrades } from '../fixtures/hostile/env';
import { checkOutput, outputBytes } from '../fixtures/hostile/oracle';
import { hangGuard, sweepErrorOf } from './helpers/engine';
import { diffSnapshots, leftovers, makeTmp, removeTmp, snapshot } from './helpers/fsutil';

/**
 * Issue 7, input: invalid UTF-8 (passed through byte for byte, or a stop naming the line), NUL bytes, 10,000
 * columns, headers with duplicate or empty names, no final line break, the file changing while it is read, and
 * fields of 40 MB (fine) and 100 MB (over the 64 MB cap: stops naming the line).
 */

const b = (s: string) => Buffer.from(s, 'latin1');

let dir = '';

/** Writes `name` in the test folder. */
function put(name: string, bytes: Buffer | string): string {
	const file = path.join(dir, name);
	fs.writeFileSync(file, bytes);
	return file;
}

/** A previous Sweep output in `outDir` (from a small valid file), and its snapshot. */
async function previousOutput(outDir: string): Promise<Map<string, Buffer>> {
	const input = put('previous.csv', 'symbol,x\nOLD,1\nolder,2\n');
	await extract({ input, outDir, workers: 1, chunkSize: 10 });
	return snapshot(outDir);
}

function readManifest(outDir: string): Manifest {
	return JSON.parse(fs.readFileSync(path.join(outDir, '_manifest.json'), 'utf8')) as Manifest;
}

describe('hostile input', () => {
	beforeEach(() => {
		dir = makeTmp('sweep-hostile-input-');
	});
	afterEach(() => removeTmp(dir));

	describe('hostile input: invalid UTF-8', function () {
		this.timeout(120_000);

		it('passes invalid bytes through byte for byte by default, with keyHex for an invalid key', async () => {
			const input = b('symbol,price,note\n\xffA,1,ok\nB,2,caf\xe9\n\xffA,3,"x\xc3\ny"\n\xed\xa0\x80,4,\xc0\xaf\n');
			const file = put('in.csv', input);
			const outs: string[] = [];
			for (const [workers, chunkSize] of [
				[1, 1],
				[2, 1],
				[2, 1000],
			]) {
				const outDir = path.join(dir, `out-${workers}-${chunkSize}`);
				await extract({ input: file, outDir, workers, chunkSize });
				outs.push(outDir);
				checkOutput(input, outDir, `workers ${workers}, chunkSize ${chunkSize}`);
			}
			const out = outs[0];
			assert.deepEqual(fs.readdirSync(out).sort(), ['%ED%A0%80.csv', '%FFA.csv', 'B.csv', '_manifest.json']);
			assert.ok(
				fs.readFileSync(path.join(out, '%FFA.csv')).equals(b('symbol,price,note\n\xffA,1,ok\n\xffA,3,"x\xc3\ny"\n')),
			);
			assert.ok(fs.readFileSync(path.join(out, 'B.csv')).equals(b('symbol,price,note\nB,2,caf\xe9\n')));
			assert.ok(
				fs.readFileSync(path.join(out, '%ED%A0%80.csv')).equals(b('symbol,price,note\n\xed\xa0\x80,4,\xc0\xaf\n')),
			);
			const m = readManifest(out);
			assert.deepEqual(
				m.partitions.map((p) => ({ key: p.key, keyHex: p.keyHex, file: p.file })),
				[
					{ key: ['\ufffdA'], keyHex: ['ff41'], file: '%FFA.csv' },
					{ key: ['B'], keyHex: undefined, file: 'B.csv' },
					{ key: ['\ufffd\ufffd\ufffd'], keyHex: ['eda080'], file: '%ED%A0%80.csv' },
				],
			);
			for (const o of outs.slice(1)) assert.deepEqual(outputBytes(o), outputBytes(out));
		});

		it('stops with strictUtf8 (exit 1 with --strict-utf8) naming the line, also after multi-line quoted fields', async () => {
			// Line 2 opens a field that runs to line 4; line 6 has the bad byte.
			const input = b('symbol,note\nA,"one\ntwo\nthree"\nB,ok\nC,caf\xe9\nD,"x\ny"\n');
			const file = put('in.csv', input);
			const outDir = path.join(dir, 'out');
			const previous = await previousOutput(outDir);
			for (const [workers, chunkSize] of [
				[1, 1],
				[2, 1],
				[2, 2],
				[1, 1000],
			]) {
				const e = await sweepErrorOf(extract({ input: file, outDir, workers, chunkSize, strictUtf8: true }));
				assert.equal(e.code, 'invalid-utf8', e.message);
				assert.equal(e.exitCode, 1);
				assert.equal(e.details.line, 6, e.message);
				assert.match(e.message, /\bline 6\b/);
				assert.equal(diffSnapshots(previous, snapshot(outDir)), '', 'the previous output is as it was');
				assert.deepEqual(leftovers(outDir), []);
			}
			// The bad byte inside a multi-line field: named by the physical line that holds it (line 4 here).
			const inside = put('inside.csv', b('symbol,note\nA,"one\ntwo\nth\xffree"\nB,ok\n'));
			const e = await sweepErrorOf(extract({ input: inside, outDir, workers: 2, chunkSize: 1, strictUtf8: true }));
			assert.equal(e.code, 'invalid-utf8');
			assert.equal(e.details.line, 4, e.message);
			assert.equal(diffSnapshots(previous, snapshot(outDir)), '');

			requireCli();
			const r = await runCli([
				'extract',
				file,
				'--out',
				outDir,
				'--strict-utf8',
				'--workers',
				'2',
				'--chunk-size',
				'1',
			]);
			assert.equal(r.code, 1, r.stderr);
			assert.match(r.stderr, /line 6\b/);
			assert.equal(r.stderr.trim().split('\n').length, 1, `one line on stderr: ${r.stderr}`);
			assert.equal(diffSnapshots(previous, snapshot(outDir)), '', 'the previous output is as it was');
			assert.deepEqual(leftovers(outDir), []);
			const ok = await runCli(['extract', file, '--out', outDir, '--workers', '2', '--chunk-size', '1']);
			assert.equal(ok.code, 0, ok.stderr);
			checkOutput(input, outDir, 'without --strict-utf8');
		});

		// Found by a hostile campaign: with 2 or more workers the chunk whose error arrived first was named, often a later
		// one (line 110100 of a file whose first bad byte is on line 100000); the user fixed it and met the earlier one.
		it('with strictUtf8, names the first bad line of the file whatever the worker count and chunk size', async () => {
			const rows: string[] = [];
			for (let i = 2; i <= 4001; i++)
				rows.push(i === 1500 || i === 2600 || i === 3900 ? `S${i % 9},caf\xe9 ${i}` : `S${i % 9},ok ${i}`);
			const file = put('two-bad.csv', b(`symbol,note\n${rows.join('\n')}\n`));
			for (const workers of [1, 2, 3]) {
				for (const chunkSize of [50, 300, 1100]) {
					const e = await sweepErrorOf(
						extract({ input: file, outDir: path.join(dir, 'o'), workers, chunkSize, strictUtf8: true }),
					);
					assert.equal(e.code, 'invalid-utf8', e.message);
					assert.equal(e.details.line, 1500, `workers ${workers}, chunk size ${chunkSize}: ${e.message}`);
				}
			}
		});

		// Found by these tests (the header was decoded and re-encoded, turning invalid bytes into U+FFFD, and strictUtf8
		// did not look at it); fixed in the engine since. README "What Sweep guarantees": invalid UTF-8 is never replaced silently.
		it("keeps the header's invalid bytes as they are, and stops on them with strictUtf8", async () => {
			const file = put('in.csv', b('id,na\xffme,symbol\n1,x,A\n'));
			const outDir = path.join(dir, 'out');
			await extract({ input: file, outDir, workers: 1, chunkSize: 10 });
			const written = fs.readFileSync(path.join(outDir, 'A.csv'));
			assert.ok(
				written.equals(b('id,na\xffme,symbol\n1,x,A\n')),
				`A.csv is ${JSON.stringify(written.toString('latin1'))}`,
			);
			const e = await sweepErrorOf(
				extract({ input: file, outDir: path.join(dir, 'strict'), workers: 1, chunkSize: 10, strictUtf8: true }),
			);
			assert.equal(e.code, 'invalid-utf8');
			assert.equal(e.details.line, 1);
		});
	});

	describe('hostile input: NUL bytes, 10,000 columns, odd headers, no final line break', function () {
		this.timeout(120_000);

		it('keeps NUL bytes in fields and keys', async () => {
			const input = b('symbol,note\nA\x00B,x\x00y\n\x00,z\nA\x00B,"q\x00\n"\n');
			const file = put('in.csv', input);
			const outDir = path.join(dir, 'out');
			await extract({ input: file, outDir, workers: 2, chunkSize: 1 });
			checkOutput(input, outDir, 'NUL');
			assert.ok(
				fs.readFileSync(path.join(outDir, 'A%00B.csv')).equals(b('symbol,note\nA\x00B,x\x00y\nA\x00B,"q\x00\n"\n')),
			);
			assert.ok(fs.readFileSync(path.join(outDir, '%00.csv')).equals(b('symbol,note\n\x00,z\n')));
			assert.deepEqual(
				readManifest(outDir).partitions.map((p) => [p.key, p.keyHex]),
				[
					[['A\u0000B'], undefined],
					[['\u0000'], undefined],
				],
			);
		});

		it('bzip2, xz and zip files are refused by their first bytes (exit 2, what they are), not read as a garbled header', async () => {
			const plain = put('t.csv', 'symbol,x\nA,1\n');
			const made: [string, string, RegExp][] = [];
			for (const [tool, args, out, what] of [
				['bzip2', ['-kf', plain], `${plain}.bz2`, /is a bzip2 file, not CSV text/],
				['xz', ['-kf', plain], `${plain}.xz`, /is an xz file, not CSV text/],
				[
					'python3',
					[
						'-c',
						`import zipfile; zipfile.ZipFile(${JSON.stringify(`${plain}.zip`)}, 'w').write(${JSON.stringify(plain)})`,
					],
					`${plain}.zip`,
					/is a zip archive, not CSV text/,
				],
			] as [string, string[], string, RegExp][]) {
				const r = spawnSync(tool, args);
				if (r.status !== 0 || !fs.existsSync(out))
					console.log(`      (skipped ${path.extname(out)}: ${tool} is not available here)`);
				else made.push([out, tool, what]);
			}
			assert.ok(made.length > 0, 'at least one of bzip2, xz, python3 is installed');
			for (const [file, , what] of made) {
				const e = await sweepErrorOf(
					extract({ input: file, outDir: path.join(dir, 'fmt-out'), workers: 1, chunkSize: 10 }),
				);
				assert.equal(e.code, 'input-encoding', e.message);
				assert.match(e.message, what);
				assert.ok(!fs.existsSync(path.join(dir, 'fmt-out')), 'nothing written');
			}
			// A header that merely starts like bzip2's magic is read as the CSV it is.
			const bzh = put('bzh.csv', 'BZh9,symbol\n1,A\n');
			assert.equal(
				(await extract({ input: bzh, outDir: path.join(dir, 'bzh-out'), workers: 1, chunkSize: 10 })).rowsRead,
				1,
			);
		});

		it('a /proc file (0 bytes by its size, not by its content) is not called empty but said to need copying', async function () {
			if (!fs.existsSync('/proc/self/status')) {
				console.log('      (skipped: no /proc here)');
				this.skip();
			}
			const e = await sweepErrorOf(
				extract({ input: '/proc/self/status', outDir: path.join(dir, 'proc-out'), workers: 1, chunkSize: 10 }),
			);
			assert.equal(e.code, 'input-empty');
			assert.match(e.message, /\/proc\/self\/status reports a size of 0 bytes .* copy it to a regular file first/);
			const empty = put('empty.csv', '');
			const e2 = await sweepErrorOf(
				extract({ input: empty, outDir: path.join(dir, 'empty-out'), workers: 1, chunkSize: 10 }),
			);
			assert.match(e2.message, /empty\.csv is empty: there is no header to read/);
		});

		it('a missing column among many: the message lists 30 of them and the count, not the whole header', async () => {
			const names = Array.from({ length: 100 }, (_, i) => `c${i}`);
			const file = put('wide.csv', `${names.join(',')}\n${names.map(() => '1').join(',')}\n`);
			const e = await sweepErrorOf(
				extract({ input: file, outDir: path.join(dir, 'wide-out'), workers: 1, chunkSize: 10 }),
			);
			assert.match(e.message, /Partition column "symbol" is not in the header/);
			assert.match(e.message, /"c29", … \(100 in all\)/);
			assert.doesNotMatch(e.message, /"c30"/);
		});

		it('warns when lines end in a lone CR (classic Mac): the whole file is its header, 0 rows; CRLF does not warn', async () => {
			const mac = await extract({
				input: put('mac.csv', 'symbol,x\rA,1\rB,2\r'),
				outDir: path.join(dir, 'mac-out'),
				workers: 1,
				chunkSize: 10,
			});
			assert.equal(mac.rowsRead, 0);
			assert.equal(mac.warnings?.length, 1, JSON.stringify(mac.warnings));
			assert.match(mac.warnings?.[0] ?? '', /mac\.csv: the header \(line 1\) holds a carriage return/);
			const crlf = await extract({
				input: put('crlf.csv', 'symbol,x\r\nA,1\r\nB,2\r\n'),
				outDir: path.join(dir, 'crlf-out'),
				workers: 1,
				chunkSize: 10,
			});
			assert.equal(crlf.rowsRead, 2);
			assert.equal(crlf.warnings, undefined);
		});

		it('extracts 10,000 columns (key in the last one) and rejects a row one field short', async () => {
			const names = Array.from({ length: 9999 }, (_, i) => `c${i}`).concat('symbol');
			const row = (k: string, n: number) =>
				Array.from({ length: n - 1 }, (_, i) => (i % 1000 === 0 ? `"v,${i}"` : String(i))).join(',') + `,${k}\n`;
			const input = b(`${names.join(',')}\n${row('A', 10000)}${row('B', 10000)}${row('A', 9999)}${row('B', 10000)}`);
			const file = put('wide.csv', input);
			const outs = [];
			for (const [workers, chunkSize] of [
				[1, 1],
				[2, 2],
			]) {
				const outDir = path.join(dir, `out-${workers}`);
				await extract({ input: file, outDir, workers, chunkSize });
				const m = checkOutput(input, outDir, `wide, workers ${workers}`);
				assert.deepEqual([m.rowsWritten, m.rowsRejected, m.columns.length], [3, 1, 10000]);
				outs.push(outputBytes(outDir));
			}
			assert.deepEqual(outs[0], outs[1]);
		});

		it('allows duplicate and empty header names unless they are mapped or partitioned by (bad-mapping)', async () => {
			// The rule (src/engine/header.ts): such names are allowed and written as they are; mapping or partitioning by
			// a name that appears more than once is 'bad-mapping' (exit 2, nothing written); stats ignore duplicated names.
			const input = b('symbol,price,price,,qty,\nA,1,2,x,10,\nB,3,4,y,20,\nA,5,6,z,30,\n');
			const file = put('dup.csv', input);
			const outDir = path.join(dir, 'out');
			await extract({ input: file, outDir, workers: 2, chunkSize: 1 });
			const m = checkOutput(input, outDir, 'duplicate names');
			assert.deepEqual(m.columns, ['symbol', 'price', 'price', '', 'qty', '']);
			assert.ok(
				fs.readFileSync(path.join(outDir, 'A.csv')).equals(b('symbol,price,price,,qty,\nA,1,2,x,10,\nA,5,6,z,30,\n')),
			);
			const a = m.partitions.find((p) => p.key[0] === 'A')!;
			assert.deepEqual(a.stats, { quantity: 40 }, 'price is duplicated: no price stats (nor VWAP); qty is summed');

			const bad: [string, Parameters<typeof extract>[0], string?][] = [
				['map a duplicated name', { input: file, mapping: { px: 'price' }, workers: 1, chunkSize: 10 }],
				['partition by a duplicated name', { input: file, partitionBy: ['price'], workers: 1, chunkSize: 10 }],
				['map the duplicated empty name', { input: file, mapping: { e: '' }, workers: 1, chunkSize: 10 }],
				['map onto an existing name', { input: file, mapping: { price: 'symbol' }, workers: 1, chunkSize: 10 }],
				// An empty partition spec is refused by the partition-spec rule (src/rules) before the header is read.
				['partition by the empty name', { input: file, partitionBy: [''], workers: 1, chunkSize: 10 }, 'usage'],
			];
			for (const [what, opts, code = 'bad-mapping'] of bad) {
				const target = path.join(dir, 'never');
				const e = await sweepErrorOf(extract({ ...opts, outDir: target }));
				assert.equal(e.code, code, `${what}: ${e.message}`);
				assert.equal(e.exitCode, 2);
				assert.ok(!fs.existsSync(target), `${what}: nothing written`);
			}
			requireCli();
			const r = await runCli(['extract', file, '--out', path.join(dir, 'never'), '--partition-by', 'price']);
			assert.equal(r.code, 2, r.stderr);
			assert.match(r.stderr, /price/);
			assert.ok(!fs.existsSync(path.join(dir, 'never')));
		});

		it("gives a final record without a line break the header's line ending", async () => {
			const cases: [string, Record<string, string>, string[]][] = [
				['symbol,x\r\nA,1\nB,2\nA,3', { 'A.csv': 'symbol,x\r\nA,1\nA,3\r\n', 'B.csv': 'symbol,x\r\nB,2\n' }, []],
				['symbol,x\nA,1\r\nA,"2\n2"', { 'A.csv': 'symbol,x\nA,1\r\nA,"2\n2"\n' }, []],
				['symbol,x\nA,1\nA,2,3', { 'A.csv': 'symbol,x\nA,1\n' }, ['3', 'A,2,3']],
				['symbol,x', {}, []],
			];
			for (const [text, files, reject] of cases) {
				const input = b(text);
				const file = put('nobreak.csv', input);
				const outDir = path.join(dir, 'out');
				await extract({ input: file, outDir, workers: 2, chunkSize: 1 });
				checkOutput(input, outDir, JSON.stringify(text));
				for (const [name, bytes] of Object.entries(files)) {
					assert.equal(fs.readFileSync(path.join(outDir, name), 'latin1'), bytes, `${JSON.stringify(text)}: ${name}`);
				}
				const expectedNames = [...Object.keys(files), '_manifest.json', ...(reject.length ? ['_rejects.csv'] : [])];
				assert.deepEqual(fs.readdirSync(outDir).sort(), expectedNames.sort());
				if (reject.length) {
					const rows = fs.readFileSync(path.join(outDir, '_rejects.csv'), 'latin1');
					assert.ok(rows.startsWith(`line,reason,raw\n${reject[0]},`) && rows.endsWith(`,"${reject[1]}"\n`), rows);
				}
			}
		});

		// hostile-regressions/header-only-bare-cr.json. Issue 12 (8) settled the rule: a CR that is the last byte of the
		// file (outside quotes) is a line ending, not data — for the header of a header-only file too.
		it('takes a CR that ends a header-only file as its line ending, not part of the last name', async () => {
			const file = put('in.csv', 'id,symbol,note\r');
			const m = await extract({ input: file, outDir: path.join(dir, 'out'), workers: 1, chunkSize: 10 });
			assert.deepEqual(m.source.header, ['id', 'symbol', 'note']);
			assert.deepEqual(m.columns, ['id', 'symbol', 'note']);
		});

		// Found by the fuzzing campaign (hostile-regressions/header-text-after-quote.json: the header's names were read
		// with csv-parse's relaxed rules, so `"x"y` became a column and a quoted field over several lines gave names that
		// are not in the file); fixed in the engine since. A header cannot be rejected like a record: 'bad-header'.
		it('stops on a header with text after a closing quote (bad-header, line 1)', async () => {
			for (const header of ['id,symbol,"x"y\n', 'id,symbol,price,qty,"note\r\n1,MSFT,,2,5,"say ""hi"""\n']) {
				const file = put('in.csv', `${header}1,A,3\n`);
				const e = await sweepErrorOf(
					extract({ input: file, outDir: path.join(dir, 'out'), workers: 1, chunkSize: 10 }),
				);
				assert.equal(e.code, 'bad-header', `${JSON.stringify(header)}: ${e.message}`);
				assert.equal(e.details.line, 1);
			}
		});
	});

	describe('hostile input: the file changes while it is read', function () {
		this.timeout(300_000);
		let big = '';
		let bigBytes: Buffer;
		let scratch = '';

		before(() => {
			// Over 8 MB (the reader's read size), so that it is still reading when the file changes.
			scratch = makeTmp('sweep-hostile-changing-');
			big = path.join(scratch, 'big.csv');
			writeTrades(big, 700_000);
			bigBytes = fs.readFileSync(big);
		});
		after(() => removeTmp(scratch));

		// What changed, how, and what the message says about it (when it is this check that finds it).
		const changes: [string, (file: string) => void, RegExp?][] = [
			['appended to', (f) => fs.appendFileSync(f, '9999999,LATE,1.00,1,ok\n'), /its size went from \d+ to \d+ bytes/],
			['truncated', (f) => fs.truncateSync(f, 1_000_000)],
			[
				'rewritten in place (same size)',
				(f) => {
					const fd = fs.openSync(f, 'r+');
					fs.writeSync(fd, Buffer.from('X'), 0, 1, 200_000);
					fs.closeSync(fd);
				},
				/it was modified/,
			],
			[
				'replaced by another file (renamed over it)',
				(f) => {
					fs.writeFileSync(`${f}.new`, bigBytes);
					fs.renameSync(`${f}.new`, f);
				},
				/it was replaced by another file/,
			],
		];

		for (const [what, change, says] of changes) {
			for (const withPrevious of [false, true]) {
				it(`fails with 'file-changed' when it is ${what}${withPrevious ? ', keeping the previous output' : ''}`, async () => {
					const file = path.join(dir, 'in.csv');
					fs.copyFileSync(big, file);
					const outDir = path.join(dir, 'out');
					const previous = withPrevious ? await previousOutput(outDir) : null;
					let changed = false;
					const e = await sweepErrorOf(
						extract(
							{ input: file, outDir, workers: 2, chunkSize: 500 },
							{
								onProgress: () => {
									if (changed) return;
									changed = true;
									change(file);
								},
							},
						),
					);
					assert.ok(changed, 'the file was changed during the run');
					assert.equal(e.code, 'file-changed', e.message);
					if (says) assert.match(e.message, says);
					assert.equal(e.exitCode, 1);
					if (previous) assert.equal(diffSnapshots(previous, snapshot(outDir)), '', 'the previous output is as it was');
					else assert.ok(!fs.existsSync(outDir), 'no output folder is presented');
					assert.deepEqual(leftovers(outDir), [], 'no temporary folder');
				});
			}
		}

		it('exits 1 from the CLI when the file grows during the run, presenting no output', async () => {
			requireCli();
			const file = path.join(dir, 'in.csv');
			fs.copyFileSync(big, file);
			const outDir = path.join(dir, 'out');
			const { child, done } = startCli(['extract', file, '--out', outDir, '--workers', '2', '--chunk-size', '500']);
			// Append once the run is writing: its temporary folder has appeared beside the output folder.
			let appended = false;
			while (!appended && child.exitCode === null) {
				if (leftovers(outDir).some((n) => n.includes('.sweep-tmp-'))) {
					fs.appendFileSync(file, '9999999,LATE,1.00,1,ok\n');
					appended = true;
				} else await new Promise((r) => setTimeout(r, 2));
			}
			const r = await done;
			assert.ok(appended, `the CLI ended before the test could append (exit ${r.code}): ${r.stderr}`);
			assert.equal(r.code, 1, r.stderr);
			assert.match(r.stderr, /changed while it was read/);
			assert.ok(!fs.existsSync(outDir), 'no output folder');
			assert.deepEqual(leftovers(outDir), []);
		});
	});

	describe('hostile input: huge fields', function () {
		this.timeout(600_000);

		/** header; a record on lines 2–3; on line 4 a record whose quoted field is `mb` MB (LFs, commas and "" inside); one more record. */
		function hugeFieldFile(file: string, mb: number): void {
			const piece = Buffer.from(`${'x'.repeat(1000)},""\n${'y'.repeat(20)}`);
			const block = Buffer.concat(Array.from({ length: 1024 }, () => piece));
			const fd = fs.openSync(file, 'w');
			try {
				fs.writeSync(fd, 'id,symbol,note\n1,A,"two\nlines"\n2,B,"');
				for (let i = 0; i < mb; i++) fs.writeSync(fd, block);
				fs.writeSync(fd, '"\n3,A,after\n');
			} finally {
				fs.closeSync(fd);
			}
		}

		it('stops on a 100 MB field (exit 1, record-too-large naming line 4), leaving the previous output as it was', async () => {
			requireCli();
			const file = path.join(dir, 'huge.csv');
			hugeFieldFile(file, 100);
			const outDir = path.join(dir, 'out');
			const previous = await previousOutput(outDir);
			const r = await runCli(['extract', file, '--out', outDir, '--workers', '2', '--chunk-size', '1'], {
				timeoutMs: 300_000,
			});
			assert.equal(r.code, 1, r.stderr);
			assert.match(r.stderr, /line 4\b/);
			assert.match(r.stderr, /larger than 64 MB/);
			assert.equal(diffSnapshots(previous, snapshot(outDir)), '', 'the previous output is as it was');
			assert.deepEqual(leftovers(outDir), []);
		});

		it('extracts a 40 MB field (under the 64 MB cap) byte for byte', async () => {
			const file = path.join(dir, 'big-field.csv');
			hugeFieldFile(file, 40);
			const outDir = path.join(dir, 'out');
			const m = await hangGuard(extract({ input: file, outDir, workers: 2, chunkSize: 1 }), 300_000, 'extract');
			assert.deepEqual([m.rowsRead, m.rowsWritten, m.rowsRejected], [3, 3, 0]);
			const input = fs.readFileSync(file);
			const start = input.indexOf('\n2,B,"') + 1;
			const end = input.indexOf('"\n3,A,after\n', start) + 2;
			const bFile = fs.readFileSync(path.join(outDir, 'B.csv'));
			assert.equal(bFile.length, 'id,symbol,note\n'.length + (end - start));
			assert.ok(
				bFile.subarray('id,symbol,note\n'.length).equals(input.subarray(start, end)),
				'B.csv holds the record as it was',
			);
			assert.equal(
				fs.readFileSync(path.join(outDir, 'A.csv'), 'latin1'),
				'id,symbol,note\n1,A,"two\nlines"\n3,A,after\n',
			);
		});
	});
});
