import * as zlib from 'node:zlib';
import {
	COMPRESSION_LEVELS,
	type Compression,
	nodeHasZstd,
	parseCompression,
	parseCompressionLevel,
	zstdOutputProblem,
} from '../rules/compression';
import { SweepError } from './errors';

export type { Compression } from '../rules/compression';

const GZIP_MAGIC = [0x1f, 0x8b];
/** zlib's default output chunk (zlib.constants.Z_DEFAULT_CHUNK). */
const GZIP_CHUNK = 16 * 1024;
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];

const startsWith = (bytes: Uint8Array, magic: number[]) =>
	bytes.length >= magic.length && magic.every((b, i) => bytes[i] === b);

/** A zstd skippable frame's magic, `5X 2a 4d 18` (0x184D2A50–0x184D2A5F little-endian): pzstd starts files with one. */
const isSkippableMagic = (b: Uint8Array) =>
	b.length >= 4 && (b[0] & 0xf0) === 0x50 && b[1] === 0x2a && b[2] === 0x4d && b[3] === 0x18;

/**
 * The compression of a file, from its first bytes (gzip `1f 8b`, zstd `28 b5 2f fd` or a skippable frame), whatever
 * its name says.
 */
export function detectCompression(first: Uint8Array): Compression {
	if (startsWith(first, GZIP_MAGIC)) return 'gzip';
	if (startsWith(first, ZSTD_MAGIC) || isSkippableMagic(first)) return 'zstd';
	return 'none';
}

/**
 * A file shorter than its format's magic (a `.gz` of one byte `1f`): what its name and bytes say it was meant to be,
 * so that it is reported as truncated rather than read as text.
 */
export function truncatedMagic(first: Uint8Array, name: string): Compression {
	const prefixOf = (magic: number[]) => first.length < magic.length && [...first].every((b, i) => b === magic[i]);
	if (first.length > 0 && /\.gz$/i.test(name) && prefixOf(GZIP_MAGIC)) return 'gzip';
	if (first.length > 0 && /\.zst$/i.test(name) && prefixOf(ZSTD_MAGIC)) return 'zstd';
	return 'none';
}

/** True when this Node's zlib has zstd (Node 22.15+); otherwise zstd input is read by the pure-JS `fzstd`. */
export const hasNativeZstd = (): boolean => nodeHasZstd(zlib);

/** How the output is compressed, as the workers need it. */
export interface OutputCompression {
	codec: 'gzip' | 'zstd';
	level: number;
}

/**
 * Checks the engine's `compress` / `compressLevel` options through the compression rules; null for plain output.
 * zstd output on a Node without zstd is a usage error (exit 2), found before anything is written.
 */
export function outputCompression(compress: unknown, level: unknown): OutputCompression | null {
	const codec = parseCompression(compress);
	if (!codec.ok) throw new SweepError('usage', `compression ${JSON.stringify(compress)} ${codec.problem}.`);
	const lvl = parseCompressionLevel(level, codec.value);
	if (!lvl.ok) throw new SweepError('usage', `compression level ${JSON.stringify(level)} ${lvl.problem}.`);
	if (codec.value === 'none') return null;
	if (codec.value === 'zstd' && !hasNativeZstd())
		throw new SweepError('usage', `${zstdOutputProblem(process.version)}.`);
	return { codec: codec.value, level: lvl.value ?? COMPRESSION_LEVELS[codec.value].default };
}

/**
 * Compresses `bytes` as one complete gzip member or zstd frame. Members and frames can be concatenated: a file of
 * several decompresses to the concatenation of their contents (gzip, zstd and Node all read such files whole).
 */
export function compressBlock(c: OutputCompression, bytes: Uint8Array): Buffer {
	// zlib's output chunk, 16 KB by default, is allocated whole for every call, and the member it answers is a view
	// of it: a worker compresses each partition's region of a chunk before copying them all out, so 20,000 partitions
	// held 20,000 × 16 KB (330 MB) of mostly empty buffers. A chunk just over the member's largest possible size
	// (deflateBound: the bytes, ~0.03% more, and the gzip header and trailer) is enough, and a small one comes from
	// Node's shared buffer pool. The compressed bytes are the same whatever the chunk size (only how they are
	// collected changes).
	if (c.codec === 'gzip') {
		const n = bytes.length;
		return zlib.gzipSync(bytes, { level: c.level, chunkSize: Math.min(GZIP_CHUNK, n + (n >> 10) + 64) });
	}
	const z = zlib as unknown as {
		zstdCompressSync(b: Uint8Array, o: { params: Record<number, number> }): Buffer;
		constants: Record<string, number>;
	};
	return z.zstdCompressSync(bytes, {
		params: { [z.constants.ZSTD_c_compressionLevel]: c.level },
	});
}

/** Decompresses a whole small file (the orders file) off the calling thread; bytes that are not compressed pass. */
export async function decompressWhole(bytes: Buffer, file: string, maxBytes: number): Promise<Buffer> {
	const kind = detectCompression(bytes);
	if (kind === 'none') return bytes;
	try {
		if (kind === 'gzip') {
			return await new Promise<Buffer>((resolve, reject) =>
				zlib.gunzip(bytes, { maxOutputLength: maxBytes }, (e, out) => (e ? reject(e) : resolve(out))),
			);
		}
		// fzstd, also where Node has zstd: Node's zlib (22.15–24 at least) keeps only a file's first zstd frame.
		const fzstd = require('fzstd') as typeof import('fzstd');
		const out = fzstd.decompress(bytes);
		if (out.length > maxBytes) throw new RangeError('Cannot create a Buffer larger than the limit');
		return Buffer.from(out.buffer, out.byteOffset, out.length);
	} catch (e) {
		const message = (e as Error).message ?? String(e);
		const tooLarge = /larger than|maxOutputLength|ERR_BUFFER_TOO_LARGE/i.test(message + (e as { code?: string }).code);
		throw new SweepError(
			'bad-orders',
			tooLarge
				? `Orders file ${file} decompresses to more than ${Math.round(maxBytes / 1048576)} MB; orders files are read whole.`
				: `Orders file ${file} is not a valid ${kind} file: ${message}.`,
			{ file, cause: e },
		);
	}
}
