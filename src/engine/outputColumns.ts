/**
 * Which columns the partition files hold, and how the worker copies them: `--columns` (a selection, in its order)
 * and, in hive layout, the plain partition columns left out (their values are in the folder names) unless
 * `--keep-partition-columns`. Each kept field keeps its original bytes; the worker copies runs of adjacent kept
 * fields in one go, so that leaving out one column costs one or two copies per record.
 */

import { type Layout, type PartitionSpec, showNames } from '../rules';
import { bytesOf, textOf } from './dialect';
import { SweepError } from './errors';

export interface OutputColumns {
	/** Indexes of the written fields, in output order. */
	indexes: number[];
	/** Their names (byte strings, after mapping). */
	rawNames: string[];
	/**
	 * `[first, last]` field index pairs of the runs of adjacent fields copied per record, or null when every field
	 * is written in source order (the record is copied whole).
	 */
	runs: number[] | null;
}

export function planOutputColumns(
	rawColumns: readonly string[],
	keySpecs: readonly PartitionSpec[],
	opts: { columns?: readonly string[] | null; layout: Layout; keepPartitionColumns: boolean; file: string },
): OutputColumns {
	const texts = rawColumns.map(textOf);
	let indexes: number[];
	if (opts.columns && opts.columns.length > 0) {
		// Names are distinct and non-empty (rules/output.ts parseColumnList).
		indexes = opts.columns.map((c) => {
			const raw = bytesOf(c);
			const at = rawColumns.reduce<number[]>((acc, n, i) => (n === raw ? acc.concat(i) : acc), []);
			if (at.length === 0) {
				throw new SweepError(
					'missing-column',
					`Column ${JSON.stringify(c)} in --columns is not in the header of ${opts.file}; its columns are ${showNames(texts)}.`,
					{ file: opts.file, column: c, header: texts },
				);
			}
			if (at.length > 1) {
				throw new SweepError(
					'bad-mapping',
					`Column ${JSON.stringify(c)} appears ${at.length} times in the header of ${opts.file}; it cannot be selected.`,
					{ file: opts.file },
				);
			}
			return at[0];
		});
	} else indexes = rawColumns.map((_, i) => i);
	if (opts.layout === 'hive') {
		if (!opts.keepPartitionColumns) {
			const dropped = new Set(keySpecs.filter((k) => k.fn === 'value').map((k) => bytesOf(k.column)));
			indexes = indexes.filter((i) => !dropped.has(rawColumns[i]));
		}
		// A folder name that is also a column of the files would give readers two columns of that name.
		for (const k of keySpecs) {
			if (k.fn === 'value' && k.name === k.column) continue;
			const clash = indexes.find((i) => texts[i].toLowerCase() === k.name.toLowerCase());
			if (clash !== undefined) {
				throw new SweepError(
					'usage',
					`Partition ${JSON.stringify(k.spec)} would be the folder column ${JSON.stringify(k.name)}, but the files also hold a column ${JSON.stringify(texts[clash])}; name the partition with "as NAME".`,
				);
			}
		}
	}
	if (indexes.length === 0) {
		throw new SweepError(
			'usage',
			opts.layout === 'hive'
				? 'No columns are left to write: in hive layout the partition columns are in the folder names (use --keep-partition-columns or select other --columns).'
				: 'No columns to write.',
		);
	}
	const identity = indexes.length === rawColumns.length && indexes.every((v, i) => v === i);
	let runs: number[] | null = null;
	if (!identity) {
		runs = [];
		for (const i of indexes) {
			if (runs.length > 0 && runs[runs.length - 1] === i - 1) runs[runs.length - 1] = i;
			else runs.push(i, i);
		}
	}
	return { indexes, rawNames: indexes.map((i) => rawColumns[i]), runs };
}
