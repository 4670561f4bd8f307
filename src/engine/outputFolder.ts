import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, lstat, mkdir, readdir, rename, rm, statfs } from 'node:fs/promises';
import * as path from 'node:path';
import { MANIFEST_FILE as MANIFEST } from '../rules';
import { SweepError } from './errors';
import { JOURNAL, recoverAppend } from './journal';

export interface OutputPlan {
	/** Where the result will be. */
	outDir: string;
	/** Where it is written meanwhile: `<out>.sweep-tmp-<pid>-<id>`, a sibling. */
	tmpDir: string;
	id: string;
}

const TMP = '.sweep-tmp-';
const OLD = '.sweep-old-';

export function pidAlive(pid: number): boolean {
	if (!Number.isInteger(pid) || pid <= 0) return false;
	if (pid === process.pid) return true;
	try {
		process.kill(pid, 0);
		return true;
	} catch (e) {
		return (e as NodeJS.ErrnoException).code === 'EPERM';
	}
}

const pidOf = (name: string, marker: string) => Number(name.slice(name.indexOf(marker) + marker.length).split('-')[0]);

function describe(e: unknown): string {
	const err = e as NodeJS.ErrnoException;
	switch (err.code) {
		case 'EACCES':
		case 'EPERM':
			return 'permission denied';
		case 'EROFS':
			return 'the file system is read-only';
		case 'ENOTDIR':
			return 'a part of the path is a file, not a folder';
		case 'ENOSPC':
			return 'no space left on the device';
		default:
			return err.message ?? String(e);
	}
}

/**
 * Finishes what an interrupted earlier run left beside `outDir`: temporary folders of runs that are no longer
 * alive are removed, and if `outDir` is missing while a `.sweep-old-*` copy exists (a run died between its two
 * renames), the old copy is put back.
 */
async function recoverStale(parent: string, base: string, outDir: string): Promise<void> {
	let names: string[];
	try {
		names = await readdir(parent);
	} catch {
		return;
	}
	const outExists = names.includes(base);
	const olds = names.filter((n) => n.startsWith(base + OLD)).sort();
	for (const n of names) {
		if (n.startsWith(base + TMP) && !pidAlive(pidOf(n, TMP))) {
			await rm(path.join(parent, n), { recursive: true, force: true });
		}
	}
	if (!outExists && olds.length > 0) {
		await rename(path.join(parent, olds[olds.length - 1]), outDir);
		olds.pop();
	}
	for (const n of olds) {
		if (!pidAlive(pidOf(n, OLD))) await rm(path.join(parent, n), { recursive: true, force: true });
	}
}

/**
 * Checks the output folder before anything is written and creates the temporary sibling the run writes into.
 * Refuses: a folder that holds the input, a symbolic link (it is never followed), a file, and an existing non-empty
 * folder without `_manifest.json` unless `force`. Checks free space (at least the input's size).
 */
export async function prepareOutput(
	outDirGiven: string,
	opts: { force: boolean; input: string; inputBytes: number },
): Promise<OutputPlan> {
	const outDir = path.resolve(outDirGiven);
	const rel = path.relative(outDir, opts.input);
	if (rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel))) {
		throw new SweepError(
			'output-invalid',
			`The output folder ${outDir} contains the input file; choose another folder.`,
			{
				file: outDir,
			},
		);
	}
	const parent = path.dirname(outDir);
	const base = path.basename(outDir);
	try {
		await mkdir(parent, { recursive: true });
	} catch (e) {
		throw new SweepError('output-invalid', `Cannot create the folder ${parent}: ${describe(e)}.`, {
			file: parent,
			cause: e,
		});
	}
	await recoverStale(parent, base, outDir);

	const st = await lstat(outDir).catch(() => null);
	if (st) {
		if (st.isSymbolicLink()) {
			throw new SweepError(
				'output-invalid',
				`The output folder ${outDir} is a symbolic link; Sweep does not write through links. Give the real path instead.`,
				{ file: outDir },
			);
		}
		if (!st.isDirectory()) {
			throw new SweepError('output-invalid', `The output path ${outDir} exists and is not a folder.`, { file: outDir });
		}
		// Replacing the folder means deleting its files: check that is allowed before anything is written.
		try {
			await access(outDir, constants.W_OK | constants.X_OK);
		} catch (e) {
			throw new SweepError('output-invalid', `Cannot replace the output folder ${outDir}: ${describe(e)}.`, {
				file: outDir,
				cause: e,
			});
		}
		const entries = await readdir(outDir);
		// An append killed outright is undone first (and a live one makes this run stop: output-busy).
		if (entries.includes(JOURNAL)) await recoverAppend(outDir);
		if (entries.length > 0 && !entries.includes(MANIFEST) && !opts.force) {
			throw new SweepError(
				'output-foreign',
				`The output folder ${outDir} is not empty and was not written by Sweep (no ${MANIFEST}); use --force to replace it.`,
				{ file: outDir },
			);
		}
	}
	try {
		const fs = await statfs(parent);
		const free = fs.bavail * fs.bsize;
		if (free < opts.inputBytes) {
			throw new SweepError(
				'no-space',
				`Not enough free space in ${parent}: ${free} bytes free, the output needs about ${opts.inputBytes} (the input's size).`,
				{ file: parent },
			);
		}
	} catch (e) {
		if (e instanceof SweepError) throw e;
	}
	const id = `${process.pid}-${randomBytes(4).toString('hex')}`;
	const tmpDir = path.join(parent, `${base}${TMP}${id}`);
	try {
		await mkdir(tmpDir);
	} catch (e) {
		throw new SweepError('output-invalid', `Cannot write in ${parent}: ${describe(e)}.`, { file: parent, cause: e });
	}
	return { outDir, tmpDir, id };
}

/** Puts the finished temporary folder in place of the output folder (the old one is removed only after). */
export async function commitOutput(plan: OutputPlan): Promise<void> {
	const old = `${plan.outDir}${OLD}${plan.id}`;
	const hadOld = await lstat(plan.outDir).then(
		() => true,
		() => false,
	);
	if (hadOld) await rename(plan.outDir, old);
	try {
		await rename(plan.tmpDir, plan.outDir);
	} catch (e) {
		if (hadOld) await rename(old, plan.outDir).catch(() => undefined);
		throw e;
	}
	// The new output is complete and in place; an old copy that cannot be deleted now is removed by the next run.
	if (hadOld) await rm(old, { recursive: true, force: true }).catch(() => undefined);
}

/** Removes the temporary folder of a failed or cancelled run. */
export async function discardOutput(plan: OutputPlan): Promise<void> {
	await rm(plan.tmpDir, { recursive: true, force: true });
}

export { describe as describeFsError };
