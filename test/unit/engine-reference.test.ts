import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as fc from 'fast-check';
import { csvCase } from './helpers/gen-csv';
import {
	baseFileName,
	encodeKeyValue,
	FileNamer,
	fnv1a,
	hiveValue,
	isoDay,
	isoHour,
	type ReferenceOptions,
	type ReferenceResult,
	ReferenceUnsupported,
	rawFields,
	reference,
	referenceRecords,
} from './reference';

/** The oracle must be right before it judges the engine: hand-made cases with their exact expected output. */

const b = (s: string) => Buffer.from(s, 'latin1');
const run = (input: string, opts: Partial<ReferenceOptions> = {}): ReferenceResult =>
	reference(b(input), { delimiter: ',', ...opts });
const filesOf = (r: ReferenceResult) => Object.fromEntries([...r.files].map(([k, v]) => [k, v.toString('latin1')]));
const rejectsOf = (r: ReferenceResult) => r.rejects.map((x) => [x.line, x.raw.toString('latin1')]);

describe('engine test reference (the oracle itself)', () => {
	it('groups records by key, in source order, header first', () => {
		const r = run('symbol,qty\nAAPL,1\nMSFT,2\nAAPL,3\n');
		assert.deepEqual(filesOf(r), { 'AAPL.csv': 'symbol,qty\nAAPL,1\nAAPL,3\n', 'MSFT.csv': 'symbol,qty\nMSFT,2\n' });
		assert.deepEqual(r.partitions, [
			{ key: ['AAPL'], file: 'AAPL.csv', rows: 2 },
			{ key: ['MSFT'], file: 'MSFT.csv', rows: 1 },
		]);
		assert.equal(r.rowsRead, 3);
		assert.equal(r.rowsWritten, 3);
		assert.deepEqual(r.columns, ['symbol', 'qty']);
	});

	it("keeps each record's own line ending; a final record without one gets the header's", () => {
		const r = run('symbol,q\r\nA,1\nB,2\r\nA,3');
		assert.deepEqual(filesOf(r), { 'A.csv': 'symbol,q\r\nA,1\nA,3\r\n', 'B.csv': 'symbol,q\r\nB,2\r\n' });
		assert.deepEqual(filesOf(run('symbol,q\nA,1\r\nA,2')), { 'A.csv': 'symbol,q\nA,1\r\nA,2\n' });
	});

	it('reads quoted fields with delimiters, LF, CRLF and "" and writes them as their original bytes', () => {
		const r = run('symbol,note\n"A,x","l1\r\nl2 ""q"""\nB,plain\n');
		assert.deepEqual(filesOf(r), {
			'A%2Cx.csv': 'symbol,note\n"A,x","l1\r\nl2 ""q"""\n',
			'B.csv': 'symbol,note\nB,plain\n',
		});
		assert.deepEqual(r.partitions[0].key, ['A,x']);
	});

	it('treats a bare CR as data, also right before a CRLF; a CR that is the last byte of the file is a line ending', () => {
		assert.deepEqual(filesOf(run('symbol,n\nA\rB,1\n')), { 'A%0DB.csv': 'symbol,n\nA\rB,1\n' });
		assert.deepEqual(filesOf(run('symbol,n\nA,1\r\r\n')), { 'A.csv': 'symbol,n\nA,1\r\r\n' });
		// Issue 12 (8): the record is `A,1` and gets the header's line ending.
		assert.deepEqual(filesOf(run('symbol,n\nA,1\r')), { 'A.csv': 'symbol,n\nA,1\n' });
		assert.deepEqual(filesOf(run('n,symbol\r\n1,A\r')), { 'A.csv': 'n,symbol\r\n1,A\r\n' });
	});

	it('treats a quote inside an unquoted field as data', () => {
		const r = run('symbol,n\nab"c,1\nx,y"z""\n');
		assert.deepEqual(filesOf(r), { 'ab%22c.csv': 'symbol,n\nab"c,1\n', 'x.csv': 'symbol,n\nx,y"z""\n' });
	});

	it('rejects text after a closing quote; its record still ends at the next LF outside quotes', () => {
		const r = run('symbol,n\n"ab"c,1\n"x"y,"multi\nline"\nA,"1"\r\r\n"a""b"x"y\nz",e\nB,"q"\r\nab"c,3\n');
		assert.deepEqual(rejectsOf(r), [
			[2, '"ab"c,1'],
			[3, '"x"y,"multi\nline"'],
			[5, 'A,"1"\r'],
			[6, '"a""b"x"y'],
		]);
		assert.deepEqual(filesOf(r), {
			'z%22.csv': 'symbol,n\nz",e\n',
			'B.csv': 'symbol,n\nB,"q"\r\n',
			'ab%22c.csv': 'symbol,n\nab"c,3\n',
		});
		assert.throws(() => run('"sym"x,n\nA,1\n'), ReferenceUnsupported, 'such a header is not modelled');
	});

	it('rejects ragged rows and blank lines with the line where they start', () => {
		const r = run('symbol,n\nA,1\nA,1,2\n\nB\n"C\nD",1\nX\nA,2\n');
		assert.deepEqual(rejectsOf(r), [
			[3, 'A,1,2'],
			[4, ''],
			[5, 'B'],
			[8, 'X'],
		]);
		assert.deepEqual(filesOf(r), { 'A.csv': 'symbol,n\nA,1\nA,2\n', 'C%0AD.csv': 'symbol,n\n"C\nD",1\n' });
		assert.equal(r.rowsRead, 7);
		assert.equal(r.rowsRejected, 4);
		assert.equal(r.rowsWritten, 3);
	});

	it('accepts a blank line as a record with one empty field when the header has one column', () => {
		const r = run('symbol\nA\n\r\n\nA\n');
		assert.deepEqual(filesOf(r), { 'A.csv': 'symbol\nA\nA\n', '~empty.csv': 'symbol\n\r\n\n' });
		assert.deepEqual(r.partitions[1], { key: [''], file: '~empty.csv', rows: 2 });
	});

	it('rejects an unterminated quote at the end of the file from its start line to EOF', () => {
		const r = run('symbol,n\nA,1\nB,"x\ny,z\r\nw');
		assert.deepEqual(rejectsOf(r), [[3, 'B,"x\ny,z\r\nw']]);
		assert.deepEqual(filesOf(r), { 'A.csv': 'symbol,n\nA,1\n' });
		assert.equal(r.rowsRead, 2);
	});

	it('handles a header-only file, with and without a line break', () => {
		for (const input of ['symbol,n\n', 'symbol,n']) {
			const r = run(input);
			assert.equal(r.files.size, 0);
			assert.equal(r.rowsRead, 0);
			assert.deepEqual(r.partitions, []);
			assert.deepEqual(r.header, ['symbol', 'n']);
		}
	});

	it('drops a UTF-8 BOM and counts lines from the first byte', () => {
		const r = run('\xef\xbb\xbfsymbol,n\nA,1\nA\n');
		assert.deepEqual(r.header, ['symbol', 'n']);
		assert.deepEqual(filesOf(r), { 'A.csv': 'symbol,n\nA,1\n' });
		assert.deepEqual(rejectsOf(r), [[3, 'A']]);
	});

	it('renames mapped columns in the output header and quotes names only where needed', () => {
		const r = run('ticker,"plain","a,b",x\nA,1,2,3\n', { mapping: { symbol: 'ticker', 'q"t': 'x' } });
		assert.deepEqual(r.columns, ['symbol', 'plain', 'a,b', 'q"t']);
		assert.deepEqual(filesOf(r), { 'A.csv': 'symbol,plain,"a,b","q""t"\nA,1,2,3\n' });
		const t = reference(b('sym\t"a,b"\nA\t1\n'), { delimiter: '\t', partitionBy: ['sym'], ext: '.tsv' });
		assert.deepEqual(filesOf(t), { 'A.tsv': 'sym\ta,b\nA\t1\n' });
	});

	it('partitions by date(COL) and rejects values that do not start with a date', () => {
		const r = run('ts,v\n2024-03-15T10:00:00Z,1\nbad,2\n2024-03-16,3\n2024-03-15T11:00:00Z,4\n', {
			partitionBy: ['date(ts)'],
		});
		assert.deepEqual(filesOf(r), {
			'2024-03-15.csv': 'ts,v\n2024-03-15T10:00:00Z,1\n2024-03-15T11:00:00Z,4\n',
			'2024-03-16.csv': 'ts,v\n2024-03-16,3\n',
		});
		assert.deepEqual(rejectsOf(r), [[3, 'bad,2']]);
		const m = run('symbol,ts\nA,2024-03-15T10:00:00Z\n', { partitionBy: ['symbol', 'date(ts)'] });
		assert.deepEqual([...m.files.keys()], ['A+2024-03-15.csv']);
		assert.equal(isoDay('2024-03-15x'), null);
		assert.equal(isoDay('2024-13-01'), null);
		assert.equal(isoDay('2024-3-5'), null);
		assert.equal(isoDay('2024-03-15 10:00'), '2024-03-15');
	});

	it('filters by an orders file and lists order keys with no rows after the others', () => {
		const r = run('symbol,n\nA,1\nB,2\nC,3\nA,4\n', { orders: b('id,symbol\n1,Z\n2,A\n3,A\n4,Y\n') });
		assert.deepEqual(filesOf(r), { 'A.csv': 'symbol,n\nA,1\nA,4\n' });
		assert.deepEqual(r.partitions, [
			{ key: ['A'], file: 'A.csv', rows: 2 },
			{ key: ['Z'], file: null, rows: 0 },
			{ key: ['Y'], file: null, rows: 0 },
		]);
		assert.equal(r.rowsFilteredOut, 2);
		assert.equal(r.ordersKeys, 3);
		const mapped = run('ticker,n\nA,1\nB,2\n', { mapping: { symbol: 'ticker' }, orders: b('ticker\nB\n') });
		assert.deepEqual(filesOf(mapped), { 'B.csv': 'symbol,n\nB,2\n' });
	});

	it('names files as README "What extraction does" says', () => {
		const cases: [string, string][] = [
			['AAPL', 'AAPL'],
			['../x', '%2E.%2Fx'],
			['/abs', '%2Fabs'],
			['C:\\x', 'C%3A%5Cx'],
			['CON', 'CON~'],
			['lpt9', 'lpt9~'],
			['con.txt', 'con~.txt'],
			['CONSOLE', 'CONSOLE'],
			['a:b', 'a%3Ab'],
			['', '~empty'],
			['.hidden', '%2Ehidden'],
			['_x', '%5Fx'],
			['x_', 'x_'],
			['a.', 'a%2E'],
			['.', '%2E'],
			['trailing. ', 'trailing.%20'],
			['~empty', '%7Eempty'],
			['50% +1', '50%25%20%2B1'],
			['\xc3\xa9', '%C3%A9'],
			['\xff', '%FF'],
			['*?"<>|', '%2A%3F%22%3C%3E%7C'],
		];
		for (const [value, name] of cases) assert.equal(encodeKeyValue(b(value)), name, JSON.stringify(value));
		assert.equal(baseFileName([b('AAPL'), b('2024-03-15')]), 'AAPL+2024-03-15');
		assert.equal(baseFileName([b('a+b')]), 'a%2Bb');
		const long = 'a'.repeat(300);
		const sha = (s: string) => createHash('sha1').update(b(s)).digest('hex').slice(0, 8);
		assert.equal(baseFileName([b(long)]), `${'a'.repeat(100)}~${sha(long)}`);
		assert.equal(baseFileName([b('a'.repeat(120))]), 'a'.repeat(120));
		// 99 a's and then an escape: the cut does not split it.
		const split = `${'a'.repeat(99)}\xc3\xa9${'b'.repeat(30)}`;
		assert.equal(baseFileName([b(split)]), `${'a'.repeat(99)}~${sha(split)}`);
		assert.equal(baseFileName([b(long), b('x')]), `${'a'.repeat(100)}~${sha(`${long}\0x`)}`);
		const namer = new FileNamer('.csv');
		assert.deepEqual(
			['AAPL', 'aapl', 'MSFT', 'Aapl', 'msft'].map((k) => namer.name([b(k)])),
			['AAPL.csv', 'aapl~2.csv', 'MSFT.csv', 'Aapl~3.csv', 'msft~2.csv'],
		);
	});

	it('takes year, month and hour grains from the ISO-8601 prefix, and hash buckets from FNV-1a 32', () => {
		const input = 'ts,v\n2024-03-15T10:30:00Z,1\n2024-03-15 07,2\n2024-12-01,3\nbad,4\n2024-03-15T24:00,5\n';
		const year = run(input, { partitionBy: ['year(ts)'] });
		assert.deepEqual([...year.files.keys()], ['2024.csv']);
		assert.deepEqual(rejectsOf(year), [[5, 'bad,4']]);
		const month = run(input, { partitionBy: ['month(ts) as m'] });
		assert.deepEqual([...month.files.keys()], ['2024-03.csv', '2024-12.csv']);
		const hour = run(input, { partitionBy: ['hour(ts)'] });
		assert.deepEqual(filesOf(hour), {
			'2024-03-15T10.csv': 'ts,v\n2024-03-15T10:30:00Z,1\n',
			'2024-03-15T07.csv': 'ts,v\n2024-03-15 07,2\n',
		});
		assert.deepEqual(rejectsOf(hour), [
			[4, '2024-12-01,3'],
			[5, 'bad,4'],
			[6, '2024-03-15T24:00,5'],
		]);
		assert.equal(isoHour('2024-03-15T09Z'), '2024-03-15T09');
		assert.equal(isoHour('2024-03-15t09'), '2024-03-15T09');
		assert.equal(isoHour('2024-03-15T9'), null);
		assert.equal(isoHour('2024-03-15T0930'), null);
		// Published FNV-1a 32 vectors, and the README's.
		assert.equal(fnv1a(b('')), 0x811c9dc5);
		assert.equal(fnv1a(b('a')), 0xe40c292c);
		assert.equal(fnv1a(b('foobar')), 0xbf9cf968);
		assert.equal(fnv1a(b('AAPL')), 0x58cd330b);
		assert.equal(fnv1a(b('BRK/B')), 0xe06b9e57);
		assert.equal(fnv1a(Buffer.from('é')), 0x1e9de8c1);
		const hashed = run('symbol,v\nAAPL,1\nBRK/B,2\nMSFT,3\n', { partitionBy: ['hash(symbol, 8)'] });
		assert.deepEqual(filesOf(hashed), { '3.csv': 'symbol,v\nAAPL,1\nMSFT,3\n', '7.csv': 'symbol,v\nBRK/B,2\n' });
	});

	it('writes the hive layout: escaped folders, partition columns left out unless kept, data.csv', () => {
		const input =
			'symbol,ts,v\nBRK/B,2024-03-15T10:00Z,1\nx=y,2024-03-15,2\n,2024-03-16,3\nAAPL,2024-03-15,4\naapl,2024-03-15,5\n';
		const r = run(input, { partitionBy: ['symbol', 'date(ts)'], layout: 'hive' });
		assert.deepEqual(filesOf(r), {
			'symbol=BRK%2FB/ts_date=2024-03-15/data.csv': 'ts,v\n2024-03-15T10:00Z,1\n',
			'symbol=x%3Dy/ts_date=2024-03-15/data.csv': 'ts,v\n2024-03-15,2\n',
			'symbol=__HIVE_DEFAULT_PARTITION__/ts_date=2024-03-16/data.csv': 'ts,v\n2024-03-16,3\n',
			'symbol=AAPL/ts_date=2024-03-15/data.csv': 'ts,v\n2024-03-15,4\n',
			'symbol=%61%61%70%6C/ts_date=2024-03-15/data.csv': 'ts,v\n2024-03-15,5\n',
		});
		assert.deepEqual(r.columns, ['ts', 'v']);
		const kept = run(input, { partitionBy: ['symbol', 'date(ts) as day'], layout: 'hive', keepPartitionColumns: true });
		assert.equal(filesOf(kept)['symbol=AAPL/day=2024-03-15/data.csv'], 'symbol,ts,v\nAAPL,2024-03-15,4\n');
		const cases: [string, string][] = [
			['BRK/B', 'BRK%2FB'],
			['x=y', 'x%3Dy'],
			['a b', 'a%20b'],
			['%41', '%2541'],
			['\xc3\xa9', '%C3%A9'],
			['', '__HIVE_DEFAULT_PARTITION__'],
			['__HIVE_DEFAULT_PARTITION__', '%5F_HIVE_DEFAULT_PARTITION__'],
			['a.b.', 'a.b%2E'],
			['..', '.%2E'],
			['C:\\x', 'C%3A%5Cx'],
			['#?*"\'[]{}^<>|', '%23%3F%2A%22%27%5B%5D%7B%7D%5E%3C%3E%7C'],
			['\t\x7f~+,;', '%09%7F~+,;'],
			['CON', 'CON'],
		];
		for (const [value, name] of cases) assert.equal(hiveValue(b(value)), name, JSON.stringify(value));
		const long = 'a'.repeat(300);
		const sha = createHash('sha1').update(b(long)).digest('hex').slice(0, 8);
		assert.equal(hiveValue(b(long)), `${'a'.repeat(100)}~${sha}`);
		// A long non-ASCII value is cut at a whole character: 'é' is 2 bytes, 6 characters escaped; 16 of them fill
		// 96 characters, a 17th would not fit (and half of it would be invalid UTF-8).
		const accents = Buffer.from('é'.repeat(60), 'utf8');
		const accentSha = createHash('sha1').update(accents).digest('hex').slice(0, 8);
		assert.equal(hiveValue(accents), `${'%C3%A9'.repeat(16)}~${accentSha}`);
		// After an 'x', 100 characters would end after the first byte of the 17th 'é': the cut comes before it.
		const shifted = Buffer.from(`x${'é'.repeat(60)}`, 'utf8');
		const shiftedSha = createHash('sha1').update(shifted).digest('hex').slice(0, 8);
		assert.equal(hiveValue(shifted), `x${'%C3%A9'.repeat(16)}~${shiftedSha}`);
	});

	it('caps files at maxRowsPerFile with numbered parts, each with the header, in both layouts', () => {
		const input = 'symbol,v\nA,1\nB,2\nA,3\nA,4\n';
		const flat = run(input, { maxRowsPerFile: 2 });
		assert.deepEqual(filesOf(flat), {
			'A-00001.csv': 'symbol,v\nA,1\nA,3\n',
			'A-00002.csv': 'symbol,v\nA,4\n',
			'B-00001.csv': 'symbol,v\nB,2\n',
		});
		assert.deepEqual(flat.partitions[0], {
			key: ['A'],
			file: 'A-00001.csv',
			rows: 3,
			files: [
				{ file: 'A-00001.csv', rows: 2 },
				{ file: 'A-00002.csv', rows: 1 },
			],
		});
		const hive = run(input, { maxRowsPerFile: 1, layout: 'hive', keepPartitionColumns: true });
		assert.deepEqual(
			[...hive.files.keys()],
			['symbol=A/part-00001.csv', 'symbol=A/part-00002.csv', 'symbol=A/part-00003.csv', 'symbol=B/part-00001.csv'],
		);
	});

	it("selects columns as their original bytes, re-joined with the delimiter and each record's line ending", () => {
		assert.deepEqual(rawFields('"a,b",,"q""x"', ','), ['"a,b"', '', '"q""x"']);
		assert.deepEqual(rawFields('', ';'), ['']);
		const r = run('symbol;n;"no;te"\r\nA;1;"x;""y"""\nA;2;z\r\nA;3;w', {
			delimiter: ';',
			columns: ['no;te', 'symbol'],
		});
		assert.deepEqual(filesOf(r), { 'A.csv': '"no;te";symbol\r\n"x;""y""";A\nz;A\r\nw;A\r\n' });
		assert.deepEqual(r.columns, ['no;te', 'symbol']);
	});

	it('gives keyHex for values that are not valid UTF-8', () => {
		const r = run('symbol,n\n\xff,1\n\xc3\xa9,2\n');
		assert.deepEqual(r.partitions, [
			{ key: ['\ufffd'], keyHex: ['ff'], file: '%FF.csv', rows: 1 },
			{ key: ['é'], file: '%C3%A9.csv', rows: 1 },
		]);
		assert.deepEqual(filesOf(r)['%FF.csv'], 'symbol,n\n\xff,1\n');
	});

	it('agrees with the csv-spectrum corpus on every record', () => {
		const dir = path.dirname(require.resolve('csv-spectrum/package.json'));
		const names = fs.readdirSync(path.join(dir, 'csvs'));
		assert.ok(names.length >= 12, `csv-spectrum has ${names.length} CSVs`);
		for (const name of names) {
			const csv = fs.readFileSync(path.join(dir, 'csvs', name));
			const parsed = JSON.parse(fs.readFileSync(path.join(dir, 'json', name.replace(/\.csv$/, '.json')), 'utf8'));
			const json = (Array.isArray(parsed) ? parsed : [parsed]) as Record<string, string>[];
			// Erratum in csv-spectrum 2.0.0: location_coordinates.json has a different phone number than its CSV.
			if (name === 'location_coordinates.csv') json[0]['Contact Phone Number'] = '2095257564';
			const recs = referenceRecords(csv, ',');
			const header = recs[0].fields;
			const objects = recs.slice(1).map((r) => Object.fromEntries(header.map((h, i) => [h, r.fields[i]])));
			assert.deepEqual(objects, json, name);
		}
	});

	it('never throws on generated cases and accounts for every record', () => {
		fc.assert(
			fc.property(csvCase, (c) => {
				const r = reference(c.input, {
					delimiter: c.delimiter,
					partitionBy: c.partitionBy,
					mapping: c.mapping,
					orders: c.orders,
					ext: c.ext,
					layout: c.layout,
					keepPartitionColumns: c.keepPartitionColumns,
					maxRowsPerFile: c.maxRowsPerFile,
					columns: c.columns,
				});
				assert.equal(r.rowsRead, r.rowsWritten + r.rowsRejected + r.rowsFilteredOut);
				assert.equal(
					r.partitions.reduce((n, p) => n + p.rows, 0),
					r.rowsWritten,
				);
				const all = r.partitions.flatMap((p) => (p.files ? p.files.map((f) => f.file) : p.file ? [p.file] : []));
				const names = new Set(all.map((f) => f.toLowerCase()));
				assert.equal(names.size, r.files.size, 'file names are unique ignoring case');
				for (const p of r.partitions) {
					if (c.maxRowsPerFile && p.files) {
						assert.ok(p.files.every((f) => f.rows >= 1 && f.rows <= (c.maxRowsPerFile as number)));
						assert.equal(
							p.files.reduce((n, f) => n + f.rows, 0),
							p.rows,
						);
					}
				}
			}),
			{ numRuns: 300 },
		);
	});
});
