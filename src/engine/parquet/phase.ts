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
	codec: ParquetCompression;
	workers: number;
	createdBy: string;
	/** An append's existing files that get new row groups, with where their footer starts (journaled). */
	append?: Map<string, number>;
	/** fdatasync each Parquet file written (an append's must be on disk before its manifest commits). */
	sync?: boolean;
	signal: AbortSignal;
	onFile?: () => void;
}

/** Converts every partition, `workers` at a time; rejects on the first failure or on abort. */
export async function convertAll(a: ConvertAllArgs): Promise<void> {
	let next = 0;
	const one = async (): Promise<void> => {
		while (next < a.files.length) {
			if (a.signal.aborted) throw abortedError();
			const name = a.files[next++];
			const file = path.join(a.dir, ...name.split('/'));
			const at = a.append?.get(name);
			const src = file + TEMP_CSV;
			await a.pool.convert({
				type: 'parquet',
				request: {
					src,
					dst: file,
					delimiter: a.delimiter,
					columns: a.columns,
					types: a.types,
					codec: a.codec,
					rowGroupRows: ROW_GROUP_ROWS,
					rowGroupBytes: ROW_GROUP_BYTES,
					createdBy: a.createdBy,
					...(at === undefined ? {} : { append: { at } }),
					...(a.sync ? { sync: true } : {}),
				},
			});
			await unlink(src);
			a.onFile?.();
		}
	};
	const aborted = new Promise<never>((_, reject) => {
		if (a.signal.aborted) reject(abortedError());
		a.signal.addEventListener('abort', () => reject(abortedError()), { once: true });
	});
	aborted.catch(() => undefined);
	await Promise.race([Promise.all(Array.from({ length: Math.max(1, a.workers) }, one)), aborted]);
}
