/** How values appear in Sweep's messages, the same in every layer. */

/** A value as the user would recognise it from settings.json or a command line: JSON where it can be. */
export function show(value: unknown): string {
	try {
		return JSON.stringify(value) ?? String(value);
	} catch {
		return String(value);
	}
}

/** At most this many column names, and this many characters of each, in a message that lists a header's columns. */
const LIST_NAMES = 30;
const LIST_NAME_CHARS = 60;

/**
 * A header's column names for a message (`"a", "b", …`): a long or binary "header" (a file that is not CSV) is cut
 * short rather than filling the screen.
 */
export function showNames(names: readonly string[]): string {
	const shown = names
		.slice(0, LIST_NAMES)
		.map((n) => show(n.length > LIST_NAME_CHARS ? `${n.slice(0, LIST_NAME_CHARS)}…` : n));
	return names.length > LIST_NAMES ? `${shown.join(', ')}, … (${formatCount(names.length)} in all)` : shown.join(', ');
}

/** A whole number with thousands separators (`100,000`), as every report and message shows counts. */
export function formatCount(n: number): string {
	const sign = n < 0 ? '-' : '';
	const digits = String(Math.trunc(Math.abs(n)));
	return sign + digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** Bytes in the largest binary unit that keeps a number ≥ 1: `303.2 MB` (messages, the summary, the preview). */
export function formatSize(bytes: number): string {
	const units = ['bytes', 'KB', 'MB', 'GB', 'TB'];
	let v = bytes;
	let u = 0;
	while (v >= 1024 && u < units.length - 1) {
		v /= 1024;
		u++;
	}
	return u === 0 ? `${formatCount(v)} bytes` : `${v.toFixed(1)} ${units[u]}`;
}
