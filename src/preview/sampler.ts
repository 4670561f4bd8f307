/**
 * The sampled profile: the head of the file (always correct: records from the header on) plus blocks read at
 * evenly spaced offsets over the rest, each re-synchronised to a record start. Small files are read whole and
 * every figure is then exact. Runs in a worker thread (previewWorker.ts); nothing here touches VS Code.
 */
import { firstRecordEnd, normalizeDelimiter, splitRecord } from '../engine/dialect';
import { eachRecord, HEAD_BYTES, scanHead } from './head';
import { ColumnStats } from './profile';
import { type ByteSource, openSource, SourceProblem } from './source';
import type { ProfileSnapshot, RowEstimate } from './types';

export interface SampleOptions {
	/** `sweep.delimiter`, or null to sniff (as a run does). */
	delimiter?: string | null;
	/** Bytes of the head (read first, always). */
	headBytes?: number;
	/** Blocks spread over the rest of the file, and the bytes of each. */
	blocks?: number;
	blockBytes?: number;
	/** At least this long between two progress snapshots (the first and last are always sent). */
	updateMs?: number;
}

export const DEFAULT_BLOCKS = 64;
export const DEFAULT_BLOCK_BYTES = 256 * 1024;
/** Records of one hypothesis looked at when two readings of a block never agree (see findRecordStart). */
const SCORE_RECORDS = 32;

/**
 * A record start in `block`, a window of the file that begins at an unknown place (maybe inside a quoted field
 * holding line breaks): the index of a byte that surely begins a record, or -1 when none can be found.
 *
 * Just after the first line break of the window, the file is either at a record start (A) or inside a quoted
 * field (B): nothing else can precede a line break. Both readings are followed with the engine's own record-end
 * scanner (`firstRecordEnd`, told which state it starts in); the first record end they share is a record end
 * whichever was true. If they never meet inside the window (B usually never leaves its quote in a file without
 * quotes), the reading whose records have the header's field count wins; A on a tie.
 */
export function findRecordStart(block: Uint8Array, delimiter: number, width: number): number {
	const firstLF = block.indexOf(0x0a);
	if (firstLF === -1) return -1;
	const start = firstLF + 1;
	const next = (pos: number, inQuote: boolean): number => {
		if (pos >= block.length) return -1;
		const e = firstRecordEnd(block.subarray(pos), delimiter, inQuote);
		return e === -1 ? -1 : pos + e;
	};
	const bStart = next(start, true);
	let a = next(start, false);
	let b = bStart;
	while (a !== -1 && b !== -1) {
		if (a === b) return a;
		if (a < b) a = next(a, false);
		else b = next(b, false);
	}
	const score = (from: number): number => {
		let ok = 0;
		let pos = from;
		for (let i = 0; i < SCORE_RECORDS && pos !== -1; i++) {
			const e = next(pos, false);
			if (e === -1) break;
			const split = splitRecord(block.subarray(pos, e), delimiter);
			if (!('error' in split) && split.fields.length === width) ok++;
			pos = e;
		}
		return ok;
	};
	const scoreA = score(start);
	const scoreB = bStart === -1 ? 0 : score(bStart);
	if (scoreA === 0 && scoreB === 0) return -1;
	return scoreB > scoreA ? bStart : start;
}

/** The number of data records: exact, or from the sampled blocks' record densities with a ±2 standard error band. */
function estimateRows(
	headRecords: number,
	restBytes: number,
	blocks: { records: number; bytes: number }[],
	headMean: number,
	exactRecords: number | null,
): RowEstimate {
	if (exactRecords !== null) return { estimate: exactRecords, low: exactRecords, high: exactRecords, exact: true };
	const used = blocks.filter((b) => b.records > 0 && b.bytes > 0);
	if (used.length === 0) {
		const rest = headMean > 0 ? restBytes / headMean : 0;
		const estimate = Math.round(headRecords + rest);
		return {
			estimate,
			low: Math.round(headRecords + rest * 0.7),
			high: Math.round(headRecords + rest * 1.3),
			exact: false,
		};
	}
	const records = used.reduce((s, b) => s + b.records, 0);
	const bytes = used.reduce((s, b) => s + b.bytes, 0);
	const rest = (restBytes * records) / bytes;
	let se = rest * 0.1;
	if (used.length >= 2) {
		const per = used.map((b) => (restBytes * b.records) / b.bytes);
		const mean = per.reduce((s, x) => s + x, 0) / per.length;
		const sd = Math.sqrt(per.reduce((s, x) => s + (x - mean) ** 2, 0) / (per.length - 1));
		se = sd / Math.sqrt(per.length);
	}
	const estimate = Math.round(headRecords + rest);
	return {
		estimate,
		low: Math.max(headRecords, Math.round(headRecords + rest - 2 * se)),
		high: Math.round(headRecords + rest + 2 * se),
		exact: false,
	};
}

/**
 * Profiles `file`: calls `onUpdate` with growing snapshots (the head's first, then after blocks, at most every
 * `updateMs`), resolves with the final one. Stops early (resolving with what it has, `done: false`) when `signal`
 * aborts. Throws a SourceProblem when the file cannot be read or is not a CSV Sweep can read.
 */
export async function profileFile(
	file: string,
	opts: SampleOptions,
	onUpdate: (s: ProfileSnapshot) => void,
	signal?: AbortSignal,
): Promise<ProfileSnapshot> {
	const source = await openSource(file);
	try {
		return await profileSource(source, opts, onUpdate, signal);
	} finally {
		await source.close();
	}
}

async function profileSource(
	source: ByteSource,
	opts: SampleOptions,
	onUpdate: (s: ProfileSnapshot) => void,
	signal?: AbortSignal,
): Promise<ProfileSnapshot> {
	const t0 = performance.now();
	const file = source.file;
	const size = source.size;
	const headBytes = opts.headBytes ?? HEAD_BYTES;
	const blockBytes = opts.blockBytes ?? DEFAULT_BLOCK_BYTES;
	const plannedBlocks = opts.blocks ?? DEFAULT_BLOCKS;
	const updateMs = opts.updateMs ?? 250;
	let given: string | null = null;
	try {
		given = opts.delimiter ? normalizeDelimiter(opts.delimiter) : null;
	} catch {
		given = null;
	}
	if (size === 0) throw new SourceProblem({ kind: 'empty', message: `${file} is empty.`, blocksRun: true });
	const head = await source.read(0, headBytes);
	const scan = await scanHead(head, size, file, given);
	if (!scan.head) throw new SourceProblem(scan.problem!);
	const h = scan.head;
	const D = h.delimiter.charCodeAt(0);
	const width = h.names.length;
	const columns = h.names.map((name, i) => new ColumnStats(i, name));
	let malformed = 0;
	let sampledRecords = 0;
	let sampledBytes = 0;
	const addRecord = (bytes: Uint8Array): void => {
		const split = splitRecord(bytes, D);
		if ('error' in split || split.fields.length !== width) {
			malformed++;
			return;
		}
		const f = split.fields;
		for (let i = 0; i < width; i++) columns[i].add(f[i]);
	};
	/**
	 * Adds every complete record of `bytes` from `from` and, when `last` (the file ends there), what follows them as
	 * one more: how many, and where the complete ones end.
	 */
	const addRecords = (bytes: Buffer, from: number, last: boolean): { records: number; end: number } => {
		let records = 0;
		const end = eachRecord(bytes, from, D, (s, e) => {
			addRecord(bytes.subarray(s, e));
			records++;
			return undefined;
		});
		if (last && end < bytes.length) {
			addRecord(bytes.subarray(end));
			records++;
		}
		return { records, end };
	};

	// The head: every complete record after the header (all of the file when it fits).
	const wholeInHead = head.length >= size || head.length < headBytes;
	const { records: headRecords, end: headEnd } = addRecords(head, h.dataStart, wholeInHead);
	const headMean = headRecords > 0 ? (headEnd - h.dataStart) / headRecords : 0;

	const blocks: { records: number; bytes: number }[] = [];
	let blocksDone = 0;
	let blocksSkipped = 0;
	let exactRecords: number | null = wholeInHead ? headRecords : null;
	const restStart = wholeInHead ? size : headEnd;
	const restBytes = size - restStart;
	// A rest that fits in the block budget is read whole (sequentially): the figures are then exact.
	const sequential = !wholeInHead && restBytes <= plannedBlocks * blockBytes;
	const total = wholeInHead || !source.seekable ? 0 : sequential ? Math.ceil(restBytes / blockBytes) : plannedBlocks;
	let lastUpdate = 0;
	const snapshot = (done: boolean): ProfileSnapshot => {
		let rows = estimateRows(headRecords, restBytes, blocks, headMean, exactRecords);
		if (!source.seekable && exactRecords === null) {
			// A compressed file: the rest is only known through the compression ratio of what was read.
			const rest = headMean > 0 ? Math.max(0, source.fileSize * source.ratio() - headEnd) / headMean : 0;
			const estimate = Math.round(headRecords + rest);
			rows = {
				estimate,
				low: Math.round(headRecords + rest * 0.7),
				high: Math.round(headRecords + rest * 1.4),
				exact: false,
			};
		}
		const exact = exactRecords !== null;
		return {
			columns: columns.map((c) => c.snapshot(rows.estimate, exact)),
			headRecords,
			sampledRecords,
			sampledBytes,
			blocksDone,
			blocksTotal: total,
			blocksSkipped,
			exact,
			malformed,
			rows,
			progress: total === 0 ? 1 : blocksDone / total,
			done,
			elapsedMs: Math.round(performance.now() - t0),
		};
	};
	const maybeUpdate = (force: boolean) => {
		const now = performance.now();
		if (force || now - lastUpdate >= updateMs) {
			lastUpdate = now;
			onUpdate(snapshot(false));
		}
	};
	maybeUpdate(true);

	if (sequential && source.seekable) {
		let offset = restStart;
		let records = headRecords;
		let carry: Buffer = Buffer.alloc(0);
		while (offset < size) {
			if (signal?.aborted) return snapshot(false);
			const read = await source.read(offset, blockBytes);
			if (read.length === 0) break;
			offset += read.length;
			const bytes = carry.length > 0 ? Buffer.concat([carry, read]) : read;
			const { records: n, end } = addRecords(bytes, 0, false);
			records += n;
			sampledRecords += n;
			sampledBytes += end;
			carry = Buffer.from(bytes.subarray(end));
			blocksDone++;
			maybeUpdate(false);
		}
		if (carry.length > 0) {
			addRecord(carry);
			records++;
			sampledRecords++;
			sampledBytes += carry.length;
		}
		exactRecords = records;
		blocksDone = total;
	} else if (!wholeInHead && source.seekable) {
		// Evenly spaced blocks over [restStart, size): block i starts at restStart + i × step (the last ends at EOF).
		const step = (restBytes - blockBytes) / Math.max(1, total - 1);
		for (let i = 0; i < total; i++) {
			if (signal?.aborted) return snapshot(false);
			const at = Math.round(restStart + i * step);
			const bytes = await source.read(at, blockBytes);
			const atEof = at + bytes.length >= size;
			// The block right after the head starts at a record start; the others are re-synchronised.
			const from = at === restStart ? 0 : findRecordStart(bytes, D, width);
			if (from === -1) {
				blocksSkipped++;
				blocks.push({ records: 0, bytes: 0 });
			} else {
				const { records, end: complete } = addRecords(bytes, from, atEof);
				const end = atEof ? bytes.length : complete;
				sampledRecords += records;
				sampledBytes += end - from;
				blocks.push({ records, bytes: end - from });
			}
			blocksDone++;
			maybeUpdate(false);
		}
	}
	const last = snapshot(true);
	onUpdate(last);
	return last;
}

/** The whole-file figure `firstRecordEnd` gives for a whole buffer (tests compare the sampler against it). */
export function recordStarts(bytes: Uint8Array, from: number, delimiter: number): number[] {
	const starts: number[] = [];
	let pos = from;
	while (pos < bytes.length) {
		starts.push(pos);
		const e = firstRecordEnd(bytes.subarray(pos), delimiter);
		if (e === -1) break;
		pos += e;
	}
	return starts;
}
