import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { open } from 'node:fs/promises';
import * as path from 'node:path';
import { BufferPool } from '../../src/engine/bufferPool';
import { type Chunk, lineAt, readChunks } from '../../src/engine/chunkReader';
import { makeTmp, removeTmp } from './helpers/fsutil';

/**
 * How the main thread sizes chunks (README "Limits"): about `chunkSize` records, aimed at through the average record
 * size of the data's first megabyte, never over the byte cap, always whole records. Boundaries at every read size
 * are the fuzz test's job (hostile-fuzz.test.ts); this checks the sizing.
 */
describe('engine: chunk sizing', () => {
	let tmp: string;
	before(() => {
		tmp = makeTmp('sweep-chunks-');
	});
	after(() => removeTmp(tmp));

	async function chunksOf(content: string, chunkSize: number, maxChunkBytes = 64 * 1024 * 1024): Promise<Chunk[]> {
		const file = path.join(tmp, `f-${chunkSize}-${content.length}.csv`);
		fs.writeFileSync(file, content);
		const fh = await open(file, 'r');
		try {
			const chunks: Chunk[] = [];
			for await (const c of readChunks(fh, {
				file,
				start: 0,
				size: content.length,
				startLine: 1,
				delimiter: 0x2c,
				chunkSize,
				maxChunkBytes,
				buffers: new BufferPool(4),
			})) {
				chunks.push({ ...c, bytes: c.bytes.slice(c.offset, c.offset + c.length), offset: 0 });
			}
			return chunks;
		} finally {
			await fh.close();
		}
	}
	const records = (c: Chunk) => Buffer.from(c.bytes).toString('latin1').split('\n').length - 1;

	it('equal records: every chunk but the last holds chunkSize records, give or take one', async () => {
		const rows = Array.from({ length: 20_000 }, (_, i) => `K${i % 7},${String(i).padStart(8, '0')}\n`);
		const chunks = await chunksOf(rows.join(''), 1000);
		assert.ok(chunks.length >= 19 && chunks.length <= 21, `${chunks.length} chunks for 20,000 records`);
		for (const c of chunks.slice(0, -1)) {
			const n = records(c);
			assert.ok(n >= 1000 && n <= 1001, `chunk ${c.seq}: ${n} records`);
		}
		assert.equal(Buffer.concat(chunks.map((c) => Buffer.from(c.bytes))).toString('latin1'), rows.join(''));
		assert.ok(chunks.at(-1)?.isLast);
	});

	it('quoted line breaks do not end a chunk; chunks stay within the byte cap', async () => {
		const rows = Array.from({ length: 5000 }, (_, i) => `K,"multi\nline ${i}\n"\n`);
		const chunks = await chunksOf(rows.join(''), 100, 4096);
		for (const c of chunks) {
			assert.ok(c.length <= 4096, `chunk ${c.seq}: ${c.length} bytes`);
			assert.ok(Buffer.from(c.bytes).toString('latin1').endsWith('"\n'), `chunk ${c.seq} ends at a record end`);
		}
		assert.equal(Buffer.concat(chunks.map((c) => Buffer.from(c.bytes))).toString('latin1'), rows.join(''));
	});

	it('lineAt counts line breaks from the data start', async () => {
		const file = path.join(tmp, 'lines.csv');
		fs.writeFileSync(file, 'h\na\nb\n"c\nd"\ne\n');
		const fh = await open(file, 'r');
		try {
			assert.equal(await lineAt(fh, 2, 2, 2), 2);
			assert.equal(await lineAt(fh, 2, 2, 6), 4);
			assert.equal(await lineAt(fh, 2, 2, 12), 6);
		} finally {
			await fh.close();
		}
	});
});
