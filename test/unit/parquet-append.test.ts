import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { extract } from '../../src/engine';
import { AppendJournal, JOURNAL } from '../../src/engine/journal';
import { readFooterTail } from '../../src/engine/parquet/footer';
import type { ExtractOptions, Manifest } from '../../src/engine/types';
import { expectSweepError, generateTrades, sweepErrorOf } from './helpers/engine';
import { diffSnapshots, makeTmp, removeTmp, snapshot } from './helpers/fsutil';

/**
 * Appending to a Parquet output (docs/append.md, "Parquet"): the touched files get new row groups and a new
 * footer; read back, day 1 + appended day 2 holds the values of one run over both days, row for row in file order
 * (the bytes differ: the row groups are cut differently). A day whose values do not fit the output's column types
 * is refused with the folder as it was, and a killed append is undone by the next run, byte for byte.
 */

/** Every row of a Parquet file in file order, as DuckDB reads it (timestamps as epoch microseconds). */
async function duckRows(file: string): Promise<unknown[][]> {
	const { DuckDBInstance } = await import('@duckdb/node-api');
	const db = await DuckDBInstance.create(':memory:', { threads: '1' });
	const con = await db.connect();
	const f = file.replaceAll("'", "''");
	const cols = await con.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet('${f}')`);
	const select = (cols.getRowsJS() as unknown[][])
		.map(([name, type]) => {
			const c = `"${String(name).replaceAll('"', '""')}"`;
			return String(type).startsWith('TIMESTAMP') ? `epoch_us(${c})::VARCHAR` : c;
		})
		.join(', ');
	const r = await con.runAndReadAll(
		`SELECT ${select} FROM read_parquet('${f}', file_row_number = true) ORDER BY file_row_number`,
	);
	const rows = r.getRowsJS() as unknown[][];
	con.closeSync();
	db.closeSync();
	return rows;
}

async function hyRows(file: string): Promise<Record<string, unknown>[]> {
	const { parquetReadObjects } = await import('hyparquet');
	const b = fs.readFileSync(file);
	return parquetReadObjects({ file: b.buffer.slice(b.byteOffset, b.byteOffset + b.length) as ArrayBuffer });
}

const filesOf = (m: Manifest) =>
	m.partitions.flatMap((p) => (p.file === null ? [] : p.files ? p.files.map((f) => f.file) : [p.file]));

describe('engine: append to a Parquet output (new row groups)', function () {
	this.timeout(600_000);
	let dir: string;
	let day1: string;
	let day2: string;
	let whole: string;
	before(() => {
		dir = makeTmp('sweep-pq-append-');
		const all = path.join(dir, 'all.csv');
		generateTrades(all, 6_000, ['--seed', '31', '--symbols', '25']);
		const lines = fs.readFileSync(all, 'utf8').split('\n');
		if (lines[lines.length - 1] === '') lines.pop();
		const header = lines[0];
		const body = lines.slice(1);
		const cut = Math.floor(body.length * 0.55);
		// Day 2 also brings a key day 1 has not seen.
		const fresh = `TRDNEW0000000001,2024-03-20T15:00:00.000Z,ZZNEW,B,10.5000,100,XNYS,REGULAR`;
		day1 = path.join(dir, 'day1.csv');
		day2 = path.join(dir, 'day2.csv');
		whole = path.join(dir, 'whole.csv');
		fs.writeFileSync(day1, `${[header, ...body.slice(0, cut)].join('\n')}\n`);
		fs.writeFileSync(day2, `${[header, ...body.slice(cut), fresh].join('\n')}\n`);
		fs.writeFileSync(whole, `${[header, ...body, fresh].join('\n')}\n`);
	});
	after(() => removeTmp(dir));

	const configs: { name: string; opts: Partial<ExtractOptions> }[] = [
		{ name: 'flat', opts: {} },
		{ name: 'hive, capped at 60 rows per file', opts: { layout: 'hive', maxRowsPerFile: 60 } },
	];
	for (const cfg of configs) {
		for (const workers of [1, 3]) {
			it(`${cfg.name}, ${workers} worker(s): day 1 + appended day 2 reads as one run over both (DuckDB, hyparquet)`, async () => {
				const out = path.join(dir, `out-${cfg.opts.layout ?? 'flat'}-${workers}`);
				const ref = path.join(dir, `ref-${cfg.opts.layout ?? 'flat'}-${workers}`);
				const common = { format: 'parquet' as const, chunkSize: 4096, ...cfg.opts };
				const m1 = await extract({ input: day1, outDir: out, workers, ...common });
				const m = await extract({ input: day2, outDir: out, workers, chunkSize: 4096, append: true });
				const r = await extract({ input: whole, outDir: ref, workers: 1, ...common });
				assert.equal(m.format, 'parquet');
				assert.deepEqual(m.parquet, m1.parquet, 'the column types are the output’s');
				assert.deepEqual(m.parquet?.columns, r.parquet?.columns, 'and those of one run here');
				assert.equal(m.inputs?.length, 2);
				assert.equal(m.rowsWritten, r.rowsWritten);
				assert.deepEqual(filesOf(m), filesOf(r), 'the same files, named as one run names them');
				assert.deepEqual(
					m.partitions.map((p) => [p.key, p.rows, p.files?.map((f) => f.rows)]),
					r.partitions.map((p) => [p.key, p.rows, p.files?.map((f) => f.rows)]),
				);
				assert.ok(
					m.partitions.some((p) => p.key[0] === 'ZZNEW'),
					'a key first seen in day 2 has its file',
				);
				assert.ok(!fs.existsSync(path.join(out, JOURNAL)), 'no journal left');
				let grown = 0;
				for (const p of m.partitions) {
					for (const f of p.files ?? [{ file: p.file as string, bytes: p.bytes }]) {
						const file = path.join(out, ...f.file.split('/'));
						assert.equal(fs.statSync(file).size, f.bytes, `${f.file}: its size in the manifest`);
						const want = await duckRows(path.join(ref, ...f.file.split('/')));
						assert.deepEqual(await duckRows(file), want, `${f.file}: DuckDB reads one run's rows in order`);
						assert.deepEqual(
							await hyRows(file),
							await hyRows(path.join(ref, ...f.file.split('/'))),
							`${f.file}: hyparquet reads one run's rows`,
						);
						const old = m1.partitions.find((q) => q.file !== null && (q.files ?? [q]).some((g) => g.file === f.file));
						const oldBytes = old?.files ? old.files.find((g) => g.file === f.file)?.bytes : old?.bytes;
						if (oldBytes !== undefined && oldBytes !== f.bytes) grown++;
					}
				}
				assert.ok(grown > 0, 'some existing files got new row groups');
				if (workers === 3) {
					// The appended files are byte-identical for any worker count (of either run).
					const one = path.join(dir, `out-${cfg.opts.layout ?? 'flat'}-1`);
					for (const f of filesOf(m)) {
						const at = (d: string) => fs.readFileSync(path.join(d, ...f.split('/')));
						assert.ok(at(out).equals(at(one)), `${f}: the same bytes with 1 and 3 workers`);
					}
				}
			});
		}
	}

	it('refuses a day whose values do not fit a column’s type (exit 1), the folder as it was', async () => {
		const out = path.join(dir, 'out-types');
		const m1 = await extract({ input: day1, outDir: out, workers: 2, chunkSize: 4096, format: 'parquet' });
		assert.equal(m1.parquet?.columns.find((c) => c.name === 'qty')?.type, 'int64');
		const bad = path.join(dir, 'day2-bad.csv');
		const text = fs.readFileSync(day2, 'utf8').split('\n');
		const f = text[5].split(',');
		f[5] = 'lots';
		text[5] = f.join(',');
		fs.writeFileSync(bad, text.join('\n'));
		const before = snapshot(out);
		const e = await expectSweepError(
			extract({ input: bad, outDir: out, workers: 2, chunkSize: 4096, append: true }),
			'type-mismatch',
		);
		assert.equal(e.exitCode, 1);
		assert.match(e.message, /column "qty" is int64/);
		assert.match(e.message, /Extract all the inputs again/);
		assert.equal(diffSnapshots(before, snapshot(out)), '', 'nothing changed');
	});

	// The error names the first line holding a value that does not fit (found by a review: it named only the column).
	// Records spanning lines, a rejected record holding text where the number goes (rejected: its value is not
	// written, so it does not count), and later misfits: the same line for any worker count and chunk size.
	it('names the first line whose value does not fit, the same for any worker count and chunk size', async () => {
		const out = path.join(dir, 'out-types-line');
		const d1 = path.join(dir, 'types-day1.csv');
		const rows = ['id,symbol,qty,note'];
		for (let i = 1; i <= 300; i++) rows.push(`${i},S${i % 5},${i * 3},n${i}`);
		fs.writeFileSync(d1, `${rows.join('\n')}\n`);
		const m1 = await extract({ input: d1, outDir: out, workers: 1, chunkSize: 50, format: 'parquet' });
		assert.deepEqual(
			m1.parquet?.columns.map((c) => c.type),
			['int64', 'string', 'int64', 'string'],
		);
		const before = snapshot(out);
		/** Day 2: every third note spans two lines; `odd` gives some records' qty field, or a whole record. */
		const day2 = (name: string, odd: Record<number, string>) => {
			const lines = ['id,symbol,qty,note'];
			const lineOf: Record<number, number> = {};
			let line = 2;
			for (let i = 1; i <= 400; i++) {
				lineOf[i] = line;
				const note = i % 3 === 0 ? `"two\nlines ${i}"` : `m${i}`;
				const rec = odd[i]?.startsWith('record:') ? odd[i].slice(7) : `${i},S${i % 7},${odd[i] ?? i},${note}`;
				lines.push(rec);
				line += rec.split('\n').length;
			}
			const file = path.join(dir, name);
			fs.writeFileSync(file, Buffer.from(`${lines.join('\n')}\n`, 'latin1'));
			return { file, lineOf };
		};
		const cases: { name: string; odd: Record<number, string>; first: number; want: RegExp }[] = [
			{
				name: 'types-day2-text.csv',
				// Record 40: rejected (3 fields), its "qty" text; record 230: the first misfit; then more.
				odd: { 40: 'record:40,S1,zzz', 230: 'lots', 231: '2.5', 390: 'x' },
				first: 230,
				want: /column "qty" is int64 in the output's Parquet files, and line (\d+) of .*types-day2-text\.csv holds "lots", which is not int64 \(the first such value\)/,
			},
			{
				name: 'types-day2-utf8.csv',
				// A string column: only bytes that are not UTF-8 do not fit.
				odd: { 17: 'record:17,S1,17,caf\xe9', 18: 'record:18,S1,eighteen,ok' },
				first: 17,
				want: /column "note" is string in the output's Parquet files, and line (\d+) of .*types-day2-utf8\.csv holds "caf\uFFFD", which is not valid UTF-8/,
			},
		];
		for (const c of cases) {
			const { file, lineOf } = day2(c.name, c.odd);
			for (const workers of [1, 2]) {
				for (const chunkSize of [7, 100_000]) {
					const what = `${c.name}, ${workers} workers, chunks of ${chunkSize}`;
					const e = await expectSweepError(
						extract({ input: file, outDir: out, workers, chunkSize, append: true }),
						'type-mismatch',
					);
					assert.equal(e.exitCode, 1, what);
					assert.match(e.message, c.want, what);
					assert.equal(Number(c.want.exec(e.message)?.[1]), lineOf[c.first], `${what}: the line`);
					assert.equal(e.details.line, lineOf[c.first], what);
					assert.equal(diffSnapshots(before, snapshot(out)), '', `${what}: nothing changed`);
				}
			}
		}
	});

	it('a touched file that fails while others already got their row groups: exit 1, every file as it was', async () => {
		// Which files day 2 grows, and which of them is converted last (largest first, one worker).
		const probe = path.join(dir, 'out-probe');
		const p1 = await extract({ input: day1, outDir: probe, workers: 1, chunkSize: 4096, format: 'parquet' });
		const p2 = await extract({ input: day2, outDir: probe, workers: 1, chunkSize: 4096, append: true });
		const grown = p2.partitions.filter((p) => {
			const old = p1.partitions.find((q) => q.file === p.file);
			return old !== undefined && old.bytes !== p.bytes;
		});
		assert.ok(grown.length > 2);
		const last = grown.reduce((a, b) => (b.rows < a.rows ? b : a));
		const out = path.join(dir, 'out-fails');
		await extract({ input: day1, outDir: out, workers: 1, chunkSize: 4096, format: 'parquet' });
		// Its footer made unreadable (same size, same length and PAR1 at the end), as if changed by hand.
		const file = path.join(out, last.file as string);
		const { at } = await readFooterTail(file);
		const fd = fs.openSync(file, 'r+');
		fs.writeSync(fd, Buffer.alloc(4, 0xff), 0, 4, at + 2);
		fs.closeSync(fd);
		const before = snapshot(out);
		const e = await sweepErrorOf(extract({ input: day2, outDir: out, workers: 1, chunkSize: 4096, append: true }));
		assert.equal(e.exitCode, 1, e.message);
		assert.match(e.message, new RegExp(path.basename(last.file as string).replace('.', '\\.')));
		assert.equal(diffSnapshots(before, snapshot(out)), '', 'the files that got row groups are back as they were');
	});

	it('a killed append (footer overwritten, file grown, a file created) is undone by the next run, byte for byte', async () => {
		const out = path.join(dir, 'out-killed');
		const m1 = await extract({
			input: day1,
			outDir: out,
			workers: 2,
			chunkSize: 4096,
			format: 'parquet',
			maxRowsPerFile: 60,
		});
		const before = snapshot(out);
		const sizes: Record<string, number> = {};
		for (const p of m1.partitions) for (const f of p.files ?? []) sizes[f.file] = f.bytes as number;
		const sha = createHash('sha256')
			.update(fs.readFileSync(path.join(out, '_manifest.json')))
			.digest('hex');
		// What a killed append leaves: its journal with the saved footers, then files written over.
		const j = await AppendJournal.begin(out, sha, sizes);
		const names = Object.keys(sizes).slice(0, 2);
		const footers = [];
		for (const file of names) footers.push({ file, ...(await readFooterTail(path.join(out, file))) });
		await j.willCreate(['ZZNEW-00001.parquet.sweep-csv', 'ZZNEW-00001.parquet']);
		await j.willRewrite(footers);
		await j.detach();
		// The first file: new bytes over its footer and beyond; the second: overwritten in place, same size.
		const fd0 = fs.openSync(path.join(out, names[0]), 'r+');
		fs.writeSync(fd0, Buffer.alloc(50_000, 7), 0, 50_000, footers[0].at);
		fs.closeSync(fd0);
		const fd1 = fs.openSync(path.join(out, names[1]), 'r+');
		fs.writeSync(fd1, Buffer.alloc(footers[1].tail.length, 9), 0, footers[1].tail.length, footers[1].at);
		fs.closeSync(fd1);
		fs.writeFileSync(path.join(out, 'ZZNEW-00001.parquet.sweep-csv'), 'x');
		fs.writeFileSync(path.join(out, 'ZZNEW-00001.parquet'), 'y');
		// The next run undoes it first; this one is then refused (its header differs), so the folder is as it was.
		const other = path.join(dir, 'other.csv');
		fs.writeFileSync(
			other,
			'trade_id,timestamp,symbol,side,price,qty,venue,cond\nT1,2024-03-11T13:30:00Z,A,B,1,1,X,R\n',
		);
		await expectSweepError(
			extract({ input: other, outDir: out, workers: 1, chunkSize: 4096, append: true }),
			'append-mismatch',
		);
		assert.equal(diffSnapshots(before, snapshot(out)), '', 'every file byte-identical to before the killed append');
		// And an append now works on the restored files.
		const m = await extract({ input: day2, outDir: out, workers: 2, chunkSize: 4096, append: true });
		const ref = path.join(dir, 'ref-killed');
		const r = await extract({
			input: whole,
			outDir: ref,
			workers: 1,
			chunkSize: 4096,
			format: 'parquet',
			maxRowsPerFile: 60,
		});
		assert.deepEqual(filesOf(m), filesOf(r));
		for (const file of names)
			assert.deepEqual(await duckRows(path.join(out, file)), await duckRows(path.join(ref, file)));
	});
});
