import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { extract } from '../../src/engine';
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
