import { accept, type Checked, refuse } from './checked';
import { MAX_HASH_BUCKETS } from './limits';
import { formatCount } from './show';

/**
 * Partition specs, the grammar of `--partition-by`, `sweep.partitionBy` and the engine's `partitionBy`
 * (docs/rules.md "Partition specs"):
 *
 *     SPEC := COL | FN(COL) | hash(COL, N)   [ as NAME ]
 *     FN   := date | year | month | hour     (function names and `as` in any case: Date(ts) is date(ts))
 *
 * `COL` is an output column name (after the column mapping) and is matched exactly, case included; everything
 * between the parentheses is the column (blanks around it trimmed). A name that looks like a call (`word(…)`)
 * is a call: rename such a column with the mapping. NAME names the partition level (a hive folder `NAME=value`)
 * and defaults to {@link defaultPartitionName}.
 */

/** What a spec computes from its column: the value itself, or a function of it. */
export type PartitionFn = 'value' | 'date' | 'year' | 'month' | 'hour' | 'hash';

/** One parsed partition spec. */
export interface PartitionSpec {
	/** The spec as written (blanks around it trimmed): `symbol`, `date(timestamp)`, `hash(id, 8) as bucket`. */
	spec: string;
	/** The output column it reads. */
	column: string;
	fn: PartitionFn;
	/** `hash(COL, N)`: N, from 1 to {@link MAX_HASH_BUCKETS}. */
	buckets?: number;
	/** The level's name: the `as` name, or {@link defaultPartitionName}. */
	name: string;
}

/** The functions of the grammar, as written in a spec. */
export const PARTITION_FUNCTIONS: readonly Exclude<PartitionFn, 'value'>[] = ['date', 'year', 'month', 'hour', 'hash'];

/**
 * The functions the engine computes today. The parser refuses the others with "not supported yet" in every layer
 * alike, so a setting is never accepted that a run would then refuse; adding one here is all the parser needs.
 */
export const SUPPORTED_PARTITION_FUNCTIONS: ReadonlySet<PartitionFn> = new Set<PartitionFn>([
	'value',
	'date',
	'year',
	'month',
	'hour',
	'hash',
]);

/** Default level name: the column for a plain value, else `COL_FN` (`timestamp_date`, `id_hash`). */
export function defaultPartitionName(fn: PartitionFn, column: string): string {
	return fn === 'value' ? column : `${column}_${fn}`;
}

/** What an `as` name may be: letters, digits, `_`, `.`, `-`, starting with a letter or digit; up to 64 characters. */
const NAME = /^[\p{L}\p{N}][\p{L}\p{N}_.-]{0,63}$/u;
const AS_SUFFIX = /^(.*?)\s+as\s+(\S+)$/is;
const CALL = /^([A-Za-z_][A-Za-z0-9_]*)\s*\((.*)\)$/s;

/**
 * Parses one spec. The problem, when refused, starts with the spec: `hash(id, 0): N must be a whole number from 1 to
 * 100,000 (got 0)`. `supported` is for tests of the grammar ahead of the engine.
 */
export function parsePartitionSpec(
	text: string,
	supported: ReadonlySet<PartitionFn> = SUPPORTED_PARTITION_FUNCTIONS,
): Checked<PartitionSpec> {
	const spec = text.trim();
	if (spec === '') return refuse('an empty column name');
	let head = spec;
	let asName: string | undefined;
	const as = AS_SUFFIX.exec(spec);
	if (as) {
		head = as[1].trim();
		asName = as[2];
		if (!NAME.test(asName)) {
			return refuse(
				`${spec}: ${JSON.stringify(asName)} is not a valid name (letters, digits, _ . -, starting with a letter or digit)`,
			);
		}
		if (head === '') return refuse(`${spec}: the column is missing before "as"`);
	}
	let fn: PartitionFn = 'value';
	let column = head;
	let buckets: number | undefined;
	const call = CALL.exec(head);
	if (call) {
		const name = call[1].toLowerCase();
		const fnName = PARTITION_FUNCTIONS.find((f) => f === name);
		if (fnName === undefined) {
			return refuse(
				`${spec}: unknown function ${call[1]}(); the functions are ${PARTITION_FUNCTIONS.map((f) => `${f}()`).join(', ')}`,
			);
		}
		fn = fnName;
		column = call[2].trim();
		if (fn === 'hash') {
			const comma = column.lastIndexOf(',');
			if (comma < 0) return refuse(`${spec}: hash needs a bucket count, as in hash(COL, N)`);
			const n = column.slice(comma + 1).trim();
			column = column.slice(0, comma).trim();
			buckets = /^\d+$/.test(n) ? Number(n) : Number.NaN;
			if (!(buckets >= 1 && buckets <= MAX_HASH_BUCKETS)) {
				return refuse(
					`${spec}: N must be a whole number from 1 to ${formatCount(MAX_HASH_BUCKETS)} (got ${n || 'nothing'})`,
				);
			}
		}
		if (column === '') return refuse(`${spec}: the column is missing`);
	}
	if (!supported.has(fn)) return refuse(`${spec}: ${fn}() is not supported yet`);
	const parsed: PartitionSpec = { spec, column, fn, name: asName ?? defaultPartitionName(fn, column) };
	if (buckets !== undefined) parsed.buckets = buckets;
	return accept(parsed);
}

/**
 * Parses a list of specs: at least one, each valid, no two with the same name (ignoring case: the names become
 * folder names, and file systems and DuckDB may ignore case). An empty list is refused; callers that have a default
 * (`DEFAULT_PARTITION_BY`) use it before calling.
 */
export function parsePartitionList(specs: readonly string[]): Checked<PartitionSpec[]> {
	if (specs.length === 0) return refuse('no column given');
	const out: PartitionSpec[] = [];
	const byName = new Map<string, PartitionSpec>();
	for (const text of specs) {
		const r = parsePartitionSpec(text);
		if (!r.ok) return r;
		const p = r.value;
		const other = byName.get(p.name.toLowerCase());
		if (other !== undefined) {
			return refuse(
				other.spec === p.spec
					? `${p.spec} is given twice`
					: `${other.spec} and ${p.spec} are both named ${p.name}; rename one with "as NAME"`,
			);
		}
		byName.set(p.name.toLowerCase(), p);
		out.push(p);
	}
	return accept(out);
}

/**
 * Splits a comma-separated list of specs (`--partition-by symbol,hash(id, 8)`): commas inside parentheses belong
 * to the spec. Blanks around each spec are trimmed; empty items are kept (and refused by the parser).
 */
export function splitPartitionList(raw: string): string[] {
	const out: string[] = [];
	let depth = 0;
	let start = 0;
	for (let i = 0; i < raw.length; i++) {
		const c = raw[i];
		if (c === '(') depth++;
		else if (c === ')' && depth > 0) depth--;
		else if (c === ',' && depth === 0) {
			out.push(raw.slice(start, i).trim());
			start = i + 1;
		}
	}
	out.push(raw.slice(start).trim());
	return out;
}

/** Writes a spec back as text: the function around `column`, with its `as` name when that is not the default. */
export function formatPartitionSpec(p: Omit<PartitionSpec, 'spec'>): string {
	let text = p.fn === 'value' ? p.column : p.fn === 'hash' ? `hash(${p.column}, ${p.buckets})` : `${p.fn}(${p.column})`;
	if (p.name !== defaultPartitionName(p.fn, p.column)) text += ` as ${p.name}`;
	return text;
}

/** The column a spec reads, or undefined when the spec is not valid. */
export function partitionColumnOf(spec: string): string | undefined {
	const r = parsePartitionSpec(spec);
	return r.ok ? r.value.column : undefined;
}

/**
 * For a partition column that is not in the header: a sentence on how expressions are written when the text looks
 * like an attempt at one (a parenthesis, or a word `as`: `date(timestamp`, `date(ts) as`), else ''. Such text can
 * also be a real column's name, so it is only a hint next to the missing-column error.
 */
export function partitionExpressionHint(column: string): string {
	if (!/[()]|\sas(\s|$)/i.test(column)) return '';
	const fns = PARTITION_FUNCTIONS.filter((f) => f !== 'hash').join(', ');
	return ` If it is meant as an expression, write FN(COL) or FN(COL) as NAME, with FN one of ${fns}, or hash(COL, N).`;
}
