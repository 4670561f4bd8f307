/**
 * Sweep's engine: plain Node, no VS Code. The CLI and the extension call the same functions.
 */
import * as path from 'node:path';
import { MAX_RECORD_BYTES } from '../rules';
import { LF, normalizeDelimiter, parseSample } from './dialect';
import { openInput } from './extract';
import { readHead } from './header';
import { type InputSource, openSource } from './source';
import type { HeaderInfo } from './types';

export type { SweepErrorCode, SweepErrorDetails } from './errors';
export { abortedError, isSweepError, SweepError } from './errors';
export { defaultOutDir } from './extract';
export { extract } from './offThread';
export { acquireRunLock, type LockHolder, type RunLock } from './runLock';
export type * from './types';

/** The header of a file and a few sample records (for pickers), read from disk. */
export async function inspectHeader(input: string, opts: { delimiter?: string | null } = {}): Promise<HeaderInfo> {
	const file = path.resolve(input);
	// The run's own checks (a folder, a FIFO or device, a file under /proc or /sys, an empty file), in one place.
	const { fh, st } = await openInput(file);
	let source: InputSource | undefined;
	try {
		source = await openSource(file, fh, st.size);
		const head = await readHead(source, source.size, file, normalizeDelimiter(opts.delimiter), MAX_RECORD_BYTES);
		const rest = head.sample.subarray(head.dataStart - head.bom);
		const lastLF = rest.lastIndexOf(LF);
		const sample = lastLF < 0 ? [] : parseSample(rest.subarray(0, lastLF + 1).toString('utf8'), head.delimiter, 5);
		return { header: head.names, delimiter: head.delimiter, sample };
	} finally {
		await source?.close();
		await fh.close();
	}
}
