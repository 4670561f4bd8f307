import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { extract } from '../../src/engine';
import { checkOutput, outputBytes } from '../fixtures/hostile/oracle';
import { makeTmp, removeTmp } from './helpers/fsutil';
import { reference } from './reference';

/**
 * Issue 12 (8): a bare CR at the very end of the file. The rule (README "Dialect"): a CR that is the last byte of
 * the file, outside quotes, is a line ending (a truncated CRLF), not data. The last record is written without it and
 * gets the header's line ending, like any last record without one; its key does not hold the CR.
 */

const b = (s: string) => Buffer.from(s, 'latin1');

describe('hostile end of file: a bare CR at the very end', function () {
	this.timeout(120_000);
	let dir = '';
	beforeEach(() => {
		dir = makeTmp('sweep-hostile-eof-');
	});
	afterEach(() => removeTmp(dir));

	const cases: { name: string; input: string; files: Record<string, string>; rejects?: string[] }[] = [
		{
			name: 'LF header, unquoted key',
			input: 'id,symbol\n1,AAPL\n2,AAPL\r',
			files: { 'AAPL.csv': 'id,symbol\n1,AAPL\n2,AAPL\n' },
		},
		{
			name: 'CRLF header, unquoted key',
			input: 'id,symbol\r\n1,MSFT\r\n2,AAPL\r',
			files: { 'MSFT.csv': 'id,symbol\r\n1,MSFT\r\n', 'AAPL.csv': 'id,symbol\r\n2,AAPL\r\n' },
		},
		{
			name: 'quoted key',
			input: 'id,symbol\n1,"AA,PL"\r',
			files: { 'AA%2CPL.csv': 'id,symbol\n1,"AA,PL"\n' },
		},
		{
			name: 'empty last field',
			input: 'symbol,note\nA,\r',
			files: { 'A.csv': 'symbol,note\nA,\n' },
		},
		{
			name: 'a CR alone on the last line: a blank record (rejected, as a blank CRLF line is)',
			input: 'id,symbol\n1,A\n\r',
			files: { 'A.csv': 'id,symbol\n1,A\n' },
			rejects: ['3,"expected 2 fields, found 1",""'],
		},
		{
			name: 'a CR inside an unterminated quote stays data (the record is rejected with it)',
			input: 'id,symbol\n1,A\n2,"B\r',
			files: { 'A.csv': 'id,symbol\n1,A\n' },
			rejects: ['3,"unterminated quoted field (it runs to the end of the file)","2,""B\r"'],
		},
		{
			name: 'a CR not at the very end is still data',
			input: 'id,symbol\n1,A\rB\n2,C\r\n',
			files: { 'A%0DB.csv': 'id,symbol\n1,A\rB\n', 'C.csv': 'id,symbol\n2,C\r\n' },
		},
	];

	for (const c of cases) {
		it(`${c.name}: ${JSON.stringify(c.input)}`, async () => {
			const input = b(c.input);
			const file = path.join(dir, 'in.csv');
			fs.writeFileSync(file, input);
			const outs: Map<string, string>[] = [];
			for (const [workers, chunkSize] of [
				[1, 1],
				[2, 1],
				[1, 1000],
			]) {
				const out = path.join(dir, `out-${workers}-${chunkSize}`);
				const m = await extract({ input: file, outDir: out, workers, chunkSize });
				checkOutput(input, out, `${c.name}, workers ${workers}, chunkSize ${chunkSize}`);
				const names = fs.readdirSync(out).filter((n) => !n.startsWith('_'));
				assert.deepEqual(names.sort(), Object.keys(c.files).sort());
				for (const [name, text] of Object.entries(c.files)) {
					assert.equal(fs.readFileSync(path.join(out, name), 'latin1'), text, name);
				}
				const rejects = fs.existsSync(path.join(out, '_rejects.csv'))
					? fs.readFileSync(path.join(out, '_rejects.csv'), 'latin1').split('\n').slice(1, -1)
					: [];
				assert.deepEqual(rejects, c.rejects ?? []);
				assert.ok(!m.partitions.some((p) => p.key.some((k) => k.endsWith('\r'))), 'no key ends with the CR');
				outs.push(outputBytes(out));
			}
			for (const o of outs.slice(1)) assert.deepEqual(o, outs[0]);
			// The csv-parse reference follows the same rule.
			const ref = reference(input, { delimiter: ',' });
			assert.deepEqual([...ref.files.keys()].sort(), Object.keys(c.files).sort());
			for (const [name, bytes] of ref.files) assert.equal(bytes.toString('latin1'), c.files[name], name);
		});
	}
});
