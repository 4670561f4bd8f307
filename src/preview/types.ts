/**
 * Plain data the preview passes between its reader (extension host), its profile worker and the webview.
 * No `vscode`, no Node types: everything here crosses `postMessage` as structured clone.
 */

/** One record of the file as shown in the table. */
export interface PreviewRow {
	/** 1-based line where the record starts. */
	line: number;
	/** Field texts (invalid UTF-8 shown as U+FFFD), each cut at {@link FIELD_TEXT_CAP} characters. */
	fields: string[];
	/** Why the record would be rejected by a run (wrong field count, text after a closing quote, …). */
	problem?: string;
}

/** A field longer than this (in characters) is cut for the table; its hover shows this much of it. */
export const FIELD_TEXT_CAP = 4000;

/** What stops a file from being previewed or run, in one sentence. */
export interface PreviewProblem {
	kind:
		| 'missing'
		| 'not-a-file'
		| 'empty'
		| 'binary'
		| 'utf16'
		| 'compressed'
		| 'bad-header'
		| 'header-only'
		| 'runaway-quote'
		| 'unreadable';
	message: string;
	/** True when an extraction cannot work on this file (the Run button is disabled with `message`). */
	blocksRun: boolean;
}

/** The dialect found in the head of the file. */
export interface PreviewDialect {
	delimiter: string;
	/** True when the delimiter was sniffed, false when `sweep.delimiter` gave it. */
	sniffed: boolean;
	/** `LF`, `CRLF`, `mixed` (both seen), `none` (a single line without a line break). */
	lineEndings: 'LF' | 'CRLF' | 'mixed' | 'none';
	bom: boolean;
	encoding: 'ASCII' | 'UTF-8' | 'UTF-8 with invalid bytes';
	/** Records in the head with at least one quoted field, and those spanning several lines. */
	quotedRecords: number;
	multilineRecords: number;
}

/** The bounded read of the file's start: what the panel shows at once. */
export interface PreviewHead {
	file: string;
	size: number;
	mtimeMs: number;
	/** Bytes of the file read for this (at most the head budget). */
	headBytes: number;
	/** The head read covered the whole file: counts are exact. */
	wholeFile: boolean;
	dialect?: PreviewDialect;
	header: string[];
	/** File offset and line of the first data record. */
	dataStart: number;
	dataLine: number;
	/** The first records (up to the first page). */
	rows: PreviewRow[];
	/** Where the next page of records starts; null when the file ends there. */
	next: { offset: number; line: number } | null;
	/** Records seen in the head and their bytes (for a first row-count estimate before the profile). */
	headRecords: number;
	headRecordBytes: number;
	problem?: PreviewProblem;
	/** Things worth knowing that do not stop anything (an unterminated quote at the end of the file, …). */
	notes: string[];
}

/** Types a column's values are guessed as. */
export type ValueType = 'integer' | 'decimal' | 'date' | 'datetime' | 'text' | 'empty';

/** How good a column is to partition by. */
export interface PartitionHint {
	level: 'good' | 'fair' | 'bad' | 'single';
	text: string;
}

/** One column of the profile. */
export interface ColumnProfile {
	index: number;
	name: string;
	/** Values looked at and how many of them were empty. */
	values: number;
	empty: number;
	type: ValueType;
	/** Share of the non-empty values that are of `type` (1 unless the column is mixed and called text). */
	typeShare: number;
	/** For a text column: the share of non-empty values that were numbers and dates. */
	numericShare: number;
	dateShare: number;
	/** Distinct values: counted in what was read, and estimated for the whole file. */
	distinctSeen: number;
	distinctEstimate: number;
	/** True when the distinct figure is exact (the whole file was read and counted). */
	distinctExact: boolean;
	min?: string;
	max?: string;
	/** The most frequent values in what was read, with their counts there. */
	top: { value: string; count: number }[];
	/** True when `top` counts are complete (no value was left out of the tally). */
	topExact: boolean;
	hint: PartitionHint;
	/** For a column of dates and date-times: distinct days seen (what `date(COL)` would partition by). */
	days?: number;
}

/** The profile so far (posted several times as it fills in). */
export interface ProfileSnapshot {
	columns: ColumnProfile[];
	/** Records and bytes looked at, in the head and in the sampled blocks. */
	headRecords: number;
	sampledRecords: number;
	sampledBytes: number;
	/** Sampled blocks done, planned, and those skipped because no record start could be found in them. */
	blocksDone: number;
	blocksTotal: number;
	blocksSkipped: number;
	/** The whole file was read (no sampling): every figure is exact. */
	exact: boolean;
	/** Records in what was read that a run would reject (wrong field count, text after a closing quote). */
	malformed: number;
	rows: RowEstimate;
	/** 0..1 */
	progress: number;
	done: boolean;
	elapsedMs: number;
}

/** The estimated number of data records (exact when the whole file was read). */
export interface RowEstimate {
	estimate: number;
	low: number;
	high: number;
	exact: boolean;
}
