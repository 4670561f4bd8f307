import { type FileHandle, open, stat } from 'node:fs/promises';
import type { PreviewProblem } from './types';

/**
 * Random-access bytes of the file the preview reads. Plain files are seekable; a compressed source (once Sweep
 * reads `.csv.gz`/`.csv.zst`) plugs in here as a non-seekable one: the head comes from its first decompressed
 * bytes and the profile then covers the head only.
 */
export interface ByteSource {
	readonly file: string;
	/** Bytes of the data (for a plain file: its size). */
	readonly size: number;
	readonly mtimeMs: number;
	/** False for a stream that can only be read from the start (the sampler then stays in the head). */
	readonly seekable: boolean;
	/** Reads up to `length` bytes at `position` into a new buffer (shorter at the end of the data). */
	read(position: number, length: number): Promise<Buffer>;
	close(): Promise<void>;
}

/** A plain file on disk. */
class FileSource implements ByteSource {
	readonly seekable = true;
	constructor(
		readonly file: string,
		private readonly fh: FileHandle,
		readonly size: number,
		readonly mtimeMs: number,
	) {}

	async read(position: number, length: number): Promise<Buffer> {
		const want = Math.max(0, Math.min(length, this.size - position));
		const buf = Buffer.allocUnsafe(want);
		let got = 0;
		while (got < want) {
			const { bytesRead } = await this.fh.read(buf, got, want - got, position + got);
			if (bytesRead === 0) break;
			got += bytesRead;
		}
		return got === want ? buf : buf.subarray(0, got);
	}

	close(): Promise<void> {
		return this.fh.close();
	}
}

/** Thrown by {@link openSource}: the file cannot be read at all; `problem` says why in one sentence. */
export class SourceProblem extends Error {
	constructor(readonly problem: PreviewProblem) {
		super(problem.message);
	}
}

/** Opens `file` for the preview, or throws {@link SourceProblem} (missing, not a file, unreadable). */
export async function openSource(file: string): Promise<ByteSource> {
	const st = await stat(file).catch((e: NodeJS.ErrnoException) => {
		const missing = e.code === 'ENOENT' || e.code === 'ENOTDIR';
		throw new SourceProblem({
			kind: missing ? 'missing' : 'unreadable',
			message: missing ? `${file} does not exist (any more).` : `${file} cannot be read: ${e.code ?? e.message}.`,
			blocksRun: true,
		});
	});
	if (!st.isFile()) {
		throw new SourceProblem({ kind: 'not-a-file', message: `${file} is not a regular file.`, blocksRun: true });
	}
	const fh = await open(file, 'r').catch((e: NodeJS.ErrnoException) => {
		throw new SourceProblem({
			kind: 'unreadable',
			message: `${file} cannot be read: ${e.code ?? e.message}.`,
			blocksRun: true,
		});
	});
	return new FileSource(file, fh, st.size, st.mtimeMs);
}
