/**
 * The main thread's side of Parquet output: after the engine has written every partition as a temporary CSV
 * (exactly as for CSV output, so rejects, orders, mapping and the identity guarantees hold unchanged), each one is
 * converted to Parquet in the worker threads, several at a time, and the temporary CSV removed. No Parquet library
 * is loaded on this thread.
 */
import { unlink } from 'node:fs/promises';
import * as path from 'node:path';
import { abortedError } from '../errors';
import type { WorkerPool } from '../pool';
import type { ParquetCompression } from './options';
import { ROW_GROUP_BYTES, ROW_GROUP_ROWS } from './options';
import type { ColumnType } from './types';

/** Suffix of a partition's temporary CSV, next to where its Parquet file goes. */
export const TEMP_CSV = '.sweep-csv';

export interface ConvertAllArgs {
	pool: WorkerPool;
	dir: string;
	/** Partition files (relative to dir, the `.parquet` names), in order. */
	files: string[];
	delimiter: number;
	columns: string[];
	types: ColumnType[];
	/**
	 * The types were speculated from a sample of the values (docs/parquet.md, "How the types are decided"). Should a
	 * value not fit its column's type, every partition is classified in full, this is handed the classifications
	 * (one per file, in no particular order) and returns the types decided from them, and every file is converted
	 * again with those. Absent: the types were decided from every value.
	 */
	decide?: (classes: Int32Array[]) => ColumnType[];
	codec: ParquetCompression;
	workers: number;
	createdBy: string;
	/** An append's existing files that get new row groups, with where their footer starts (journaled). */
	append?: Map<string, number>;
	/** fdatasync each Parquet file written (an append's must be on disk before its manifest commits). */
	sync?: boolean;
	signal: AbortSignal;
}

/** Runs `task` on every name, `workers` at a time; rejects on the first failure or on abort. */
async function eachFile(a: ConvertAllArgs, names: string[], task: (name: string) => Promise<void>): Promise<void> {
	let next = 0;
	const one = async (): Promise<void> => {
		while (next < names.length) {
			if (a.signal.aborted) throw abortedError();
			await task(names[next++]);
		}
	};
	const aborted = new Promise<never>((_, reject) => {
		if (a.signal.aborted) reject(abortedError());
		a.signal.addEventListener('abort', () => reject(abortedError()), { once: true });
	});
	aborted.catch(() => undefined);
	await Promise.race([Promise.all(Array.from({ length: Math.max(1, a.workers) }, one)), aborted]);
}

/**
 * Converts every partition, `workers` at a time; rejects on the first failure or on abort. Returns the types the
 * files were written with: `types`, or, when a speculated type proved wrong, those `decide` made from every value.
 * With speculated types the temporary CSVs are kept until every file is written with the final types; otherwise
 * each is removed once its Parquet file is written.
 */
export async function convertAll(a: ConvertAllArgs): Promise<ColumnType[]> {
	const where = (name: string) => path.join(a.dir, ...name.split('/'));
	const request = (name: string, types: ColumnType[], extra: { speculative?: true; classify?: true }) => {
		const file = where(name);
		const at = a.append?.get(name);
		return a.pool.convert({
			type: 'parquet',
			request: {
				src: file + TEMP_CSV,
				dst: file,
				delimiter: a.delimiter,
				columns: a.columns,
				types,
				codec: a.codec,
				rowGroupRows: ROW_GROUP_ROWS,
				rowGroupBytes: ROW_GROUP_BYTES,
				createdBy: a.createdBy,
				...(at === undefined ? {} : { append: { at } }),
				...(a.sync ? { sync: true } : {}),
				...extra,
			},
		});
	};
	const decide = a.decide;
	if (!decide) {
		await eachFile(a, a.files, async (name) => {
			await request(name, a.types, {});
			await unlink(where(name) + TEMP_CSV);
		});
		return a.types;
	}
	// Speculated types: the first value that does not fit ends this round (files not started are left for the next).
	let misfit = false;
	const written: string[] = [];
	await eachFile(a, a.files, async (name) => {
		if (misfit) return;
		const done = await request(name, a.types, { speculative: true });
		if (done.misfit) misfit = true;
		else written.push(name);
	});
	let types = a.types;
	if (misfit) {
		// Every value classified (in the workers, as many files at a time), the types decided from them, and every file
		// converted once more: one more round whatever the number of columns that were guessed too narrow.
		const classes: Int32Array[] = [];
		await eachFile(a, a.files, async (name) => {
			const done = await request(name, a.types, { classify: true });
			if (!done.classes) throw new Error(`internal: no classification of ${name}`);
			classes.push(done.classes);
		});
		types = decide(classes);
		for (const name of written) await unlink(where(name));
		await eachFile(a, a.files, async (name) => {
			await request(name, types, {});
		});
	}
	for (const name of a.files) {
		if (a.signal.aborted) throw abortedError();
		await unlink(where(name) + TEMP_CSV);
	}
	return types;
}
