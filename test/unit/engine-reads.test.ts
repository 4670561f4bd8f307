import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { extract } from '../../src/engine';
import { byteDiff, readOutput } from './helpers/compare';
import { makeTmp, removeTmp } from './helpers/fsutil';
import { reference } from './reference';

/**
 * Record boundaries across large sequential reads: quoted line breaks, `""` and CRLF placed at every alignment
 * around the 8 MiB and 16 MiB offsets of the data, and the output compared byte for byte with what the file was built
 * from. A test of correctness whatever read size the engine picks (its read ends move with the chunk target; the
 * reader's seams at every read size from 1 to 9 bytes are the fuzz test's job, hostile-fuzz.test.ts).
 */

// 11 bytes: an opening quote, `""`, a CRLF inside quotes, a closing quote, a delimiter, a CRLF record end.
const PATTERN = '"a""\r\n",b\r\n';
const PATTERN_KEY = 'a"\r\n';
const MiB = 1024 * 1024;
const HEADER = 'symbol,v\r\n';

/** The file's records (key, bytes), with PATTERN repeated around each seam, shifted by `shift` bytes. */
function build(shift: number, seams: number[]): [string, string][] {
	const records: [string, string][] = [];
	let at = 0; // data bytes so far
	for (const seam of seams) {
		const target = seam - 2048 + shift;
		while (target - at > MiB + 8) {
			records.push(['P', `P,${'p'.repeat(MiB - 4)}\r\n`]);
			at += MiB;
		}
		const pad = target - at - 4;
		records.push(['Q', `Q,${'q'.repeat(pad)}\r\n`]);
		at += pad + 4;
		for (let i = 0; i < 4096 / PATTERN.length; i++) {
			records.push([PATTERN_KEY, PATTERN]);
			at += PATTERN.length;
		}
	}
	records.push(['Z', 'Z,end']);
	return records;
}

/** Partition files as README "What extraction does" says: header, then each record's bytes; the final one gets the header's CRLF. */
function expected(records: [string, string][]): Map<string, string> {
	const names: Record<string, string> = { P: 'P.csv', Q: 'Q.csv', Z: 'Z.csv', [PATTERN_KEY]: 'a%22%0D%0A.csv' };
	const files = new Map<string, string[]>();
	for (const [key, text] of records) {
		const name = names[key];
		if (!files.has(name)) files.set(name, [HEADER]);
		files.get(name)?.push(text.endsWith('\n') ? text : `${text}\r\n`);
	}
	return new Map([...files].map(([k, v]) => [k, v.join('')]));
}

describe('engine: record boundaries across reads', function () {
	this.timeout(600_000);
	let tmp: string;
	before(() => {
		tmp = makeTmp('sweep-reads-');
	});
	after(() => removeTmp(tmp));

	it('the expectation agrees with the reference on a small version', () => {
		const records = build(3, [8192, 16384]);
		const bytes = Buffer.from(HEADER + records.map((r) => r[1]).join(''), 'latin1');
		const ref = reference(bytes, { delimiter: ',' });
		const got = new Map([...ref.files].map(([k, v]) => [k, v.toString('latin1')]));
		assert.deepEqual(got, expected(records));
	});

	for (let shift = 0; shift < PATTERN.length; shift++) {
		it(`quotes, "" and CRLF across the 8 and 16 MiB seams, shifted by ${shift}`, async () => {
			const records = build(shift, [8 * MiB, 16 * MiB]);
			const input = path.join(tmp, `seams-${shift}.csv`);
			fs.writeFileSync(input, Buffer.from(HEADER + records.map((r) => r[1]).join(''), 'latin1'));
			const outDir = path.join(tmp, `out-${shift}`);
			const m = await extract({ input, outDir, workers: 1 + (shift % 2), chunkSize: 50_000 });
			assert.equal(m.rowsRead, records.length);
			assert.equal(m.rowsRejected, 0);
			const files = readOutput(outDir);
			for (const [name, text] of expected(records)) {
				const actual = files.get(name);
				assert.ok(actual, `${name} written`);
				const want = Buffer.from(text, 'latin1');
				if (!actual.equals(want)) assert.fail(`${name} (shift ${shift}): ${byteDiff(actual, want)}`);
			}
			assert.equal(files.size, 5, [...files.keys()].join(', '));
			fs.rmSync(outDir, { recursive: true });
			fs.rmSync(input);
		});
	}
});
