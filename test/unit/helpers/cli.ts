import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
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
 * The bundle for runs as another user (`asUser`): a copy of dist/ in a world-readable temporary folder, made once per
 * process and removed at exit. The checkout itself may sit where only root can enter (a clone under /root, mode
 * 700), and an unprivileged user could not load dist/cli.js from there.
 */
let otherUserCopy: string | undefined;
function cliForOtherUsers(): string {
	if (otherUserCopy && fs.existsSync(otherUserCopy)) return otherUserCopy;
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sweep-cli-copy-'));
	process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
	fs.cpSync(path.dirname(CLI), dir, { recursive: true });
	const open = (p: string) => {
		const isDir = fs.statSync(p).isDirectory();
		fs.chmodSync(p, isDir ? 0o755 : 0o644);
		if (isDir) for (const e of fs.readdirSync(p)) open(path.join(p, e));
	};
	open(dir);
	otherUserCopy = path.join(dir, path.basename(CLI));
	return otherUserCopy;
}

/**
 * Why the CLI cannot run as user and group `uid` here (null when it can): that needs root, `setpriv` (util-linux),
 * and a Node binary and temporary folder that user can reach. Tries `node <copy of cli.js> --version` as that user.
 */
export function cannotRunAsUser(uid: number): string | null {
	if (process.getuid?.() !== 0) return 'not root: cannot switch to an unprivileged user';
	if (spawnSync('setpriv', ['--version']).status !== 0) return 'setpriv (util-linux) is not installed';
	requireCli();
	const cli = cliForOtherUsers();
	const id = String(uid);
	const r = spawnSync(
		'setpriv',
		[`--reuid=${id}`, `--regid=${id}`, '--clear-groups', process.execPath, cli, '--version'],
		{
			cwd: path.dirname(cli),
			encoding: 'utf8',
		},
	);
	if (r.status === 0) return null;
	const said = (r.stderr || r.error?.message || `exit ${r.status}`).trim().split('\n')[0];
	return `user ${uid} cannot run ${process.execPath} ${cli} (is ${os.tmpdir()} or Node's folder closed to it?): ${said}`;
}

/** How to run the CLI: in `cwd`, with `env` over this process's environment, through `bash -c` after `shellPrefix`
 * (e.g. `ulimit -n 256;`; bash `exec`s node, so the child's pid is the CLI's), or under `setpriv` as user and group
 * `asUser` (from a world-readable copy of dist/, in its folder unless `cwd` is given; see cannotRunAsUser); killed after `timeoutMs` (a hang guard, not a performance check). */
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
		const cli = cliForOtherUsers();
		const argv = [`--reuid=${id}`, `--regid=${id}`, '--clear-groups', process.execPath, cli, ...args];
		child = spawn('setpriv', argv, { cwd: opts.cwd ?? path.dirname(cli), env });
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
