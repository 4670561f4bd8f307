import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import * as fc from 'fast-check';
import { extract } from '../../src/engine';
import type { Manifest } from '../../src/engine/types';
import { CLI, requireCli, runCli } from './helpers/cli';
import { manifestCore, readOutput } from './helpers/compare';
import { gzipPieces, hasTool, nodeWithZstd, pieces, tool, zstdPieces } from './helpers/compressors';
import { expectSweepError, generateTrades, sweepErrorOf } from './helpers/engine';
import { diffSnapshots, leftovers, makeTmp, removeTmp, snapshot } from './helpers/fsutil';
import { type CsvCase, csvCase, describeCase } from './helpers/gen-csv';

/**
 * Compressed input and output (README "Compressed files"): a .csv.gz / .csv.zst gives byte for byte the output of
 * the same data uncompressed, at any worker count and chunk size; --compress output decompresses (with Node and
 * with the system gzip/zstd tools) to exactly the plain output; truncated or corrupt files fail with exit 1 and
 * leave the previous output as it was. Real files, real compressors.
 */

const factor = Number(process.env.SWEEP_FC_RUNS ?? '1') || 1;
const seed = process.env.SWEEP_FC_SEED ? Number(process.env.SWEEP_FC_SEED) : undefined;
const replayPath = process.env.SWEEP_FC_PATH || undefined;
const HAS_ZSTD_TOOL = hasTool('zstd');
const HAS_GZIP_TOOL = hasTool('gzip');
const NATIVE_ZSTD = typeof (zlib as { zstdCompressSync?: unknown }).zstdCompressSync === 'function';

/**
 * `content` as zstd, one frame per piece (cut at the fractions `cuts`), with a skippable frame (magic 0x184D2A53 and
 * 100 bytes a reader passes over) after the first: it decompresses to `content`.
 */
function zstdWithSkippableFrame(content: Buffer, cuts: number[]): Buffer {
	const skippable = Buffer.alloc(8 + 100, 0x5a);
	skippable.writeUInt32LE(0x184d2a53, 0);
	skippable.writeUInt32LE(100, 4);
	const frames = pieces(content, cuts).map((p) => zstdPieces(p));
	return Buffer.concat([frames[0], skippable, ...frames.slice(1)]);
}

function skipWithout(ctx: Mocha.Context, ok: boolean, reason: string): void {
	if (ok) return;
	console.log(`      (skipped: ${reason})`);
	ctx.skip();
}

/**
 * The output folder's files (the manifest aside) and the manifest's core without what names the input (`source`,
 * `inputs`). VWAPs are compared to 12 significant digits (their `notional` sums through them): they are sums of products, whose last bits depend on how the rows fell into
 * chunks (the chunk size), as for plain files.
 */
function outcome(outDir: string): { files: Map<string, Buffer>; core: unknown } {
	const files = readOutput(outDir);
	const manifest = JSON.parse(files.get('_manifest.json')!.toString('utf8')) as Manifest;
	files.delete('_manifest.json');
	const { source: _s, output: _o, inputs: _i, ...core } = manifestCore(manifest);
	for (const p of core.partitions) {
		if (p.stats.vwap !== undefined) p.stats.vwap = Number(p.stats.vwap.toPrecision(12));
		// VWAP's sum (for appends): its last digits depend on the chunking too; compared through vwap.
		delete p.stats.notional;
	}
	return { files, core };
}

function assertSameOutput(actual: string, expected: string, context: string): void {
	const a = outcome(actual);
	const e = outcome(expected);
	assert.deepEqual([...a.files.keys()].sort(), [...e.files.keys()].sort(), `same files\n${context}`);
	for (const [name, bytes] of e.files) assert.ok(a.files.get(name)!.equals(bytes), `${name} differs\n${context}`);
	assert.deepEqual(a.core, e.core, `same manifest\n${context}`);
}

const WORKERS = [1, 2, 3];
const CHUNKS = [1, 17, 1_000_000];

describe('compressed input: the same output as the plain file', function () {
	this.timeout(600_000);

	/** Runs a random case plain once, then from each compressed form at the given combos, comparing outputs. */
	async function check(c: CsvCase, forms: [string, Buffer][], combos: [number, number][]): Promise<void> {
		const dir = makeTmp('sweep-gz-prop-');
		try {
			const plain = path.join(dir, `plain${c.ext}`);
			fs.writeFileSync(plain, c.input);
			let orders: string | null = null;
			if (c.orders) {
				orders = path.join(dir, 'orders.csv');
				fs.writeFileSync(orders, c.orders);
			}
			const opts = { delimiter: c.delimiter, partitionBy: c.partitionBy, mapping: c.mapping, ordersFile: orders };
			const expected = path.join(dir, 'expected');
			await extract({ input: plain, outDir: expected, workers: 1, chunkSize: 1_000_000, ...opts });
			for (const [name, bytes] of forms) {
				const input = path.join(dir, `in-${name}${c.ext}.${name.startsWith('zstd') ? 'zst' : 'gz'}`);
				fs.writeFileSync(input, bytes);
				for (const [workers, chunkSize] of combos) {
					const outDir = path.join(dir, `out-${name}-${workers}-${chunkSize}`);
					const context = `${name}, workers ${workers}, chunkSize ${chunkSize}\n${describeCase(c)}`;
					let m: Manifest;
					try {
						m = await extract({ input, outDir, workers, chunkSize, ...opts });
					} catch (e) {
						throw new Error(`extract threw ${(e as Error).message}\n${context}`, { cause: e });
					}
					assert.equal(m.source.compression, name.startsWith('zstd') ? 'zstd' : 'gzip', context);
					assert.equal(m.source.decompressedBytes, c.input.length, context);
					assert.equal(m.source.bytes, bytes.length, context);
					assertSameOutput(outDir, expected, context);
					assert.deepEqual(leftovers(outDir), [], `no temporary folder\n${context}`);
				}
			}
		} finally {
			removeTmp(dir);
		}
	}

	const cutsArb = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 4 });

	it('gzip (one member, several members, the gzip tool) and zstd (one frame, several) at workers 1, 2, 3 × chunk sizes 1, 17, 1,000,000', async () => {
		const combos = WORKERS.flatMap((w) => CHUNKS.map((k): [number, number] => [w, k]));
		await fc.assert(
			fc.asyncProperty(csvCase, cutsArb, async (c, cuts) => {
				const forms: [string, Buffer][] = [
					['gzip-1', gzipPieces(c.input)],
					['gzip-n', gzipPieces(c.input, cuts)],
				];
				if (HAS_GZIP_TOOL) forms.push(['gzip-tool', tool('gzip', ['-c', '-9'], c.input)]);
				if (HAS_ZSTD_TOOL) forms.push(['zstd-1', zstdPieces(c.input)], ['zstd-n', zstdPieces(c.input, cuts)]);
				await check(c, forms, combos);
			}),
			{ numRuns: Math.ceil(3 * factor), seed, path: replayPath, interruptAfterTimeLimit: 300_000 },
		);
		if (!HAS_GZIP_TOOL) console.log('      (the gzip tool is not installed: Node-made gzip only)');
		if (!HAS_ZSTD_TOOL)
			console.log('      (the zstd tool is not installed: zstd input not covered; apt-get install zstd)');
	});

	it('many more random files, each compressed one random way, at one random worker count and chunk size', async () => {
		const how = fc.constantFrom('gzip-1', 'gzip-n', ...(HAS_ZSTD_TOOL ? ['zstd-1', 'zstd-n'] : []));
		const combo = fc.tuple(fc.constantFrom(...WORKERS), fc.constantFrom(...CHUNKS));
		await fc.assert(
			fc.asyncProperty(csvCase, cutsArb, how, combo, async (c, cuts, h, [w, k]) => {
				const bytes =
					h === 'gzip-1'
						? gzipPieces(c.input)
						: h === 'gzip-n'
							? gzipPieces(c.input, cuts)
							: h === 'zstd-1'
								? zstdPieces(c.input)
								: zstdPieces(c.input, cuts);
				await check(c, [[h, bytes]], [[w, k]]);
			}),
			{ numRuns: Math.ceil(25 * factor), seed, path: replayPath, interruptAfterTimeLimit: 300_000 },
		);
	});
});

describe('compressed input: files, names and errors', function () {
	this.timeout(300_000);
	let dir = '';
	let trades = '';
	let tradesBytes: Buffer;
	let expected = '';
	let symbols: string[] = [];
	before(async () => {
		dir = makeTmp('sweep-gz-');
		trades = path.join(dir, 'trades.csv');
		symbols = Object.keys(generateTrades(trades, 60_000).symbols).sort();
		tradesBytes = fs.readFileSync(trades);
		expected = path.join(dir, 'expected');
		await extract({ input: trades, outDir: expected, workers: 1, chunkSize: 100_000 });
	});
	after(() => removeTmp(dir));

	it('recognises gzip by its bytes, not its name: a gzip file named .csv, a plain file named .csv.gz', async () => {
		const gzNamedCsv = path.join(dir, 'really-gzip.csv');
		fs.writeFileSync(gzNamedCsv, zlib.gzipSync(tradesBytes));
		const m1 = await extract({ input: gzNamedCsv, outDir: path.join(dir, 'o1'), workers: 2, chunkSize: 5000 });
		assert.equal(m1.source.compression, 'gzip');
		assertSameOutput(path.join(dir, 'o1'), expected, 'gzip named .csv');
		const plainNamedGz = path.join(dir, 'plain.csv.gz');
		fs.writeFileSync(plainNamedGz, tradesBytes);
		const m2 = await extract({ input: plainNamedGz, outDir: path.join(dir, 'o2'), workers: 2, chunkSize: 5000 });
		assert.equal(m2.source.compression, 'none');
		assertSameOutput(path.join(dir, 'o2'), expected, 'plain named .csv.gz');
		assert.ok(
			m2.partitions.every((p) => p.file?.endsWith('.csv')),
			'partitions are .csv, not .gz',
		);
	});

	it('puts trades.csv.gz into processed/trades/ by default, with .csv partitions', async () => {
		const sub = path.join(dir, 'default-out');
		fs.mkdirSync(sub);
		const input = path.join(sub, 'trades.csv.GZ');
		fs.writeFileSync(input, zlib.gzipSync(tradesBytes));
		const m = await extract({ input, workers: 1, chunkSize: 20_000 });
		assert.equal(m.outDir, path.join(sub, 'processed', 'trades'));
		assertSameOutput(path.join(sub, 'processed', 'trades'), expected, 'default folder');
	});

	it('reads bgzip-style files (many small members and an empty last member) and ignores zero padding', async () => {
		const cuts = Array.from({ length: 50 }, (_, i) => (i + 1) / 51);
		const bytes = Buffer.concat([gzipPieces(tradesBytes, cuts), zlib.gzipSync(Buffer.alloc(0)), Buffer.alloc(512)]);
		const input = path.join(dir, 'bgzip.csv.gz');
		fs.writeFileSync(input, bytes);
		await extract({ input, outDir: path.join(dir, 'o-bgzip'), workers: 3, chunkSize: 3000 });
		assertSameOutput(path.join(dir, 'o-bgzip'), expected, 'bgzip-style');
	});

	it('lists a compressed input by the SHA-256 of its bytes on disk (several gzip members; zstd frames with a skippable one)', async function () {
		const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
		const gz = path.join(dir, 'hashed.csv.gz');
		fs.writeFileSync(gz, gzipPieces(tradesBytes, [0.3, 0.6]));
		const mg = await extract({ input: gz, outDir: path.join(dir, 'o-hash-gz'), workers: 2, chunkSize: 4000 });
		assert.equal(mg.inputs?.[0].sha256, sha(fs.readFileSync(gz)));
		assert.equal(mg.inputs?.[0].bytes, fs.statSync(gz).size);
		assertSameOutput(path.join(dir, 'o-hash-gz'), expected, 'hashed gzip');
		skipWithout(this, HAS_ZSTD_TOOL, 'the zstd tool is not installed (apt-get install zstd)');
		const zst = path.join(dir, 'hashed.csv.zst');
		fs.writeFileSync(zst, zstdWithSkippableFrame(tradesBytes, [0.5]));
		const mz = await extract({ input: zst, outDir: path.join(dir, 'o-hash-zst'), workers: 1, chunkSize: 7000 });
		assert.equal(mz.inputs?.[0].sha256, sha(fs.readFileSync(zst)));
		assertSameOutput(path.join(dir, 'o-hash-zst'), expected, 'hashed zstd');
	});

	it('reports progress in compressed bytes, reaching the file size', async () => {
		const input = path.join(dir, 'progress.csv.gz');
		fs.writeFileSync(input, zlib.gzipSync(tradesBytes));
		const size = fs.statSync(input).size;
		const seen: { bytesRead: number; totalBytes: number }[] = [];
		await extract(
			{ input, outDir: path.join(dir, 'o-progress'), workers: 1, chunkSize: 2000 },
			{ onProgress: (p) => seen.push({ bytesRead: p.bytesRead, totalBytes: p.totalBytes }) },
		);
		assert.ok(seen.length > 0);
		for (const p of seen) assert.equal(p.totalBytes, size);
		assert.ok(
			seen.every((p, i) => i === 0 || p.bytesRead >= seen[i - 1].bytesRead),
			'never goes back',
		);
		assert.equal(seen[seen.length - 1].bytesRead, size);
	});

	it('names the line of the decompressed text when a line must be named (strict UTF-8, a runaway record)', async () => {
		const lines = tradesBytes.toString('latin1').split('\n');
		lines[40_000] = lines[40_000].replace(',', ',\xff');
		const bad = Buffer.from(lines.join('\n'), 'latin1');
		const plainBad = path.join(dir, 'bad.csv');
		fs.writeFileSync(plainBad, bad);
		const gzBad = path.join(dir, 'bad.csv.gz');
		fs.writeFileSync(gzBad, gzipPieces(bad, [0.3, 0.6]));
		const opts = { workers: 2, chunkSize: 4000, strictUtf8: true };
		const e1 = await expectSweepError(
			extract({ input: plainBad, outDir: path.join(dir, 'o-u1'), ...opts }),
			'invalid-utf8',
		);
		const e2 = await expectSweepError(
			extract({ input: gzBad, outDir: path.join(dir, 'o-u2'), ...opts }),
			'invalid-utf8',
		);
		assert.equal(e1.details.line, 40_001);
		assert.equal(e2.details.line, e1.details.line);

		lines[50_000] = `${lines[50_000]},"${'x'.repeat(300_000)}"`;
		const runaway = Buffer.from(lines.join('\n'), 'latin1');
		fs.writeFileSync(gzBad, zlib.gzipSync(runaway));
		fs.writeFileSync(plainBad, runaway);
		const small = { workers: 1, chunkSize: 1000, maxChunkBytes: 256 * 1024 };
		const r1 = await expectSweepError(
			extract({ input: plainBad, outDir: path.join(dir, 'o-r1'), ...small }),
			'record-too-large',
		);
		const r2 = await expectSweepError(
			extract({ input: gzBad, outDir: path.join(dir, 'o-r2'), ...small }),
			'record-too-large',
		);
		assert.equal(r2.details.line, r1.details.line);
		assert.ok(r2.message.includes(`line ${r1.details.line}`), r2.message);
	});

	it('gives the plain file’s errors for an empty payload, a UTF-16 payload and a header-only file', async () => {
		const empty = path.join(dir, 'empty.csv.gz');
		fs.writeFileSync(empty, zlib.gzipSync(Buffer.alloc(0)));
		const e = await expectSweepError(
			extract({ input: empty, outDir: path.join(dir, 'o-e'), workers: 1, chunkSize: 10 }),
			'input-empty',
		);
		assert.equal(e.exitCode, 2);
		const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('symbol,price\nA,1\n', 'utf16le')]);
		fs.writeFileSync(path.join(dir, 'u16.csv'), utf16);
		fs.writeFileSync(path.join(dir, 'u16.csv.gz'), zlib.gzipSync(utf16));
		const p = await sweepErrorOf(
			extract({ input: path.join(dir, 'u16.csv'), outDir: path.join(dir, 'o-p'), workers: 1, chunkSize: 10 }),
		);
		const g = await sweepErrorOf(
			extract({ input: path.join(dir, 'u16.csv.gz'), outDir: path.join(dir, 'o-g'), workers: 1, chunkSize: 10 }),
		);
		assert.equal(g.code, p.code);
		assert.equal(g.message, p.message.replace('u16.csv', 'u16.csv.gz'));
		fs.writeFileSync(path.join(dir, 'h.csv.gz'), zlib.gzipSync(Buffer.from('id,symbol\n')));
		const m = await extract({
			input: path.join(dir, 'h.csv.gz'),
			outDir: path.join(dir, 'o-h'),
			workers: 1,
			chunkSize: 10,
		});
		assert.equal(m.rowsRead, 0);
	});

	it('reads a compressed orders file (gzip, and zstd when the tool is there) like the plain one', async () => {
		const orders = Buffer.from(`symbol,qty\n${symbols[0]},1\n${symbols[1]},2\nNOPE,3\n`);
		fs.writeFileSync(path.join(dir, 'orders.csv'), orders);
		fs.writeFileSync(path.join(dir, 'orders.csv.gz'), zlib.gzipSync(orders));
		const base = { input: trades, workers: 1, chunkSize: 20_000 };
		await extract({ ...base, outDir: path.join(dir, 'o-ord'), ordersFile: path.join(dir, 'orders.csv') });
		await extract({ ...base, outDir: path.join(dir, 'o-ord-gz'), ordersFile: path.join(dir, 'orders.csv.gz') });
		/** The outcome without the orders file's path (which differs by design). */
		const ordersOutcome = (out: string) => {
			const o = outcome(path.join(dir, out)) as { files: Map<string, Buffer>; core: { orders: { path?: string } } };
			delete o.core.orders.path;
			return o;
		};
		const a = ordersOutcome('o-ord');
		const b = ordersOutcome('o-ord-gz');
		assert.deepEqual([...b.files.keys()].sort(), [`${symbols[0]}.csv`, `${symbols[1]}.csv`]);
		assert.deepEqual(b, a);
		if (HAS_ZSTD_TOOL) {
			fs.writeFileSync(path.join(dir, 'orders.csv.zst'), zstdPieces(orders));
			await extract({ ...base, outDir: path.join(dir, 'o-ord-zst'), ordersFile: path.join(dir, 'orders.csv.zst') });
			assert.deepEqual(ordersOutcome('o-ord-zst'), a);
		}
		fs.writeFileSync(path.join(dir, 'orders-bad.csv.gz'), zlib.gzipSync(orders).subarray(0, 20));
		// The orders reader streams through the input source (src/engine/source.ts): a truncated orders file is
		// reported as such, naming it, before anything is written.
		const e = await expectSweepError(
			extract({ ...base, outDir: path.join(dir, 'o-ord-bad'), ordersFile: path.join(dir, 'orders-bad.csv.gz') }),
			'input-corrupt',
		);
		assert.match(e.message, /orders-bad\.csv\.gz is truncated: its gzip data ends early/);
		assert.ok(!fs.existsSync(path.join(dir, 'o-ord-bad')), 'nothing written');
	});

	it('fails with file-changed when a compressed file is appended to, truncated or replaced during the run', async () => {
		const big = path.join(dir, 'big.csv');
		generateTrades(big, 400_000);
		const gz = zlib.gzipSync(fs.readFileSync(big), { level: 1 });
		const changes: [string, (f: string) => void][] = [
			['appended to', (f) => fs.appendFileSync(f, zlib.gzipSync(Buffer.from('9,LATE,1,1,x\n')))],
			['truncated', (f) => fs.truncateSync(f, 200_000)],
			[
				'replaced',
				(f) => {
					fs.writeFileSync(`${f}.new`, gz);
					fs.renameSync(`${f}.new`, f);
				},
			],
		];
		for (const [what, change] of changes) {
			const input = path.join(dir, 'changing.csv.gz');
			fs.writeFileSync(input, gz);
			const outDir = path.join(dir, 'o-changing');
			let changed = false;
			const e = await sweepErrorOf(
				extract(
					{ input, outDir, workers: 1, chunkSize: 2000 },
					{
						onProgress: () => {
							if (changed) return;
							changed = true;
							change(input);
						},
					},
				),
			);
			assert.ok(changed, what);
			assert.equal(e.code, 'file-changed', `${what}: ${e.message}`);
			assert.equal(e.exitCode, 1);
			assert.ok(!fs.existsSync(outDir), `${what}: no output presented`);
			assert.deepEqual(leftovers(outDir), [], `${what}: no temporary folder`);
		}
	});
});

describe('compressed input: truncated and corrupt files', function () {
	this.timeout(600_000);
	let dir = '';
	let bytes: Buffer;
	let outDir = '';
	let previous: Map<string, Buffer>;
	before(async () => {
		requireCli();
		dir = makeTmp('sweep-gz-bad-');
		const plain = path.join(dir, 'plain.csv');
		generateTrades(plain, 30_000);
		bytes = fs.readFileSync(plain);
		outDir = path.join(dir, 'out');
		await extract({ input: plain, outDir, workers: 1, chunkSize: 10_000 });
		previous = snapshot(outDir);
	});
	after(() => removeTmp(dir));

	async function expectFailure(input: string, workers: number, chunkSize: number, context: string): Promise<string> {
		const e = await sweepErrorOf(extract({ input, outDir, workers, chunkSize }));
		assert.equal(e.exitCode, 1, `${context}: exit 1, got ${e.code}: ${e.message}`);
		assert.equal(e.code, 'input-corrupt', `${context}: ${e.message}`);
		assert.equal(diffSnapshots(previous, snapshot(outDir)), '', `${context}: previous output intact`);
		assert.deepEqual(leftovers(outDir), [], `${context}: no temporary folder`);
		return e.message;
	}

	for (const codec of ['gzip', 'zstd'] as const) {
		it(`a ${codec} file truncated at random offsets always fails with exit 1, naming the file and the byte`, async function () {
			skipWithout(this, codec === 'gzip' || HAS_ZSTD_TOOL, 'the zstd tool is not installed (apt-get install zstd)');
			const whole = codec === 'gzip' ? zlib.gzipSync(bytes) : zstdPieces(bytes);
			const input = path.join(dir, `cut.csv.${codec === 'gzip' ? 'gz' : 'zst'}`);
			const magic = codec === 'gzip' ? 2 : 4;
			await fc.assert(
				fc.asyncProperty(
					fc.integer({ min: 1, max: whole.length - 1 }),
					fc.constantFrom(1, 2, 3),
					fc.constantFrom(50, 5000),
					async (at, workers, chunkSize) => {
						fs.writeFileSync(input, whole.subarray(0, at));
						const message = await expectFailure(input, workers, chunkSize, `cut at ${at} of ${whole.length}`);
						assert.ok(message.includes(input), message);
						if (at >= magic) assert.match(message, /truncated.*at about byte [\d,]+ of [\d,]+/, message);
					},
				),
				{ numRuns: Math.ceil(12 * factor), seed, path: replayPath },
			);
		});
	}

	it('a gzip file with flipped bytes fails with exit 1 (corrupt or truncated), never an output', async () => {
		const whole = zlib.gzipSync(bytes);
		const input = path.join(dir, 'flipped.csv.gz');
		await fc.assert(
			fc.asyncProperty(
				fc.integer({ min: 10, max: whole.length - 1 }),
				fc.integer({ min: 1, max: 255 }),
				async (at, x) => {
					const b = Buffer.from(whole);
					b[at] ^= x;
					fs.writeFileSync(input, b);
					await expectFailure(input, 2, 2000, `byte ${at} xor ${x}`);
				},
			),
			{ numRuns: Math.ceil(10 * factor), seed, path: replayPath },
		);
	});

	it('the CLI says it in one line and exits 1', async () => {
		const input = path.join(dir, 'cli-cut.csv.gz');
		fs.writeFileSync(input, zlib.gzipSync(bytes).subarray(0, 100_000));
		const r = await runCli(['extract', input, '--out', outDir, '--workers', '2']);
		assert.equal(r.code, 1, r.stderr);
		assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
		assert.match(
			r.stderr,
			/^sweep: error: .*cli-cut\.csv\.gz is truncated: its gzip data ends early at about byte [\d,]+ of [\d,]+/,
		);
		assert.equal(diffSnapshots(previous, snapshot(outDir)), '');
		assert.deepEqual(leftovers(outDir), []);
		fs.writeFileSync(input, Buffer.concat([zlib.gzipSync(bytes), Buffer.from('trailing garbage')]));
		const g = await runCli(['extract', input, '--out', outDir]);
		assert.equal(g.code, 1, g.stderr);
		assert.match(g.stderr, /is not valid gzip data at about byte/);
	});

	it('a truncated zstd file is named as ending early at the end of the file (was: "at about byte 0")', async function () {
		skipWithout(this, HAS_ZSTD_TOOL, 'the zstd tool is not installed (apt-get install zstd)');
		const input = path.join(dir, 'cli-cut.csv.zst');
		fs.writeFileSync(input, zstdPieces(bytes).subarray(0, 100_000));
		const r = await runCli(['extract', input, '--out', outDir, '--workers', '2']);
		assert.equal(r.code, 1, r.stderr);
		assert.match(r.stderr, /cli-cut\.csv\.zst is truncated: its zstd data ends early at about byte 100,000 of 100,000/);
		assert.equal(diffSnapshots(previous, snapshot(outDir)), '');
	});
});

describe('compressed output: --compress gzip|zstd', function () {
	this.timeout(600_000);
	let dir = '';
	let trades = '';
	let expected = '';
	before(async () => {
		requireCli();
		dir = makeTmp('sweep-gz-out-');
		trades = path.join(dir, 'trades.csv');
		generateTrades(trades, 20_000);
		// A few rejects, so that _rejects.csv exists and must stay plain.
		fs.appendFileSync(trades, 'broken,row\n"x"y,1,2,3,4\n');
		expected = path.join(dir, 'expected');
		await extract({ input: trades, outDir: expected, workers: 1, chunkSize: 100_000 });
	});
	after(() => removeTmp(dir));

	/** Checks that every partition file of `outDir` decompresses (with `decompress`) to the plain run's bytes. */
	function assertDecompressesToPlain(outDir: string, suffix: string, decompress: (b: Buffer) => Buffer, what: string) {
		const plain = readOutput(expected);
		const got = readOutput(outDir);
		const manifest = JSON.parse(got.get('_manifest.json')!.toString('utf8')) as Manifest;
		assert.ok(got.get('_rejects.csv')!.equals(plain.get('_rejects.csv')!), '_rejects.csv stays plain');
		for (const [name, bytes] of plain) {
			if (name.startsWith('_')) continue;
			const packed = got.get(name + suffix);
			assert.ok(packed, `${name}${suffix} exists`);
			assert.ok(decompress(packed).equals(bytes), `${name}${suffix} decompressed with ${what} equals ${name}`);
		}
		assert.equal(got.size, plain.size, 'same number of files');
		for (const p of manifest.partitions) if (p.file) assert.ok(p.file.endsWith(`.csv${suffix}`), p.file);
	}

	for (const [workers, chunkSize] of [
		[1, 100_000],
		[2, 700],
		[3, 370],
	] as const) {
		it(`gzip at workers ${workers}, chunk size ${chunkSize}: Node and the gzip tool give the plain files back`, async () => {
			const outDir = path.join(dir, `gz-${workers}-${chunkSize}`);
			const m = await extract({ input: trades, outDir, workers, chunkSize, compress: 'gzip' });
			assert.deepEqual(m.output, { compression: 'gzip', compressionLevel: 6 });
			assert.equal(m.source.compression, 'none');
			assertDecompressesToPlain(outDir, '.gz', (b) => zlib.gunzipSync(b), 'Node');
			if (HAS_GZIP_TOOL) assertDecompressesToPlain(outDir, '.gz', (b) => tool('gzip', ['-dc'], b), 'gzip -dc');
			if (HAS_ZSTD_TOOL)
				assertDecompressesToPlain(outDir, '.gz', (b) => tool('zstd', ['-dc', '--format=gzip'], b), 'zstd');
		});
	}

	it('with the hive layout, --max-rows-per-file and --columns, gzip and zstd files still decompress to the plain run', async () => {
		const opts = {
			input: trades,
			partitionBy: ['symbol', 'month(timestamp) as m'],
			layout: 'hive' as const,
			maxRowsPerFile: 97,
			columns: ['price', 'timestamp'],
		};
		const plainDir = path.join(dir, 'hive-plain');
		await extract({ ...opts, outDir: plainDir, workers: 1, chunkSize: 100_000 });
		const plain = readOutput(plainDir);
		const codecs: ['gzip' | 'zstd', string, (b: Buffer) => Buffer][] = [['gzip', '.gz', (b) => zlib.gunzipSync(b)]];
		// zstd output needs a Node with zstd (22.15+); the CLI test above covers it through such a Node.
		const fzstd = require('fzstd') as typeof import('fzstd');
		if (NATIVE_ZSTD) codecs.push(['zstd', '.zst', (b) => Buffer.from(fzstd.decompress(b))]);
		for (const [codec, suffix, decompress] of codecs) {
			for (const [workers, chunkSize] of [
				[1, 100_000],
				[3, 370],
			] as const) {
				const outDir = path.join(dir, `hive-${codec}-${workers}-${chunkSize}`);
				const m = await extract({ ...opts, outDir, workers, chunkSize, compress: codec });
				const got = readOutput(outDir);
				assert.equal(got.size, plain.size, `${codec}: same number of files`);
				assert.ok(
					m.partitions.some((p) => (p.files?.length ?? 0) > 1),
					'some partition has several files',
				);
				for (const [name, bytes] of plain) {
					if (name.startsWith('_')) continue;
					assert.match(name, /^symbol=[^/]+\/m=\d{4}-\d{2}\/part-\d{5}\.csv$/);
					const packed = got.get(name + suffix);
					assert.ok(packed, `${name}${suffix} exists`);
					assert.ok(
						decompress(packed).equals(bytes),
						`${codec} ${workers}/${chunkSize}: ${name}${suffix} decompresses to ${name}`,
					);
				}
			}
		}
	});

	it('gzip from a gzip input, and --compress-level 1 and 9 all give the plain files back', async () => {
		const gzIn = path.join(dir, 'trades-in.csv.gz');
		fs.writeFileSync(gzIn, zlib.gzipSync(fs.readFileSync(trades)));
		for (const level of [1, 9]) {
			const outDir = path.join(dir, `gz-level-${level}`);
			const m = await extract({
				input: gzIn,
				outDir,
				workers: 2,
				chunkSize: 3000,
				compress: 'gzip',
				compressLevel: level,
			});
			assert.deepEqual(m.output, { compression: 'gzip', compressionLevel: level });
			assert.equal(m.source.compression, 'gzip');
			assertDecompressesToPlain(outDir, '.gz', (b) => zlib.gunzipSync(b), 'Node');
		}
	});

	it('zstd output: refused with exit 2 naming the Node needed on a Node without zstd, else the files come back', async function () {
		if (!NATIVE_ZSTD) {
			const outDir = path.join(dir, 'zst-refused');
			const r = await runCli(['extract', trades, '--out', outDir, '--compress', 'zstd']);
			assert.equal(r.code, 2, r.stderr);
			assert.match(r.stderr, /zstd output needs Node 22\.15 or later \(this is Node v\d+/);
			assert.ok(!fs.existsSync(outDir), 'nothing written');
		}
		const node = nodeWithZstd();
		skipWithout(
			this,
			node !== null,
			'no Node with zstd found (22.15+; set SWEEP_ZSTD_NODE or run scripts/e2e/tools.sh)',
		);
		for (const [workers, chunkSize] of [
			[1, 100_000],
			[3, 410],
		]) {
			const outDir = path.join(dir, `zst-${workers}`);
			const { spawnSync } = await import('node:child_process');
			const args = [CLI, 'extract', trades, '--out', outDir, '--compress', 'zstd', '--compress-level', '5'];
			const r = spawnSync(node!, [...args, '--workers', String(workers), '--chunk-size', String(chunkSize)], {
				encoding: 'utf8',
			});
			assert.equal(r.status, 0, r.stderr);
			const m = JSON.parse(fs.readFileSync(path.join(outDir, '_manifest.json'), 'utf8')) as Manifest;
			assert.deepEqual(m.output, { compression: 'zstd', compressionLevel: 5 });
			const fzstd = require('fzstd') as typeof import('fzstd');
			assertDecompressesToPlain(outDir, '.zst', (b) => Buffer.from(fzstd.decompress(b)), 'fzstd');
			if (HAS_ZSTD_TOOL) assertDecompressesToPlain(outDir, '.zst', (b) => tool('zstd', ['-dc'], b), 'zstd -dc');
			// (Not Node's zlib: through Node 24 it keeps only a file's first zstd frame, see the README.)
		}
	});

	it('reads zstd input with Node’s own zstd too (a Node 22.15+), the same as with fzstd', async function () {
		const node = nodeWithZstd();
		skipWithout(
			this,
			node !== null,
			'no Node with zstd found (22.15+; set SWEEP_ZSTD_NODE or run scripts/e2e/tools.sh)',
		);
		skipWithout(this, HAS_ZSTD_TOOL, 'the zstd tool is not installed (apt-get install zstd)');
		const input = path.join(dir, 'native.csv.zst');
		fs.writeFileSync(input, zstdWithSkippableFrame(fs.readFileSync(trades), [0.25, 0.5]));
		const { spawnSync } = await import('node:child_process');
		const outDir = path.join(dir, 'zst-native-in');
		const r = spawnSync(node!, [CLI, 'extract', input, '--out', outDir, '--workers', '2', '--chunk-size', '999'], {
			encoding: 'utf8',
		});
		assert.equal(r.status, 0, r.stderr);
		assertSameOutput(outDir, expected, 'native zstd input');
		const listed = (JSON.parse(fs.readFileSync(path.join(outDir, '_manifest.json'), 'utf8')) as Manifest).inputs?.[0];
		assert.equal(listed?.sha256, createHash('sha256').update(fs.readFileSync(input)).digest('hex'));
		fs.writeFileSync(input, zstdPieces(fs.readFileSync(trades)).subarray(0, 50_000));
		const t = spawnSync(node!, [CLI, 'extract', input, '--out', outDir], { encoding: 'utf8' });
		assert.equal(t.status, 1, t.stderr);
		assert.match(t.stderr, /native\.csv\.zst is truncated: its zstd data ends early at about byte/);
		assertSameOutput(outDir, expected, 'previous output intact');
	});

	it('refuses bad values with exit 2 before writing anything', async () => {
		const outDir = path.join(dir, 'refused');
		for (const [args, message] of [
			[['--compress', 'lz4'], /--compress "lz4" is not one of none, gzip, zstd/],
			[
				['--compress', 'gzip', '--compress-level', '10'],
				/--compress-level "10" is not a gzip level \(a whole number from 1 to 9\)/,
			],
			[['--compress', 'zstd', '--compress-level', '0'], /--compress-level "0" is not a zstd level/],
			[['--compress-level', '3'], /--compress-level "3": needs a compression/],
		] as const) {
			const r = await runCli(['extract', trades, '--out', outDir, ...args]);
			assert.equal(r.code, 2, r.stderr);
			assert.match(r.stderr, message);
			assert.ok(!fs.existsSync(outDir));
		}
		await expectSweepError(
			extract({ input: trades, outDir, workers: 1, chunkSize: 10, compress: 'brotli' as 'gzip' }),
			'usage',
		);
	});
});
