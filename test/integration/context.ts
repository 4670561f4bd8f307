import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';

/**
 * What the e2e harness (scripts/e2e/run.sh) tells the suite: it writes `context.json` beside the workspace
 * folder it opens, so the suite finds it through VS Code itself and needs no environment variable.
 */
export interface E2eContext {
	/** `trusted`: the main run (--disable-workspace-trust); `restricted`: the folder opens in Restricted Mode. */
	mode: 'trusted' | 'restricted';
	/** This session's folder inside the run folder. */
	sessionDir: string;
	/** The workspace folder VS Code opened. */
	workspace: string;
	/** Where the spec reporter's text goes (the extension host's console is not the runner's stdout). */
	reportFile: string;
	/** `{ passes, failures, pending, tests }` at the end. */
	resultFile: string;
	/** The repository (the extension under development). */
	repo: string;
	/** `dist/cli.js` of the same build. */
	cli: string;
	/** The system's Node (the CLI's reference runs use it, not the extension host's). */
	node: string;
	/** Only tests whose full title matches (empty: all). */
	grep: string;
}

let cached: E2eContext | undefined;

/** The harness's context. Throws when the suite was started without it (e.g. by @vscode/test-electron). */
export function e2eContext(): E2eContext {
	if (cached) return cached;
	const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
	const file = folder ? path.join(path.dirname(folder), 'context.json') : undefined;
	if (!file || !fs.existsSync(file)) {
		throw new Error(`no e2e context (${file ?? 'no workspace folder'}): run the suite with npm run test:e2e`);
	}
	cached = JSON.parse(fs.readFileSync(file, 'utf8')) as E2eContext;
	return cached;
}

/** The harness's context, or undefined when the suite runs elsewhere (desktop launcher). */
export function maybeE2eContext(): E2eContext | undefined {
	try {
		return e2eContext();
	} catch {
		return undefined;
	}
}

/** Notes of the running test, written after its result line (see index.ts). */
export const pendingNotes: string[] = [];

/**
 * Adds a line to the harness's report below the running test's result (what was measured, for the record). The
 * extension host's console is not the runner's stdout, so `console.log` would be lost.
 */
export function note(text: string): void {
	pendingNotes.push(text);
}
