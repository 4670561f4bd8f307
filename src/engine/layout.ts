/**
 * Where each partition's records go: the one place that turns a partition key into relative output paths, for both
 * layouts and with or without size-capped files. Formats that write other extensions (compressed CSV, Parquet) call
 * the same functions with their own extension.
 *
 * - `flat`: `<stem><ext>`, or `<stem>-00001<ext>`, `<stem>-00002<ext>`… when files are capped; the stem comes from
 *   fileNames.ts (`AAPL`, `AAPL+2024-03-15`).
 * - `hive`: `<name>=<value>/…/data<ext>`, or `…/part-00001<ext>`… when capped; one folder per partition column, in
 *   the order given, values escaped as DuckDB and Spark write them (escapeHiveValue).
 */
import { createHash } from 'node:crypto';
import type { Layout } from '../rules';
import { FileNamer } from './fileNames';

export type { Layout } from '../rules';

/** Digits of a part number: name order is record order up to MAX_PARTS files per partition. */
export const PART_DIGITS = 5;
export const MAX_PARTS = 99_999;

/** The value hive writes for an empty (null) partition value. */
export const HIVE_DEFAULT_PARTITION = '__HIVE_DEFAULT_PARTITION__';

const HEX = '0123456789ABCDEF';
/** Bytes percent-encoded in hive folder names (besides controls and non-ASCII). */
const HIVE_ESCAPE = new Uint8Array(256);
for (const c of '/\\=%: #?*"\'[]{}^<>|') HIVE_ESCAPE[c.charCodeAt(0)] = 1;
for (let b = 0; b < 0x20; b++) HIVE_ESCAPE[b] = 1;
for (let b = 0x7f; b < 0x100; b++) HIVE_ESCAPE[b] = 1;
const MAX_VALUE = 120;
const CUT_TO = 100;

const pct = (b: number) => `%${HEX[b >> 4]}${HEX[b & 15]}`;

/**
 * One value (a byte string, see keys.ts) as it appears after `name=` in a hive folder: percent-encoding (upper-case
 * hex) of `/ \ = % :` space `# ? * " ' [ ] { } ^`, control characters, DEL and every non-ASCII byte, as DuckDB and
 * Spark write them, plus `< > |` (not allowed in Windows names) and a trailing `.` (Windows drops it); an empty value
 * is `__HIVE_DEFAULT_PARTITION__` (read back as NULL), and the value `__HIVE_DEFAULT_PARTITION__` itself gets its
 * first `_` encoded so that it is not. `allLetters` also encodes ASCII letters (a folder whose name equals an
 * earlier one ignoring case; it decodes to the same value). A result over 120 bytes is cut to at most 100 (at a
 * whole byte's escape and a whole UTF-8 character) and ends with `~` and 8 hex digits of the SHA-1 of the value
 * (such a value does not read back as itself).
 */
export function escapeHiveValue(value: string, allLetters = false): string {
	if (value.length === 0) return HIVE_DEFAULT_PARTITION;
	let out = '';
	const last = value.length - 1;
	for (let i = 0; i <= last; i++) {
		const b = value.charCodeAt(i);
		const letter = (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a);
		out += HIVE_ESCAPE[b] || (i === last && b === 0x2e) || (allLetters && letter) ? pct(b) : value[i];
	}
	if (value === HIVE_DEFAULT_PARTITION) out = `%5F${out.slice(1)}`;
	if (out.length > MAX_VALUE) {
		// Cut where the escaped text of whole bytes reaches CUT_TO, never inside a `%XX`, and never inside a UTF-8
		// character: a folder name ending in half a character is invalid UTF-8, which readers refuse for the whole
		// dataset (DuckDB: "decoded value is invalid UTF8").
		let cut = 0;
		let bytes = 0;
		while (bytes < value.length) {
			const width = out.charCodeAt(cut) === 0x25 ? 3 : 1;
			if (cut + width > CUT_TO) break;
			cut += width;
			bytes++;
		}
		while (bytes > 0 && bytes < value.length && (value.charCodeAt(bytes) & 0xc0) === 0x80) {
			bytes--;
			cut -= 3; // a non-ASCII byte is always escaped
		}
		out = `${out.slice(0, cut)}~${createHash('sha1').update(Buffer.from(value, 'latin1')).digest('hex').slice(0, 8)}`;
	}
	return out;
}

/** A partition name (a column or an `as` name, as text) before `=` in a hive folder: escaped the same way. */
export function escapeHiveName(name: string): string {
	return escapeHiveValue(Buffer.from(name, 'utf8').toString('latin1'));
}

/**
 * The relative path (with `/`) of one output file: `stem` is a partition's flat base name or hive folder path,
 * `part` its 1-based part number when files are capped (null: one file per partition), `extension` with its dot.
 */
export function partitionFile(layout: Layout, stem: string, part: number | null, extension: string): string {
	const n = part === null ? '' : String(part).padStart(PART_DIGITS, '0');
	if (layout === 'flat') return part === null ? `${stem}${extension}` : `${stem}-${n}${extension}`;
	return part === null ? `${stem}/data${extension}` : `${stem}/part-${n}${extension}`;
}

/**
 * Assigns each new partition key its stem (in order of first appearance): unique even on case-insensitive file
 * systems. Flat: FileNamer (`~2`, `~3`…). Hive: per folder level, a value whose folder name equals a sibling's
 * ignoring case is written with its letters percent-encoded (`symbol=AAPL`, `symbol=%61%61%70%6C` for `aapl`), so
 * it still reads back as itself.
 */
export class PartitionNamer {
	private readonly flat: FileNamer;
	/** Hive: `parent\0value` -> folder name, and `parent` -> lower-cased names taken in it. */
	private readonly folders = new Map<string, string>();
	private readonly taken = new Map<string, Set<string>>();
	private readonly names: string[];

	constructor(
		readonly layout: Layout,
		/** Partition names (hive folder names), as text. */
		names: readonly string[],
	) {
		this.flat = new FileNamer('');
		this.names = names.map((n) => `${escapeHiveName(n)}=`);
	}

	/** The stem of a new partition key (its parts are byte strings). Call once per distinct key. */
	stem(parts: readonly string[]): string {
		if (this.layout === 'flat') return this.flat.name(parts);
		let parent = '';
		for (let i = 0; i < parts.length; i++) {
			const id = `${parent}\0${parts[i]}`;
			let folder = this.folders.get(id);
			if (folder === undefined) {
				let taken = this.taken.get(parent);
				if (!taken) {
					taken = new Set();
					this.taken.set(parent, taken);
				}
				folder = this.names[i] + escapeHiveValue(parts[i]);
				if (taken.has(folder.toLowerCase())) folder = this.names[i] + escapeHiveValue(parts[i], true);
				const base = folder;
				for (let n = 2; taken.has(folder.toLowerCase()); n++) folder = `${base}~${n}`;
				taken.add(folder.toLowerCase());
				this.folders.set(id, folder);
			}
			parent = parent === '' ? folder : `${parent}/${folder}`;
		}
		return parent;
	}
}
