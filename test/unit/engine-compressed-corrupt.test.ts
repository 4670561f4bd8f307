import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { extract } from '../../src/engine';
import { CLI, requireCli } from './helpers/cli';
import { readOutput } from './helpers/compare';
import { hasTool, nodeWithZstd, tool } from './helpers/compressors';
import { generateTrades, sweepErrorOf } from './helpers/engine';
import { diffSnapshots, leftovers, makeTmp, removeTmp, snapshot } from './helpers/fsutil';

/**
 * Corrupt compressed input that the decoders alone let through (README "Compressed files", *Bad files*), each on both
 * zstd paths where it can be: the Node running the tests (fzstd before Node 22.15, else Node's own zstd) in process,
 * and the CLI on a Node with zstd (SWEEP_ZSTD_NODE, or the e2e cache's Node 24). Every failure must be exit 1 with
 * one line naming the file and about where, the previous output untouched and no temporary folder left.
 */

const HAS_ZSTD_TOOL = hasTool('zstd');
const HAS_GZIP_TOOL = hasTool('gzip');
const THIS_NODE_ZSTD = typeof (zlib as { zstdCompressSync?: unknown }).zstdCompressSync === 'function';

function skipWithout(ctx: Mocha.Context, ok: boolean, reason: string): void {
	if (ok) return;
	console.log(`      (skipped: ${reason})`);
	ctx.skip();
}

describe('compressed input: corrupt zstd, bytes between gzip members, a leading skippable frame', function () {
	this.timeout(600_000);
	let dir = '';
	let plainFile = '';
	let bytes: Buffer;
	let outDir = '';
	let previous: Map<string, Buffer>;
	/** Another Node whose zlib has zstd (null: none found, or this one has it already). */
	let otherNode: string | null = null;

	before(async () => {
		requireCli();
		dir = makeTmp('sweep-zbad-');
		plainFile = path.join(dir, 'plain.csv');
		generateTrades(plainFile, 60_000);
		bytes = fs.readFileSync(plainFile);
		outDir = path.join(dir, 'out');
		await extract({ input: plainFile, outDir, workers: 1, chunkSize: 10_000 });
		previous = snapshot(outDir);
		const n = nodeWithZstd();
		otherNode = n !== null && n !== process.execPath ? n : null;
		console.log(
			THIS_NODE_ZSTD
				? `      (zstd paths: this Node ${process.version} has zstd, so only native zstd is covered; the fzstd path runs when the tests run on a Node before 22.15, e.g. 20)`
				: `      (zstd paths: this Node ${process.version} uses fzstd; ${otherNode ? `the CLI also runs on ${otherNode} (native zstd)` : 'native zstd is not covered: no Node with zstd found (set SWEEP_ZSTD_NODE)'})`,
		);
	});
	after(() => removeTmp(dir));

	/** The Node running the tests (in process) and, when found, the CLI on a Node with zstd. */
	async function failsEverywhere(input: string, context: string): Promise<string[]> {
		const messages: string[] = [];
		const e = await sweepErrorOf(extract({ input, outDir, workers: 2, chunkSize: 3000 }));
		assert.equal(e.exitCode, 1, `${context} (this Node): exit 1, got ${e.code}: ${e.message}`);
		assert.equal(e.code, 'input-corrupt', `${context} (this Node): ${e.message}`);
		assert.ok(e.message.includes(input), `${context}: names the file: ${e.message}`);
		assert.match(e.message, /at about byte [\d,]+ of [\d,]+/, context);
		assert.equal(diffSnapshots(previous, snapshot(outDir)), '', `${context} (this Node): previous output intact`);
		assert.deepEqual(leftovers(outDir), [], `${context} (this Node): no temporary folder`);
		messages.push(e.message);
		if (otherNode) {
			const r = spawnSync(otherNode, [CLI, 'extract', input, '--out', outDir, '--workers', '2'], { encoding: 'utf8' });
			assert.equal(r.status, 1, `${context} (${otherNode}): ${r.stderr}${r.stdout}`);
			assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
			assert.ok(r.stderr.includes(input), r.stderr);
			assert.match(
				r.stderr,
				/^sweep: error: .* (is not valid (gzip|zstd) data|is truncated: its (gzip|zstd) data ends early) at about byte [\d,]+ of [\d,]+/,
			);
			assert.equal(diffSnapshots(previous, snapshot(outDir)), '', `${context} (native): previous output intact`);
			assert.deepEqual(leftovers(outDir), [], `${context} (native): no temporary folder`);
			messages.push(r.stderr.trim());
		}
		return messages;
	}

	/** The output of `input` equals the plain file's, byte for byte (data files; the manifest names the input). */
	let runs = 0;
	async function sameAsPlain(input: string, context: string): Promise<void> {
		const expected = previous;
		runs++;
		const check = (got: string, who: string) => {
			const a = readOutput(got);
			for (const [name, b] of expected) {
				if (name === '_manifest.json') continue;
				assert.ok(a.get(name)?.equals(b), `${context} (${who}): ${name} equals the plain run's`);
			}
			assert.equal(a.size, expected.size, `${context} (${who}): same files`);
		};
		const here = path.join(dir, `same-here-${runs}`);
		await extract({ input, outDir: here, workers: 1, chunkSize: 10_000 });
		check(here, 'this Node');
		if (otherNode) {
			const there = path.join(dir, `same-native-${runs}`);
			const r = spawnSync(
				otherNode,
				[CLI, 'extract', input, '--out', there, '--workers', '1', '--chunk-size', '10000'],
				{
					encoding: 'utf8',
				},
			);
			assert.equal(r.status, 0, `${context} (native): ${r.stderr}`);
			check(there, 'native');
		}
	}

	const flip = (b: Buffer, at: number, bit = 0) => {
		const c = Buffer.from(b);
		c[at] ^= 1 << bit;
		return c;
	};
	const zstdTestFails = (file: string) => spawnSync('zstd', ['-tq', file], { stdio: 'ignore' }).status !== 0;

	it('a zstd file with one flipped bit (data, block header, checksum) fails like `zstd -t`, on fzstd and on native zstd', async function () {
		skipWithout(this, HAS_ZSTD_TOOL, 'the zstd tool is not installed (apt-get install zstd)');
		const whole = tool('zstd', ['-q', '-c', '-3'], bytes);
		const input = path.join(dir, 'flipped.csv.zst');
		const n = whole.length;
		const positions = [1000, Math.floor(n / 3), Math.floor(n / 2), Math.floor((2 * n) / 3), n - 6, n - 3, n - 1];
		for (const [i, at] of positions.entries()) {
			const bit = (i * 3) % 8;
			fs.writeFileSync(input, flip(whole, at, bit));
			assert.ok(zstdTestFails(input), `zstd -t finds byte ${at} bit ${bit} of ${n} corrupt`);
			const [m] = await failsEverywhere(input, `byte ${at} bit ${bit} of ${n}`);
			assert.match(m, /is not valid zstd data|is truncated/, m);
		}
	});

	it('a zstd file that needs a dictionary (zstd -D) fails saying so, on both paths', async function () {
		skipWithout(this, HAS_ZSTD_TOOL, 'the zstd tool is not installed (apt-get install zstd)');
		const samples = path.join(dir, 'samples');
		fs.mkdirSync(samples, { recursive: true });
		const files: string[] = [];
		for (let i = 0; i < 40; i++) {
			const f = path.join(samples, `s${i}.csv`);
			fs.writeFileSync(f, bytes.subarray(i * 4000, i * 4000 + 4000));
			files.push(f);
		}
		const dict = path.join(dir, 'dict');
		const t = spawnSync('zstd', ['-q', '--train', ...files, '-o', dict, '--maxdict=16384'], { encoding: 'utf8' });
		assert.equal(t.status, 0, t.stderr);
		const input = path.join(dir, 'dict.csv.zst');
		fs.writeFileSync(input, tool('zstd', ['-q', '-c', '-D', dict], bytes));
		for (const m of await failsEverywhere(input, 'zstd -D')) {
			assert.match(m, /needs a zstd dictionary \(dictionary ID \d+\), which Sweep does not support/, m);
		}
	});

	it('a zstd file made with --long=28 (a 256 MB window) fails naming the window, on both paths; --long=27 is read', async function () {
		skipWithout(this, HAS_ZSTD_TOOL, 'the zstd tool is not installed (apt-get install zstd)');
		// Piped, so that zstd keeps the window it was asked for (a file's known size would shrink it).
		const input = path.join(dir, 'long.csv.zst');
		fs.writeFileSync(input, tool('zstd', ['-q', '-c', '--long=28'], bytes));
		// Was: fzstd allocated the window (a 2 GiB one failed with "Invalid typed array length").
		for (const m of await failsEverywhere(input, 'zstd --long=28')) {
			assert.match(m, /its zstd frame at byte 0 needs a 256 MB window \(it was made with zstd --long\)/, m);
		}
		const ok = path.join(dir, 'long27.csv.zst');
		fs.writeFileSync(ok, tool('zstd', ['-q', '-c', '--long=27'], bytes));
		const r = await extract({ input: ok, outDir: path.join(dir, 'long27-out'), workers: 1, chunkSize: 10_000 });
		assert.ok(r.rowsRead > 0);
	});

	it('a --no-check zstd file: a corrupt content size fails on both paths; on native zstd whatever `zstd -t` finds fails', async function () {
		skipWithout(this, HAS_ZSTD_TOOL, 'the zstd tool is not installed (apt-get install zstd)');
		const plain = path.join(dir, 'nocheck.csv');
		fs.writeFileSync(plain, bytes);
		const whole = tool('zstd', ['-q', '-c', '--no-check', plain], Buffer.alloc(0));
		assert.equal(whole[4] & 4, 0, 'no content checksum flag');
		assert.equal(whole[4] >> 6, 2, 'a 4-byte Frame_Content_Size (the size of a file is known)');
		const input = path.join(dir, 'nocheck-bad.csv.zst');
		// The Frame_Content_Size's low byte (after the window byte unless single-segment, and the dictionary ID): the
		// frame then decodes to another length than its header says.
		const fcsAt = 5 + ((whole[4] >> 5) & 1 ? 0 : 1) + [0, 1, 2, 4][whole[4] & 3];
		fs.writeFileSync(input, flip(whole, fcsAt, 3));
		assert.ok(zstdTestFails(input), 'zstd -t finds the wrong content size');
		for (const m of await failsEverywhere(input, 'content size'))
			assert.match(m, /decompresses to [\d,]+ bytes, not the [\d,]+ its header gives|is not valid zstd data/, m);
		// Every flipped bit that zstd -t finds: through the native decoder, which checks what the library checks.
		// fzstd does not check every rule of the format (e.g. that a block's sequences use up their bitstream exactly):
		// without a checksum, some of these decode without an error on the fzstd path (README).
		const native: string | null = THIS_NODE_ZSTD ? process.execPath : otherNode;
		if (native === null) {
			console.log('      (native part skipped: no Node with zstd found; set SWEEP_ZSTD_NODE)');
			return;
		}
		const exe: string = native;
		let found = 0;
		for (let i = 1; i <= 12; i++) {
			const at = Math.floor((i * whole.length) / 13);
			fs.writeFileSync(input, flip(whole, at, i % 8));
			if (!zstdTestFails(input)) continue;
			found++;
			const r = spawnSync(exe, [CLI, 'extract', input, '--out', outDir], { encoding: 'utf8' });
			assert.equal(r.status, 1, `byte ${at}: ${r.stderr}${r.stdout}`);
			assert.equal(diffSnapshots(previous, snapshot(outDir)), '', `byte ${at}: previous output intact`);
		}
		assert.ok(found > 0, 'zstd -t found some of the flipped bits');
	});

	it('a zero byte, zero padding or garbage between or after gzip members fails at the end of the last good member', async () => {
		const half = bytes.indexOf(10, Math.floor(bytes.length / 2)) + 1;
		const a = zlib.gzipSync(bytes.subarray(0, half));
		const b = zlib.gzipSync(bytes.subarray(half));
		assert.ok(a.length > 256 * 1024, 'the first member is longer than one read (the end came while reading)');
		const small = zlib.gzipSync(Buffer.from('symbol,x\nA,1\n'));
		const cases: [string, Buffer, number][] = [
			['NUL between members', Buffer.concat([a, Buffer.from([0]), b]), a.length],
			[
				'NUL between small members',
				Buffer.concat([small, Buffer.from([0]), zlib.gzipSync(Buffer.from('B,2\n'))]),
				small.length,
			],
			['512 zero bytes between members', Buffer.concat([a, Buffer.alloc(512), b]), a.length],
			['NUL and garbage after the last member', Buffer.concat([a, b, Buffer.from('\0GARBAGE')]), a.length + b.length],
			['garbage after the last member', Buffer.concat([a, b, Buffer.from('GARBAGE')]), a.length + b.length],
		];
		const input = path.join(dir, 'members.csv.gz');
		for (const [what, file, end] of cases) {
			fs.writeFileSync(input, file);
			for (const m of await failsEverywhere(input, what)) {
				assert.match(m, /is not valid gzip data at about byte/, `${what}: ${m}`);
				assert.ok(!/Digest already called|shrank/.test(m), `${what}: ${m}`);
				const at = Number(/at about byte ([\d,]+)/.exec(m)![1].replace(/,/g, ''));
				assert.ok(Math.abs(at - end) <= 1, `${what}: reported at ${at}, the member ends at ${end}: ${m}`);
			}
		}
		// Zero bytes alone after the last member are padding (README): still read whole.
		fs.writeFileSync(input, Buffer.concat([a, b, Buffer.alloc(300_000)]));
		await sameAsPlain(input, 'zero padding');
	});

	it('a corrupt gzip file names about the byte where it goes wrong (not byte 0)', async function () {
		skipWithout(this, HAS_GZIP_TOOL, 'the gzip tool is not installed');
		const whole = tool('gzip', ['-c', '-n'], bytes.subarray(0, 200_000));
		const input = path.join(dir, 'wrong.csv.gz');
		for (const at of [30, 1000, 20_000]) {
			const b = Buffer.from(whole);
			b.fill(0xff, at, at + 8);
			fs.writeFileSync(input, b);
			const e = await sweepErrorOf(extract({ input, outDir, workers: 1, chunkSize: 1000 }));
			assert.equal(e.code, 'input-corrupt', e.message);
			const found = Number(/at about byte ([\d,]+)/.exec(e.message)![1].replace(/,/g, ''));
			assert.ok(found >= at && found < at + 4096, `damage at ${at}, reported at ${found}: ${e.message}`);
		}
	});

	it('a zstd file that starts with a skippable frame (pzstd; or made by hand) gives the plain file’s output', async function () {
		skipWithout(this, HAS_ZSTD_TOOL, 'the zstd tool is not installed (apt-get install zstd)');
		const skippable = Buffer.alloc(8 + 20, 0x33);
		skippable.writeUInt32LE(0x184d2a50, 0);
		skippable.writeUInt32LE(20, 4);
		const byHand = path.join(dir, 'skip-first.csv.zst');
		fs.writeFileSync(byHand, Buffer.concat([skippable, tool('zstd', ['-q', '-c'], bytes)]));
		await sameAsPlain(byHand, 'skippable frame first (by hand)');
		if (hasTool('pzstd')) {
			const p = path.join(dir, 'pzstd.csv.zst');
			fs.writeFileSync(p, tool('pzstd', ['-q', '-p', '2', '-c'], bytes));
			assert.equal(
				p && fs.readFileSync(p).readUInt32LE(0) & 0xfffffff0,
				0x184d2a50,
				'pzstd starts with a skippable frame',
			);
			await sameAsPlain(p, 'pzstd');
		} else console.log('      (pzstd is not installed: only the hand-made file)');
	});
});
