/**
 * The three layers that read a user's values, each driven the way a user drives it, for the rules tables
 * (rules-*.test.ts): the command line (`run`, the CLI's entry point, in-process), the settings reader
 * (`readFileSettings` over literal settings; what the status bar tooltip shows) and the engine (`extract`).
 */
import { PassThrough } from 'node:stream';
import { type Command, parseCommandLine, run } from '../../../src/cli';
import { isSweepError } from '../../../src/engine';
import { type FileSettings, readFileSettings } from '../../../src/vscode/settingsModel';

/** What the CLI did with a command line: exit 2 and its one-line error, or the parsed command. */
export type CliVerdict = { ok: true; command: Command } | { ok: false; exitCode: number; stderr: string };

/** Runs `sweep ...args` in-process up to where it would start work: a refused value exits 2 before anything runs. */
export async function cliVerdict(args: string[]): Promise<CliVerdict> {
	try {
		return { ok: true, command: parseCommandLine(args) };
	} catch (e) {
		if (!isSweepError(e)) throw e;
	}
	// Refused: the real entry point, to see the exit status and the line a user sees.
	const stdout = new PassThrough();
	const stderr = new PassThrough();
	let err = '';
	stderr.setEncoding('utf8').on('data', (d: string) => {
		err += d;
	});
	const exitCode = await run(args, { stdout, stderr, env: {} });
	return { ok: false, exitCode, stderr: err };
}

/** The settings of one file with `values` as its workspace settings (trusted). */
export function settingsWith(values: Record<string, unknown>): FileSettings {
	return readFileSettings(
		{
			get: (key) => values[key],
			inspect: (key) => (key in values ? { workspaceValue: values[key] } : {}),
		},
		true,
	);
}
