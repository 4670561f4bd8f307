import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT } from './fsutil';

/** The built CLI (`npm run build`). */
export const CLI = path.join(REPO_ROOT, 'dist', 'cli.js');

/** What a CLI run did. */
export interface CliResult {
	code: number | null;
	signal: NodeJS.Signals | null;
	stdout: string;
	stderr: string;
}

/** Fails with a clear message when dist/cli.js has not been built. */
export function requireCli(): void {
	if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` before the unit tests`);
}

/** Single-quotes an argument for bash. */
export function shellQuote(arg: string): string {
	return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/**
 * Starts `node dist/cli.js ...args`. With `shellPrefix` (e.g. `ulimit -n 256;`) it runs through `bash -c` so the
 * prefix applies to the CLI process (bash `exec`s node, so the child's pid is the CLI's). A run over `timeoutMs` is
 * killed (a hang guard, not a performance check).
 */
export function startCli(
	args: string[],
	opts: { cwd?: string; shellPrefix?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): { child: ChildProcess; done: Promise<CliResult> } {
	const command = `${opts.shellPrefix ?? ''} exec ${[process.execPath, CLI, ...args].map(shellQuote).join(' ')}`;
	const child = opts.shellPrefix
		? spawn('bash', ['-c', command], { cwd: opts.cwd, env: opts.env ?? process.env })
		: spawn(process.execPath, [CLI, ...args], { cwd: opts.cwd, env: opts.env ?? process.env });
	let stdout = '';
	let stderr = '';
	child.stdout?.setEncoding('utf8').on('data', (d: string) => {
		stdout += d;
	});
	child.stderr?.setEncoding('utf8').on('data', (d: string) => {
		stderr += d;
	});
	const timeoutMs = opts.timeoutMs ?? 120_000;
	const done = new Promise<CliResult>((resolve, reject) => {
		const timer = setTimeout(() => {
			child.kill('SIGKILL');
			reject(new Error(`CLI hung for ${timeoutMs} ms: ${args.join(' ')}\nstderr: ${stderr}`));
		}, timeoutMs);
		child.on('error', (e) => {
			clearTimeout(timer);
			reject(e);
		});
		child.on('close', (code, signal) => {
			clearTimeout(timer);
			resolve({ code, signal, stdout, stderr });
		});
	});
	return { child, done };
}

/** Runs the CLI to the end (see `startCli`). */
export function runCli(
	args: string[],
	opts: { cwd?: string; shellPrefix?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<CliResult> {
	return startCli(args, opts).done;
}
