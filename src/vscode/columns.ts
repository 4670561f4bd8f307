/** Helpers for the partition-column quick pick; plain values, no `vscode`. */
import { defaultPartitionName, formatPartitionSpec, parsePartitionSpec } from '../rules';

/** One column a user can partition by. */
export interface ColumnChoice {
	/** The output (canonical) column name, what `sweep.partitionBy` holds. */
	column: string;
	/** The source column when a mapping renames it. */
	source?: string;
	/** The first non-empty value of the column in the sampled records. */
	sample?: string;
}

/**
 * The header's columns as output names (after `mapping`, canonical -> source), each with a sample
 * value from the first records. Blank and duplicate names are left out.
 */
export function columnChoices(
	header: readonly string[],
	sample: readonly string[][],
	mapping: Record<string, string>,
): ColumnChoice[] {
	const renamed = new Map<string, string>();
	for (const [canonical, source] of Object.entries(mapping)) renamed.set(source, canonical);
	const seen = new Set<string>();
	const choices: ColumnChoice[] = [];
	header.forEach((name, i) => {
		const column = renamed.get(name) ?? name;
		if (column.trim() === '' || seen.has(column)) return;
		seen.add(column);
		const value = sample.map((r) => r[i]).find((v) => v !== undefined && v.trim() !== '');
		const choice: ColumnChoice = { column };
		if (column !== name) choice.source = name;
		if (value !== undefined) choice.sample = value.length > 60 ? `${value.slice(0, 59)}…` : value;
		choices.push(choice);
	});
	return choices;
}

/**
 * `partitionBy` with the missing column replaced by the one picked: `date(ts)` whose `ts` is missing
 * becomes `date(picked)` (a function and an `as` name are kept); when the missing column is not found in
 * the list, the list becomes `[picked]`. `missing` may be a column or a spec (`date(ts)`).
 */
export function replacePartitionColumn(partitionBy: readonly string[], missing: string, picked: string): string[] {
	const missingSpec = parsePartitionSpec(missing);
	const missingColumn = missingSpec.ok ? missingSpec.value.column : missing;
	const index = partitionBy.findIndex((spec) => {
		const p = parsePartitionSpec(spec);
		return spec === missing || (p.ok && p.value.column === missingColumn);
	});
	if (index < 0) return [picked];
	const p = parsePartitionSpec(partitionBy[index]);
	const next = [...partitionBy];
	if (!p.ok) next[index] = picked;
	else {
		const { fn, buckets, name, column } = p.value;
		const renamed = name === defaultPartitionName(fn, column) ? defaultPartitionName(fn, picked) : name;
		next[index] = formatPartitionSpec({ fn, buckets, column: picked, name: renamed });
	}
	return next;
}
