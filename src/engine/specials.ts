import { SPECIALS_WASM } from './wasm/specialsWasm';

/** Bytes one call scans at most (a record longer than this is scanned whole, in a call of its own). */
export const SCAN_WINDOW = 64 * 1024;
const PAGE = 65536;

/** The parts of the WebAssembly API used here (the project's type libraries do not declare it). */
interface WasmApi {
	Module: new (bytes: Uint8Array) => object;
	Instance: new (module: object) => { exports: unknown };
}

interface SpecialsExports {
	memory: { buffer: ArrayBuffer; grow(pages: number): number };
	specials(len: number, delimiter: number, out: number, base: number): number;
}

/**
 * Finds the delimiters and line feeds of quote-free text with WebAssembly SIMD, 16 bytes at a time (the worker's
 * hot path, README "Performance": three to four times faster than a JavaScript byte loop on the benchmark file).
 * `scan()` copies a window of the caller's buffer into the module's memory and fills `table` with the position of
 * every delimiter and line feed in it, in order; a line feed's entry is the bitwise NOT of its position, so it is
 * the only negative entry. One instance per thread; it keeps its memory between calls (the window plus four bytes
 * per byte of it for the table: about 320 KB, more only while a record longer than the window is scanned).
 */
export class SpecialScanner {
	/** The entries of the last scan: `table[0, count)`. */
	table: Int32Array = new Int32Array(0);
	private readonly exports: SpecialsExports;
	private bytes: Uint8Array = new Uint8Array(0);
	private capacity = 0;

	private constructor(api: unknown) {
		this.exports = api as SpecialsExports;
		this.fit(SCAN_WINDOW);
	}

	/**
	 * A scanner, or null where this runtime cannot run the module (no WebAssembly, no SIMD, `--jitless`): the caller
	 * then takes its JavaScript path, which gives the same results.
	 */
	static create(): SpecialScanner | null {
		const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
		if (wasm === undefined) return null;
		try {
			const module = new wasm.Module(Buffer.from(SPECIALS_WASM, 'base64'));
			return new SpecialScanner(new wasm.Instance(module).exports);
		} catch {
			return null;
		}
	}

	/** Scans `buf[start, end)` for `delimiter` (never LF) and LF; returns how many entries `table` now holds. */
	scan(buf: Uint8Array, start: number, end: number, delimiter: number): number {
		const len = end - start;
		if (len > this.capacity) this.fit(len);
		this.bytes.set(buf.subarray(start, end));
		return this.exports.specials(len, delimiter, this.capacity, start);
	}

	/** Memory for a window of `len` bytes at 0 and its table right after (16-byte aligned). */
	private fit(len: number): void {
		const capacity = Math.ceil(len / 16) * 16;
		const memory = this.exports.memory;
		const needed = capacity * 5;
		if (needed > memory.buffer.byteLength) memory.grow(Math.ceil((needed - memory.buffer.byteLength) / PAGE));
		this.capacity = capacity;
		this.bytes = new Uint8Array(memory.buffer, 0, capacity);
		this.table = new Int32Array(memory.buffer, capacity, capacity);
	}
}
