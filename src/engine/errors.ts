import { resolve } from 'node:path';

/**
 * Every failure Sweep reports is a SweepError with a code; the code decides the CLI exit status
 * (README "Command line"): 2 = bad usage or bad input found before anything was written, 1 = failed during the
 * run (output folder left as it was), 130 = interrupted.
 */
export type SweepErrorCode =
	| 'usage'
	| 'input-missing'
	| 'input-empty'
	| 'input-encoding'
	| 'bad-header'
	| 'missing-column'
	| 'bad-mapping'
	| 'bad-orders'
	| 'output-foreign'
	| 'output-invalid'
	| 'output-locked'
	| 'no-space'
	| 'manifest-invalid'
	| 'append-mismatch'
	| 'duplicate-input'
	| 'output-modified'
	| 'record-too-large'
	| 'invalid-utf8'
	| 'type-mismatch'
	| 'max-rejects'
	| 'max-partitions'
	| 'file-changed'
	| 'input-corrupt'
	| 'lock-lost'
	| 'worker-failed'
	| 'io'
	| 'aborted';

const BEFORE_WRITING: ReadonlySet<SweepErrorCode> = new Set([
	'usage',
	'input-missing',
	'input-empty',
	'input-encoding',
	'bad-header',
	'missing-column',
	'bad-mapping',
	'bad-orders',
	'output-foreign',
	'output-invalid',
	'output-locked',
	'no-space',
	'manifest-invalid',
	'append-mismatch',
	'duplicate-input',
	'output-modified',
]);

export interface SweepErrorDetails {
	/** The file the error is about. */
	file?: string;
	/** 1-based line in that file. */
	line?: number;
	/** For `missing-column`: the column asked for and the header that lacks it. */
	column?: string;
	header?: string[];
	/**
	 * A failed append whose undo could not finish: the files it could not put back (its journal stays, and the next
	 * run on the folder finishes the undo once they can be written; docs/append.md).
	 */
	notUndone?: string[];
	cause?: unknown;
}

export class SweepError extends Error {
	readonly code: SweepErrorCode;
	readonly details: SweepErrorDetails;

	constructor(code: SweepErrorCode, message: string, details: SweepErrorDetails = {}) {
		super(message, details.cause === undefined ? undefined : { cause: details.cause });
		this.name = 'SweepError';
		this.code = code;
		this.details = details;
	}

	/** CLI exit status for this error. */
	get exitCode(): 1 | 2 | 130 {
		if (this.code === 'aborted') return 130;
		return BEFORE_WRITING.has(this.code) ? 2 : 1;
	}
}

export function isSweepError(e: unknown): e is SweepError {
	return e instanceof SweepError;
}

/** The error an aborted run rejects with. */
export function abortedError(): SweepError {
	return new SweepError('aborted', 'Extraction cancelled; the previous output, if any, is untouched.');
}

/**
 * The error for an input of 0 bytes. A file under /proc or /sys reports 0 bytes whatever it holds, so it is not
 * called empty but said to need copying to a regular file.
 */
export function emptyInput(file: string): SweepError {
	if (isPseudoFile(resolve(file))) return pseudoInput(file, 0);
	return new SweepError('input-empty', `${file} is empty: there is no header to read.`, { file });
}

/** A path under /proc or /sys (give it resolved, links followed): the kernel's files, whose size is made up. */
export function isPseudoFile(resolved: string): boolean {
	return /^\/(proc|sys)\//.test(resolved);
}

/**
 * A file under /proc or /sys reports a size that says nothing of what it holds (0, or 4,096 under /sys), so it cannot
 * be read as Sweep reads (to its size, checked for changes): it is refused before anything is read.
 */
export function pseudoInput(file: string, size: number): SweepError {
	return new SweepError(
		'input-empty',
		`${file} reports a size of ${size} bytes (a file under /proc or /sys: its size says nothing of what it holds); copy it to a regular file first.`,
		{ file },
	);
}

/** Sweep reads only regular files: a FIFO or a device has no size, cannot be checked for changes, and a read of one
 * can block where no cancel reaches it (README "Special files"). */
export function notRegular(
	file: string,
	st: import('node:fs').Stats,
	code: 'input-missing' | 'bad-orders',
): SweepError {
	const kind = st.isFIFO()
		? 'a FIFO (named pipe)'
		: st.isCharacterDevice()
			? 'a character device'
			: st.isBlockDevice()
				? 'a block device'
				: st.isSocket()
					? 'a socket'
					: 'not a regular file';
	const what = code === 'bad-orders' ? 'Orders file ' : '';
	return new SweepError(
		code,
		`${what}${file} is ${kind}; Sweep reads only regular files (save the data to a file first).`,
		{ file },
	);
}
