import { SPECIALS_WASM } from './wasm/specialsWasm';

/** Bytes one call scans at most (a record longer than this is scanned whole, in a call of its own). */
export const SCAN_WINDOW = 64 * 1024;
const PAGE = 65536;

/** The parts of the WebAssembly API used here (the project's type libraries do not declare it). */
interface WasmApi {
	Module: new (bytes: Uint8Array) => object;
	Instance: new (module: object) => { exports: unknown };
}

/** The module's layout functions (specials.wat): records [0, n), addresses of their tables, source and destination. */
type LayoutFunction = (
	n: number,
	a: number,
	b: number,
	oa: number,
	pos: number,
	cur: number,
	re: number,
	src: number,
	dst: number,
) => void;

interface SpecialsExports {
	memory: { buffer: ArrayBuffer; grow(pages: number): number };
	specials(src: number, len: number, delimiter: number, out: number, base: number): number;
	/** `a`, `b`: the records' starts and ends (addresses of i32 tables). */
	layoutRecords: LayoutFunction;
	/** `a`: pieces per record; `b`: the pieces' [start, end) pairs. */
	layoutPieces: LayoutFunction;
}

/**
 * The most memory the module may take for a chunk's layout (its copy of the chunk, the result, the tables): chunks of
 * about 20 MB and smaller (the default chunk is about 7 MB on the benchmark file; chunks are at most 64 MB). A larger
 * chunk is laid out by the caller's JavaScript, so that the copy never adds more than this to a worker's memory.
 */
const LAYOUT_MAX_BYTES = 64 * 1024 * 1024;

/** `n` rounded up to a multiple of 16. */
const align16 = (n: number) => (n + 15) & ~15;

/** What {@link SpecialScanner.layOut} lays out: the records of a chunk, grouped by partition. */
export interface LayoutJob {
	/** The chunk's bytes; record offsets count from its start. */
	src: Uint8Array;
	/** How many records. */
	n: number;
	/** Per record: its owner (partition index). */
	owners: Int32Array;
	/** Whole records: per record its start and end; else null and `pieces`. */
	starts: Int32Array | null;
	ends: Int32Array | null;
	/** Records in pieces: `pieceCount` [start, end) pairs per record, copied back to back. */
	pieces: Int32Array | null;
	pieceCount: number;
	/** Per owner, where its region starts in `out`; set to where its last record ends. */
	positions: number[];
	out: Uint8Array;
	/**
	 * With capped files: each record's end in `out`, grouped by owner, the owner's next one at `cursor[owner]`
	 * (advanced); else null.
	 */
	recordEnds: Int32Array | null;
	cursor: number[] | null;
}

/**
 * Finds the delimiters and line feeds of quote-free text with WebAssembly SIMD, 16 bytes at a time (the worker's
 * hot path, docs/performance.md "Field boundaries with WebAssembly SIMD": three to four times faster than a JavaScript byte loop on the benchmark file).
 * `scan()` copies a window of the caller's buffer into the module's memory and fills `table` with the position of
 * every delimiter and line feed in it, in order; a line feed's entry is the bitwise NOT of its position, so it is
 * the only negative entry. One instance per thread; it keeps its memory between calls (the window plus four bytes
 * per byte of it for the table: about 320 KB, more only while a record longer than the window is scanned).
 * The same module lays each chunk's records out by partition (`layOut`), which takes about twice the chunk's size
 * more while a worker runs.
 */
export class SpecialScanner {
	/** The entries of the last scan: `table[0, count)`. */
	table: Int32Array = new Int32Array(0);
	private readonly exports: SpecialsExports;
	private capacity = 0;
	/** Where the window starts: past the chunk's copy. */
	private region = 0;
	/** The chunk announced by `begin()` (0: none), and how much of it from its start `scan` has copied. */
	private chunkLength = 0;
	private covered = 0;

	private constructor(
		api: unknown,
		private readonly layoutMaxBytes: number,
	) {
		this.exports = api as SpecialsExports;
		this.fit(SCAN_WINDOW);
	}

	/**
	 * A scanner (`layoutMaxBytes`: the most memory `layOut` may take; smaller in tests), or null where this runtime
	 * cannot run the module (no WebAssembly, no SIMD, `--jitless`): the caller then takes its JavaScript path, which
	 * gives the same results.
	 */
	static create(layoutMaxBytes = LAYOUT_MAX_BYTES): SpecialScanner | null {
		const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
		if (wasm === undefined) return null;
		try {
			const module = new wasm.Module(Buffer.from(SPECIALS_WASM, 'base64'));
			return new SpecialScanner(new wasm.Instance(module).exports, layoutMaxBytes);
		} catch {
			return null;
		}
	}

	/**
	 * Scans `buf[start, end)` for `delimiter` (never LF) and LF; returns how many entries `table` now holds. With
	 * `inChunk`, `buf` is the chunk announced by `begin()`: the bytes are copied to their place in the module's copy
	 * of it (so that `layOut` need not copy scanned bytes again), else to the window.
	 */
	scan(buf: Uint8Array, start: number, end: number, delimiter: number, inChunk = false): number {
		const len = end - start;
		if (len > this.capacity) this.fit(len);
		const heap = this.exports.memory.buffer;
		let at = this.region;
		if (inChunk && this.chunkLength !== 0) {
			// With the bytes since the last scan (records the caller read itself), so that the copy has no holes.
			at = start;
			new Uint8Array(heap, this.covered, end - this.covered).set(buf.subarray(this.covered, end));
			this.covered = end;
		} else new Uint8Array(heap, at, len).set(buf.subarray(start, end));
		return this.exports.specials(at, len, delimiter, this.region + this.capacity, start);
	}

	/**
	 * A chunk of `length` bytes is next: room for the module's copy of it, before the window and the table. A chunk
	 * too large for the layout to take (about a third of LAYOUT_MAX_BYTES), or a length of 0 (the caller will not
	 * call `layOut`), gets no copy: scans use the window, and `layOut` leaves the chunk to the caller.
	 */
	begin(length: number): void {
		this.chunkLength = length * 3 < this.layoutMaxBytes ? length : 0;
		this.covered = 0;
		this.fit(this.capacity);
	}

	/**
	 * Lays a chunk's records out grouped by partition, each record's bytes (or pieces) copied 16 bytes at a time
	 * into `job.out` at its owner's position: the same bytes as the worker's JavaScript layout, at a third less CPU
	 * on the benchmark file (docs/performance.md, "Laying records out with WebAssembly"). The chunk, the tables and the result pass through the module's
	 * memory, after the scan's window and table. Returns false, having done nothing, when that memory would pass
	 * LAYOUT_MAX_BYTES or cannot grow: the caller then lays the chunk out itself.
	 */
	layOut(job: LayoutJob): boolean {
		const { n, src, out } = job;
		const owners = job.positions.length;
		const tableInts = job.pieces === null ? 2 * n : 2 * job.pieceCount * n;
		// The chunk's copy is at 0, made by `scan` up to `covered`; the rest is copied below.
		if (this.chunkLength !== src.length) this.begin(src.length);
		if (this.chunkLength === 0) return false;
		const from = this.covered;
		const dstAt = align16(this.region + 5 * this.capacity);
		const intsAt = align16(dstAt + out.length);
		const end = intsAt + 4 * (tableInts + n + 2 * owners + (job.recordEnds === null ? 0 : n));
		if (end > this.layoutMaxBytes) return false;
		const memory = this.exports.memory;
		if (end > memory.buffer.byteLength) {
			try {
				memory.grow(Math.ceil((end - memory.buffer.byteLength) / PAGE));
			} catch {
				return false;
			}
			this.fit(this.capacity); // the views of the old memory are detached
		}
		const heap = memory.buffer;
		const srcAt = 0;
		if (from < src.length) new Uint8Array(heap, from, src.length - from).set(src.subarray(from));
		const ints = new Int32Array(heap, intsAt, (end - intsAt) >> 2);
		let at = 0;
		const put = (values: Int32Array | readonly number[] | null, count: number): number => {
			const from = intsAt + 4 * at;
			if (values !== null) {
				if (values instanceof Int32Array) ints.set(values.subarray(0, count), at);
				else for (let i = 0; i < count; i++) ints[at + i] = values[i];
			}
			at += count;
			return from;
		};
		const oa = put(job.owners, n);
		const pos = put(job.positions, owners);
		const cur = put(job.cursor, owners);
		const re = job.recordEnds === null ? 0 : put(null, n);
		if (job.pieces === null) {
			const sa = put(job.starts, n);
			const ea = put(job.ends, n);
			this.exports.layoutRecords(n, sa, ea, oa, pos, cur, re, srcAt, dstAt);
		} else {
			const pa = put(job.pieces, 2 * job.pieceCount * n);
			this.exports.layoutPieces(n, job.pieceCount, pa, oa, pos, cur, re, srcAt, dstAt);
		}
		out.set(new Uint8Array(heap, dstAt, out.length));
		const ends = new Int32Array(heap, pos, owners);
		for (let o = 0; o < owners; o++) job.positions[o] = ends[o];
		const cursor = job.cursor;
		if (cursor !== null) {
			const next = new Int32Array(heap, cur, owners);
			for (let o = 0; o < owners; o++) cursor[o] = next[o];
		}
		if (job.recordEnds !== null) job.recordEnds.set(new Int32Array(heap, re, n));
		return true;
	}

	/**
	 * Memory for the chunk's copy at 0 (`chunkLength` bytes and 16 to spare, for the layout's 16-byte reads), then
	 * a window of `len` bytes at `region` and its table right after (16-byte aligned).
	 */
	private fit(len: number): void {
		const capacity = align16(len);
		const memory = this.exports.memory;
		const region = this.chunkLength === 0 ? 0 : align16(this.chunkLength + 16);
		const needed = region + capacity * 5;
		if (needed > memory.buffer.byteLength) memory.grow(Math.ceil((needed - memory.buffer.byteLength) / PAGE));
		this.capacity = capacity;
		this.region = region;
		this.table = new Int32Array(memory.buffer, region + capacity, capacity);
	}
}
