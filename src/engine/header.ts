import { type PartitionSpec, parsePartitionList, partitionExpressionHint, refusal, show, showNames } from '../rules';
import { bomLength, bytesOf, firstRecordEnd, LF, sniffFileDelimiter, splitRecord, textOf } from './dialect';
import { emptyInput, SweepError } from './errors';
import { KEY_KINDS } from './keys';
import type { ByteReader } from './source';

export interface FileHead {
	/** Bytes of the BOM skipped (0 or 3). */
	bom: number;
	/** File offset just past the header record (where data starts). */
	dataStart: number;
	/** 1-based line of the first data record. */
	dataLine: number;
	/** Header names as text (invalid UTF-8 shown as U+FFFD) and as byte strings (exactly as in the file). */
	names: string[];
	rawNames: string[];
	delimiter: string;
	/** The header's line ending, given to a final record that has none. */
	eol: '\n' | '\r\n';
	/** The bytes read to find the header (at least the header itself), for previews. */
	sample: Buffer;
}

/**
 * Reads the header record (and sniffs the delimiter unless given). `size` is the content's size, or Infinity when
 * it is not known in advance (a compressed file).
 */
export async function readHead(
	fh: ByteReader,
	size: number,
	file: string,
	delimiterGiven: string | null,
	maxBytes: number,
): Promise<FileHead> {
	let want = Math.min(size, 1024 * 1024);
	for (;;) {
		const buf = Buffer.allocUnsafe(want);
		const { bytesRead } = await fh.read(buf, 0, want, 0);
		const bytes = buf.subarray(0, bytesRead);
		if (bytesRead === 0) throw emptyInput(file);
		const bom = bomLength(bytes, file);
		const body = bytes.subarray(bom);
		const delimiter = delimiterGiven ?? sniffFileDelimiter(body);
		let end = firstRecordEnd(body, delimiter.charCodeAt(0));
		if (end === -1 && bytesRead === want && bytesRead < size) {
			if (want >= maxBytes) {
				throw new SweepError(
					'bad-header',
					`${file}: the header (line 1) does not end within ${Math.round(maxBytes / 1048576)} MB; is a quote in it unbalanced?`,
					{ file, line: 1 },
				);
			}
			want = Math.min(size, want * 4, maxBytes);
			continue;
		}
		let recordEnd = end === -1 ? body.length : end;
		if (end === -1) {
			end = body.length;
			// A header-only file ending in a CR: the CR is the header's line ending, not part of its last name.
			if (end > 0 && body[end - 1] === 0x0d) recordEnd--;
		}
		const record = body.subarray(0, recordEnd);
		const eol = record.length >= 2 && record[end - 2] === 0x0d && record[end - 1] === LF ? '\r\n' : '\n';
		const rawNames = parseHeader(record, delimiter, file);
		let lines = 0;
		for (let i = record.indexOf(LF); i !== -1; i = record.indexOf(LF, i + 1)) lines++;
		return {
			bom,
			dataStart: bom + end,
			dataLine: 1 + lines,
			names: rawNames.map(textOf),
			rawNames,
			delimiter,
			eol,
			sample: body,
		};
	}
}

function parseHeader(record: Buffer, delimiter: string, file: string): string[] {
	const split = splitRecord(record, delimiter.charCodeAt(0));
	if ('error' in split || (split.fields.length === 1 && split.fields[0].trim() === '')) {
		const why = 'error' in split ? `it has ${split.error}` : 'it is empty';
		throw new SweepError('bad-header', `${file}: line 1 should be the header, but ${why}.`, { file, line: 1 });
	}
	return split.fields;
}

/** How the output columns and the partition key are laid out over the input's fields. */
export interface ColumnPlan {
	/** Output column names (the header with mapped names), as text and as byte strings. */
	columns: string[];
	rawColumns: string[];
	keyColumns: { index: number; kind: number; buckets: number; name: string }[];
	keySpecs: PartitionSpec[];
	timestampIndex: number;
	priceIndex: number;
	quantityIndex: number;
}

/**
 * Applies the column mapping (canonical → source) and finds the partition and stats columns. Header names may
 * repeat or be empty; such a column just cannot be mapped or partitioned by (that would be ambiguous), and
 * stats ignore a name that appears more than once.
 */
export function planColumns(
	rawHeader: readonly string[],
	mappingText: Readonly<Record<string, string>>,
	partitionBy: readonly string[],
	file: string,
): ColumnPlan {
	// Compare as bytes: the file's names may hold bytes that are not UTF-8.
	const header = rawHeader.map(textOf);
	const mapping = Object.entries(mappingText).map(([c, src]) => [bytesOf(c), bytesOf(src)] as const);
	const columns = rawHeader.slice();
	const mappedSources = new Set<string>();
	for (const [canonical, source] of mapping) {
		const at = rawHeader.reduce<number[]>((acc, n, i) => (n === source ? acc.concat(i) : acc), []);
		if (at.length === 0) {
			throw new SweepError(
				'missing-column',
				`Mapped column ${JSON.stringify(textOf(source))} (for ${JSON.stringify(textOf(canonical))}) is not in the header of ${file}; its columns are ${showNames(header)}.`,
				{ file, column: textOf(source), header },
			);
		}
		if (at.length > 1) {
			throw new SweepError(
				'bad-mapping',
				`Column ${JSON.stringify(textOf(source))} appears ${at.length} times in the header of ${file}; it cannot be mapped.`,
				{ file },
			);
		}
		if (mappedSources.has(source)) {
			throw new SweepError('bad-mapping', `Column ${JSON.stringify(textOf(source))} is mapped twice.`, { file });
		}
		mappedSources.add(source);
		columns[at[0]] = canonical;
	}
	const counts = new Map<string, number>();
	for (const c of columns) counts.set(c, (counts.get(c) ?? 0) + 1);
	for (const [canonical] of mapping) {
		if ((counts.get(canonical) ?? 0) > 1) {
			throw new SweepError(
				'bad-mapping',
				`Mapping a column to ${JSON.stringify(textOf(canonical))} would give the output two columns of that name; the header of ${file} already has one.`,
				{ file },
			);
		}
	}
	const columnTexts = columns.map(textOf);
	const parsed = parsePartitionList(partitionBy);
	if (!parsed.ok) throw new SweepError('usage', refusal('partitionBy', show(partitionBy), parsed.problem));
	const keySpecs = parsed.value;
	const keyColumns = keySpecs.map((k) => {
		const raw = bytesOf(k.column);
		const index = columns.indexOf(raw);
		if (index === -1) {
			throw new SweepError(
				'missing-column',
				`Partition column ${JSON.stringify(k.column)} is not in the header of ${file}; its columns are ${showNames(columnTexts)}.${partitionExpressionHint(k.column)}`,
				{ file, column: k.column, header: columnTexts },
			);
		}
		if (counts.get(raw)! > 1) {
			throw new SweepError(
				'bad-mapping',
				`Column ${JSON.stringify(k.column)} appears ${counts.get(raw)} times in the header of ${file}; partitioning by it would be ambiguous.`,
				{ file },
			);
		}
		return { index, kind: KEY_KINDS.indexOf(k.fn), buckets: k.buckets ?? 0, name: k.column };
	});
	const unique = (name: string) => (counts.get(name) === 1 ? columns.indexOf(name) : -1);
	const quantityIndex = unique('quantity') >= 0 ? unique('quantity') : unique('qty');
	return {
		columns: columnTexts,
		rawColumns: columns,
		keyColumns,
		keySpecs,
		timestampIndex: unique('timestamp'),
		priceIndex: unique('price'),
		quantityIndex,
	};
}
