import * as fc from 'fast-check';

/**
 * Random CSV files for the property tests, in the dialect the reference models (valid quoting): quotes, the four
 * delimiters, bare CR, LF and CRLF inside fields and as record endings, empty, unicode and invalid-UTF-8 fields,
 * ragged rows, blank lines, a BOM, with or without a final line break, an unterminated quote at the end, hostile and
 * case-colliding keys, column mapping, `date(COL)` keys and an orders file.
 *
 * Text is handled as "byte strings" (latin1: one char = one byte) so invalid UTF-8 can be generated too.
 */

/** One generated extraction: the input bytes and the options to run it with. */
export interface CsvCase {
	input: Buffer;
	ext: '.csv' | '.tsv';
	delimiter: string;
	partitionBy: string[];
	mapping: Record<string, string>;
	orders: Buffer | null;
	/** Output options (README "Output for other engines"); absent means the default. */
	layout?: 'flat' | 'hive';
	keepPartitionColumns?: boolean;
	maxRowsPerFile?: number | null;
	columns?: string[] | null;
}

const u = (s: string) => Buffer.from(s, 'utf8').toString('latin1');

/** Pieces field values are made of. */
const TOKENS = [
	'a',
	'b',
	'Z',
	'0',
	'9',
	'.',
	'_',
	'-',
	' ',
	'"',
	',',
	';',
	'\t',
	'|',
	'\r',
	'\n',
	'\r\n',
	'/',
	'%',
	'+',
	'~',
	'\\',
	':',
	u('é'),
	u('日'),
	u('😀'),
	'\xff',
	'\xc3',
];

/** Key values that break naive file naming. */
const HOSTILE = [
	'',
	'.',
	'..',
	'../x',
	'/abs',
	'C:\\x',
	'CON',
	'con.txt',
	'nul',
	'a:b',
	'_x',
	'.hidden',
	'trailing. ',
	'AAPL',
	'aapl',
	'Aapl',
	'L'.repeat(130),
	u('é'.repeat(50)),
];

const DATES = [
	'2024-03-15T10:00:00Z',
	'2024-03-15',
	'2024-03-15T23:59:59.999+01:00',
	'2023-12-31T00:00:00Z',
	'2024-02-29',
	'x',
	'',
	'15/03/2024',
	'2024-3-5',
	'2024-13-01',
	'2024-02-30',
	'2023-02-29T00:00:00Z',
	'2000-02-29',
	'1900-02-29',
	// A good day's first ten bytes followed by what may not follow a day, and by what may.
	'2024-03-15x',
	'2024-03-15 12:00',
	'2024-04-31 12:00',
	'2024-03-15 07',
	'2024-03-15t05:00',
	'2024-03-15T24:00:00',
	'2024-03-15T1',
	'2024-03-15T09Z',
];

const HEADER_SUFFIXES = ['', ' x', u('é'), ',y', '"q', u('日'), ';z', '\tt', '|p', '\xff'];
const CANONICAL = ['symbol', 'Sym,bol', 'k"ey', u('ключ'), 'a;b'];

const value = (maxTokens: number) =>
	fc.array(fc.constantFrom(...TOKENS), { maxLength: maxTokens }).map((parts) => parts.join(''));

const keyValue = fc.oneof(
	{ weight: 3, arbitrary: value(4) },
	{ weight: 2, arbitrary: fc.constantFrom(...HOSTILE) },
	{ weight: 2, arbitrary: fc.constantFrom('A', 'B', 'MSFT', 'x.y') },
);

interface RowSpec {
	kind: 'normal' | 'ragged' | 'blank';
	keyPicks: number[];
	datePick: number;
	values: string[];
	quoteMask: boolean[];
	raggedDelta: number;
	eol: '\n' | '\r\n';
	/** Text after the closing quote of one field (the record is rejected), or null. */
	garbage: { at: number; text: string } | null;
}

const rowSpec: fc.Arbitrary<RowSpec> = fc.record({
	kind: fc.constantFrom<RowSpec['kind']>('normal', 'normal', 'normal', 'normal', 'normal', 'normal', 'ragged', 'blank'),
	keyPicks: fc.array(fc.nat(), { minLength: 2, maxLength: 2 }),
	datePick: fc.nat(),
	values: fc.array(value(5), { minLength: 6, maxLength: 6 }),
	quoteMask: fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }),
	raggedDelta: fc.constantFrom(-2, -1, 1, 2),
	eol: fc.constantFrom<'\n' | '\r\n'>('\n', '\r\n'),
	garbage: fc.oneof(
		{ weight: 12, arbitrary: fc.constant(null) },
		{ weight: 1, arbitrary: fc.record({ at: fc.nat(), text: value(3).map((t) => `g${t}`) }) },
	),
});

/** Encodes one value as a field, quoting when it must be (or when asked to). */
export function encodeField(v: string, delimiter: string, isLast: boolean, forceQuote: boolean): string {
	const must = v.includes(delimiter) || v.includes('\n') || v.startsWith('"') || (isLast && v.endsWith('\r'));
	return must || forceQuote ? `"${v.replace(/"/g, '""')}"` : v;
}

function encodeRecord(
	values: string[],
	delimiter: string,
	quoteMask: boolean[],
	garbage: RowSpec['garbage'] = null,
): string {
	const g = garbage ? garbage.at % values.length : -1;
	return values
		.map((v, i) =>
			i === g
				? `"${v.replace(/"/g, '""')}"${garbage?.text}`
				: encodeField(v, delimiter, i === values.length - 1, quoteMask[i % quoteMask.length]),
		)
		.join(delimiter);
}

/** `arb` one time in `n`, else null. */
const sometimes = <T>(n: number, arb: fc.Arbitrary<T>): fc.Arbitrary<T | null> =>
	fc.oneof({ weight: n - 1, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: arb });

const spec = fc.record({
	delimiter: fc.constantFrom(',', ';', '\t', '|'),
	ext: fc.constantFrom<'.csv' | '.tsv'>('.csv', '.tsv'),
	ncols: fc.integer({ min: 1, max: 4 }),
	bom: fc.integer({ min: 0, max: 5 }).map((n) => n === 0),
	headerSuffixes: fc.array(fc.constantFrom(...HEADER_SUFFIXES), { minLength: 4, maxLength: 4 }),
	headerQuoteMask: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
	headerEol: fc.constantFrom<'\n' | '\r\n'>('\n', '\r\n'),
	keyCols: fc.uniqueArray(fc.nat({ max: 3 }), { minLength: 1, maxLength: 2 }),
	keyPool: fc.array(keyValue, { minLength: 1, maxLength: 6 }),
	caseVariants: fc.boolean(),
	mapKey: sometimes(3, fc.constantFrom(...CANONICAL)),
	dateCol: sometimes(4, fc.nat({ max: 3 })),
	rows: fc.array(rowSpec, { maxLength: 30 }),
	finalEol: fc.boolean(),
	tail: sometimes(
		6,
		fc.record({ withKey: fc.boolean(), body: value(6), eol: fc.constantFrom('', '', '\n', '\r\n', '\r') }),
	),
	layout: fc.constantFrom<'flat' | 'hive'>('flat', 'hive'),
	keep: fc.boolean(),
	cap: sometimes(2, fc.integer({ min: 1, max: 4 })),
	select: sometimes(3, fc.array(fc.nat({ max: 3 }), { minLength: 1, maxLength: 4 })),
	grain: fc.constantFrom('date', 'year', 'month', 'hour'),
	alias: fc.boolean(),
	hash: sometimes(4, fc.integer({ min: 1, max: 5 })),
	orders: sometimes(
		3,
		fc.record({
			picks: fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 5 }),
			absent: fc.boolean(),
			eol: fc.constantFrom('\n', '\r\n'),
		}),
	),
});

type Spec = typeof spec extends fc.Arbitrary<infer T> ? T : never;

function build(s: Spec): CsvCase {
	const d = s.delimiter;
	const n = s.ncols;
	const keyCols = s.keyCols.filter((k) => k < n);
	if (keyCols.length === 0) keyCols.push(0);
	const dateCol = s.dateCol !== null && s.dateCol < n && !keyCols.includes(s.dateCol) ? s.dateCol : null;
	// A name that is not valid UTF-8 cannot be asked for by name: only other columns get one.
	const names = Array.from({ length: n }, (_, i) => {
		const suffix = s.headerSuffixes[i];
		const named = keyCols.includes(i) || i === dateCol;
		return `c${i}${named && suffix === '\xff' ? '' : suffix}`;
	});
	let pool = s.keyPool;
	if (s.caseVariants) {
		const upper = (v: string) => v.replace(/[a-z]/g, (c) => c.toUpperCase());
		const lower = (v: string) => v.replace(/[A-Z]/g, (c) => c.toLowerCase());
		pool = [...pool, ...pool.map(upper), ...pool.map(lower)];
	}

	const mapping: Record<string, string> = {};
	const outNames = [...names];
	if (s.mapKey !== null) {
		mapping[s.mapKey] = names[keyCols[0]];
		outNames[keyCols[0]] = s.mapKey;
	}
	// Names are byte strings here; the options take text.
	const text8 = (v: string) => Buffer.from(v, 'latin1').toString('utf8');
	const partitionBy = keyCols.map((k) => text8(outNames[k]));
	if (dateCol !== null) {
		partitionBy.push(`${s.grain}(${text8(outNames[dateCol])})${s.alias ? ' as day' : ''}`);
	}
	if (s.hash !== null) partitionBy.push(`hash(${text8(outNames[keyCols[0]])}, ${s.hash})`);
	// A selection of columns (by name; names that are not valid UTF-8 cannot be asked for).
	let columns: string[] | null = null;
	if (s.select !== null) {
		const picked = [...new Set(s.select.filter((i) => i < n && !outNames[i].includes('\xff')))];
		if (picked.length > 0) columns = picked.map((i) => text8(outNames[i]));
	}
	// Hive layout leaves the plain partition columns out; keep them when nothing else would be left.
	let keep = s.keep;
	if (s.layout === 'hive' && !keep) {
		const chosen = columns ?? outNames.map(text8);
		const plain = new Set(keyCols.map((k) => text8(outNames[k])));
		if (chosen.every((c) => plain.has(c))) keep = true;
	}

	const header = encodeRecord(names, d, s.headerQuoteMask);
	const rows = s.rows;
	const hasTail = s.tail !== null;
	let text = s.bom ? '\xef\xbb\xbf' : '';
	text += header + (rows.length === 0 && !s.finalEol && !hasTail ? '' : s.headerEol);
	rows.forEach((r, i) => {
		const last = i === rows.length - 1;
		const eol = last && !s.finalEol && !hasTail ? '' : r.eol;
		if (r.kind === 'blank') {
			text += eol;
			return;
		}
		const width = r.kind === 'ragged' ? Math.max(1, n + r.raggedDelta) : n;
		const values: string[] = [];
		for (let c = 0; c < width; c++) {
			const ki = keyCols.indexOf(c);
			if (ki >= 0) values.push(pool[r.keyPicks[ki] % pool.length]);
			else if (c === dateCol) values.push(DATES[r.datePick % DATES.length]);
			else values.push(r.values[c % r.values.length]);
		}
		text += encodeRecord(values, d, r.quoteMask, r.garbage) + eol;
	});
	if (s.tail) {
		// An unterminated quote at the end of the file, sometimes followed by a final line ending (inside the quote, so
		// kept in the reject's raw text: README "Rejects").
		const body = s.tail.body.replace(/"/g, '').replace(/[\r\n]+$/, '');
		text += `${s.tail.withKey ? `${encodeField(pool[0], d, false, false)}${d}` : ''}"${body}x${s.tail.eol}`;
	}

	let orders: Buffer | null = null;
	if (s.orders) {
		const o = s.orders;
		const cols = keyCols.map((k) => names[k]);
		if (dateCol !== null) cols.push(names[dateCol]);
		// Three extra columns keep the sniffed delimiter unambiguous (',' splits every record into the most fields).
		let t = encodeRecord([...cols, 'e1', 'e2', 'e3'], ',', [false]) + o.eol;
		const picks = o.absent ? [...o.picks, [-1, -1] as [number, number]] : o.picks;
		for (const [a, b] of picks) {
			const vals = keyCols.map((_, i) => (a < 0 ? 'absent-key' : pool[(i === 0 ? a : b) % pool.length]));
			// Values the grain accepts (an orders file with a value that is not a date is refused).
			const valid = s.grain === 'hour' ? [DATES[0], DATES[2], DATES[3]] : DATES.slice(0, 5);
			if (dateCol !== null) vals.push(valid[(a < 0 ? 0 : a + b) % valid.length]);
			t += encodeRecord([...vals, 'x', 'y', 'z'], ',', [false]) + o.eol;
		}
		orders = Buffer.from(t, 'latin1');
	}
	const mapping8 = Object.fromEntries(Object.entries(mapping).map(([k, v]) => [text8(k), text8(v)]));
	return {
		input: Buffer.from(text, 'latin1'),
		ext: s.ext,
		delimiter: d,
		partitionBy,
		mapping: mapping8,
		orders,
		layout: s.layout,
		keepPartitionColumns: keep,
		maxRowsPerFile: s.cap,
		columns,
	};
}

/** The arbitrary the property tests draw from. */
export const csvCase: fc.Arbitrary<CsvCase> = spec.map(build);

/** A readable account of a case, for failure messages. */
export function describeCase(c: CsvCase): string {
	return [
		`input (latin1 JSON): ${JSON.stringify(c.input.toString('latin1'))}`,
		`ext ${c.ext}, delimiter ${JSON.stringify(c.delimiter)}, partitionBy ${JSON.stringify(c.partitionBy)}, mapping ${JSON.stringify(c.mapping)}`,
		`orders: ${c.orders ? JSON.stringify(c.orders.toString('latin1')) : 'none'}`,
		`layout ${c.layout ?? 'flat'}, keepPartitionColumns ${c.keepPartitionColumns ?? false}, maxRowsPerFile ${c.maxRowsPerFile ?? null}, columns ${JSON.stringify(c.columns ?? null)}`,
	].join('\n');
}
