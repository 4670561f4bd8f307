/**
 * Entry of the integration suite, loaded by VS Code's extension host (`extensionTestsPath`): the host calls
 * `run()` and reports its outcome (code-server's smoke-test driver hands it to the runner as the exit code).
 *
 * The spec reporter's text also goes to the harness's report file and a JSON summary to its result file,
 * because the extension host's console ends up in the browser's window log, not on the runner's stdout.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as util from 'node:util';
import Mocha from 'mocha';
import { maybeE2eContext, pendingNotes } from './context';

/** Test files for each mode. Restricted Mode needs a workspace that is not trusted: a session of its own. */
const FILES = {
	trusted: [
		'activation.test.js',
		'settings.test.js',
		'report.test.js',
		'extract.test.js',
		'hive.test.js',
		'parquet.test.js',
		'cancel.test.js',
		'preview.test.js',
		'compressed.test.js',
	],
	restricted: ['restricted.test.js'],
};

/** Runs the suite; resolves when every test passed, rejects otherwise. */
export function run(): Promise<void> {
	const ctx = maybeE2eContext();
	const mode = ctx?.mode ?? 'trusted';
	const reportFile = ctx?.reportFile;
	if (reportFile) fs.writeFileSync(reportFile, '');
	const write = (line: string) => {
		if (reportFile) fs.appendFileSync(reportFile, `${line}\n`);
	};

	// Mocha's reporters print through Base.consoleLog; copy every line to the report file as well.
	const base = Mocha.reporters.Base as unknown as { consoleLog: (...args: unknown[]) => void };
	const original = base.consoleLog;
	base.consoleLog = (...args: unknown[]) => {
		write(util.format(...args));
		original(...args);
	};

	const mocha = new Mocha({
		ui: 'bdd',
		reporter: 'spec',
		color: false,
		// Hang guards only (speed is measured in `npm run bench`, never asserted): a test that takes this long is stuck, not slow.
		timeout: 180_000,
		slow: 20_000,
	});
	if (ctx?.grep) mocha.grep(ctx.grep);
	for (const file of FILES[mode]) mocha.addFile(path.join(__dirname, file));
	write(`Sweep integration suite (${mode}) in VS Code ${require('vscode').version}, Node ${process.version}`);

	return new Promise((resolve, reject) => {
		try {
			const runner = mocha.run((failures) => {
				base.consoleLog = original;
				const stats = runner.stats ?? { passes: 0, failures, pending: 0 };
				const tests: { title: string; state: string | undefined; error?: string }[] = [];
				const collect = (suite: Mocha.Suite) => {
					for (const t of suite.tests) {
						tests.push({ title: t.fullTitle(), state: t.state, error: t.err?.message });
					}
					for (const s of suite.suites) collect(s);
				};
				collect(mocha.suite);
				const result = { mode, passes: stats.passes, failures, pending: stats.pending, tests };
				if (ctx?.resultFile) fs.writeFileSync(ctx.resultFile, JSON.stringify(result, null, 2));
				write(`${mode}: ${stats.passes} passed, ${failures} failed`);
				if (failures > 0) reject(new Error(`${failures} test(s) failed`));
				else if (stats.passes === 0) reject(new Error('no test ran'));
				else resolve();
			});
			// After the reporter's line for a test ('pass'/'fail' come before 'test end'), that test's notes.
			runner.on('test end', () => {
				for (const n of pendingNotes.splice(0)) write(`      · ${n}`);
			});
		} catch (e) {
			write(`the suite could not start: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
			if (ctx?.resultFile) fs.writeFileSync(ctx.resultFile, JSON.stringify({ mode, passes: 0, failures: 1 }));
			reject(e);
		}
	});
}
