import * as assert from 'node:assert/strict';
import { ColumnStats, classify, hash32, Kmv, partitionHint } from '../../src/preview/profile';

const bytes = (s: string) => Buffer.from(s, 'utf8').toString('latin1');

describe('preview profile', () => {
	it('classifies values as the engine reads them (numbers as Number(), dates as date())', () => {
		const kinds = ['empty', 'integer', 'decimal', 'date', 'datetime', 'text'];
		const table: [string, string][] = [
			['', 'empty'],
			['0', 'integer'],
			['-12', 'integer'],
			['+7', 'integer'],
			['3.25', 'decimal'],
			['.5', 'decimal'],
			['5.', 'decimal'],
			['1e6', 'decimal'],
			['-2.5E-3', 'decimal'],
			['2024-03-15', 'date'],
			['2024-03-15T13:30:00.000Z', 'datetime'],
			['2024-03-15 13:30', 'datetime'],
			['2024-13-15', 'text'],
			['2024-03-15x', 'text'],
			['1,5', 'text'],
			['-', 'text'],
			['.', 'text'],
			['e5', 'text'],
			['1e', 'text'],
			['AAPL', 'text'],
			[' 1', 'text'],
		];
		for (const [v, kind] of table) assert.equal(kinds[classify(v)], kind, JSON.stringify(v));
	});

	it('the KMV sketch: exact below k, within 10 % at 200,000 distinct values', () => {
		const small = new Kmv(1024);
		for (let i = 0; i < 500; i++) small.add(hash32(`v${i % 300}`));
		assert.equal(small.estimate(), 300);
		const big = new Kmv(1024);
		for (let i = 0; i < 200_000; i++) big.add(hash32(`TRD${1_000_000 + i}`));
		const e = big.estimate();
		assert.ok(Math.abs(e - 200_000) / 200_000 < 0.1, `estimate ${e}`);
	});

	it('a column: type, empties, min/max (numeric for numbers), top values in order, exact when all was read', () => {
		const c = new ColumnStats(0, 'price');
		for (const v of ['10.5', '9', '', '100', '9', '', '9']) c.add(v);
		const p = c.snapshot(7, true);
		assert.equal(p.type, 'decimal');
		assert.equal(p.empty, 2);
		assert.equal(p.min, '9');
		assert.equal(p.max, '100');
		assert.deepEqual(p.top, [
			{ value: '9', count: 3 },
			{ value: '', count: 2 },
			{ value: '10.5', count: 1 },
			{ value: '100', count: 1 },
		]);
		assert.equal(p.distinctEstimate, 4);
		assert.equal(p.distinctExact, true);
	});

	it('a mixed column is text, with the shares of numbers and dates; values keep their bytes', () => {
		const c = new ColumnStats(1, 'x');
		for (const v of ['1', '2', '2024-01-02', 'é', 'abc']) c.add(bytes(v));
		const p = c.snapshot(5, true);
		assert.equal(p.type, 'text');
		assert.equal(p.numericShare, 0.4);
		assert.equal(p.dateShare, 0.2);
		assert.equal(p.max, 'é');
		assert.equal(p.days, undefined);
		const d = new ColumnStats(2, 'ts');
		for (const v of ['2024-01-02T10:00Z', '2024-01-02T11:00Z', '2024-01-03T09:00Z']) d.add(v);
		const q = d.snapshot(3, true);
		assert.equal(q.type, 'datetime');
		assert.equal(q.days, 2);
		assert.equal(q.min, '2024-01-02T10:00Z');
	});

	it('from a sample: GEE scales the values seen once; a near-unique column is taken as unique', () => {
		const c = new ColumnStats(0, 'symbol');
		// 1,000 sampled rows of 50 values, each seen 20 times: nothing seen once, so the estimate stays 50.
		for (let i = 0; i < 1000; i++) c.add(`S${i % 50}`);
		assert.equal(c.snapshot(1_000_000, false).distinctEstimate, 50);
		const u = new ColumnStats(1, 'id');
		for (let i = 0; i < 30_000; i++) u.add(`ID${i}`);
		const p = u.snapshot(1_000_000, false);
		assert.ok(p.distinctEstimate > 900_000, `estimate ${p.distinctEstimate}`);
		assert.equal(p.hint.level, 'bad');
		assert.equal(p.topExact, false);
	});

	it('partition hints: single, good, fair, bad', () => {
		assert.equal(partitionHint(1, 1000, 1, true).level, 'single');
		assert.equal(partitionHint(500, 100_000, 500, false).level, 'good');
		assert.match(partitionHint(500, 100_000, 500, false).text, /≈ 500 values: a good partition column/);
		assert.equal(partitionHint(20_000, 100_000, 20_000, false).level, 'fair');
		assert.equal(partitionHint(2_000_000, 100_000, 90_000, false).level, 'bad');
		assert.match(partitionHint(2_000_000, 100_000, 90_000, false).text, /nearly one per row/);
	});
});
