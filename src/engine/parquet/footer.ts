/**
 * Appending row groups to a Parquet file (docs/append.md, "Parquet"): reading a file's footer, and the footer of
 * the grown file. The old row groups' metadata is copied byte for byte (never decoded and re-encoded, so nothing
 * in it — statistics, offsets — can change): the new footer is the one hyparquet-writer writes for the new row
 * groups alone, with the old row groups' bytes spliced in front of them in its `row_groups` list (FileMetaData
 * field 4, Thrift compact protocol). No library here: the main thread reads footers with it too.
 */
import { fstatSync, readSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';

const MAGIC = 0x31524150; // PAR1

/** Where a Parquet file's footer starts and its tail (footer, 4-byte length, `PAR1`), read on the main thread. */
export async function readFooterTail(file: string): Promise<{ at: number; tail: Buffer }> {
	let fh: FileHandle | undefined;
	try {
		fh = await open(file, 'r');
		const size = (await fh.stat()).size;
		const end = Buffer.alloc(8);
		if (size >= 12) await fh.read(end, 0, 8, size - 8);
		const len = end.readUInt32LE(0);
		if (size < 12 || end.readUInt32LE(4) !== MAGIC || len > size - 12) {
			throw new Error(`${file} is not a complete Parquet file (no footer at its end)`);
		}
		const tail = Buffer.alloc(len + 8);
		await fh.read(tail, 0, tail.length, size - tail.length);
		return { at: size - tail.length, tail };
	} finally {
		await fh?.close();
	}
}

/** A Parquet file's footer (the FileMetaData bytes), where it starts and the file's row count. */
export function readFooter(fd: number, name: string): { at: number; footer: Uint8Array; rows: bigint } {
	const end = Buffer.alloc(8);
	const size = fstatSync(fd).size;
	if (size >= 12) readAll(fd, end, size - 8);
	const len = end.readUInt32LE(0);
	if (size < 12 || end.readUInt32LE(4) !== MAGIC || len > size - 12) {
		throw new Error(`${name} is not a complete Parquet file (no footer at its end)`);
	}
	const footer = Buffer.alloc(len);
	const at = size - 8 - len;
	readAll(fd, footer, at);
	const rows = topFields(footer, name).find((f) => f.id === 3);
	if (!rows || rows.type !== I64) throw new Error(`${name}: its footer has no row count`);
	return { at, footer, rows: unzigzag(varint(footer, rows.value, name).value) };
}

function readAll(fd: number, into: Buffer, at: number): void {
	let off = 0;
	while (off < into.length) {
		const n = readSync(fd, into, off, into.length - off, at + off);
		if (n === 0) throw new Error('unexpected end of file');
		off += n;
	}
}

/**
 * The footer of the grown file: `fresh` (written for the new row groups, with the total row count) whose
 * `row_groups` list gets the old footer's row groups in front of its own. Both must have the same schema.
 */
export function spliceFooters(old: Uint8Array, fresh: Uint8Array, name: string): Uint8Array {
	const of = topFields(old, name);
	const nf = topFields(fresh, name);
	const field = (fs: Field[], id: number, which: Uint8Array) => {
		const f = fs.find((x) => x.id === id);
		if (!f) throw new Error(`${name}: a Parquet footer without field ${id}`);
		return { f, bytes: which.subarray(f.value, f.end) };
	};
	const os = field(of, 2, old).bytes;
	const ns = field(nf, 2, fresh).bytes;
	if (!Buffer.from(os).equals(Buffer.from(ns))) {
		throw new Error(`${name}: its schema is not the one this append writes (was the file replaced?)`);
	}
	return prependRowGroups(fresh, rowGroupsOf(old, name), name);
}

/** Row groups' metadata as Thrift bytes: `count` RowGroup structs, one after the other. */
export interface RowGroupBytes {
	bytes: Uint8Array;
	count: number;
}

/** The RowGroup structs of a footer (FileMetaData) as they are encoded there. */
export function rowGroupsOf(footer: Uint8Array, name: string): RowGroupBytes {
	const f = topFields(footer, name).find((x) => x.id === 4);
	if (!f) throw new Error(`${name}: a Parquet footer without field 4`);
	const l = list(footer, f, name);
	if (l.elem !== STRUCT) throw new Error(`${name}: row_groups is not a list of structs`);
	return { bytes: footer.subarray(l.body, l.end), count: l.count };
}

/** The footer `fresh` with the row groups `before` put in front of its own, in its `row_groups` list. */
export function prependRowGroups(fresh: Uint8Array, before: RowGroupBytes, name: string): Uint8Array {
	const nl = topFields(fresh, name).find((x) => x.id === 4);
	if (!nl) throw new Error(`${name}: a Parquet footer without field 4`);
	const nlist = list(fresh, nl, name);
	// An empty list may name another element type (nothing follows it either way).
	if (nlist.elem !== STRUCT && nlist.count > 0) throw new Error(`${name}: row_groups is not a list of structs`);
	const count = before.count + nlist.count;
	const head = count < 15 ? [(count << 4) | STRUCT] : [0xf0 | STRUCT, ...varintBytes(count)];
	return Buffer.concat([
		fresh.subarray(0, nl.value),
		Buffer.from(head),
		before.bytes,
		fresh.subarray(nlist.body, nlist.end),
		fresh.subarray(nl.end),
	]);
}

// Thrift compact protocol types.
const TRUE = 1;
const FALSE = 2;
const BYTE = 3;
const I16 = 4;
const I32 = 5;
const I64 = 6;
const DOUBLE = 7;
const BINARY = 8;
const LIST = 9;
const SET = 10;
const MAP = 11;
const STRUCT = 12;

interface Field {
	id: number;
	type: number;
	/** Where the field's value starts and ends (after its header). */
	value: number;
	end: number;
}

/** The fields of the top-level struct of `b` (which must be exactly one struct). */
function topFields(b: Uint8Array, name: string): Field[] {
	const out: Field[] = [];
	let pos = 0;
	let id = 0;
	for (;;) {
		if (pos >= b.length) throw new Error(`${name}: a truncated Parquet footer`);
		const h = b[pos++];
		if (h === 0) break;
		const type = h & 0x0f;
		const delta = h >> 4;
		if (delta === 0) {
			const v = varint(b, pos, name);
			pos = v.next;
			id = Number(unzigzag(v.value));
		} else id += delta;
		const value = pos;
		pos = skip(b, pos, type, name);
		out.push({ id, type, value, end: pos });
	}
	if (pos !== b.length) throw new Error(`${name}: bytes after the Parquet footer's struct`);
	return out;
}

function list(b: Uint8Array, f: Field, name: string): { elem: number; count: number; body: number; end: number } {
	if (f.type !== LIST) throw new Error(`${name}: a Parquet footer field that should be a list`);
	const h = b[f.value];
	let count = h >> 4;
	let body = f.value + 1;
	if (count === 15) {
		const v = varint(b, body, name);
		count = Number(v.value);
		body = v.next;
	}
	return { elem: h & 0x0f, count, body, end: f.end };
}

function varint(b: Uint8Array, pos: number, name: string): { value: bigint; next: number } {
	let v = 0n;
	let shift = 0n;
	for (;;) {
		if (pos >= b.length || shift > 63n) throw new Error(`${name}: a truncated Parquet footer`);
		const c = b[pos++];
		v |= BigInt(c & 0x7f) << shift;
		if (!(c & 0x80)) return { value: v, next: pos };
		shift += 7n;
	}
}

const unzigzag = (v: bigint): bigint => (v >> 1n) ^ -(v & 1n);

function varintBytes(n: number): number[] {
	const out: number[] = [];
	while (n >= 0x80) {
		out.push((n & 0x7f) | 0x80);
		n = Math.floor(n / 128);
	}
	out.push(n);
	return out;
}

/** Position after a value of `type` starting at `pos`. */
function skip(b: Uint8Array, pos: number, type: number, name: string): number {
	switch (type) {
		case TRUE:
		case FALSE:
			return pos; // a struct field's boolean is in its header
		case BYTE:
			return pos + 1;
		case I16:
		case I32:
		case I64:
			return varint(b, pos, name).next;
		case DOUBLE:
			return pos + 8;
		case BINARY: {
			const v = varint(b, pos, name);
			return v.next + Number(v.value);
		}
		case LIST:
		case SET: {
			const h = b[pos++];
			let count = h >> 4;
			if (count === 15) {
				const v = varint(b, pos, name);
				count = Number(v.value);
				pos = v.next;
			}
			const elem = h & 0x0f;
			for (let i = 0; i < count; i++) pos = skip1(b, pos, elem, name);
			return pos;
		}
		case MAP: {
			const v = varint(b, pos, name);
			pos = v.next;
			const count = Number(v.value);
			if (count === 0) return pos;
			const kv = b[pos++];
			for (let i = 0; i < count; i++) {
				pos = skip1(b, pos, kv >> 4, name);
				pos = skip1(b, pos, kv & 0x0f, name);
			}
			return pos;
		}
		case STRUCT: {
			for (;;) {
				if (pos >= b.length) throw new Error(`${name}: a truncated Parquet footer`);
				const h = b[pos++];
				if (h === 0) return pos;
				if (h >> 4 === 0) pos = varint(b, pos, name).next;
				pos = skip(b, pos, h & 0x0f, name);
			}
		}
		default:
			throw new Error(`${name}: an unknown Thrift type ${type} in its Parquet footer`);
	}
}

/** A collection element's value (booleans take a byte there). */
const skip1 = (b: Uint8Array, pos: number, type: number, name: string) =>
	type === TRUE || type === FALSE ? pos + 1 : skip(b, pos, type, name);
