import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { extract as extractHere } from '../../src/engine/extract';
import type { Manifest } from '../../src/engine/types';
import { makeTmp, removeTmp } from './helpers/fsutil';

/**
 * Parquet types speculated from a sample and proven by the conversion (docs/parquet.md, "How the types are
 * decided"): whatever the sample saw, the types and the files are those of a run that classified every value.
 */
describe('parquet: types speculated from a sample, proven by the conversion (else decided from every value)', function () {
	this.timeout(600_000);
	let tmp: string;
	before(() => {
		tmp = makeTmp('sweep-parquet-sample-');
	});
	after(() => removeTmp(tmp));

	/**
	 * Columns whose first values (all a sample of the first chunks sees) suggest a narrower type than the whole file
	 * holds, each with the type the whole file decides. The rows that widen them come late, in partitions of their
	 * own or in the common ones, and a column has no value at all until its last rows.
	 */
	const columns: [name: string, early: (i: number) => string, late: string[], type: string][] = [
		['int_then_decimal', (i) => `${i}`, ['3.5'], 'double'],
		['int_then_decimal_then_text', (i) => `${i}`, ['2.25', 'n/a'], 'string'],
		['zoned_then_local', (i) => `2024-03-01T10:${p2(i % 60)}:00Z`, ['2024-03-01T10:00:00'], 'string'],
		['empty_then_int', () => '', ['12', '-3'], 'int64'],
		['all_empty', () => '', ['', ''], 'string'],
		['date_then_timestamp', (i) => `2024-02-${p2((i % 28) + 1)}`, ['2024-02-01 10:00'], 'string'],
		['bool_then_text', (i) => (i % 3 ? 'true' : 'False'), ['yes'], 'string'],
		['int_then_beyond_int64', (i) => `${i * 7}`, ['9223372036854775808'], 'double'],
		['int_then_quoted_int', (i) => `${i}`, ['"77"'], 'int64'],
		['int_then_leading_zero', (i) => `${i}`, ['007'], 'string'],
		['text_then_bad_utf8', (i) => `t${i}`, ['\u0000BAD'], 'binary'],
		['int_throughout', (i) => `${i % 1000}`, ['5'], 'int64'],
	];
	const p2 = (n: number) => String(n).padStart(2, '0');

	function write(file: string, rows: number): void {
		const lines = [`symbol,${columns.map((c) => c[0]).join(',')}`];
		for (let i = 0; i < rows; i++) lines.push(`K${i % 4},${columns.map((c) => c[1](i)).join(',')}`);
		// The late rows: a partition of their own (converted last: the smallest) and a common one.
		for (let k = 0; k < 2; k++) {
			const key = k === 0 ? 'K1' : 'Z';
			lines.push(`${key},${columns.map((c) => c[2][Math.min(k, c[2].length - 1)] ?? '').join(',')}`);
		}
		// One byte that is not UTF-8, in the last row's text_then_bad_utf8 value (written as a NUL placeholder).
		const buf = Buffer.from(`${lines.join('\n')}\n`, 'utf8');
		buf[buf.lastIndexOf(0)] = 0xff;
		fs.writeFileSync(file, buf);
	}

	it("late values that do not fit the sample's types: each column as wide as they need, files byte-identical to classifying every value, any workers and chunk size", async () => {
		const input = path.join(tmp, 'late.csv');
		write(input, 3000);
		const run = async (dir: string, workers: number, chunkSize: number, sample: number): Promise<Manifest> =>
			extractHere(
				{ input, outDir: path.join(tmp, dir), workers, chunkSize, format: 'parquet', partitionBy: ['symbol'] },
				{ parquetSampleBytes: sample },
			);
		// The reference: every value classified (the sample never full).
		const ref = await run('ref', 2, 100, Number.POSITIVE_INFINITY);
		const want = ['string', ...columns.map((c) => c[3])];
		assert.deepEqual(
			ref.parquet?.columns.map((c) => c.type),
			want,
		);
		const files = fs.readdirSync(path.join(tmp, 'ref')).filter((f) => f.endsWith('.parquet'));
		assert.deepEqual(files.sort(), ['K0.parquet', 'K1.parquet', 'K2.parquet', 'K3.parquet', 'Z.parquet']);
		// A 1-byte sample: each worker classifies its first chunk (50 rows at most here), then only the columns it has
		// seen no value of; every other type is speculated, and the late values make the conversion find it wrong.
		for (const [workers, chunkSize, sample] of [
			[1, 50, 1],
			[2, 50, 1],
			[3, 7, 1],
			[2, 1000, 1],
			[1, 50, 4096],
		]) {
			const dir = `s-${workers}-${chunkSize}-${sample}`;
			const m = await run(dir, workers, chunkSize, sample);
			assert.deepEqual(
				m.parquet?.columns.map((c) => c.type),
				want,
				dir,
			);
			assert.equal(m.rowsWritten, ref.rowsWritten);
			const names = fs.readdirSync(path.join(tmp, dir)).sort();
			assert.ok(!names.some((n) => n.includes('sweep-csv')), `${dir}: no temporary CSV left (${names})`);
			for (const f of files)
				assert.ok(
					fs.readFileSync(path.join(tmp, dir, f)).equals(fs.readFileSync(path.join(tmp, 'ref', f))),
					`${dir}/${f} is byte-identical to the reference`,
				);
		}
	});

	it('a misfit in the last file converted, after every other one was written: all of them are written again', async () => {
		// One late value in the smallest partition (converted last, after the others): the files written with the
		// speculated int64 are stale and must not survive.
		const input = path.join(tmp, 'last.csv');
		const rows = Array.from({ length: 4000 }, (_, i) => `A${i % 3},${i}`);
		fs.writeFileSync(input, `symbol,n\n${rows.join('\n')}\nZ,x\n`);
		const m = await extractHere(
			{ input, outDir: path.join(tmp, 'last'), workers: 2, chunkSize: 100, format: 'parquet', partitionBy: ['symbol'] },
			{ parquetSampleBytes: 1 },
		);
		assert.deepEqual(
			m.parquet?.columns.map((c) => c.type),
			['string', 'string'],
		);
		const ref = await extractHere(
			{
				input,
				outDir: path.join(tmp, 'last-ref'),
				workers: 1,
				chunkSize: 100,
				format: 'parquet',
				partitionBy: ['symbol'],
			},
			{ parquetSampleBytes: Number.POSITIVE_INFINITY },
		);
		for (const p of ref.partitions)
			assert.ok(
				fs.readFileSync(path.join(tmp, 'last', p.file!)).equals(fs.readFileSync(path.join(tmp, 'last-ref', p.file!))),
				String(p.file),
			);
	});
});
