import * as os from 'node:os';
import * as path from 'node:path';
import { SweepError } from '../engine/errors';
import { isExtractableName, outputStem } from '../rules/compression';

/** What `${…}` variables in a path setting stand for. Plain values: this module never imports `vscode`. */
export interface VariableContext {
	/** Absolute path of the input file. */
	file: string;
	/** Absolute path of the file's workspace folder; undefined when the file is in none. */
	workspaceFolder?: string;
	/** Home folder for `${userHome}` and a leading `~`; default `os.homedir()`. */
	userHome?: string;
	/** Path functions to use (tests pass `path.win32`); default the platform's. */
	pathApi?: path.PlatformPath;
}

/** The variables path settings understand, for messages. */
export const KNOWN_VARIABLES = [
	'fileDirname',
	'fileBasename',
	'fileBasenameNoExtension',
	'fileExtname',
	'workspaceFolder',
	'workspaceFolderBasename',
	'userHome',
	'pathSeparator',
] as const;

/**
 * Replaces `${fileDirname}`, `${fileBasenameNoExtension}`, `${workspaceFolder}` (and the other
 * {@link KNOWN_VARIABLES}) in `template`, and a leading `~` with the home folder. An unknown variable,
 * or `${workspaceFolder}` for a file outside any folder, is a SweepError `usage` naming `setting`.
 */
export function expandVariables(template: string, ctx: VariableContext, setting = 'sweep.outputDirectory'): string {
	const p = ctx.pathApi ?? path;
	const home = ctx.userHome ?? os.homedir();
	const values: Record<string, () => string> = {
		fileDirname: () => p.dirname(ctx.file),
		fileBasename: () => p.basename(ctx.file),
		// `trades.csv.gz` → `trades`: a compression suffix goes too (so the default folder is processed/trades); never
		// empty, `.` or `..` (the rule of the CLI's default folder).
		fileBasenameNoExtension: () => outputStem(p.basename(ctx.file)),
		fileExtname: () => p.extname(ctx.file),
		workspaceFolder: () => needFolder(ctx, setting, 'workspaceFolder'),
		workspaceFolderBasename: () => p.basename(needFolder(ctx, setting, 'workspaceFolderBasename')),
		userHome: () => home,
		pathSeparator: () => p.sep,
	};
	let expanded = template.replace(/\$\{([^}]*)\}/g, (_match, name: string) => {
		const value = Object.hasOwn(values, name) ? values[name] : undefined;
		if (!value) {
			throw new SweepError(
				'usage',
				`${setting}: unknown variable \${${name}} (Sweep understands ${KNOWN_VARIABLES.map((v) => `\${${v}}`).join(', ')})`,
			);
		}
		return value();
	});
	if (expanded === '~' || expanded.startsWith('~/') || expanded.startsWith('~\\')) expanded = home + expanded.slice(1);
	return expanded;
}

function needFolder(ctx: VariableContext, setting: string, name: string): string {
	if (ctx.workspaceFolder === undefined) {
		throw new SweepError('usage', `${setting} uses \${${name}}, but ${ctx.file} is not in a workspace folder`);
	}
	return ctx.workspaceFolder;
}

/**
 * Expands a path setting and makes it absolute: a relative result is taken relative to the file's
 * workspace folder, or to the file's own folder when it has none.
 */
export function resolvePathSetting(template: string, ctx: VariableContext, setting: string): string {
	const p = ctx.pathApi ?? path;
	const trimmed = template.trim();
	if (trimmed === '') throw new SweepError('usage', `${setting} is empty`);
	const expanded = expandVariables(trimmed, ctx, setting);
	return p.resolve(ctx.workspaceFolder ?? p.dirname(ctx.file), expanded);
}

/** Where an output folder came from: a setting (user, default or workspace value) or a command argument. */
export type OutputOrigin = 'setting' | 'argument';

/** Everything {@link checkOutputDirectory} looks at. */
export interface OutputCheck {
	outDir: string;
	input: string;
	workspaceFolders: readonly string[];
	/** `vscode.workspace.isTrusted`. */
	trusted: boolean;
	origin: OutputOrigin;
	userHome?: string;
	pathApi?: path.PlatformPath;
	/** Compare paths ignoring case (default: on Windows and macOS). */
	caseInsensitive?: boolean;
}

/**
 * Why an output folder must not be used, or undefined when it may. Sweep replaces the whole output
 * folder on success, so a folder that holds the input, a workspace folder itself, the home folder or a
 * file-system root is refused. In an untrusted workspace, a folder given as a command argument (which
 * workspace content can supply, e.g. through a `command:` link) must stay inside the workspace.
 */
export function checkOutputDirectory(check: OutputCheck): string | undefined {
	const p = check.pathApi ?? path;
	const fold = check.caseInsensitive ?? (process.platform === 'win32' || process.platform === 'darwin');
	const norm = (x: string) => {
		const r = p.resolve(x);
		return fold ? r.toLowerCase() : r;
	};
	const out = norm(check.outDir);
	const inside = (child: string, parent: string) => {
		const rel = p.relative(parent, child);
		return rel === '' || (!rel.startsWith('..') && !p.isAbsolute(rel));
	};
	if (out === norm(p.parse(out).root)) return `the output folder ${check.outDir} is a file-system root`;
	if (inside(norm(check.input), out)) {
		return `the output folder ${check.outDir} holds the input file, and Sweep replaces the whole output folder`;
	}
	if (out === norm(check.userHome ?? os.homedir())) return `the output folder ${check.outDir} is your home folder`;
	if (check.workspaceFolders.some((f) => norm(f) === out)) {
		return `the output folder ${check.outDir} is a workspace folder, and Sweep replaces the whole output folder`;
	}
	if (!check.trusted && check.origin === 'argument' && !check.workspaceFolders.some((f) => inside(out, norm(f)))) {
		return `in Restricted Mode, an output folder outside the workspace (${check.outDir}) is refused`;
	}
	return undefined;
}

/** True for `.csv` / `.tsv` files, also gzip- or zstd-compressed (`.csv.gz`, `.tsv.zst`), in any case. */
export function isCsvPath(file: string): boolean {
	return isExtractableName(file);
}
