import { createHash } from 'node:crypto';

const SAFE = new Uint8Array(256);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-_') SAFE[c.charCodeAt(0)] = 1;
const HEX = '0123456789ABCDEF';
const DEVICE = /^(CON|PRN|AUX|NUL|COM[1-9]|LPT[1-9])(?=\.|$)/i;
const MAX_NAME = 120;
const CUT_TO = 100;

/**
 * One key value (a byte string, see keys.ts) as a file-name part that is safe on Windows, macOS and Linux:
 * bytes outside `A–Z a–z 0–9 . - _` are percent-encoded (so separators, `:`, `%`, `+`, `~`, spaces and non-ASCII
 * never appear raw), a leading `_` or `.` and a trailing `.` are encoded too, an empty value is `~empty`, and a
 * Windows device name (also before a dot: `CON.txt`) gets `~` after the device part.
 */
export function encodeValue(value: string): string {
	if (value.length === 0) return '~empty';
	let out = '';
	const last = value.length - 1;
	for (let i = 0; i <= last; i++) {
		const b = value.charCodeAt(i);
		const edge = (i === 0 && (b === 0x5f || b === 0x2e)) || (i === last && b === 0x2e);
		out += SAFE[b] && !edge ? value[i] : `%${HEX[b >> 4]}${HEX[b & 15]}`;
	}
	return out.replace(DEVICE, '$1~');
}

/**
 * Assigns partition file names: stable (the same keys in the same order give the same names), unique even on
 * case-insensitive file systems (a later key whose name equals an earlier one ignoring case gets `~2`, `~3`…),
 * never starting with `_` (Sweep's own files do), and at most 120 bytes before the extension (longer names are cut
 * to 100 bytes and end with `~` and 8 hex digits of the SHA-1 of the key's bytes, values joined by NUL).
 */
export class FileNamer {
	private readonly taken = new Set<string>();

	constructor(private readonly extension: string) {}

	name(parts: readonly string[]): string {
		let base = parts.map(encodeValue).join('+');
		if (base.length > MAX_NAME) {
			let cut = base.slice(0, CUT_TO);
			// Do not split a %XX escape.
			const pct = cut.lastIndexOf('%');
			if (pct > CUT_TO - 3) cut = cut.slice(0, pct);
			const digest = createHash('sha1')
				.update(Buffer.from(parts.join('\0'), 'latin1'))
				.digest('hex')
				.slice(0, 8);
			base = `${cut}~${digest}`;
		}
		let name = base;
		for (let n = 2; this.taken.has(name.toLowerCase()); n++) name = `${base}~${n}`;
		this.taken.add(name.toLowerCase());
		return name + this.extension;
	}
}
