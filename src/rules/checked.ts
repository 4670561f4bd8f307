/**
 * What a rule says about a value: accepted (with the value every layer then uses) or refused (with the words every
 * layer shows). Each layer puts its own label in front: `--delimiter "§" …` (CLI, exit 2), `setting
 * sweep.delimiter = "§" …; …` (a settings warning), `delimiter "§" …` (the engine, a usage error).
 */
export type Checked<T> = { ok: true; value: T } | { ok: false; problem: string };

export const accept = <T>(value: T): Checked<T> => ({ ok: true, value });
export const refuse = <T = never>(problem: string): Checked<T> => ({ ok: false, problem });

/**
 * A refusal as one line: the label (`--delimiter`, `setting sweep.delimiter =`, `delimiter`), the value as shown,
 * and the rule's words: `--delimiter "§" is not one ASCII character…`, `--partition-by "x,y(z)": y(z): unknown…`.
 */
export function refusal(label: string, shownValue: string, problem: string): string {
	return `${label} ${shownValue}${problem.startsWith('is ') ? ' ' : ': '}${problem}`;
}
