import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { parse } from 'csv-parse/sync';
import type { PartitionSpec } from '../rules';
import { bomLength, LF, sniffDelimiter } from './dialect';
import { SweepError } from './errors';
import { datePrefix, encodeKey } from './keys';

export interface Orders {
	path: string;
	/** Distinct encoded keys, in order of first appearance in the orders file. */
	keys: string[];
	/** The parts (byte strings) of each key in `keys`. */
	parts: string[][];
}

const MAX_ORDERS_BYTES = 512 * 1024 * 1024;

/**
 * Loads an orders file: a CSV with its own delimiter (sniffed), the same column mapping applied to its header
 * (where the source column is present), and every partition column present after mapping. Values are compared
 * as bytes (case and spaces count). Problems are input errors, found before anything is written.
 */
export async function loadOrders(
	file: string,
	mapping: Readonly<Record<string, string>>,
	keySpecs: readonly PartitionSpec[],
): Promise<Orders> {
	const abs = path.resolve(file);
	let bytes: Buffer;
	try {
		bytes = await readFile(abs);
	} catch (e) {
		const code = (e as NodeJS.ErrnoException).code;
		const why = code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a folder' : (e as Error).message;
		throw new SweepError('bad-orders', `Orders file ${abs} ${why}.`, { file: abs, cause: e });
	}
	if (bytes.length > MAX_ORDERS_BYTES) {
		throw new SweepError('bad-orders', `Orders file ${abs} is larger than 512 MB; orders files are read whole.`, {
			file: abs,
		});
	}
	const body = bytes.subarray(bomLength(bytes, abs));
	// latin1 keeps every value's bytes exactly (see keys.ts); the delimiters Sweep knows are ASCII.
	const text = body.toString('latin1');
	const sniffEnd = body.lastIndexOf(LF, 64 * 1024);
	const delimiter = sniffDelimiter(text.slice(0, sniffEnd > 0 ? sniffEnd + 1 : 64 * 1024));
	let rows: { record: string[]; info: { lines: number } }[];
	try {
		rows = parse(text, {
			delimiter,
			relax_quotes: true,
			relax_column_count: true,
			skip_empty_lines: true,
			record_delimiter: ['\r\n', '\n'],
			info: true,
		}) as unknown as { record: string[]; info: { lines: number } }[];
	} catch (e) {
		const line = (e as { lines?: number }).lines;
		throw new SweepError(
			'bad-orders',
			`Orders file ${abs} is not valid CSV${line ? ` (near line ${line})` : ''}: ${(e as Error).message}`,
			{
				file: abs,
				line,
				cause: e,
			},
		);
	}
	if (rows.length === 0) throw new SweepError('bad-orders', `Orders file ${abs} is empty.`, { file: abs });
	const header = rows[0].record.map((n) => Buffer.from(n, 'latin1').toString('utf8'));
	const columns = header.map((n) => {
		for (const [canonical, source] of Object.entries(mapping)) if (source === n) return canonical;
		return n;
	});
	const indexes = keySpecs.map((k) => {
		const i = columns.indexOf(k.column);
		if (i === -1) {
			throw new SweepError(
				'bad-orders',
				`Orders file ${abs} has no column ${JSON.stringify(k.column)} (needed to match partitions by ${keySpecs.map((s) => s.spec).join(', ')}); its columns are ${columns.map((c) => JSON.stringify(c)).join(', ')}.`,
				{ file: abs, column: k.column, header: columns },
			);
		}
		return i;
	});
	const seen = new Set<string>();
	const keys: string[] = [];
	const parts: string[][] = [];
	for (let r = 1; r < rows.length; r++) {
		const { record, info } = rows[r];
		if (record.length !== header.length) {
			throw new SweepError(
				'bad-orders',
				`Orders file ${abs}, line ${info.lines}: expected ${header.length} fields, found ${record.length}.`,
				{ file: abs, line: info.lines },
			);
		}
		const values = keySpecs.map((k, j) => {
			const v = record[indexes[j]];
			if (k.fn !== 'date') return v;
			const day = datePrefix(v);
			if (day === null) {
				throw new SweepError(
					'bad-orders',
					`Orders file ${abs}, line ${info.lines}: ${JSON.stringify(v)} in column ${JSON.stringify(k.column)} does not start with a YYYY-MM-DD date.`,
					{ file: abs, line: info.lines },
				);
			}
			return day;
		});
		const key = encodeKey(values);
		if (!seen.has(key)) {
			seen.add(key);
			keys.push(key);
			parts.push(values);
		}
	}
	return { path: abs, keys, parts };
}
