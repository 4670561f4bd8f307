/**
 * The compression rules: `--compress`, `--compress-level`, `sweep.compression` and the engine's `compress` /
 * `compressLevel` options all go through these, so they accept and refuse the same values with the same words.
 * Plain TypeScript: no `vscode`, no I/O.
 */
import { accept, type Checked, refuse } from './checked';

/** How partition files are written, and how an input was found to be compressed. */
export type Compression = 'none' | 'gzip' | 'zstd';

export const COMPRESSIONS: readonly Compression[] = ['none', 'gzip', 'zstd'];

/** Levels each codec accepts, and its default (gzip's own default 6, zstd's own default 3). */
export const COMPRESSION_LEVELS: Readonly<Record<'gzip' | 'zstd', { min: number; max: number; default: number }>> = {
	gzip: { min: 1, max: 9, default: 6 },
	zstd: { min: 1, max: 19, default: 3 },
};

/** File-name suffix of each codec's output (`AAPL.csv.gz`). */
export const COMPRESSION_SUFFIX: Readonly<Record<Compression, string>> = { none: '', gzip: '.gz', zstd: '.zst' };

/** The first Node with zstd in `zlib` (22.15 on the 22 line; 23.8 on the 23 line). */
export const ZSTD_NODE_VERSION = '22.15';

/**
 * `--compress` / `sweep.compression`: `none`, `gzip` or `zstd` (any case). Absent, null or empty mean `none`.
 */
export function parseCompression(raw: unknown): Checked<Compression> {
	if (raw === undefined || raw === null) return accept('none');
	if (typeof raw === 'string') {
		const v = raw.trim().toLowerCase();
		if (v === '') return accept('none');
		if ((COMPRESSIONS as readonly string[]).includes(v)) return accept(v as Compression);
	}
	return refuse('is not one of none, gzip, zstd');
}

/**
 * `--compress-level N` for the codec chosen: a whole number in the codec's range (gzip 1–9, zstd 1–19), or
 * absent (null: the codec's default). A level without a codec is refused: it would do nothing.
 */
export function parseCompressionLevel(raw: unknown, codec: Compression): Checked<number | null> {
	if (raw === undefined || raw === null || (typeof raw === 'string' && raw.trim() === '')) return accept(null);
	if (codec === 'none') return refuse('needs a compression (gzip or zstd) to apply to');
	const range = COMPRESSION_LEVELS[codec];
	const text = typeof raw === 'string' ? raw.trim() : null;
	const n = typeof raw === 'number' ? raw : text !== null && /^\d+$/.test(text) ? Number(text) : Number.NaN;
	if (!Number.isInteger(n) || n < range.min || n > range.max) {
		return refuse(`is not a ${codec} level (a whole number from ${range.min} to ${range.max})`);
	}
	return accept(n);
}

/** True when this Node's `zlib` can compress and decompress zstd. */
export function nodeHasZstd(zlib: object): boolean {
	return typeof (zlib as { zstdCompressSync?: unknown }).zstdCompressSync === 'function';
}

/** The sentence given when zstd output is asked for on a Node without it. */
export function zstdOutputProblem(nodeVersion: string): string {
	return `zstd output needs Node ${ZSTD_NODE_VERSION} or later (this is Node ${nodeVersion}); use --compress gzip, or run Sweep on a newer Node (VS Code's own has it)`;
}

/** Matches a compression suffix at the end of a file name (`.gz`, `.zst`, any case). */
export const COMPRESSED_NAME = /\.(gz|zst)$/i;

/** A file name without its compression suffix: `trades.csv.gz` → `trades.csv`. */
export function withoutCompressionSuffix(name: string): string {
	return name.replace(COMPRESSED_NAME, '');
}

/**
 * The name an input's output folder takes by default (`processed/<stem>`, `${fileBasenameNoExtension}`): its file
 * name without a compression suffix and extension (`trades.csv.gz` → `trades`), but never empty, `.` or `..` — a
 * name that would leave nothing keeps what it would lose (`.zst` → `.zst`, `..csv` → `..csv`, `..csv.gz` → `..csv`).
 */
export function outputStem(fileName: string): string {
	const keep = (n: string) => n !== '' && n !== '.' && n !== '..';
	const plain = keep(withoutCompressionSuffix(fileName)) ? withoutCompressionSuffix(fileName) : fileName;
	const dot = plain.lastIndexOf('.');
	const stem = dot > 0 ? plain.slice(0, dot) : plain;
	return keep(stem) ? stem : plain;
}

/** True for the names Sweep extracts: `.csv`/`.tsv`, optionally followed by `.gz`/`.zst` (any case). */
export function isExtractableName(name: string): boolean {
	return /\.(csv|tsv)(\.(gz|zst))?$/i.test(name);
}
