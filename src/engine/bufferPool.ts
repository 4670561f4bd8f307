/**
 * Reuses large ArrayBuffers. Allocating a fresh multi-megabyte buffer per chunk costs page faults and zeroing
 * on every use (measured: about a third of a run's time on a 2-core VM), so chunk and result buffers travel
 * between the main thread and the workers and come back to be filled again.
 */
export class BufferPool {
	private readonly free: ArrayBuffer[] = [];

	constructor(private readonly keep: number) {}

	/** A buffer of at least `bytes`; a new one has some headroom so that it fits the next, slightly larger chunk. */
	take(bytes: number): ArrayBuffer {
		let best = -1;
		for (let i = 0; i < this.free.length; i++) {
			const cap = this.free[i].byteLength;
			if (cap >= bytes && (best < 0 || cap < this.free[best].byteLength)) best = i;
		}
		if (best >= 0) return this.free.splice(best, 1)[0];
		const rounded = Math.ceil((bytes * 1.25) / 65536) * 65536;
		return new ArrayBuffer(Math.max(rounded, 65536));
	}

	/** Gives a buffer back (ignored when detached, or when enough are kept already: the smallest goes). */
	give(buffer: ArrayBuffer | undefined): void {
		if (!buffer || buffer.byteLength === 0) return;
		this.free.push(buffer);
		if (this.free.length > this.keep) {
			let smallest = 0;
			for (let i = 1; i < this.free.length; i++)
				if (this.free[i].byteLength < this.free[smallest].byteLength) smallest = i;
			this.free.splice(smallest, 1);
		}
	}

	/** Removes up to `n` buffers (to hand to another thread). */
	drain(n: number): ArrayBuffer[] {
		return this.free.splice(0, n);
	}
}
