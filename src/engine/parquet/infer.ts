import { isUtf8 } from 'node:buffer';
import { splitRecord, viewOf } from './fields';
import { classifyWithin, F_BAD_UTF8, F_SEEN, newClassification, type ParquetTypesMode } from './types';

/**
 * Classifies every field of the records in the given regions of `data` (whole records, each ending with LF, as
 * the worker lays out a chunk's partitions). In `string` mode only invalid UTF-8 matters: a region that is all
 * valid UTF-8 is not split at all.
 */
export function classifyRegions(
	data: Uint8Array,
	regions: { offset: number; length: number }[],
	delimiter: number,
	fields: number,
	mode: ParquetTypesMode,
): Int32Array {
	const cls = newClassification(fields);
	const bounds = new Int32Array(fields * 2);
	const kinds = new Uint8Array(fields);
	const view = viewOf(data);
	for (const r of regions) {
		const end = r.offset + r.length;
		const valid = isUtf8(data.subarray(r.offset, end));
		if (mode === 'string' && valid) continue;
		let pos = r.offset;
		while (pos < end) {
			const next = splitRecord(data, view, pos, end, delimiter, fields, bounds, kinds);
			if (next < 0) throw new Error('internal: a record without its line ending');
			pos = next;
			for (let c = 0; c < fields; c++) {
				const s = bounds[2 * c];
				const e = bounds[2 * c + 1];
				if (s === e) continue;
				if (mode === 'infer') {
					const at = 2 * c;
					if (cls[at] !== 0) cls[at] = classifyWithin(data, s, e, cls[at]);
					cls[at + 1] |= F_SEEN;
				}
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
