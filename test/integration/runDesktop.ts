/**
 * `npm run test:vscode`: the same integration suite in desktop VS Code, through @vscode/test-electron.
 *
 * It downloads a desktop VS Code build (cached in .vscode-test/), so it needs access to
 * update.code.visualstudio.com. Where that host cannot be reached (CI here reaches only the npm and Debian
 * registries) it stops at once with a message saying so and exit status 1; `npm run test:e2e` runs the same
 * suite in code-server's extension host instead.
 *
 * Like scripts/e2e/run.sh it makes a fresh run folder with two sessions: `trusted` (--disable-workspace-trust)
 * and `restricted` (a workspace that is not trusted), each with generated test data and a context.json beside
 * its workspace folder, which the suite reads.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { downloadAndUnzipVSCode, runTests } from '@vscode/test-electron';

const repo = path.resolve(__dirname, '..', '..', '..');
const HANG_GUARD_MS = 30 * 60_000;

function gen(rows: number, seed: number, out: string): void {
	fs.mkdirSync(path.dirname(out), { recursive: true });
	const r = spawnSync(
		process.execPath,
		[path.join(repo, 'scripts', 'gen-trades.mjs'), '--rows', String(rows), '--seed', String(seed), '--out', out],
		{ stdio: ['ignore', 'ignore', 'inherit'] },
	);
	if (r.status !== 0) throw new Error(`scripts/gen-trades.mjs failed for ${out}`);
}

/** Lays out one session folder: workspace with data, user settings, context.json. */
function session(run: string, mode: 'trusted' | 'restricted'): string {
	const dir = path.join(run, mode);
	const ws = path.join(dir, 'ws');
	if (mode === 'trusted') {
		gen(Number(process.env.SWEEP_E2E_ROWS ?? 300_000), 1, path.join(ws, 'data', 'trades.csv'));
		gen(Number(process.env.SWEEP_E2E_BIG_ROWS ?? 800_000), 2, path.join(ws, 'big', 'trades-big.csv'));
	} else {
		gen(20_000, 4, path.join(ws, 'data', 'trades.csv'));
		fs.mkdirSync(path.join(ws, '.vscode'), { recursive: true });
		// VS Code variables, written literally into settings.json.
		const folderVar = '$' + '{workspaceFolder}';
		fs.writeFileSync(
			path.join(ws, '.vscode', 'settings.json'),
			JSON.stringify(
				{
					'sweep.outputDirectory': `${folderVar}/workspace-chose-this`,
					'sweep.ordersFile': `${folderVar}/data/orders.csv`,
					'sweep.workers': 2,
				},
				null,
				'\t',
			),
		);
	}
	fs.mkdirSync(path.join(dir, 'udd', 'User'), { recursive: true });
	fs.writeFileSync(
		path.join(dir, 'udd', 'User', 'settings.json'),
		JSON.stringify({
			'workbench.startupEditor': 'none',
			'security.workspace.trust.startupPrompt': 'never',
			'telemetry.telemetryLevel': 'off',
			'update.mode': 'none',
		}),
	);
	const context = {
		mode,
		sessionDir: dir,
		workspace: ws,
		reportFile: path.join(dir, 'mocha-report.txt'),
		resultFile: path.join(dir, 'mocha-result.json'),
		repo,
		cli: path.join(repo, 'dist', 'cli.js'),
		node: process.execPath,
		grep: process.env.SWEEP_E2E_GREP ?? '',
	};
	fs.writeFileSync(path.join(dir, 'context.json'), JSON.stringify(context, null, 2));
	return dir;
}

async function main(): Promise<number> {
	let vscodeExecutablePath: string;
	try {
		vscodeExecutablePath = await downloadAndUnzipVSCode({ version: process.env.SWEEP_VSCODE_VERSION, timeout: 20_000 });
	} catch (e) {
		console.error(
			`test:vscode: could not download desktop VS Code (${e instanceof Error ? e.message : String(e)}).\n` +
				'This launcher needs access to update.code.visualstudio.com. Without it, run the same suite in ' +
				"code-server's extension host: npm run test:e2e",
		);
		console.log('test:vscode: 0 passed, 1 failed');
		return 1;
	}
	const run = fs.mkdtempSync(path.join(os.tmpdir(), 'sweep-vscode-'));
	console.log(`run folder ${run}`);
	let passed = 0;
	let failed = 0;
	for (const mode of ['trusted', 'restricted'] as const) {
		const dir = session(run, mode);
		const launchArgs = [
			path.join(dir, 'ws'),
			'--user-data-dir',
			path.join(dir, 'udd'),
			'--extensions-dir',
			path.join(dir, 'exts'),
			'--skip-welcome',
			'--skip-release-notes',
			...(mode === 'trusted' ? ['--disable-workspace-trust'] : []),
		];
		let code = 0;
		try {
			code = await runTests({
				vscodeExecutablePath,
				extensionDevelopmentPath: repo,
				extensionTestsPath: path.join(__dirname, 'index.js'),
				launchArgs,
			});
		} catch (e) {
			console.error(`${mode}: ${e instanceof Error ? e.message : String(e)}`);
			code = 1;
		}
		const report = path.join(dir, 'mocha-report.txt');
		if (fs.existsSync(report)) process.stdout.write(fs.readFileSync(report, 'utf8'));
		const resultFile = path.join(dir, 'mocha-result.json');
		const result = fs.existsSync(resultFile)
			? (JSON.parse(fs.readFileSync(resultFile, 'utf8')) as { passes: number; failures: number })
			: { passes: 0, failures: 0 };
		passed += result.passes;
		failed += result.failures || (code !== 0 ? 1 : 0);
	}
	console.log(`test:vscode: ${passed} passed, ${failed} failed`);
	return failed === 0 && passed > 0 ? 0 : 1;
}

const guard = setTimeout(() => {
	console.error(`test:vscode: no result after ${HANG_GUARD_MS / 60_000} minutes; giving up`);
	process.exit(1);
}, HANG_GUARD_MS);
guard.unref();
main().then(
	(code) => process.exit(code),
	(e) => {
		console.error(e);
		process.exit(1);
	},
);
