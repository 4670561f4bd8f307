import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { parse } from 'csv-parse/sync';
import { describeHead, readPreviewHead, readRows } from '../../src/preview/head';
import { startProfile } from '../../src/preview/index';
import { findRecordStart, profileFile, recordStarts } from '../../src/preview/sampler';
import type { ProfileSnapshot } from '../../src/preview/types';
import { type GeneratorPrng, generateTrades, importGenerator } from './helpers/engine';
import { makeTmp, removeTmp } from './helpers/fsutil';

/** The generator's seedable PRNG, loaded from its ES module in before(). */
let mulberry32: GeneratorPrng['mulberry32'];
before(async () => {
	({ mulberry32 } = await importGenerator());
});

/**
 * A CSV built to trip a re-synchroniser: many quoted fields holding line breaks (LF and CRLF), `""`, delimiters,
 * and quoted text that looks exactly like whole records of the right width (`"x\n1,2,3,4\ny"`).
 */
function trickyCsv(records: number, seed: number): Buffer {
	const rnd = mulberry32(seed);
	const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)];
	const plain = () => pick(['a', 'bb', '12', '3.5', '', 'x y', '2024-03-11T13:30:00Z', 'z"q']);
	const quoted = () =>
		pick([
			'"a,b"',
			'"line\nbreak"',
			'"crlf\r\nbreak"',
			'"say ""hi"""',
			'"\n"',
			'"fake\n1,2,3,4\nrecord"',
			'"fake\r\n"",x,y,z\r\n"',
			'"a\n\n\nb"',
			'""',
		]);
	const lines = ['w,x,y,z\n'];
	for (let i = 0; i < records; i++) {
		const fields = [0, 1, 2, 3].map(() => (rnd() < 0.4 ? quoted() : plain()));
		lines.push(fields.join(',') + (rnd() < 0.3 ? '\r\n' : '\n'));
	}
	return Buffer.from(lines.join(''), 'latin1');
}

describe('preview sampler: re-synchronising to a record start', () => {
	it('finds a true record start after 2,000 random offsets into a file full of quoted line breaks', () => {
		const bytes = trickyCsv(4000, 99);
		const dataStart = bytes.indexOf(0x0a) + 1;
		const truth = new Set(recordStarts(bytes, dataStart, 0x2c));
		// The oracle agrees with csv-parse on the number of records.
		const parsed = parse(bytes.toString('latin1'), { relax_quotes: true, record_delimiter: ['\r\n', '\n'] });
		assert.equal(truth.size, parsed.length - 1);
		const rnd = mulberry32(7);
		let found = 0;
		for (let i = 0; i < 2000; i++) {
			const at = dataStart + Math.floor(rnd() * (bytes.length - dataStart - 4096));
			const len = 256 + Math.floor(rnd() * 4096);
			const s = findRecordStart(bytes.subarray(at, at + len), 0x2c, 4);
			if (s === -1) continue;
			found++;
			assert.ok(truth.has(at + s), `offset ${at}+${s} is not a record start (window ${len} bytes)`);
		}
		assert.ok(found > 1800, `a record start was found in only ${found} of 2,000 windows`);
	});

	it('in a file without quotes, takes the byte after the first line break', () => {
		const bytes = Buffer.from('a,b\n1,2\n3,4\n5,6\n');
		assert.equal(findRecordStart(bytes.subarray(5), 0x2c, 2), 3); // "2\n|3,4\n…"
	});

	it('gives -1 when a window holds no line break', () => {
		assert.equal(findRecordStart(Buffer.from('abc,def'), 0x2c, 2), -1);
	});
});

describe('preview sampler: estimates on files with known answers', function () {
	this.timeout(120_000);
	let tmp: string;
	let file: string;
	let truth: ReturnType<typeof generateTrades>;
	before(() => {
		tmp = makeTmp('sweep-preview-');
		file = path.join(tmp, 'trades.csv');
		truth = generateTrades(file, 200_000, ['--seed', '11']);
	});
	after(() => removeTmp(tmp));

	const column = (s: ProfileSnapshot, name: string) => s.columns.find((c) => c.name === name)!;

	it('samples blocks spread over the file: rows within 2 %, symbols within 15 %, the right types and hints', async () => {
		const updates: ProfileSnapshot[] = [];
		const s = await profileFile(file, { headBytes: 256 * 1024, blocks: 24, blockBytes: 64 * 1024, updateMs: 0 }, (u) =>
			updates.push(u),
		);
		assert.equal(s.exact, false);
		assert.equal(s.done, true);
		assert.equal(s.blocksDone, 24);
		assert.equal(s.blocksSkipped, 0);
		assert.equal(s.malformed, 0);
		assert.ok(updates.length >= 3 && updates[0].blocksDone === 0, 'progress snapshots arrive as the profile fills in');
		assert.ok(
			Math.abs(s.rows.estimate - truth.rows) / truth.rows < 0.02,
			`rows ≈ ${s.rows.estimate}, truly ${truth.rows}`,
		);
		assert.ok(
			s.rows.low <= truth.rows && truth.rows <= s.rows.high,
			`${truth.rows} outside [${s.rows.low}, ${s.rows.high}]`,
		);
		const symbols = Object.keys(truth.symbols).length;
		const sym = column(s, 'symbol');
		assert.ok(
			Math.abs(sym.distinctEstimate - symbols) / symbols < 0.15,
			`symbols ≈ ${sym.distinctEstimate}, truly ${symbols}`,
		);
		assert.equal(sym.hint.level, 'good');
		const hottest = Object.entries(truth.symbols).sort((a, b) => b[1].rows - a[1].rows)[0][0];
		assert.equal(sym.top[0].value, hottest);
		assert.equal(column(s, 'trade_id').hint.level, 'bad');
		assert.ok(column(s, 'trade_id').distinctEstimate > truth.rows * 0.8);
		assert.equal(column(s, 'timestamp').type, 'datetime');
		assert.equal(column(s, 'timestamp').days, 3);
		assert.equal(column(s, 'price').type, 'decimal');
		assert.equal(column(s, 'qty').type, 'integer');
		assert.equal(column(s, 'side').distinctEstimate, 2);
		assert.equal(column(s, 'side').type, 'text');
	});

	it('reads a file that fits in the budget whole: every figure exact', async () => {
		const s = await profileFile(file, {}, () => {});
		assert.equal(s.exact, true);
		assert.equal(s.rows.estimate, truth.rows);
		assert.equal(s.rows.exact, true);
		const sym = column(s, 'symbol');
		assert.equal(sym.distinctEstimate, Object.keys(truth.symbols).length);
		assert.equal(sym.distinctExact, true);
		for (const t of sym.top) assert.equal(t.count, truth.symbols[t.value].rows, t.value);
		assert.equal(sym.values, truth.rows);
	});

	it('runs in a worker thread and can be cancelled', async () => {
		const script = path.join(__dirname, '..', '..', 'src', 'preview', 'previewWorker.js');
		const seen: ProfileSnapshot[] = [];
		const run = startProfile(
			file,
			{ headBytes: 64 * 1024, blocks: 8, blockBytes: 16 * 1024 },
			(s) => seen.push(s),
			(m) => assert.fail(m),
			script,
		);
		assert.equal(await run.finished, 'done');
		assert.equal(seen.at(-1)?.done, true);
		const errors: string[] = [];
		const slow = startProfile(
			file,
			{},
			() => {},
			(m) => errors.push(m),
			script,
		);
		slow.cancel();
		assert.equal(await slow.finished, 'cancelled');
		assert.equal(errors.length, 0);
		const missing = startProfile(
			path.join(tmp, 'nope.csv'),
			{},
			() => {},
			(m) => errors.push(m),
			script,
		);
		assert.equal(await missing.finished, 'failed');
		assert.match(errors[0], /does not exist/);
	});

	it('pages rows on from where the head stopped, with line numbers across quoted line breaks', async () => {
		const head = await readPreviewHead(file, { pageRows: 50 });
		assert.equal(head.rows.length, 50);
		assert.deepEqual(head.header, ['trade_id', 'timestamp', 'symbol', 'side', 'price', 'qty', 'venue', 'condition']);
		let next = head.next;
		const all = [...head.rows];
		while (next && all.length < 5000) {
			const page = await readRows(file, next, 1000, ',', 8, { size: head.size, mtimeMs: head.mtimeMs });
			all.push(...page.rows);
			next = page.next;
		}
		const text = fs.readFileSync(file, 'utf8');
		const expected = parse(text, { to: 5001 }) as string[][];
		for (let i = 0; i < 5000; i++) {
			assert.deepEqual(all[i].fields, expected[i + 1], `record ${i}`);
		}
		// Lines: the record after one holding a quoted line break starts further down.
		const multi = all.findIndex((r) => r.fields.some((f) => f.includes('\n')));
		assert.ok(multi >= 0, 'the sample has a record with a quoted line break');
		const breaks = all[multi].fields.join('').split('\n').length - 1;
		assert.equal(all[multi + 1].line, all[multi].line + 1 + breaks);
	});
});

describe('preview head: what it finds, and bad input in one sentence', () => {
	let tmp: string;
	before(() => {
		tmp = makeTmp('sweep-preview-head-');
	});
	after(() => removeTmp(tmp));
	const write = (name: string, content: string | Buffer) => {
		const f = path.join(tmp, name);
		fs.writeFileSync(f, content);
		return f;
	};

	it('the dialect: delimiter, CRLF, BOM, quoting, encoding', async () => {
		const f = write('semi.csv', '\ufeffa;b;c\r\n1;"x;y";é\r\n2;"multi\r\nline";z\r\n');
		const h = await readPreviewHead(f);
		assert.equal(h.problem, undefined);
		assert.deepEqual(h.header, ['a', 'b', 'c']);
		assert.deepEqual(h.dialect, {
			delimiter: ';',
			sniffed: true,
			lineEndings: 'CRLF',
			bom: true,
			encoding: 'UTF-8',
			quotedRecords: 2,
			multilineRecords: 1,
		});
		assert.deepEqual(
			h.rows.map((r) => [r.line, r.fields]),
			[
				[2, ['1', 'x;y', 'é']],
				[3, ['2', 'multi\r\nline', 'z']],
			],
		);
		assert.equal(h.wholeFile, true);
		assert.equal(h.next, null);
	});

	it('marks records a run would reject, and an unterminated quote at the end', async () => {
		const f = write('ragged.csv', 'a,b\n1,2\n1,2,3\n"x"y,2\n5,"open\n');
		const h = await readPreviewHead(f);
		assert.equal(h.problem, undefined);
		assert.deepEqual(
			h.rows.map((r) => r.problem ?? ''),
			[
				'',
				'3 fields where the header has 2: a run rejects this record',
				'text after a closing quote: a run rejects this record',
				'an unterminated quoted field: a run rejects this record',
			],
		);
		assert.match(h.notes[0], /line 5/);
	});

	const problems: [string, string | Buffer, string, RegExp][] = [
		['empty.csv', '', 'empty', /is empty/],
		['header-only.csv', 'a,b,c\n', 'header-only', /header and no records/],
		['utf16.csv', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('a,b\n1,2\n', 'utf16le')]), 'utf16', /UTF-16/],
		['utf16-nobom.csv', Buffer.from('a,b\n1,2\n3,4\n', 'utf16le'), 'utf16', /UTF-16/],
		['image.csv', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]), 'binary', /PNG image/],
		['noise.csv', Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256)), 'binary', /looks binary/],
		['data.csv.bz2', Buffer.from('BZh91AY&SY'), 'compressed', /bzip2-compressed/],
	];
	for (const [name, content, kind, message] of problems) {
		it(`${name}: ${kind}, Run disabled`, async () => {
			const f = write(name, content);
			const h = await readPreviewHead(f);
			assert.equal(h.problem?.kind, kind);
			assert.equal(h.problem?.blocksRun, true);
			assert.match(h.problem!.message, message);
			assert.ok(h.problem!.message.includes(f), 'the sentence names the file');
			assert.ok(!h.problem!.message.includes('\n'), 'one line');
		});
	}

	it('a runaway quote in the first MB: Run disabled with the line', async () => {
		const rows = ['a,b,c', '1,2,3', '4,"never closes,6'];
		for (let i = 0; i < 60_000; i++) rows.push(`${i},x,y`);
		const f = write('runaway.csv', rows.join('\n'));
		const h = await readPreviewHead(f, { headBytes: 256 * 1024 });
		assert.equal(h.problem?.kind, 'runaway-quote');
		assert.equal(h.problem?.blocksRun, true);
		assert.match(h.problem!.message, /line 3/);
		assert.equal(h.rows.length, 1, 'the records before it still show');
	});

	it('a header that never ends within the head is the engine\u2019s own error', async () => {
		const f = write('runaway-header.csv', `"a,b\n${'x,y\n'.repeat(100_000)}`);
		const h = await readPreviewHead(f, { headBytes: 64 * 1024 });
		assert.equal(h.problem?.kind, 'runaway-quote');
		assert.match(h.problem!.message, /header \(line 1\) does not end within the first 0.1 MB/);
	});

	it('a gzip file is read through the engine\u2019s decompressing source: head, rows, profile', async () => {
		const text = `sym,px\n${Array.from({ length: 3000 }, (_, i) => `S${i % 7},${i}.5`).join('\n')}\n`;
		const f = write('small.csv.gz', zlib.gzipSync(text));
		const h = await readPreviewHead(f, { pageRows: 10 });
		assert.equal(h.problem, undefined);
		assert.equal(h.compression, 'gzip');
		assert.deepEqual(h.header, ['sym', 'px']);
		assert.deepEqual(h.rows[0].fields, ['S0', '0.5']);
		const page = await readRows(f, h.next!, 5000, ',', 2, { size: h.size, mtimeMs: h.mtimeMs });
		assert.equal(page.rows.length, 2990);
		assert.equal(page.next, null);
		const s = await profileFile(f, {}, () => {});
		assert.equal(s.exact, true);
		assert.equal(s.rows.estimate, 3000);
		assert.equal(s.columns[0].distinctEstimate, 7);
		const bad = write('broken.csv.gz', zlib.gzipSync(text).subarray(0, 40));
		const b = await readPreviewHead(bad);
		assert.equal(b.problem?.kind, 'unreadable');
		assert.match(b.problem!.message, /gzip/);
	});

	it('a file that is gone', async () => {
		const h = await readPreviewHead(path.join(tmp, 'gone.csv'));
		assert.equal(h.problem?.kind, 'missing');
		await assert.rejects(
			readRows(path.join(tmp, 'gone.csv'), { offset: 0, line: 1 }, 10, ',', 2, { size: 1, mtimeMs: 1 }),
			/does not exist/,
		);
	});

	it('describeHead is what readPreviewHead uses (same rows for the same bytes)', async () => {
		const bytes = Buffer.from('x|y\n1|2\n');
		const h = await describeHead('mem.csv', bytes.length, 0, bytes, null, 10);
		assert.equal(h.dialect?.delimiter, '|');
		assert.deepEqual(h.rows[0].fields, ['1', '2']);
	});
});
