/** How values appear in Sweep's messages, the same in every layer. */

/** A value as the user would recognise it from settings.json or a command line: JSON where it can be. */
export function show(value: unknown): string {
	try {
		return JSON.stringify(value) ?? String(value);
	} catch {
		return String(value);
	}
}

/** A whole number with thousands separators (`100,000`), as every report and message shows counts. */
export function formatCount(n: number): string {
	const sign = n < 0 ? '-' : '';
	const digits = String(Math.trunc(Math.abs(n)));
	return sign + digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}
