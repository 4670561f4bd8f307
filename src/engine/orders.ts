import { constants } from 'node:fs';
import { type FileHandle, open, stat } from 'node:fs/promises';
import * as path from 'node:path';
import type { PartitionSpec } from '../rules';
import { bomLength, CR, LF, QUOTE, sniffDelimiter } from './dialect';
import { abortedError, isSweepError, notRegular, SweepError } from './errors';
import { derivedKey, encodeKey, grainNeeds } from './keys';
import { fileChange } from './sameFile';
import { type ByteReader, openSource } from './source';

export interface Orders {
	path: string;
	/** Distinct encoded keys, in order of first appearance in the orders file. */
	keys: string[];
	/** The parts (byte strings) of each key in `keys`. */
	parts: string[][];
}

/** Limits of an orders file (README "Orders"): memory holds only the distinct keys, and never more than these. */
export const ORDERS_LIMITS = {
	/** Distinct key tuples. */
	maxKeys: 1_000_000,
	/** Bytes of all distinct keys together. */
	maxKeyBytes: 64 * 1024 * 1024,
	/** Bytes of one record (a longer one is almost always a stray quote, or not a CSV file at all). */
	maxRecordBytes: 1024 * 1024,
};

/** Bytes read at a time. */
const READ_BYTES = 1024 * 1024;

interface Ctx {
	delimiter: number;
	/** Line where the next record starts (1-based). */
	line: number;
}

/** Fields of one record (`count` of them in all, the kept ones in `fields`), or why it is bad; `next` is the offset
 * after its line ending, `lines` the line breaks it spans. */
type Parsed = { fields: string[]; count: number; next: number; lines: number; blank: boolean } | { error: string };

const unquote = (s: string) => s.replaceAll('""', '"');

/**
 * Parses one record of `buf[at, end)` with Sweep's CSV rules (README "Dialect"): it ends at an LF outside quotes (a CR
 * before it belongs to the line ending, and so does a CR that is the last byte of the file); a quote opens a field
 * only at its start; `""` inside is a quote; text after a closing quote is an error. Keeps only the fields whose
 * index is in `keep` (all when null). Returns null when the record may continue past `end` (not `final`).
 */
function parseRecord(
	buf: Buffer,
	at: number,
	end: number,
	final: boolean,
	delimiter: number,
	keep: Int32Array | null,
): Parsed | null {
	const fields: string[] = [];
	let lines = 0;
	let pos = at;
	let f = 0;
	let k = 0;
	for (;;) {
		let valueStart: number;
		let valueEnd: number;
		let quoted = false;
		let escaped = false;
		let j: number;
		if (pos < end && buf[pos] === QUOTE) {
			quoted = true;
			let q = pos + 1;
			for (;;) {
				q = buf.indexOf(QUOTE, q);
				if (q < 0 || q >= end) {
					if (!final) return null;
					return { error: 'a quoted field is not closed before the end of the file' };
				}
				if (q + 1 >= end && !final) return null;
				if (q + 1 < end && buf[q + 1] === QUOTE) {
					escaped = true;
					q += 2;
					continue;
				}
				break;
			}
			valueStart = pos + 1;
			valueEnd = q;
			for (let x = valueStart; x < valueEnd; x++) if (buf[x] === LF) lines++;
			j = q + 1;
			if (j < end && buf[j] === CR) {
				if (j + 1 >= end && !final) return null;
				if (j + 1 === end || buf[j + 1] === LF) j++;
			}
			if (j < end && buf[j] !== delimiter && buf[j] !== LF) return { error: 'text after a closing quote' };
		} else {
			j = pos;
			while (j < end) {
				const c = buf[j];
				if (c === delimiter || c === LF) break;
				j++;
			}
			if (j >= end && !final) return null;
			valueStart = pos;
			valueEnd = j;
			// CRLF, or a CR that is the very last byte of the file: the line ending, not data.
			if ((j >= end || buf[j] === LF) && valueEnd > valueStart && buf[valueEnd - 1] === CR) valueEnd--;
		}
		if (keep === null || (k < keep.length && keep[k] === f)) {
			let v = buf.latin1Slice(valueStart, valueEnd);
			if (escaped) v = unquote(v);
			fields.push(v);
			if (keep !== null) k++;
		}
		f++;
		if (j < end && buf[j] === delimiter) {
			pos = j + 1;
			continue;
		}
		const next = j < end ? j + 1 : end; // past the LF, or the end of the file
		const blank = f === 1 && !quoted && valueEnd === valueStart;
		return { fields, count: f, next, lines: lines + (j < end ? 1 : 0), blank };
	}
}

/**
 * Loads an orders file: a CSV with its own delimiter (sniffed), the same column mapping applied to its header
 * (where the source column is present), and every partition column present after mapping. Values are compared
 * as bytes (case and spaces count). Problems are input errors, found before anything is written.
 *
 * It is read as a stream, a megabyte at a time: memory holds only the distinct key tuples (at most
 * `ORDERS_LIMITS.maxKeys`), a record is at most `ORDERS_LIMITS.maxRecordBytes`, and `signal` stops it between reads.
 * Only regular files are read (a FIFO or a device is refused).
 */
export async function loadOrders(
	file: string,
	mapping: Readonly<Record<string, string>>,
	keySpecs: readonly PartitionSpec[],
	signal?: AbortSignal,
): Promise<Orders> {
	const abs = path.resolve(file);
	const bad = (message: string, line?: number) =>
		new SweepError('bad-orders', `Orders file ${abs}${line === undefined ? '' : `, line ${line}`}: ${message}`, {
			file: abs,
			line,
		});
	const cannot = (e: unknown) => {
		const code = (e as NodeJS.ErrnoException).code;
		const why =
			code === 'ENOENT'
				? 'does not exist'
				: code === 'EISDIR'
					? 'is a folder'
					: code === 'EACCES' || code === 'EPERM'
						? 'cannot be read: permission denied'
						: `cannot be read (${(e as Error).message})`;
		return new SweepError('bad-orders', `Orders file ${abs} ${why}.`, { file: abs, cause: e });
	};
	const st = await stat(abs).catch((e) => {
		throw cannot(e);
	});
	if (st.isDirectory()) throw cannot(Object.assign(new Error('is a folder'), { code: 'EISDIR' }));
	if (!st.isFile()) throw notRegular(abs, st, 'bad-orders');
	let fh: FileHandle;
	try {
		fh = await open(abs, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
	} catch (e) {
		throw cannot(e);
	}
	try {
		const opened = await fh.stat();
		if (!opened.isFile()) throw notRegular(abs, opened, 'bad-orders');
		// A gzip or zstd orders file (recognised by its bytes) is decompressed in a thread of its own, streamed too.
		const source = await openSource(abs, fh, opened.size);
		// Read once, front to back: nothing of its start is kept (a compressed file's would grow with the file).
		source.headDone();
		// The keys must be those of one file: one that changed while it was read (the rule of sameFile.ts) is named
		// as such, also when what the change left looks like a malformed record.
		const unchanged = async () => {
			const how = fileChange(opened, await fh.stat(), await stat(abs).catch(() => null));
			if (how !== null) throw bad(`it changed while it was read (${how}); run again once it is complete.`);
		};
		let orders: Orders;
		try {
			orders = await readOrders(source, abs, mapping, keySpecs, signal, bad);
		} catch (e) {
			if (isSweepError(e) && e.code === 'bad-orders') await unchanged();
			throw e;
		} finally {
			await source.close();
		}
		await unchanged();
		return orders;
	} finally {
		await fh.close();
	}
}

async function readOrders(
	source: ByteReader,
	abs: string,
	mapping: Readonly<Record<string, string>>,
	keySpecs: readonly PartitionSpec[],
	signal: AbortSignal | undefined,
	bad: (message: string, line?: number) => SweepError,
): Promise<Orders> {
	const limits = ORDERS_LIMITS;
	const buf = Buffer.allocUnsafe(READ_BYTES + limits.maxRecordBytes + 4);
	let len = 0;
	let eof = false;
	let start = 0;
	let firstRead = true;
	let position = 0;
	const fill = async () => {
		// A compressed file's blocks are often waiting already, so reads resolve without a turn of the event loop:
		// give it one (each megabyte), or a Ctrl-C (SIGINT) would not be seen until the end of the file.
		await new Promise((r) => setImmediate(r));
		if (signal?.aborted) throw abortedError();
		if (start > 0) {
			buf.copyWithin(0, start, len);
			len -= start;
			start = 0;
		}
		const room = Math.min(READ_BYTES, buf.length - len);
		const { bytesRead } = await source.read(buf, len, room, position);
		position += bytesRead;
		if (signal?.aborted) throw abortedError();
		if (bytesRead === 0) eof = true;
		len += bytesRead;
		if (firstRead) {
			firstRead = false;
			start = bomLength(buf.subarray(0, len), abs);
		}
	};
	const ctx: Ctx = { delimiter: 0, line: 1 };

	/** The next record (header or data) that is not blank, reading more as needed; null at the end of the file. */
	const next = async (keep: Int32Array | null): Promise<{ fields: string[]; count: number; line: number } | null> => {
		for (;;) {
			if (start >= len && eof) return null;
			const r = start < len || eof ? parseRecord(buf, start, len, eof, ctx.delimiter, keep) : null;
			if (r === null) {
				if (len - start > limits.maxRecordBytes) {
					throw bad(
						`a record longer than ${limits.maxRecordBytes / 1024 / 1024} MB starts here (a stray quote, or not a CSV file?)`,
						ctx.line,
					);
				}
				await fill();
				continue;
			}
			if ('error' in r) throw bad(r.error, ctx.line);
			const line = ctx.line;
			ctx.line += r.lines;
			start = r.next;
			if (r.blank) continue;
			return { fields: r.fields, count: r.count, line };
		}
	};

	// The delimiter is sniffed from the first read (up to its last line break).
	await fill();
	const sniffEnd = buf.subarray(start, len).lastIndexOf(LF);
	const sample = buf.latin1Slice(start, sniffEnd > 0 ? start + sniffEnd + 1 : len);
	ctx.delimiter = sniffDelimiter(sample).charCodeAt(0);

	const head = await next(null);
	if (head === null) throw new SweepError('bad-orders', `Orders file ${abs} is empty.`, { file: abs });
	const header = head.fields.map((n) => Buffer.from(n, 'latin1').toString('utf8'));
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
	// Fields are kept in file order: `keep` is sorted, and `order[j]` says where key part j is among them.
	const keep = Int32Array.from(new Set(indexes)).sort();
	const order = indexes.map((i) => keep.indexOf(i));
	const seen = new Set<string>();
	const keys: string[] = [];
	const parts: string[][] = [];
	let keyBytes = 0;
	for (;;) {
		const rec = await next(keep);
		if (rec === null) break;
		if (rec.count !== header.length) {
			throw bad(`expected ${header.length} fields, found ${rec.count}.`, rec.line);
		}
		const values = keySpecs.map((k, j) => {
			const v = rec.fields[order[j]];
			const day = derivedKey(k, v);
			if (day === null) {
				throw bad(
					`${JSON.stringify(v)} in column ${JSON.stringify(k.column)} does not start with ${grainNeeds(k.fn)}.`,
					rec.line,
				);
			}
			return day;
		});
		const key = encodeKey(values);
		if (!seen.has(key)) {
			if (keys.length >= limits.maxKeys || keyBytes + key.length > limits.maxKeyBytes) {
				throw bad(
					`more than ${keys.length.toLocaleString('en-US')} distinct keys (${Math.round(keyBytes / 1024 / 1024)} MB); an orders file lists at most ${limits.maxKeys.toLocaleString('en-US')} keys of ${limits.maxKeyBytes / 1024 / 1024} MB in all. Is it the right file?`,
					rec.line,
				);
			}
			seen.add(key);
			keys.push(key);
			parts.push(values);
			keyBytes += key.length;
		}
	}
	return { path: abs, keys, parts };
}
