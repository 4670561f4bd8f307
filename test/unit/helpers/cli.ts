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

/** How to run the CLI: in `cwd`, with `env` over this process's environment, through `bash -c` after `shellPrefix`
 * (e.g. `ulimit -n 256;`; bash `exec`s node, so the child's pid is the CLI's), or under `setpriv` as user and group
 * `asUser`; killed after `timeoutMs` (a hang guard, not a performance check). */
export interface CliOptions {
	cwd?: string;
	shellPrefix?: string;
	asUser?: number;
	timeoutMs?: number;
	env?: NodeJS.ProcessEnv;
}

/** Starts `node dist/cli.js ...args` (see CliOptions). */
export function startCli(args: string[], opts: CliOptions = {}): { child: ChildProcess; done: Promise<CliResult> } {
	const env = { ...process.env, ...opts.env };
	let child: ChildProcess;
	if (opts.shellPrefix) {
		const command = `${opts.shellPrefix} exec ${[process.execPath, CLI, ...args].map(shellQuote).join(' ')}`;
		child = spawn('bash', ['-c', command], { cwd: opts.cwd, env });
	} else if (opts.asUser !== undefined) {
		const id = String(opts.asUser);
		const argv = [`--reuid=${id}`, `--regid=${id}`, '--clear-groups', process.execPath, CLI, ...args];
		child = spawn('setpriv', argv, { cwd: opts.cwd, env });
	} else child = spawn(process.execPath, [CLI, ...args], { cwd: opts.cwd, env });
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
			reject(new Error(`hang: the CLI did not exit within ${timeoutMs} ms: ${args.join(' ')}\nstderr: ${stderr}`));
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

/** Runs the CLI to its end (see startCli). */
export function runCli(args: string[], opts: CliOptions = {}): Promise<CliResult> {
	return startCli(args, opts).done;
}
