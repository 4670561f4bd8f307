import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse } from 'csv-parse/sync';
import { type GeneratorPrng, importGenerator } from './helpers/engine';

interface SymbolTruth {
	rows: number;
	qty: number;
}
interface Truth {
	rows: number;
	bytes: number;
	seed: number;
	symbols: Record<string, SymbolTruth>;
}
interface GenerateOptions {
	rows?: number;
	seed?: number;
	symbols?: number;
	days?: number;
	crlf?: boolean;
	orderSymbols?: number;
}
interface GeneratorModule extends GeneratorPrng {
	TRADES_HEADER: string;
	ORDERS_HEADER: string;
	NO_TRADES_SYMBOL: string;
	renderTrades(o?: GenerateOptions & { orders?: boolean }): {
		csv: string;
		truth: Truth;
		orders: string | null;
		orderSymbols: string[] | null;
	};
	generateTrades(o: GenerateOptions & { out: string; orders?: string }): Truth;
}

// Compiled to out/test/unit/: the repository root is three levels up.
const root = path.resolve(__dirname, '..', '..', '..');

type Row = Record<string, string>;
const parseTrades = (csv: string | Buffer, extra: Record<string, unknown> = {}): Row[] =>
	parse(csv, { columns: true, ...extra }) as Row[];

describe('scripts/gen-trades.mjs', () => {
	let gen: GeneratorModule;
	let tmp: string;

	before(async () => {
		gen = await importGenerator<GeneratorModule>();
		tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sweep-gen-'));
	});
	after(() => fs.rmSync(tmp, { recursive: true, force: true }));

	it('gives the same bytes for the same seed, in memory and on disk', () => {
		const a = gen.renderTrades({ rows: 20_000, seed: 7 });
		const b = gen.renderTrades({ rows: 20_000, seed: 7 });
		assert.equal(a.csv, b.csv);
		assert.deepEqual(a.truth, b.truth);

		const f1 = path.join(tmp, 'a.csv');
		const f2 = path.join(tmp, 'b.csv');
		const t1 = gen.generateTrades({ rows: 20_000, seed: 7, out: f1, orders: path.join(tmp, 'a.orders.csv') });
		gen.generateTrades({ rows: 20_000, seed: 7, out: f2, orders: path.join(tmp, 'b.orders.csv') });
		assert.ok(fs.readFileSync(f1).equals(fs.readFileSync(f2)));
		assert.ok(fs.readFileSync(path.join(tmp, 'a.orders.csv')).equals(fs.readFileSync(path.join(tmp, 'b.orders.csv'))));
		assert.equal(fs.readFileSync(f1, 'utf8'), a.csv, 'file and in-memory output differ');
		assert.deepEqual(JSON.parse(fs.readFileSync(`${f1}.truth.json`, 'utf8')), t1);
		assert.equal(t1.bytes, fs.statSync(f1).size);
	});

	it('gives different bytes for a different seed', () => {
		assert.notEqual(gen.renderTrades({ rows: 1000, seed: 1 }).csv, gen.renderTrades({ rows: 1000, seed: 2 }).csv);
	});

	it('writes a truth file whose rows and qty add up to what csv-parse reads', () => {
		const { csv, truth } = gen.renderTrades({ rows: 30_000, seed: 99, symbols: 200 });
		const records = parseTrades(csv);
		assert.equal(records.length, 30_000);
		assert.equal(truth.rows, 30_000);
		assert.deepEqual(Object.keys(records[0]), gen.TRADES_HEADER.split(','));

		const counted = new Map<string, SymbolTruth>();
		for (const r of records) {
			const s = counted.get(r.symbol) ?? { rows: 0, qty: 0 };
			s.rows++;
			s.qty += Number(r.qty);
			counted.set(r.symbol, s);
		}
		// Same symbols, same figures, and the truth lists them in order of first appearance.
		assert.deepEqual([...counted.keys()], Object.keys(truth.symbols));
		assert.deepEqual(Object.fromEntries(counted), truth.symbols);
		const sum = Object.values(truth.symbols).reduce((n, s) => n + s.rows, 0);
		assert.equal(sum, truth.rows);
	});

	it('quotes ~1% of rows with commas and ~0.1% with line breaks and escaped quotes', () => {
		const { csv } = gen.renderTrades({ rows: 100_000, seed: 3 });
		const records = parseTrades(csv);
		const withComma = records.filter((r) => r.condition.includes(',') || r.venue.includes(',')).length;
		const withBreak = records.filter((r) => /\r?\n/.test(r.condition));
		assert.ok(withComma > 700 && withComma < 1600, `rows with commas: ${withComma}`);
		assert.ok(withBreak.length > 50 && withBreak.length < 160, `rows with line breaks: ${withBreak.length}`);
		assert.ok(
			withBreak.some((r) => r.condition.includes('\r\n')),
			'a CRLF inside a field',
		);
		assert.ok(
			withBreak.some((r) => /[^\r]\n/.test(r.condition)),
			'a bare LF inside a field',
		);
		assert.ok(
			records.some((r) => r.condition.includes('"')),
			'an escaped quote',
		);
		assert.ok(csv.includes('""'));
		assert.ok(
			records.some((r) => r.venue.includes(',')),
			'a quoted field that is not the last one',
		);
	});

	it('ends every record with CRLF under crlf, keeping LF-only breaks inside quoted fields', () => {
		const { csv, truth } = gen.renderTrades({ rows: 20_000, seed: 5, crlf: true });
		assert.ok(csv.startsWith(`${gen.TRADES_HEADER}\r\n`));
		// With CRLF as the only record delimiter, a record ending in a bare LF would merge with the next.
		const records = parseTrades(csv, { record_delimiter: '\r\n' });
		assert.equal(records.length, truth.rows);
		assert.ok(records.every((r) => /^TRD\d{13}$/.test(r.trade_id) && r.condition !== undefined));
		assert.ok(records.some((r) => /[^\r]\n/.test(r.condition)));
	});

	it('writes ISO-8601 UTC timestamps, non-decreasing, over a few trading days', () => {
		const { csv } = gen.renderTrades({ rows: 50_000, seed: 11, days: 3 });
		const records = parseTrades(csv);
		let prev = '';
		const days = new Set<string>();
		for (const r of records) {
			assert.match(r.timestamp, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
			assert.equal(new Date(r.timestamp).toISOString(), r.timestamp);
			assert.ok(r.timestamp >= prev, `${r.timestamp} after ${prev}`);
			const hhmm = r.timestamp.slice(11, 16);
			assert.ok(hhmm >= '13:30' && hhmm < '20:00', r.timestamp);
			prev = r.timestamp;
			days.add(r.timestamp.slice(0, 10));
		}
		assert.deepEqual([...days], ['2024-03-11', '2024-03-12', '2024-03-13']);
		for (const d of days) assert.ok(![0, 6].includes(new Date(d).getUTCDay()), `${d} is a weekday`);
	});

	it('skews symbols: the hottest symbol has far more rows than the median one', () => {
		const { truth } = gen.renderTrades({ rows: 100_000, seed: 12345 });
		const rows = Object.values(truth.symbols)
			.map((s) => s.rows)
			.sort((a, b) => b - a);
		assert.ok(rows.length > 450 && rows.length <= 500, `symbols: ${rows.length}`);
		assert.ok(rows[0] > 20 * rows[Math.floor(rows.length / 2)], `top ${rows[0]}, median ${rows[rows.length >> 1]}`);
	});

	it('writes orders for distinct traded symbols plus one symbol without trades', () => {
		const { truth, orders, orderSymbols } = gen.renderTrades({ rows: 20_000, seed: 8, orders: true, orderSymbols: 25 });
		assert.ok(orders);
		assert.ok(orderSymbols);
		const records = parseTrades(orders);
		assert.deepEqual(Object.keys(records[0]), gen.ORDERS_HEADER.split(','));
		const symbols = [...new Set(records.map((r) => r.symbol))];
		assert.deepEqual(symbols, orderSymbols);
		assert.equal(symbols.length, 26);
		assert.equal(symbols.at(-1), gen.NO_TRADES_SYMBOL);
		assert.ok(!(gen.NO_TRADES_SYMBOL in truth.symbols));
		for (const s of symbols.slice(0, -1)) assert.ok(s in truth.symbols, `${s} has trades`);
		for (const r of records) {
			assert.match(r.order_id, /^ORD\d{6}$/);
			assert.ok(r.side === 'B' || r.side === 'S');
			assert.ok(Number(r.qty) > 0);
			assert.equal(new Date(r.submitted_at).toISOString(), r.submitted_at);
		}
	});

	it('reproduces the shipped sample byte for byte', () => {
		const sample = path.join(root, 'samples');
		const { csv, truth, orders } = gen.renderTrades({
			rows: 5000,
			seed: 20240311,
			symbols: 50,
			orders: true,
			orderSymbols: 20,
		});
		assert.equal(fs.readFileSync(path.join(sample, 'trades.csv'), 'utf8'), csv);
		assert.equal(fs.readFileSync(path.join(sample, 'orders.csv'), 'utf8'), orders);
		assert.deepEqual(JSON.parse(fs.readFileSync(path.join(sample, 'trades.csv.truth.json'), 'utf8')), truth);
	});

	it('rejects options that are not non-negative integers', () => {
		assert.throws(() => gen.renderTrades({ rows: -1 }), /rows/);
		assert.throws(() => gen.renderTrades({ symbols: 0 }), /symbols/);
		assert.throws(() => gen.renderTrades({ rows: 2.5 }), /rows/);
		assert.equal(gen.renderTrades({ rows: 0 }).csv, `${gen.TRADES_HEADER}\n`);
	});
});
