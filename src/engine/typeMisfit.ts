/**
 * An append to a Parquet output writes with the output's column types (docs/append.md, "Parquet"): when a chunk
 * holds a value that does not fit one, the worker finds the first record of the chunk, in file order, that holds
 * such a value, so that the error names its line. Chunks are committed in file order, so the first chunk with a
 * misfit holds the file's first such record: the line named is the same for any chunk size and worker count.
 *
 * Only on that error path: the records of the chunk are run through the chunk processor again, halves of the range
 * that holds the first misfit at a time (about twice the chunk's own work), so that rejected and filtered-out
 * records, the column selection and every other rule are exactly the run's.
 */
import { isUtf8 } from 'node:buffer';
import type { ChunkProcessor } from './chunkProcessor';
import { countLF, firstRecordEnd } from './dialect';
import { ESCAPED, FieldSplitter, unquoteField } from './parquet/fields';
import { classifyRegions } from './parquet/infer';
import { type ColumnType, fitsType } from './parquet/types';
import type { ChunkMisfit, WorkerInit } from './protocol';
import type { SpecialScanner } from './specials';

/** At most this many characters of the value in the message. */
const VALUE_CHARS = 40;

/** The first column whose classified values (`cls`, parquet/types.ts) do not all fit its type in `types`, or -1. */
export function unfitColumn(cls: ArrayLike<number>, types: readonly ColumnType[]): number {
	for (let c = 0; c < types.length; c++) if (!fitsType(cls, c, types[c])) return c;
	return -1;
}

/**
 * Where each record of `buf` ends (just past its LF; the last one at the end of `buf`, with or without one), by
 * dialect.ts's `firstRecordEnd`, the rule every scanner in Sweep follows, from one record's start to the next.
 */
function recordEnds(buf: Uint8Array, delimiter: number): number[] {
	const ends: number[] = [];
	for (let at = 0; at < buf.length; ) {
		const end = firstRecordEnd(buf.subarray(at), delimiter);
		if (end < 0) break;
		at += end;
		ends.push(at);
	}
	if (ends.length === 0 || ends[ends.length - 1] !== buf.length) ends.push(buf.length);
	return ends;
}

/**
 * The first record of the chunk `bytes[offset, offset + length)` (whose `isLast` and the worker's `init` are the
 * chunk task's) holding a value that does not fit its column's type in `init.parquetFit`; null when none does.
 */
export function firstMisfit(
	processor: ChunkProcessor,
	bytes: ArrayBuffer,
	offset: number,
	length: number,
	isLast: boolean,
	init: WorkerInit,
	scanner: SpecialScanner | null,
): ChunkMisfit | null {
	const types = init.parquetFit;
	if (!types || !init.parquetTypes) return null;
	const mode = init.parquetTypes;
	const chunk = Buffer.from(bytes, offset, length);
	const ends = recordEnds(chunk, init.delimiter);
	const startOf = (r: number) => (r === 0 ? 0 : ends[r - 1]);
	/** Runs records [from, to) through the processor; `use` gets the written bytes and their regions. */
	const run = <T>(
		from: number,
		to: number,
		use: (data: Uint8Array, done: ReturnType<ChunkProcessor['process']>) => T,
	) => {
		const s = startOf(from);
		const e = ends[to - 1];
		const done = processor.process(-1, bytes, offset + s, e - s, 0, isLast && e === length);
		try {
			return use(new Uint8Array(done.data), done);
		} finally {
			processor.spare.give(done.data);
		}
	};
	const classes = (data: Uint8Array, done: ReturnType<ChunkProcessor['process']>) =>
		classifyRegions(data, done.buckets, init.delimiter, init.outputFieldCount, mode, scanner);
	const misfits = (from: number, to: number) =>
		run(from, to, (data, done) => unfitColumn(classes(data, done), types) >= 0);
	// The first misfit is in records [lo, hi) (the chunk's own classification found one): halve the range until one
	// record is left.
	let lo = 0;
	let hi = ends.length;
	while (hi - lo > 1) {
		const mid = (lo + hi) >>> 1;
		if (misfits(lo, mid)) hi = mid;
		else lo = mid;
	}
	return run(lo, lo + 1, (data, done) => {
		const column = unfitColumn(classes(data, done), types);
		const region = done.buckets[0];
		if (column < 0 || region === undefined) return null;
		const fields = init.outputFieldCount;
		const bounds = new Int32Array(2 * fields);
		const kinds = new Uint8Array(fields);
		const view = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
		new FieldSplitter(null, init.delimiter, fields, bounds, kinds).split(
			view,
			new DataView(data.buffer, data.byteOffset, data.byteLength),
			region.offset,
			region.offset + region.length,
		);
		const s = bounds[2 * column];
		const e = bounds[2 * column + 1];
		const value = Buffer.from(kinds[column] === ESCAPED ? unquoteField(view, s, e) : view.subarray(s, e));
		// At most VALUE_CHARS characters (a character is at most 4 bytes: a long value is not decoded whole).
		const chars = [...value.subarray(0, 4 * VALUE_CHARS).toString('utf8')];
		const cut = chars.length > VALUE_CHARS || value.length > 4 * VALUE_CHARS;
		return {
			line: countLF(chunk, 0, startOf(lo)),
			column,
			value: cut ? `${chars.slice(0, VALUE_CHARS).join('')}…` : chars.join(''),
			utf8: isUtf8(value),
		};
	});
}
