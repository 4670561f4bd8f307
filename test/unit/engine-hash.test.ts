import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { extract } from '../../src/engine';
import { isSweepError } from '../../src/engine/errors';
import { extract as extractHere } from '../../src/engine/extract';
import { makeTmp, removeTmp } from './helpers/fsutil';

/**
 * A plain input's SHA-256 (the manifest's `inputs[].sha256`, README "Appending") is taken from the chunks the run
 * reads, in file order, plus the bytes before the first chunk, which the hashing thread reads itself (hasher.ts). It
 * must be the hash of the file's bytes whatever the chunking: every chunk size and worker count, a header longer than
 * one read, a byte-order mark, CRLF, quoted line breaks where chunks would be cut, rejects, no final line break.
 */
describe('engine: the input SHA-256 from the chunks read', () => {
	let tmp: string;
	before(() => {
		tmp = makeTmp('sweep-hash-');
	});
	after(() => removeTmp(tmp));

	const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
	const longName = `c${'x'.repeat(1_500_000)}`;
	const cases: [string, string][] = [
		['header only, no line break', 'symbol,n'],
		['header only', 'symbol,n\n'],
		[
			'BOM, CRLF, no final line break',
			`\uFEFFsymbol,n\r\n${Array.from({ length: 3000 }, (_, i) => `S${i % 7},${i}`).join('\r\n')}`,
		],
		[
			'quoted line breaks, rejects',
			`symbol,note\n${Array.from({ length: 4000 }, (_, i) => (i % 97 === 0 ? `bad${i}\n` : `S${i % 5},"a\nb ${i}"\n`)).join('')}`,
		],
		['a header longer than a read (1.5 MB column name)', `symbol,${longName}\n${'A,1\nB,2\n'.repeat(2000)}`],
	];
	// The hashing thread reads the file again after the workers: a change made while it lags behind them must fail the
	// run, never put into the manifest the hash of bytes that were not partitioned (an append would then take the same
	// file twice). The hook runs once every chunk is read, before the run waits for the hash.
	/**
	 * A 20,000-record input written afresh with its times set to `when` (in the past, so that a write moves the
	 * modification time whatever the clock's tick), run at `workers` with one byte of it changed in place (same size)
	 * once every chunk is read, before the run waits for its SHA-256 — and, when `keepMtime`, its modification time put
	 * back then. Resolves to what the run rejected with (asserted by the caller) and the folder it was to write.
	 */
	async function changedWhileHashing(name: string, workers: number, when: Date, keepMtime: boolean) {
		const input = path.join(tmp, `${name}.csv`);
		const text = `symbol,n\n${Array.from({ length: 20_000 }, (_, i) => `S${i % 7},${i}`).join('\n')}\n`;
		fs.writeFileSync(input, text);
		fs.utimesSync(input, when, when);
		const was = fs.statSync(input);
		const outDir = path.join(tmp, `o-${name}-${workers}`);
		const error = await extractHere(
			{ input, outDir, workers, chunkSize: 1000, partitionBy: ['symbol'], force: true },
			{
				beforeHash: () => {
					const fd = fs.openSync(input, 'r+');
					fs.writeSync(fd, Buffer.from('T'), 0, 1, text.length - 3); // same size, one byte
					fs.closeSync(fd);
					if (!keepMtime) return;
					fs.utimesSync(input, was.atime, was.mtime);
					const now = fs.statSync(input);
					assert.equal(now.mtimeMs, was.mtimeMs, 'the modification time is back');
					assert.equal(now.size, was.size);
				},
			},
		).then(
			() => null,
			(e: unknown) => e,
		);
		return { error, outDir };
	}

	it('a change to the input while its SHA-256 is still being taken fails the run (file-changed)', async () => {
		const past = new Date(Date.now() - 60_000);
		for (const workers of [1, 2]) {
			const { error: e, outDir } = await changedWhileHashing('changed-while-hashing', workers, past, false);
			assert.ok(
				isSweepError(e) && e.code === 'file-changed' && /changed while it was read/.test(e.message),
				`${workers} workers: ${String(e)}`,
			);
			assert.equal(fs.existsSync(outDir), false, 'no output');
		}
	});

	// The same change, with the modification time put back (`touch -d`, utimes) and the size unchanged: only the change
	// time (ctime), which nobody can set, tells that the bytes hashed and partitioned may differ (sameFile.ts).
	it('a same-size change whose modification time is put back fails the run too (file-changed, by the change time)', async () => {
		for (const workers of [1, 2]) {
			// A whole second, which utimes can put back exactly (a Date has no sub-millisecond part).
			const second = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
			const { error: e, outDir } = await changedWhileHashing('changed-mtime-restored', workers, second, true);
			assert.ok(
				isSweepError(e) &&
					e.code === 'file-changed' &&
					/changed while it was read \(it was written to, or its permissions, owner or links changed \(its change time moved/.test(
						e.message,
					),
				`${workers} workers: ${String(e)}`,
			);
			assert.equal(fs.existsSync(outDir), false, 'no output');
		}
	});

	for (const [name, text] of cases) {
		it(name, async () => {
			const bytes = Buffer.from(text, 'utf8');
			const input = path.join(tmp, `${name.replace(/\W+/g, '-')}.csv`);
			fs.writeFileSync(input, bytes);
			for (const [workers, chunkSize] of [
				[1, 10_000],
				[2, 100],
				[3, 7],
			]) {
				const outDir = path.join(tmp, `o-${workers}-${chunkSize}`);
				const m = await extract({ input, outDir, workers, chunkSize, partitionBy: ['symbol'], force: true });
				assert.equal(m.inputs?.[0].sha256, sha(bytes), `${workers} workers, chunks of ${chunkSize}`);
				assert.equal(m.inputs?.[0].bytes, bytes.length);
			}
		});
	}
});
