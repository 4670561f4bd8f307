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
	 * The types were speculated from a sample of the values (docs/parquet.md, "How the types are decided"): a value
	 * that does not fit its column's type is handed here (its column and the types it fits), which returns wider
	 * types, and every file is then converted with those. Absent: the types were decided from every value.
	 */
	widen?: (column: number, fits: number) => ColumnType[];
	codec: ParquetCompression;
	workers: number;
	createdBy: string;
	/** An append's existing files that get new row groups, with where their footer starts (journaled). */
	append?: Map<string, number>;
	/** fdatasync each Parquet file written (an append's must be on disk before its manifest commits). */
	sync?: boolean;
	signal: AbortSignal;
}

/**
 * Converts every partition, `workers` at a time; rejects on the first failure or on abort. Returns the types the
 * files were written with: `types`, or what `widen` made of them. With speculated types the temporary CSVs are
 * kept until every file is written with the final types (a file written with types that were widened since is
 * converted again from its CSV); otherwise each is removed once its Parquet file is written.
 */
export async function convertAll(a: ConvertAllArgs): Promise<ColumnType[]> {
	let types = a.types;
	let generation = 0;
	const queue = [...a.files];
	/** Files written with the current types (speculative runs only). */
	const written = new Set<string>();
	/** Queued again after their types were widened: their Parquet file is removed before they are converted again. */
	const stale = new Set<string>();
	/** Conversions under way, and the loops waiting for one of them to end (it may queue files again). */
	let inFlight = 0;
	let waiting: (() => void)[] = [];
	const wake = () => {
		const w = waiting;
		waiting = [];
		for (const f of w) f();
	};
	const where = (name: string) => path.join(a.dir, ...name.split('/'));
	const one = async (): Promise<void> => {
		while (queue.length > 0 || inFlight > 0) {
			if (a.signal.aborted) throw abortedError();
			if (queue.length === 0) {
				await new Promise<void>((resolve) => waiting.push(resolve));
				continue;
			}
			const name = queue.shift() as string;
			const file = where(name);
			const at = a.append?.get(name);
			const src = file + TEMP_CSV;
			const gen = generation;
			inFlight++;
			let done: Awaited<ReturnType<WorkerPool['convert']>>;
			try {
				if (stale.delete(name)) await unlink(file);
				done = await a.pool.convert({
					type: 'parquet',
					request: {
						src,
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
						...(a.widen ? { speculative: true } : {}),
					},
				});
			} finally {
				inFlight--;
			}
			if (!a.widen) await unlink(src);
			else if (done.misfit && gen === generation) {
				// Wider types: every file written with the old ones is written again (the converter removed this one).
				types = a.widen(done.misfit.column, done.misfit.fits);
				generation++;
				for (const f of written) {
					stale.add(f);
					queue.push(f);
				}
				written.clear();
				queue.push(name);
			} else if (done.misfit)
				queue.push(name); // met with types widened since: converted again with the new ones
			else if (gen !== generation) {
				stale.add(name); // written with types widened since
				queue.push(name);
			} else written.add(name);
			wake();
		}
		wake();
	};
	const aborted = new Promise<never>((_, reject) => {
		if (a.signal.aborted) reject(abortedError());
		a.signal.addEventListener('abort', () => reject(abortedError()), { once: true });
	});
	aborted.catch(() => undefined);
	await Promise.race([Promise.all(Array.from({ length: Math.max(1, a.workers) }, one)), aborted]);
	if (a.widen)
		for (const name of a.files) {
			if (a.signal.aborted) throw abortedError();
			await unlink(where(name) + TEMP_CSV);
		}
	return types;
}
