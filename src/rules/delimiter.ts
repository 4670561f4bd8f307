import { accept, type Checked, refuse } from './checked';

/** Delimiter names accepted (case-insensitive) wherever one character is: `--delimiter`, `sweep.delimiter`, the engine. */
export const DELIMITER_NAMES: Readonly<Record<string, string>> = { comma: ',', semicolon: ';', pipe: '|', tab: '\t' };

/** Delimiters tried when none is given, in order of preference on a tie. */
export const SNIFF_CANDIDATES = [',', ';', '\t', '|'] as const;

/**
 * The delimiter rule: one ASCII character other than a quote or a line break, a name (`comma`, `semicolon`,
 * `pipe`, `tab`, also written `\t`), or "sniff it" (`auto`, an empty string, null or absent: the value is null).
 * ASCII only: the chunk scanners compare single bytes.
 */
export function parseDelimiter(raw: unknown): Checked<string | null> {
	if (raw === undefined || raw === null) return accept(null);
	if (typeof raw === 'string') {
		const lower = raw.toLowerCase();
		if (raw === '' || lower === 'auto') return accept(null);
		if (raw === '\\t') return accept('\t');
		if (Object.hasOwn(DELIMITER_NAMES, lower)) return accept(DELIMITER_NAMES[lower]);
		if (raw.length === 1 && raw.charCodeAt(0) <= 0x7f && raw !== '"' && raw !== '\n' && raw !== '\r') {
			return accept(raw);
		}
	}
	return refuse('is not one ASCII character other than a quote or line break (or comma, semicolon, pipe, tab, auto)');
}
