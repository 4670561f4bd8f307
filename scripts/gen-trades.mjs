#!/usr/bin/env node
/**
 * Deterministic, realistic trades CSV for tests, samples and benchmarks.
 *
 *   node scripts/gen-trades.mjs --rows N --out FILE [--seed S] [--symbols K] [--days D]
 *                               [--orders FILE --order-symbols M] [--crlf]
 *
 * Columns: trade_id,timestamp,symbol,side,price,qty,venue,condition (~80 bytes a row).
 * Timestamps are ISO-8601 UTC, non-decreasing, inside the regular sessions (13:30–20:00 UTC) of D
 * consecutive weekdays starting Monday 2024-03-11. Symbols are Zipf-skewed (a few hot ones).
 * About 1% of rows quote a field holding commas (the venue or the condition), about 0.1% quote a
 * condition holding a line break (LF or CRLF, whatever the file's own line ending) and `""` quotes.
 *
 * Beside the CSV it writes `<out>.truth.json`: `{ rows, bytes, seed, symbols: { SYM: { rows, qty } } }`,
 * symbols in order of first appearance. With `--orders` it also writes an orders CSV
 * (order_id,symbol,side,qty,submitted_at) for M distinct symbols that have trades, spread over the
 * popularity ranks, plus one symbol (`NOTRADES`) that has none.
 *
 * The same bytes come out for the same options on any machine. Importable as an ES module:
 * `generateTrades(options)` writes files, `renderTrades(options)` returns strings.
 */
import { closeSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

/** Header of the trades CSV. */
export const TRADES_HEADER = 'trade_id,timestamp,symbol,side,price,qty,venue,condition';
/** Header of the orders CSV. */
export const ORDERS_HEADER = 'order_id,symbol,side,qty,submitted_at';
/** The orders symbol that never trades. */
export const NO_TRADES_SYMBOL = 'NOTRADES';

const SESSION_OPEN_MS = (13 * 60 + 30) * 60_000;
const SESSION_MS = 6.5 * 3_600_000;
const FIRST_DAY_MS = Date.UTC(2024, 2, 11);
const DAY_MS = 86_400_000;
const CHUNK_BYTES = 1 << 20;
// Longest row: fixed fields ~70 bytes plus the longest quoted venue and condition.
const ROW_MAX_BYTES = 512;

const VENUES = ['XNAS', 'XNYS', 'ARCX', 'BATS', 'EDGX', 'IEXG', 'MEMX', 'FINRA_TRF', 'DARK_POOL_1'];
const CONDITIONS = ['@', 'F', 'T', 'I', '@F', 'REGULAR', 'ODD_LOT', 'INTERMARKET_SWEEP', 'CLOSING_PRINT'];
const COMMA_VENUES = ['"DARK, POOL 2"', '"FINRA, TRF, CHX"'];
const COMMA_CONDITIONS = ['"@,F,I"', '"REGULAR, ODD_LOT"', '"T,Z"', '"SWEEP, ISO, F"'];
const BREAK_CONDITIONS = [
	'"late report ""corrected""\nsee note 7"',
	'"ref ""A,B""\r\nsecond line"',
	'"halted ""LULD""\r\n"',
	'"\nodd lot, ""net"""',
];

/** Small, fast, seedable PRNG (mulberry32): the same seed gives the same sequence everywhere. */
export function mulberry32(seed) {
	let a = seed | 0;
	return () => {
		a = (a + 0x6d2b79f5) | 0;
		let t = Math.imul(a ^ (a >>> 15), 1 | a);
		t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

function pad2(n) {
	return n < 10 ? '0' + n : '' + n;
}
function pad3(n) {
	return n < 10 ? '00' + n : n < 100 ? '0' + n : '' + n;
}
function pad4(n) {
	return n < 10 ? '000' + n : n < 100 ? '00' + n : n < 1000 ? '0' + n : '' + n;
}

/** `YYYY-MM-DD` of the `d`-th weekday from the first day (Monday 2024-03-11). */
function tradingDay(d) {
	const weeks = Math.floor(d / 5);
	return new Date(FIRST_DAY_MS + (weeks * 7 + (d % 5)) * DAY_MS).toISOString().slice(0, 10);
}

/** `HH:MM:SS.mmmZ` for milliseconds since midnight. */
function clock(ms) {
	const h = Math.floor(ms / 3_600_000);
	const m = Math.floor(ms / 60_000) % 60;
	const s = Math.floor(ms / 1000) % 60;
	return pad2(h) + ':' + pad2(m) + ':' + pad2(s) + '.' + pad3(ms % 1000) + 'Z';
}

/**
 * Normalised options with defaults.
 * @param {GenerateOptions} o
 */
function normalise(o) {
	const int = (v, d, name, min) => {
		const n = v === undefined ? d : Number(v);
		if (!Number.isInteger(n) || n < min) throw new Error(`gen-trades: ${name} must be an integer >= ${min}, got ${v}`);
		return n;
	};
	return {
		rows: int(o.rows, 400_000, 'rows', 0),
		seed: int(o.seed, 12345, 'seed', 0),
		symbols: int(o.symbols, 500, 'symbols', 1),
		days: int(o.days, 3, 'days', 1),
		orderSymbols: int(o.orderSymbols, 50, 'orderSymbols', 0),
		eol: o.crlf ? '\r\n' : '\n',
	};
}

/** Distinct 1–5 letter tickers, a few with a share class (`BRK.A`); never `NOTRADES`. */
function makeSymbols(rnd, count) {
	const letters = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
	const ri = (n) => Math.floor(rnd() * n);
	const out = [];
	const seen = new Set();
	while (out.length < count) {
		let s = '';
		for (let i = 0, n = 1 + ri(5); i < n; i++) s += letters[ri(26)];
		if (ri(40) === 0) s += '.' + letters[ri(3)];
		if (!seen.has(s)) {
			seen.add(s);
			out.push(s);
		}
	}
	return out;
}

/**
 * Yields the trades CSV as chunks of about 1 MiB and fills `truth` as it goes. Everything is ASCII.
 * The yielded Buffer is reused: consume it (write or copy) before asking for the next one.
 * @param {GenerateOptions} options
 * @param {Map<string, { rows: number, qty: number }>} truth
 * @returns {Generator<Buffer>}
 */
export function* tradeChunks(options, truth) {
	const { rows, seed, symbols: nsym, days, eol } = normalise(options);
	const rnd = mulberry32(seed);
	const ri = (n) => Math.floor(rnd() * n);
	const symbols = makeSymbols(rnd, nsym);

	// Zipf (s = 1.1) over popularity rank: rank 0 is the hottest symbol.
	const cdf = new Float64Array(nsym);
	let acc = 0;
	for (let i = 0; i < nsym; i++) {
		acc += 1 / (i + 1) ** 1.1;
		cdf[i] = acc;
	}
	for (let i = 0; i < nsym; i++) cdf[i] /= acc;
	const pick = () => {
		const u = rnd();
		let lo = 0;
		let hi = nsym - 1;
		while (lo < hi) {
			const mid = (lo + hi) >> 1;
			if (cdf[mid] < u) lo = mid + 1;
			else hi = mid;
		}
		return lo;
	};
	const basePrice = symbols.map(() => 5 + rnd() * 995);
	const stats = symbols.map(() => ({ rows: 0, qty: 0 }));

	const rowsPerDay = Math.ceil(rows / days) || 1;
	const meanStep = SESSION_MS / rowsPerDay;
	let day = -1;
	let dayPrefix = '';
	let ms = 0;

	const buf = Buffer.allocUnsafe(CHUNK_BYTES + ROW_MAX_BYTES);
	let pos = buf.latin1Write(TRADES_HEADER + eol, 0);
	for (let i = 0; i < rows; i++) {
		const d = Math.floor(i / rowsPerDay);
		if (d !== day) {
			day = d;
			dayPrefix = tradingDay(d) + 'T';
			ms = SESSION_OPEN_MS;
		} else {
			ms = Math.min(ms + Math.floor(rnd() * 2 * meanStep), SESSION_OPEN_MS + SESSION_MS - 1);
		}
		const si = pick();
		const sym = symbols[si];
		const qty = rnd() < 0.7 ? (1 + ri(100)) * 100 : 1 + ri(99_999);
		const ticks = Math.round(basePrice[si] * (1 + (rnd() - 0.5) * 0.02) * 10_000);
		const side = rnd() < 0.5 ? 'B' : 'S';
		let venue = VENUES[ri(VENUES.length)];
		let cond = CONDITIONS[ri(CONDITIONS.length)];
		const u = rnd();
		if (u < 0.001) cond = BREAK_CONDITIONS[ri(BREAK_CONDITIONS.length)];
		else if (u < 0.008) cond = COMMA_CONDITIONS[ri(COMMA_CONDITIONS.length)];
		else if (u < 0.011) venue = COMMA_VENUES[ri(COMMA_VENUES.length)];
		pos += buf.latin1Write(
			'TRD' +
				(1e12 + i) +
				',' +
				dayPrefix +
				clock(ms) +
				',' +
				sym +
				',' +
				side +
				',' +
				Math.floor(ticks / 10_000) +
				'.' +
				pad4(ticks % 10_000) +
				',' +
				qty +
				',' +
				venue +
				',' +
				cond +
				eol,
			pos,
		);
		const st = stats[si];
		if (st.rows === 0) truth.set(sym, st);
		st.rows++;
		st.qty += qty;
		if (pos >= CHUNK_BYTES) {
			yield buf.subarray(0, pos);
			pos = 0;
		}
	}
	yield buf.subarray(0, pos);
}

/**
 * The orders CSV for the symbols that traded (`truth`, in first-appearance order).
 * Picks `orderSymbols` distinct symbols spread over the popularity ranks, one to three orders each,
 * then one order for `NOTRADES`. Uses its own PRNG stream, so the trades never depend on it.
 * @param {GenerateOptions} options
 * @param {Map<string, { rows: number }>} truth
 */
export function renderOrders(options, truth) {
	const { seed, orderSymbols, days, eol } = normalise(options);
	const rnd = mulberry32(seed ^ 0x5eed0dd5);
	const byRows = [...truth.entries()].sort((a, b) => b[1].rows - a[1].rows || (a[0] < b[0] ? -1 : 1));
	const n = Math.min(orderSymbols, byRows.length);
	const chosen = [];
	for (let i = 0; i < n; i++) chosen.push(byRows[Math.floor((i * byRows.length) / n)][0]);
	chosen.push(NO_TRADES_SYMBOL);
	let out = ORDERS_HEADER + eol;
	let id = 1;
	for (const sym of chosen) {
		const count = sym === NO_TRADES_SYMBOL ? 1 : 1 + Math.floor(rnd() * 3);
		for (let k = 0; k < count; k++) {
			const at = tradingDay(Math.floor(rnd() * days)) + 'T' + clock(SESSION_OPEN_MS + Math.floor(rnd() * SESSION_MS));
			const qty = (1 + Math.floor(rnd() * 50)) * 100;
			out += `ORD${String(id++).padStart(6, '0')},${sym},${rnd() < 0.5 ? 'B' : 'S'},${qty},${at}${eol}`;
		}
	}
	return { csv: out, symbols: chosen };
}

function truthJson(rows, bytes, seed, truth) {
	return { rows, bytes, seed, symbols: Object.fromEntries(truth) };
}

/**
 * @typedef {object} GenerateOptions
 * @property {number} [rows] data rows (default 400,000)
 * @property {number} [seed] PRNG seed (default 12345)
 * @property {number} [symbols] distinct symbols to draw from (default 500)
 * @property {number} [days] trading days the timestamps span (default 3)
 * @property {boolean} [crlf] CRLF record endings instead of LF
 * @property {number} [orderSymbols] symbols with trades in the orders file (default 50)
 */

/**
 * @typedef {object} Truth
 * @property {number} rows data rows written
 * @property {number} bytes size of the CSV in bytes
 * @property {number} seed
 * @property {Record<string, { rows: number, qty: number }>} symbols per symbol, in first-appearance order
 */

/**
 * Generates the trades (and optionally orders) in memory. For small sizes (tests).
 * @param {GenerateOptions & { orders?: boolean }} options
 * @returns {{ csv: string, truth: Truth, orders: string | null, orderSymbols: string[] | null }}
 */
export function renderTrades(options = {}) {
	const o = normalise(options);
	const truth = new Map();
	let csv = '';
	for (const chunk of tradeChunks(options, truth)) csv += chunk.toString('latin1');
	const orders = options.orders ? renderOrders(options, truth) : null;
	return {
		csv,
		truth: truthJson(o.rows, Buffer.byteLength(csv), o.seed, truth),
		orders: orders?.csv ?? null,
		orderSymbols: orders?.symbols ?? null,
	};
}

/**
 * Writes the trades CSV to `out` (streaming, ~1 MiB at a time), `<out>.truth.json` beside it, and the
 * orders CSV to `orders` when given.
 * @param {GenerateOptions & { out: string, orders?: string }} options
 * @returns {Truth}
 */
export function generateTrades(options) {
	if (!options.out) throw new Error('gen-trades: out is required');
	const o = normalise(options);
	const truth = new Map();
	const fd = openSync(options.out, 'w');
	let bytes = 0;
	try {
		for (const chunk of tradeChunks(options, truth)) bytes += writeSync(fd, chunk);
	} finally {
		closeSync(fd);
	}
	const result = truthJson(o.rows, bytes, o.seed, truth);
	writeFileSync(`${options.out}.truth.json`, JSON.stringify(result, null, 1) + '\n');
	if (options.orders) writeFileSync(options.orders, renderOrders(options, truth).csv);
	return result;
}

function main() {
	const { values } = parseArgs({
		options: {
			rows: { type: 'string', default: '400000' },
			out: { type: 'string' },
			seed: { type: 'string', default: '12345' },
			symbols: { type: 'string', default: '500' },
			days: { type: 'string', default: '3' },
			orders: { type: 'string' },
			'order-symbols': { type: 'string', default: '50' },
			crlf: { type: 'boolean', default: false },
			help: { type: 'boolean', short: 'h', default: false },
		},
	});
	if (values.help || !values.out) {
		process.stderr.write(
			'usage: node scripts/gen-trades.mjs --rows N --out FILE [--seed S] [--symbols K] [--days D]\n' +
				'                                   [--orders FILE --order-symbols M] [--crlf]\n',
		);
		process.exit(values.help ? 0 : 2);
	}
	const started = performance.now();
	const truth = generateTrades({
		rows: Number(values.rows),
		out: values.out,
		seed: Number(values.seed),
		symbols: Number(values.symbols),
		days: Number(values.days),
		orders: values.orders,
		orderSymbols: Number(values['order-symbols']),
		crlf: values.crlf,
	});
	const seconds = (performance.now() - started) / 1000;
	console.log(
		JSON.stringify({
			out: values.out,
			rows: truth.rows,
			bytes: truth.bytes,
			symbols: Object.keys(truth.symbols).length,
			orders: values.orders ?? null,
			seconds: Number(seconds.toFixed(2)),
			mbPerSecond: Number((truth.bytes / 1e6 / seconds).toFixed(1)),
		}),
	);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
	try {
		main();
	} catch (err) {
		process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
		process.exit(2);
	}
}
