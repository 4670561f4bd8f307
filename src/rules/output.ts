import { accept, type Checked, refuse } from './checked';

/**
 * The output options (docs/output.md): how partition files are laid out, and which columns they hold. The CLI, the
 * settings reader and the engine all call these (`--max-rows-per-file` / `sweep.maxRowsPerFile` is a count:
 * `parseCount(raw, 1)`).
 */

/** `flat`: `AAPL.csv`; `hive`: `symbol=AAPL/data.csv`. */
export type Layout = 'flat' | 'hive';
export const LAYOUTS: readonly Layout[] = ['flat', 'hive'];

/** `--layout` / `sweep.layout` / `layout`: `flat` or `hive` (exactly; null and undefined mean `flat`). */
export function parseLayout(raw: unknown): Checked<Layout> {
	if (raw === undefined || raw === null) return accept('flat');
	if (raw === 'flat' || raw === 'hive') return accept(raw);
	return refuse('is not flat or hive');
}

/**
 * `--columns a,b,c` / `sweep.columns` / `columns`: distinct, non-empty output column names, in output order (a
 * string is split at commas; blanks around names are trimmed). Null, undefined or an empty list: all columns (null).
 */
export function parseColumnList(raw: unknown): Checked<string[] | null> {
	if (raw === undefined || raw === null) return accept(null);
	const list = typeof raw === 'string' ? raw.split(',') : raw;
	if (!Array.isArray(list) || !list.every((c) => typeof c === 'string')) return refuse('is not a list of column names');
	if (list.length === 0) return accept(null);
	const names = list.map((c: string) => c.trim());
	if (names.some((c) => c === '')) return refuse('has an empty column name');
	const seen = new Set<string>();
	for (const c of names) {
		if (seen.has(c)) return refuse(`names column ${JSON.stringify(c)} twice`);
		seen.add(c);
	}
	return accept(names);
}
