/**
 * The test oracle: a deliberately simple extraction built on csv-parse (parse everything, group, write) that the
 * engine's output must match byte for byte. It follows README "What extraction does", README "What Sweep guarantees" and the lead's decisions:
 *
 * - records end at LF or CRLF (a bare CR is data), `""` is a quote, a quote inside an unquoted field is data;
 * - each record is written as its original bytes; a final record without a line ending gets the header's;
 * - a record whose field count differs from the header's, or an unterminated quote at the end of the file, is
 *   rejected with the 1-based line where it starts.
 *
 * It works on bytes: the input is decoded as latin1, so every byte is one character and every slice maps back to
 * the exact input bytes (delimiters, quotes, CR and LF are ASCII, so parsing is unaffected).
 *
 * Text after a closing quote (`"ab"c`) rejects the record. csv-parse's `relax_quotes` keeps such a field as data
 * and goes on unquoted, which puts the record's end where Sweep puts it (the next LF outside quotes); the reference
 * then recognises the record as malformed by matching its text against the dialect's grammar. A header or orders
 * file with such a field is outside what the reference models (ReferenceUnsupported).
 */
import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import { parse } from 'csv-parse/sync';

/** What the reference needs to know; mirrors the relevant `ExtractOptions`. */
export interface ReferenceOptions {
	/** One-character delimiter (the reference does not sniff). */
	delimiter: string;
	/** Output column names or `date(COL)`; default `['symbol']`. */
	partitionBy?: string[];
	/** canonical -> source. */
	mapping?: Record<string, string>;
	/** Contents of the orders file, or null. */
	orders?: Buffer | null;
	/** Delimiter of the orders file; default ','. */
	ordersDelimiter?: string;
	/** Extension of partition files, with the dot; default '.csv'. */
	ext?: string;
	/** 'flat' (default) or 'hive'. */
	layout?: 'flat' | 'hive';
	/** Hive: keep the plain partition columns in the files. */
	keepPartitionColumns?: boolean;
	/** At most this many records per file (files numbered). */
	maxRowsPerFile?: number | null;
	/** Output columns to write, in this order. */
	columns?: string[] | null;
}

/** A rejected record as the engine must report it. */
export interface ReferenceReject {
	/** 1-based physical line where the record starts. */
	line: number;
	/** The record's original bytes without its line ending. */
	raw: Buffer;
}

/** One manifest partition as the reference predicts it (stats are checked elsewhere). */
export interface ReferencePartition {
	key: string[];
	keyHex?: string[];
	file: string | null;
	rows: number;
	/** With maxRowsPerFile: each file and its records. */
	files?: { file: string; rows: number }[];
}

/** Everything the reference predicts about one run. */
export interface ReferenceResult {
	/** The header's fields as strings (UTF-8). */
	header: string[];
	/** Columns of the written files (after mapping, selection and, in hive layout, partition columns left out). */
	columns: string[];
	delimiter: string;
	/** Partition file path (relative, `/`) -> exact bytes. `_rejects.csv` is not in here (its reasons are free text). */
	files: Map<string, Buffer>;
	rejects: ReferenceReject[];
	partitions: ReferencePartition[];
	rowsRead: number;
	rowsWritten: number;
	rowsRejected: number;
	rowsFilteredOut: number;
	/** Distinct order keys, or null without an orders file. */
	ordersKeys: number | null;
}

/** Thrown when the input is something the reference does not model (the test must then spell out its expectation). */
export class ReferenceUnsupported extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'ReferenceUnsupported';
	}
}

/** A record found by the reference: its fields (latin1 strings = bytes) and its exact bytes incl. line ending. */
interface RefRecord {
	fields: string[];
	/** Offset of the record's first byte in the input. */
	start: number;
	/** The record's bytes including its line ending (latin1 string). */
	text: string;
	/** True for the tail of a file that ends inside an open quote. */
	unterminated: boolean;
}

const UTF8_BOM = '\xef\xbb\xbf';

function escapeRegExp(s: string): string {
	return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Splits a whole file (latin1 string, BOM already removed) into records with csv-parse. Each record's bytes come
 * from csv-parse's `info.bytes` (the offset after the record and its delimiter), because `raw` keeps only the
 * first character of a CRLF record delimiter.
 */
function parseRecords(text: string, delimiter: string, offset: number): RefRecord[] {
	const out: RefRecord[] = [];
	let unterminated = false;
	const rows = parse(Buffer.from(text, 'latin1'), {
		encoding: 'latin1',
		delimiter,
		record_delimiter: ['\r\n', '\n'],
		quote: '"',
		escape: '"',
		relax_quotes: true,
		relax_column_count: true,
		skip_empty_lines: false,
		raw: true,
		info: true,
		skip_records_with_error: true,
		on_skip: (err: Error | undefined) => {
			const code = (err as { code?: string } | undefined)?.code;
			if (code !== 'CSV_QUOTE_NOT_CLOSED') {
				throw new ReferenceUnsupported(`csv-parse skipped a record: ${code}: ${err?.message}`);
			}
			unterminated = true;
		},
	}) as unknown as { record: string[]; raw: string; info: { bytes: number } }[];
	let pos = 0;
	for (const row of rows) {
		const end = row.info.bytes;
		const recText = text.slice(pos, end);
		// csv-parse's raw is the record text plus the first character of its delimiter: a cheap self-check.
		if (!recText.startsWith(row.raw.replace(/\r$/, '')) && !(recText === '\r\n' && row.raw === '\r')) {
			throw new Error(`reference: raw ${JSON.stringify(row.raw)} does not start ${JSON.stringify(recText)}`);
		}
		out.push({ fields: row.record, start: offset + pos, text: recText, unterminated: false });
		pos = end;
	}
	if (unterminated) {
		out.push({ fields: [], start: offset + pos, text: text.slice(pos), unterminated: true });
	} else if (pos !== text.length) {
		throw new Error(`reference: csv-parse stopped at ${pos} of ${text.length} without an error`);
	}
	return out;
}

/**
 * The records of a file, with the rule for a CR that is the very last byte (outside quotes): it is a line ending
 * (a truncated CRLF), not data. The reference models it by completing the CRLF and parsing again; if that leaves
 * the last record unterminated, the CR was inside quotes and the file is parsed as it is. `eofCr` marks the last
 * record when the rule applied: it is then written as its text without the ending, plus the header's.
 */
function parseWithEofCr(text: string, delimiter: string, offset: number): { records: RefRecord[]; eofCr: boolean } {
	if (text.endsWith('\r')) {
		const records = parseRecords(`${text}\n`, delimiter, offset);
		if (records.length > 0 && !records[records.length - 1].unterminated) return { records, eofCr: true };
	}
	return { records: parseRecords(text, delimiter, offset), eofCr: false };
}

/**
 * Whether a record is in the dialect: every field either unquoted (not starting with a quote, no LF) or a complete
 * RFC 4180 quoted field followed by a delimiter or the record's end. False means text after a closing quote.
 */
function hasValidQuoting(rec: RefRecord, delimiter: string): boolean {
	if (rec.unterminated) return true;
	const d = escapeRegExp(delimiter);
	const quoted = '"(?:[^"]|"")*"';
	const unquoted = `(?:[^"${d}\\n][^${d}\\n]*)?`;
	const field = `(?:${quoted}|${unquoted})`;
	return new RegExp(`^${field}(?:${d}${field})*(?:\\r?\\n)?$`).test(rec.text);
}

function assertValidQuoting(rec: RefRecord, delimiter: string, what: string): void {
	if (!hasValidQuoting(rec, delimiter)) {
		throw new ReferenceUnsupported(`${what} ${JSON.stringify(rec.text)} has text after a closing quote`);
	}
}

/**
 * The records of a file as the reference reads them: fields as UTF-8 strings, the 1-based line where each starts,
 * and whether it is the unterminated tail of the file. For checking the reference itself.
 */
export function referenceRecords(
	input: Buffer,
	delimiter: string,
): { fields: string[]; line: number; unterminated: boolean; validQuoting: boolean }[] {
	const { text, offset } = stripBom(input.toString('latin1'));
	const { records } = parseWithEofCr(text, delimiter, offset);
	return records.map((r) => ({
		fields: r.fields.map(utf8),
		line: input.subarray(0, r.start).filter((b) => b === 10).length + 1,
		unterminated: r.unterminated,
		validQuoting: hasValidQuoting(r, delimiter),
	}));
}

function lineEnding(text: string): '' | '\n' | '\r\n' {
	if (text.endsWith('\r\n')) return '\r\n';
	if (text.endsWith('\n')) return '\n';
	return '';
}

/** A latin1 "byte string" as UTF-8 text. */
function utf8(s: string): string {
	return Buffer.from(s, 'latin1').toString('utf8');
}

/** Quotes an output header name only when it must be (delimiter, quote, CR or LF). */
export function quoteName(name: string, delimiter: string): string {
	if (name.includes(delimiter) || /["\r\n]/.test(name)) return `"${name.replace(/"/g, '""')}"`;
	return name;
}

// A Windows device name, alone or before a dot (`CON.txt` is the console too).
const DEVICE = /^(CON|PRN|AUX|NUL|COM[1-9]|LPT[1-9])(?=\.|$)/i;
const SAFE_BYTE = /^[A-Za-z0-9._-]$/;

/** README "What extraction does", "File names", for one key value (its bytes), before joining and length/case handling. */
export function encodeKeyValue(value: Buffer): string {
	if (value.length === 0) return '~empty';
	let s = '';
	for (const b of value) {
		const c = String.fromCharCode(b);
		s += b < 0x80 && SAFE_BYTE.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
	}
	if (s.startsWith('_')) s = `%5F${s.slice(1)}`;
	else if (s.startsWith('.')) s = `%2E${s.slice(1)}`;
	if (s.endsWith('.')) s = `${s.slice(0, -1)}%2E`;
	return s.replace(DEVICE, '$1~');
}

/**
 * The base file name (no extension, no case-collision suffix) of a key: values encoded and joined with `+`; over
 * 120 bytes, cut to 100 (less when that would split a `%XX` escape) and ended with `~` + 8 hex digits of SHA-1 of
 * the values joined by a NUL byte (for one value: the value's bytes).
 */
export function baseFileName(values: Buffer[]): string {
	const name = values.map(encodeKeyValue).join('+');
	if (Buffer.byteLength(name) <= 120) return name;
	let cut = name.slice(0, 100);
	const m = /%[0-9A-F]?$/.exec(cut);
	if (m) cut = cut.slice(0, m.index);
	const hash = createHash('sha1').update(keyHashInput(values)).digest('hex').slice(0, 8);
	return `${cut}~${hash}`;
}

/** The bytes whose SHA-1 ends a shortened name. */
export function keyHashInput(values: Buffer[]): Buffer {
	const parts: Buffer[] = [];
	values.forEach((v, i) => {
		if (i > 0) parts.push(Buffer.from([0]));
		parts.push(v);
	});
	return Buffer.concat(parts);
}

/** Assigns file names to keys in order of first appearance, adding `~2`, `~3`… to names equal ignoring case. */
export class FileNamer {
	private readonly seen = new Map<string, number>();
	constructor(private readonly ext: string) {}

	/** The next name for a new key (call once per distinct key, in order of first appearance). */
	name(values: Buffer[]): string {
		const base = baseFileName(values);
		const lower = base.toLowerCase();
		const n = (this.seen.get(lower) ?? 0) + 1;
		this.seen.set(lower, n);
		return `${n === 1 ? base : `${base}~${n}`}${this.ext}`;
	}
}

/** The `YYYY-MM-DD` that starts an ISO-8601 value and is a real calendar day, or null. */
export function isoDay(value: string): string | null {
	const m = /^(\d{4})-(\d{2})-(\d{2})(?=$|[Tt Z+-])/.exec(value);
	if (!m) return null;
	const month = Number(m[2]);
	const day = Number(m[3]);
	if (month < 1 || month > 12 || day < 1) return null;
	// A real calendar day: JavaScript's proleptic Gregorian calendar must give back the same day of the month.
	const t = new Date(0);
	t.setUTCFullYear(Number(m[1]), month - 1, day);
	if (t.getUTCDate() !== day) return null;
	return `${m[1]}-${m[2]}-${m[3]}`;
}

type Kind = 'value' | 'date' | 'year' | 'month' | 'hour' | 'hash';

interface KeySpec {
	/** Column index in the header. */
	index: number;
	kind: Kind;
	buckets: number;
	/** Partition (hive folder) name. */
	name: string;
	column: string;
}

/** `COL`, `date(COL)`, `year(COL)`, `month(COL)`, `hour(COL)`, `hash(COL, N)`, each optionally ` as NAME`. */
export function parseSpec(p: string): { column: string; kind: Kind; buckets: number; name: string } {
	const m = /^(.*?)(?:\s+as\s+([A-Za-z_][A-Za-z0-9_]*))?$/.exec(p.trim()) as RegExpExecArray;
	const body = m[1];
	const g = /^(date|year|month|hour)\((.*)\)$/.exec(body);
	const h = /^hash\((.*),\s*(\d+)\)$/.exec(body);
	const column = g ? g[2].trim() : h ? h[1].trim() : body;
	const kind: Kind = g ? (g[1] as Kind) : h ? 'hash' : 'value';
	const name = m[2] ?? (kind === 'value' ? column : `${column}_${kind}`);
	return { column, kind, buckets: h ? Number(h[2]) : 0, name };
}

/** Resolves `partitionBy` against output names; throws (like the engine's `missing-column`) when one is missing. */
function keySpecs(partitionBy: string[], names: string[]): KeySpec[] {
	return partitionBy.map((p) => {
		const s = parseSpec(p);
		const index = names.indexOf(s.column);
		if (index < 0) throw new Error(`reference: missing column ${s.column}`);
		return { index, ...s };
	});
}

/** FNV-1a, 32 bits, written with BigInt arithmetic (independent of the engine's Math.imul). */
export function fnv1a(bytes: Buffer): number {
	let h = 0x811c9dc5n;
	for (const b of bytes) h = ((h ^ BigInt(b)) * 0x01000193n) % 0x100000000n;
	return Number(h);
}

/** The `YYYY-MM-DDTHH` of a value, or null: a valid day, then T, t or a space, an hour 00-23, then the end or `:.,Zz+-`. */
export function isoHour(value: string): string | null {
	const m = /^(\d{4}-\d{2}-\d{2})[Tt ](\d{2})(?=$|[:.,Zz+-])/.exec(value);
	if (!m || isoDay(m[1]) === null || Number(m[2]) > 23) return null;
	return `${m[1]}T${m[2]}`;
}

/** One key value (latin1) a spec takes from a field value (latin1), or null when the grain does not apply. */
function derive(s: KeySpec, v: string): string | null {
	const text = utf8(v);
	switch (s.kind) {
		case 'value':
			return v;
		case 'hash':
			return String(fnv1a(Buffer.from(v, 'latin1')) % s.buckets);
		case 'hour':
			return isoHour(text);
		default: {
			const d = isoDay(text);
			if (d === null) return null;
			return d.slice(0, s.kind === 'year' ? 4 : s.kind === 'month' ? 7 : 10);
		}
	}
}

/** Output names after mapping (canonical -> source). */
function mapNames(header: string[], mapping: Record<string, string>): string[] {
	const names = [...header];
	for (const [canonical, source] of Object.entries(mapping)) {
		const i = header.indexOf(source);
		if (i < 0) throw new Error(`reference: mapped column ${source} missing`);
		names[i] = canonical;
	}
	return names;
}

/** Key values (latin1 strings) of a record, or null when a date column does not start with a date. */
function keyOf(fields: string[], specs: KeySpec[]): string[] | null {
	const out: string[] = [];
	for (const s of specs) {
		const d = derive(s, fields[s.index]);
		if (d === null) return null;
		out.push(d);
	}
	return out;
}

function stripBom(text: string): { text: string; offset: number } {
	return text.startsWith(UTF8_BOM) ? { text: text.slice(3), offset: 3 } : { text, offset: 0 };
}

/** Distinct keys of an orders file (latin1 JSON of the values), in order of first appearance. */
function orderKeys(orders: Buffer, delimiter: string, partitionBy: string[], mapping: Record<string, string>) {
	const { text, offset } = stripBom(orders.toString('latin1'));
	const records = parseRecords(text, delimiter, offset);
	for (const r of records) assertValidQuoting(r, delimiter, 'orders record');
	if (records.length === 0) throw new Error('reference: empty orders file');
	const names = mapNames(records[0].fields.map(utf8), mapping);
	const specs = keySpecs(partitionBy, names);
	const keys = new Map<string, string[]>();
	for (const rec of records.slice(1)) {
		if (rec.unterminated || rec.fields.length !== names.length) continue;
		const key = keyOf(rec.fields, specs);
		if (key === null) continue;
		const id = JSON.stringify(key);
		if (!keys.has(id)) keys.set(id, key);
	}
	return keys;
}

const HIVE_CHARS = new Set([...'/\\=%: #?*"\'[]{}^<>|']);
const HIVE_NULL = '__HIVE_DEFAULT_PARTITION__';

/** A value (its bytes) after `name=` in a hive folder (README "Hive layout"). */
export function hiveValue(value: Buffer, allLetters = false): string {
	if (value.length === 0) return HIVE_NULL;
	// One piece per byte of the value.
	const pieces = [...value].map((b, i) => {
		const c = String.fromCharCode(b);
		const encode =
			b < 0x20 ||
			b >= 0x7f ||
			HIVE_CHARS.has(c) ||
			(i === value.length - 1 && c === '.') ||
			(allLetters && /[A-Za-z]/.test(c));
		return encode ? `%${b.toString(16).toUpperCase().padStart(2, '0')}` : c;
	});
	if (value.toString('latin1') === HIVE_NULL) pieces[0] = '%5F';
	const s = pieces.join('');
	if (s.length <= 120) return s;
	// The longest prefix of whole pieces within 100 characters that does not end inside a UTF-8 character (the
	// byte after it is not a continuation byte).
	let n = 0;
	let len = 0;
	while (n < pieces.length && len + pieces[n].length <= 100) len += pieces[n++].length;
	while (n > 0 && n < value.length && value[n] >= 0x80 && value[n] <= 0xbf) n--;
	return `${pieces.slice(0, n).join('')}~${createHash('sha1').update(value).digest('hex').slice(0, 8)}`;
}

/** Hive folder paths of keys in order of first appearance; a sibling equal ignoring case gets its letters encoded. */
export class HiveNamer {
	private readonly folders = new Map<string, string>();
	private readonly taken = new Map<string, string[]>();
	constructor(private readonly names: string[]) {}

	stem(values: Buffer[]): string {
		const path: string[] = [];
		values.forEach((v, i) => {
			const parent = path.join('/');
			const id = JSON.stringify([parent, v.toString('latin1')]);
			let folder = this.folders.get(id);
			if (folder === undefined) {
				const taken = this.taken.get(parent) ?? [];
				this.taken.set(parent, taken);
				const name = hiveValue(Buffer.from(this.names[i], 'utf8'));
				folder = `${name}=${hiveValue(v)}`;
				if (taken.includes(folder.toLowerCase())) folder = `${name}=${hiveValue(v, true)}`;
				if (taken.includes(folder.toLowerCase())) throw new Error('reference: hive names still collide');
				taken.push(folder.toLowerCase());
				this.folders.set(id, folder);
			}
			path.push(folder);
		});
		return path.join('/');
	}
}

/** The fields of a record body (no line ending) as their original text, quotes included. */
export function rawFields(body: string, d: string): string[] {
	const out: string[] = [];
	let i = 0;
	for (;;) {
		let j: number;
		if (body[i] === '"') {
			j = i + 1;
			for (;;) {
				const q = body.indexOf('"', j);
				if (body[q + 1] === '"') j = q + 2;
				else {
					j = q + 1;
					break;
				}
			}
		} else {
			j = body.indexOf(d, i);
			if (j < 0) j = body.length;
		}
		out.push(body.slice(i, j));
		i = j;
		if (i >= body.length) return out;
		i++;
	}
}

/**
 * Computes what `extract` must produce for `input` (the whole file's bytes): partition files, rejects, manifest
 * figures. Throws `ReferenceUnsupported` for inputs outside the dialect it models.
 */
export function reference(input: Buffer, opts: ReferenceOptions): ReferenceResult {
	const delimiter = opts.delimiter;
	const partitionBy = opts.partitionBy ?? ['symbol'];
	const mapping = opts.mapping ?? {};
	const ext = opts.ext ?? '.csv';
	const { text, offset } = stripBom(input.toString('latin1'));
	const { records, eofCr } = parseWithEofCr(text, delimiter, offset);
	if (records.length === 0 || records[0].unterminated) throw new ReferenceUnsupported('no header');
	assertValidQuoting(records[0], delimiter, 'header');

	const headerRec = records[0];
	const header = headerRec.fields.map(utf8);
	const columns = mapNames(header, mapping);
	const specs = keySpecs(partitionBy, columns);
	const eol = (records.length === 1 && eofCr ? '' : lineEnding(headerRec.text)) || '\n';
	// Output names as bytes: a mapped name is the canonical name's UTF-8, any other keeps the header's own bytes
	// (even when they are not valid UTF-8: bytes pass through unchanged).
	const latin1 = (t: string) => Buffer.from(t, 'utf8').toString('latin1');
	const mapped = new Set(Object.values(mapping).map((source) => header.indexOf(source)));
	const nameBytes = headerRec.fields.map((f, i) => (mapped.has(i) ? latin1(columns[i]) : f));
	const layout = opts.layout ?? 'flat';
	// The written columns: the selection (or all), then in hive layout without plain partition columns.
	let outIdx = opts.columns ? opts.columns.map((c) => columns.indexOf(c)) : columns.map((_, i) => i);
	if (outIdx.some((i) => i < 0)) throw new Error('reference: a selected column is missing');
	if (layout === 'hive' && !opts.keepPartitionColumns) {
		const plain = new Set(specs.filter((k) => k.kind === 'value').map((k) => k.index));
		outIdx = outIdx.filter((i) => !plain.has(i));
	}
	if (outIdx.length === 0) throw new Error('reference: no columns left');
	const whole = outIdx.length === columns.length && outIdx.every((v, i) => v === i);
	const headerLine = Buffer.from(outIdx.map((i) => quoteName(nameBytes[i], delimiter)).join(delimiter) + eol, 'latin1');
	const orders = opts.orders ? orderKeys(opts.orders, opts.ordersDelimiter ?? ',', partitionBy, mapping) : null;

	// Line numbers: count LFs before each record.
	let lf = 0;
	let scanned = 0;
	const lineAt = (start: number): number => {
		for (; scanned < start; scanned++) if (input[scanned] === 10) lf++;
		return lf + 1;
	};

	const rejects: ReferenceReject[] = [];
	const groups = new Map<string, { key: string[]; chunks: Buffer[]; rows: number }>();
	let rowsRead = 0;
	let rowsFilteredOut = 0;
	for (const rec of records.slice(1)) {
		rowsRead++;
		const line = lineAt(rec.start);
		// The last record under the CR-at-the-end rule: its text ends with the completed CRLF, which is not its own.
		const last = eofCr && rec === records[records.length - 1];
		const ending = last ? '' : lineEnding(rec.text);
		const body = last ? rec.text.slice(0, -2) : rec.text.slice(0, rec.text.length - ending.length);
		if (rec.unterminated || rec.fields.length !== header.length || !hasValidQuoting(rec, delimiter)) {
			rejects.push({ line, raw: Buffer.from(rec.unterminated ? rec.text : body, 'latin1') });
			continue;
		}
		const key = keyOf(rec.fields, specs);
		if (key === null) {
			rejects.push({ line, raw: Buffer.from(body, 'latin1') });
			continue;
		}
		const id = JSON.stringify(key);
		if (orders && !orders.has(id)) {
			rowsFilteredOut++;
			continue;
		}
		let g = groups.get(id);
		if (!g) {
			g = { key, chunks: [], rows: 0 };
			groups.set(id, g);
		}
		g.rows++;
		const written = whole ? body : ((f) => outIdx.map((i) => f[i]).join(delimiter))(rawFields(body, delimiter));
		g.chunks.push(Buffer.from(written + (ending || eol), 'latin1'));
	}

	const namer = new FileNamer('');
	const hive = new HiveNamer(specs.map((k) => k.name));
	const files = new Map<string, Buffer>();
	const partitions: ReferencePartition[] = [];
	const describe = (key: string[]): Pick<ReferencePartition, 'key' | 'keyHex'> => {
		const bufs = key.map((k) => Buffer.from(k, 'latin1'));
		const p: Pick<ReferencePartition, 'key' | 'keyHex'> = { key: bufs.map((b) => b.toString('utf8')) };
		if (bufs.some((b) => !isUtf8(b))) p.keyHex = bufs.map((b) => b.toString('hex'));
		return p;
	};
	const cap = opts.maxRowsPerFile ?? null;
	for (const g of groups.values()) {
		const values = g.key.map((k) => Buffer.from(k, 'latin1'));
		const stem = layout === 'hive' ? hive.stem(values) : namer.name(values);
		const fileName = (part: number | null) => {
			const n = part === null ? '' : String(part).padStart(5, '0');
			if (layout === 'hive') return part === null ? `${stem}/data${ext}` : `${stem}/part-${n}${ext}`;
			return part === null ? `${stem}${ext}` : `${stem}-${n}${ext}`;
		};
		if (cap === null) {
			const file = fileName(null);
			files.set(file, Buffer.concat([headerLine, ...g.chunks]));
			partitions.push({ ...describe(g.key), file, rows: g.rows });
		} else {
			const list: { file: string; rows: number }[] = [];
			for (let i = 0; i < g.chunks.length; i += cap) {
				const file = fileName(list.length + 1);
				const recs = g.chunks.slice(i, i + cap);
				files.set(file, Buffer.concat([headerLine, ...recs]));
				list.push({ file, rows: recs.length });
			}
			partitions.push({ ...describe(g.key), file: list[0].file, rows: g.rows, files: list });
		}
	}
	if (orders) {
		for (const [id, key] of orders) {
			if (!groups.has(id)) partitions.push({ ...describe(key), file: null, rows: 0 });
		}
	}
	const rowsWritten = [...groups.values()].reduce((n, g) => n + g.rows, 0);
	return {
		header,
		columns: outIdx.map((i) => utf8(nameBytes[i])),
		delimiter,
		files,
		rejects,
		partitions,
		rowsRead,
		rowsWritten,
		rowsRejected: rejects.length,
		rowsFilteredOut,
		ordersKeys: orders ? orders.size : null,
	};
}
