import { isUtf8 } from 'node:buffer';
import type { SpecialScanner } from '../specials';
import { FieldSplitter, viewOf } from './fields';
import { classifyField, F_BAD_UTF8, F_SEEN, newClassification, type ParquetTypesMode } from './types';

/**
 * Classifies every field of the records in the given regions of `data` (whole records, each ending with LF, as
 * the worker lays out a chunk's partitions). In `string` mode only invalid UTF-8 matters: a region that is all
 * valid UTF-8 is not split at all.
 * `scanner`: the worker's WebAssembly scanner, which finds the fields of records without quotes (FieldSplitter).
 * `only`: in `infer` mode, the columns whose types are classified (1) — the others are only checked for invalid
 * UTF-8 and stay unclassified (every type still fits, no value seen); null: every column.
 */
export function classifyRegions(
	bytes: Uint8Array,
	regions: { offset: number; length: number }[],
	delimiter: number,
	fields: number,
	mode: ParquetTypesMode,
	scanner: SpecialScanner | null = null,
	only: Uint8Array | null = null,
): Int32Array {
	// A Buffer: its indexOf and lastIndexOf (the splitter's, looking for quotes and line feeds) are native searches,
	// a Uint8Array's are not (measured: 0.33 s per 303 MB).
	const data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
	const cls = newClassification(fields);
	const bounds = new Int32Array(fields * 2);
	const splitter = new FieldSplitter(scanner, delimiter, fields, bounds, new Uint8Array(fields));
	const view = viewOf(data);
	for (const r of regions) {
		const end = r.offset + r.length;
		const valid = isUtf8(data.subarray(r.offset, end));
		if (mode === 'string' && valid) continue;
		splitter.reset();
		let pos = r.offset;
		while (pos < end) {
			const next = splitter.split(data, view, pos, end);
			if (next < 0) throw new Error('internal: a record without its line ending');
			pos = next;
			for (let c = 0; c < fields; c++) {
				const s = bounds[2 * c];
				const e = bounds[2 * c + 1];
				if (s === e) continue;
				if (mode === 'infer' && (only === null || only[c] === 1)) classifyField(cls, c, data, s, e);
				if (!valid && !(cls[2 * c + 1] & F_BAD_UTF8) && !isAscii(data, s, e) && !isUtf8(data.subarray(s, e)))
					cls[2 * c + 1] |= F_BAD_UTF8;
			}
		}
	}
	return cls;
}

function isAscii(b: Uint8Array, s: number, e: number): boolean {
	for (let i = s; i < e; i++) if (b[i] >= 0x80) return false;
	return true;
}

/**
 * A worker's type sample (WorkerInit.parquetSample, docs/parquet.md): every column's type is classified in its
 * chunks until `limit` bytes of records were, then only the columns it has seen no value of, so every column the
 * run holds a value of ends up with at least one classified value. Which chunks a worker gets does not matter: the
 * types decided from any sample are proven (or widened) by the conversion.
 */
export class TypeSample {
	private bytes = 0;
	/** 1 for a column not seen yet. */
	private readonly unseen: Uint8Array;
	private left: number;
	constructor(
		fields: number,
		private readonly limit: number,
	) {
		this.unseen = new Uint8Array(fields).fill(1);
		this.left = fields;
	}

	/** Classifies a chunk's regions as far as the sample still needs (the arguments are classifyRegions'). */
	classify(
		bytes: Uint8Array,
		regions: { offset: number; length: number }[],
		delimiter: number,
		scanner: SpecialScanner | null,
	): Int32Array {
		const fields = this.unseen.length;
		const full = this.bytes < this.limit;
		// Sampled enough and every column seen: only invalid UTF-8 is looked for (string mode's work).
		const mode: ParquetTypesMode = full || this.left > 0 ? 'infer' : 'string';
		const cls = classifyRegions(bytes, regions, delimiter, fields, mode, scanner, full ? null : this.unseen);
		for (const r of regions) this.bytes += r.length;
		for (let c = 0; c < fields; c++)
			if (this.unseen[c] === 1 && cls[2 * c + 1] & F_SEEN) {
				this.unseen[c] = 0;
				this.left--;
			}
		return cls;
	}
}
