/**
 * Whether `a[ai, ai + len)` equals `b[bi, bi + len)`, compared four bytes at a time; `av` and `bv` are DataViews of
 * all of `a`'s and `b`'s bytes (they may be the same array).
 */
export function sameBytes(
	a: Uint8Array,
	av: DataView,
	ai: number,
	b: Uint8Array,
	bv: DataView,
	bi: number,
	len: number,
): boolean {
	let i = 0;
	for (; i + 4 <= len; i += 4) if (av.getInt32(ai + i, true) !== bv.getInt32(bi + i, true)) return false;
	for (; i < len; i++) if (a[ai + i] !== b[bi + i]) return false;
	return true;
}

/**
 * An open-addressing hash table from key bytes to small ids, for the worker's hot loop: looking a key up by
 * its bytes avoids making a string per record (measured: string making and Map lookups were about a quarter
 * of a worker's time). Reset for every chunk; ids count from 0 in order of first insertion.
 */
export class KeyTable {
	private hashes = new Int32Array(1024);
	private slots = new Int32Array(1024); // id + 1; 0 = empty
	private mask = 1023;
	private arena = new Uint8Array(1 << 16);
	private arenaView = new DataView(this.arena.buffer);
	private arenaLen = 0;
	private starts: number[] = [];
	private lengths: number[] = [];

	get size(): number {
		return this.starts.length;
	}

	reset(): void {
		if (this.starts.length > 0) this.slots.fill(0);
		this.starts.length = 0;
		this.lengths.length = 0;
		this.arenaLen = 0;
	}

	/**
	 * A hash of `key[from, end)`, four bytes at a time (the table's own: nothing outside it sees the values). Each
	 * word is mixed in by a multiply and a shift, so that its high bytes reach the low bits the table indexes by.
	 * `view` is a DataView of all of `key`'s bytes.
	 */
	static hash(key: Uint8Array, view: DataView, from: number, end: number): number {
		let h = (end - from) ^ 0x811c9dc5;
		let i = from;
		for (; i + 4 <= end; i += 4) {
			h = Math.imul(h ^ view.getInt32(i, true), 0x9e3779b1);
			h ^= h >>> 15;
		}
		for (; i < end; i++) h = Math.imul(h ^ key[i], 0x01000193);
		h ^= h >>> 16;
		h = Math.imul(h, 0x85ebca6b);
		return h ^ (h >>> 13);
	}

	/**
	 * The id of `key[from, end)`, inserting it when new (then `isNew` is true until the next call). `view` is a
	 * DataView of all of `key`'s bytes.
	 */
	isNew = false;
	idOf(key: Uint8Array, view: DataView, from: number, end: number): number {
		const len = end - from;
		const h = KeyTable.hash(key, view, from, end);
		const mask = this.mask;
		let at = h & mask;
		for (;;) {
			const slot = this.slots[at];
			if (slot === 0) break;
			if (this.hashes[at] === h) {
				const id = slot - 1;
				if (this.lengths[id] === len && sameBytes(this.arena, this.arenaView, this.starts[id], key, view, from, len)) {
					this.isNew = false;
					return id;
				}
			}
			at = (at + 1) & mask;
		}
		const id = this.starts.length;
		if (this.arenaLen + len > this.arena.length) {
			const bigger = new Uint8Array(Math.max(this.arena.length * 2, this.arenaLen + len));
			bigger.set(this.arena.subarray(0, this.arenaLen));
			this.arena = bigger;
			this.arenaView = new DataView(bigger.buffer);
		}
		this.arena.set(key.subarray(from, end), this.arenaLen);
		this.starts.push(this.arenaLen);
		this.lengths.push(len);
		this.arenaLen += len;
		this.hashes[at] = h;
		this.slots[at] = id + 1;
		if ((id + 1) * 2 > this.slots.length) this.grow();
		this.isNew = true;
		return id;
	}

	/** The length of key `id`'s bytes. */
	lengthOf(id: number): number {
		return this.lengths[id];
	}

	/** Copies key `id`'s bytes to `to` at `at`; returns their length. */
	copyOut(id: number, to: Uint8Array, at: number): number {
		const from = this.starts[id];
		const len = this.lengths[id];
		to.set(this.arena.subarray(from, from + len), at);
		return len;
	}

	private grow(): void {
		const oldHashes = this.hashes;
		const oldSlots = this.slots;
		this.hashes = new Int32Array(oldSlots.length * 2);
		this.slots = new Int32Array(oldSlots.length * 2);
		this.mask = this.slots.length - 1;
		for (let i = 0; i < oldSlots.length; i++) {
			if (oldSlots[i] === 0) continue;
			let at = oldHashes[i] & this.mask;
			while (this.slots[at] !== 0) at = (at + 1) & this.mask;
			this.hashes[at] = oldHashes[i];
			this.slots[at] = oldSlots[i];
		}
	}
}

/**
 * An open-addressing hash table from tuples of `width` small ids (one per key column, from each column's KeyTable)
 * to small ids, counted from 0 in order of first insertion: a key of several columns is looked up by its parts' ids
 * instead of by its bytes. Reset for every chunk.
 *
 * Before hashing, a tuple is compared with the last one looked up with the same first part (`recent`): in a file
 * ordered by time, partitioned by `symbol,date(timestamp)`, a symbol's next record is nearly always on the same day
 * (worker-only, the benchmark file's chunks: 2–5% less time in the record loop).
 */
export class TupleTable {
	private slots = new Int32Array(1024); // id + 1; 0 = empty
	private mask = 1023;
	private tuples: Int32Array;
	private count = 0;
	/** Per first part's id: the id of the last tuple looked up with it, -1 when none yet in this chunk. */
	private recent = new Int32Array(256).fill(-1);
	/** `recent[0, recentTop)` may hold ids (what reset() clears). */
	private recentTop = 0;
	/** Whether the last `idOf` inserted its tuple. */
	isNew = false;

	constructor(private readonly width: number) {
		this.tuples = new Int32Array(width * 512);
	}

	reset(): void {
		if (this.count > 0) this.slots.fill(0);
		this.count = 0;
		this.recent.fill(-1, 0, this.recentTop);
		this.recentTop = 0;
	}

	private static hash(t: Int32Array, from: number, width: number): number {
		let h = 0x811c9dc5;
		for (let k = 0; k < width; k++) {
			h = Math.imul(h ^ t[from + k], 0x9e3779b1);
			h ^= h >>> 15;
		}
		return h;
	}

	/** The id of the tuple `parts[0, width)`, inserting it when new (then `isNew` is true until the next call). */
	idOf(parts: Int32Array): number {
		const first = parts[0];
		let recent = this.recent;
		if (first < recent.length) {
			const last = recent[first];
			if (last >= 0) {
				const width = this.width;
				const tuples = this.tuples;
				const base = last * width;
				let k = 1;
				while (k < width && tuples[base + k] === parts[k]) k++;
				if (k === width) {
					this.isNew = false;
					return last;
				}
			}
		} else {
			const bigger = new Int32Array(Math.max(recent.length * 2, first + 1)).fill(-1);
			bigger.set(recent);
			this.recent = recent = bigger;
		}
		const id = this.lookUp(parts);
		recent[first] = id;
		if (first >= this.recentTop) this.recentTop = first + 1;
		return id;
	}

	/** idOf without `recent`. */
	private lookUp(parts: Int32Array): number {
		const width = this.width;
		const tuples = this.tuples;
		const slots = this.slots;
		const mask = this.mask;
		let at = TupleTable.hash(parts, 0, width) & mask;
		for (;;) {
			const slot = slots[at];
			if (slot === 0) break;
			const base = (slot - 1) * width;
			let k = 0;
			while (k < width && tuples[base + k] === parts[k]) k++;
			if (k === width) {
				this.isNew = false;
				return slot - 1;
			}
			at = (at + 1) & mask;
		}
		const id = this.count++;
		if ((id + 1) * width > tuples.length) {
			const bigger = new Int32Array(tuples.length * 2);
			bigger.set(tuples);
			this.tuples = bigger;
		}
		for (let k = 0; k < width; k++) this.tuples[id * width + k] = parts[k];
		slots[at] = id + 1;
		if (this.count * 2 > slots.length) this.grow();
		this.isNew = true;
		return id;
	}

	private grow(): void {
		const width = this.width;
		this.slots = new Int32Array(this.slots.length * 2);
		this.mask = this.slots.length - 1;
		for (let id = 0; id < this.count; id++) {
			let at = TupleTable.hash(this.tuples, id * width, width) & this.mask;
			while (this.slots[at] !== 0) at = (at + 1) & this.mask;
			this.slots[at] = id + 1;
		}
	}
}
