import { randomBytes } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { access, lstat, mkdir, readdir, realpath, rename, rm, rmdir, stat, statfs } from 'node:fs/promises';
import * as path from 'node:path';
import { MANIFEST_FILE as MANIFEST } from '../rules';
import { SweepError } from './errors';
import { hasJournal, recoverAppend, UndoIncomplete } from './journal';
import { acquireRunLock, type HeldLock, inspectLock, type RunLock, tryLock } from './runLock';

export interface OutputPlan {
	/** Where the result will be. */
	outDir: string;
	/** Where it is written meanwhile: `<out>.sweep-tmp-<id>`, a sibling. */
	tmpDir: string;
	id: string;
	/** The run lock of `outDir`, held from the checks to the end of the run. */
	lock: RunLock;
	/** The lock inside `tmpDir`: a run deletes another's temporary folder only when this lock is stale. */
	tmpLock: HeldLock;
	/** Folders this run created above `outDir` (deepest first), removed again if the run is refused or fails. */
	created: string[];
	/** Things a later step should say (e.g. an old folder that could not be removed). */
	warnings: string[];
}

const TMP = '.sweep-tmp-';
const OLD = '.sweep-old-';
/** The lock file inside a temporary folder (removed before the folder is put in place). */
const TMP_LOCK = '.sweep-lock';
/** At most this many entries of an old output are checked before it is replaced (its files are at most this many
 * partitions plus Sweep's own); beyond that the check stops and a late failure becomes a warning. */
const MAX_CHECKED_ENTRIES = 200_000;

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
		case 'EBUSY':
			return 'it is in use (a mount point?)';
		default:
			return err.message ?? String(e);
	}
}

const idOf = (st: Stats) => `${st.dev}:${st.ino}`;

/**
 * The files a run reads (the input, the orders file), as Sweep must protect them: their real paths, their identity
 * (device + inode) and the identity of every folder above them. A folder Sweep would replace or delete must not be
 * one of those folders (bind mounts, linked parents) nor hold one of those files (hard links).
 */
export interface ReadFiles {
	/** Real paths of the files. */
	real: string[];
	/** device:inode of each file. */
	files: Set<string>;
	/** device:inode of every folder above each file, up to the root. */
	folders: Set<string>;
	/** True when some file has more than one name (a hard link), so folders to delete are searched for it. */
	multiLinked: boolean;
	/** For messages: the path given, by device:inode. */
	names: Map<string, string>;
}

export async function readFilesOf(files: readonly string[]): Promise<ReadFiles> {
	const r: ReadFiles = { real: [], files: new Set(), folders: new Set(), multiLinked: false, names: new Map() };
	for (const f of files) {
		let real: string;
		let st: Stats;
		try {
			real = await realpath(f);
			st = await stat(real);
		} catch {
			continue; // missing: its own check reports it
		}
		r.real.push(real);
		r.files.add(idOf(st));
		r.names.set(idOf(st), f);
		if (st.nlink > 1) r.multiLinked = true;
		for (let dir = path.dirname(real); ; dir = path.dirname(dir)) {
			const d = await stat(dir).catch(() => null);
			if (d) {
				r.folders.add(idOf(d));
				r.names.set(idOf(d), f);
			}
			if (path.dirname(dir) === dir) break;
		}
	}
	return r;
}

function isInside(parent: string, child: string): boolean {
	const rel = path.relative(parent, child);
	return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** The real path of `p`, resolving links in the part that exists; the rest is appended as given. */
async function realPathOf(p: string): Promise<string> {
	const rest: string[] = [];
	let cur = p;
	for (;;) {
		try {
			return path.join(await realpath(cur), ...rest.reverse());
		} catch {
			const up = path.dirname(cur);
			if (up === cur) return p;
			rest.push(path.basename(cur));
			cur = up;
		}
	}
}

/** The nearest folder at or above `p` that exists. */
async function nearestExisting(p: string): Promise<{ dir: string; st: Stats | null }> {
	let cur = p;
	for (;;) {
		const st = await stat(cur).catch(() => null);
		if (st) return { dir: cur, st };
		const up = path.dirname(cur);
		if (up === cur) return { dir: cur, st: null };
		cur = up;
	}
}

const uid = () => (typeof process.getuid === 'function' ? process.getuid() : -1);

/**
 * Why the folder `dir` cannot be deleted safely and completely, or null. Never follows links (a link is removed, not
 * its target). Unsafe: it is, or holds, a file Sweep reads or a folder above one (a bind mount, a hard link).
 * Impossible: a folder whose entries this user cannot remove (no write permission; the sticky bit on someone else's).
 */
export async function deletionProblem(
	dir: string,
	reads: ReadFiles,
	budget = MAX_CHECKED_ENTRIES,
): Promise<string | null> {
	const me = uid();
	let seen = 0;
	const walk = async (d: string, dst: Stats): Promise<string | null> => {
		if (reads.folders.has(idOf(dst)))
			return `${d} is a folder that holds ${reads.names.get(idOf(dst))}, which Sweep reads`;
		let entries: import('node:fs').Dirent[];
		try {
			entries = await readdir(d, { withFileTypes: true });
		} catch (e) {
			return `cannot read ${d} (${describe(e)})`;
		}
		if (entries.length > 0) {
			try {
				await access(d, constants.W_OK | constants.X_OK);
			} catch {
				return `cannot remove the files in ${d} (permission denied)`;
			}
		}
		const sticky = (dst.mode & 0o1000) !== 0 && me > 0 && dst.uid !== me;
		for (const e of entries) {
			if (++seen > budget) return null;
			const p = path.join(d, e.name);
			if (e.isDirectory()) {
				const st = await lstat(p).catch(() => null);
				if (!st) continue;
				if (sticky && st.uid !== me) return `cannot remove ${p} (the sticky bit on ${d})`;
				const why = await walk(p, st);
				if (why) return why;
			} else if (sticky || (reads.multiLinked && e.isFile())) {
				const st = await lstat(p).catch(() => null);
				if (!st) continue;
				if (sticky && st.uid !== me) return `cannot remove ${p} (the sticky bit on ${d})`;
				if (reads.files.has(idOf(st))) return `${p} is ${reads.names.get(idOf(st))} (the same file), which Sweep reads`;
			}
		}
		return null;
	};
	const st = await lstat(dir).catch(() => null);
	if (!st?.isDirectory()) return null;
	return walk(dir, st);
}

/** Why `parent`'s entry `name` (owned by `ownerUid`) cannot be renamed by this user, or null. */
async function renameProblem(parent: string, pst: Stats, entryUid: number): Promise<string | null> {
	try {
		await access(parent, constants.W_OK | constants.X_OK);
	} catch {
		return `${parent} is not writable`;
	}
	const me = uid();
	if ((pst.mode & 0o1000) !== 0 && me > 0 && pst.uid !== me && entryUid !== me) {
		return `${parent} has the sticky bit and neither it nor the folder is yours`;
	}
	return null;
}

/**
 * Finishes what an interrupted earlier run left beside `outDir` (called under the run lock): temporary folders whose
 * own lock is missing or stale are removed, and if `outDir` is missing while a `.sweep-old-*` copy exists (a run died
 * between its two renames), the newest copy is put back. Folders that are unsafe or impossible to delete are left
 * alone (with a warning); they never block the run.
 */
export async function recoverStale(
	parent: string,
	base: string,
	outDir: string,
	reads: ReadFiles,
	warnings: string[],
): Promise<void> {
	let names: string[];
	try {
		names = await readdir(parent);
	} catch {
		return;
	}
	const remove = async (p: string) => {
		const why = await deletionProblem(p, reads);
		if (why) {
			warnings.push(`left ${p} in place: ${why}`);
			return;
		}
		await rm(p, { recursive: true, force: true }).catch((e) => {
			warnings.push(`could not remove ${p} completely (${describe(e)})`);
		});
	};
	for (const n of names) {
		if (!n.startsWith(base + TMP)) continue;
		const p = path.join(parent, n);
		const lock = inspectLock(path.join(p, TMP_LOCK));
		if (lock === null || lock.stale) await remove(p);
	}
	const olds: { p: string; ctime: number }[] = [];
	for (const n of names) {
		if (!n.startsWith(base + OLD)) continue;
		const p = path.join(parent, n);
		const st = await lstat(p).catch(() => null);
		if (st?.isDirectory()) olds.push({ p, ctime: st.ctimeMs });
	}
	olds.sort((a, b) => a.ctime - b.ctime);
	const outExists = await lstat(outDir).then(
		() => true,
		() => false,
	);
	if (!outExists && olds.length > 0) {
		const newest = olds.pop()!;
		await rename(newest.p, outDir).catch((e) => {
			warnings.push(`could not put ${newest.p} back as ${outDir} (${describe(e)})`);
		});
	}
	for (const o of olds) await remove(o.p);
}

/**
 * Checks the output folder before anything is written, takes its run lock and creates the temporary sibling the run
 * writes into. Refuses (exit 2, nothing created): a folder that holds a file the run reads or a folder above one
 * (compared by real path and by device + inode, so links and bind mounts are seen through), a symbolic link (it is
 * never followed), a file, an existing non-empty folder without `_manifest.json` unless `force`, a folder that could
 * not be replaced or removed, too little free space (at least the input's size), and a folder another run holds.
 */
export async function prepareOutput(
	outDirGiven: string,
	opts: { force: boolean; input: string; inputBytes: number; reads?: readonly string[] },
): Promise<OutputPlan> {
	const outDir = path.resolve(outDirGiven);
	const reads = await readFilesOf(opts.reads ?? [opts.input]);
	const refuse = (msg: string, code: 'output-invalid' | 'output-foreign' | 'no-space' = 'output-invalid') =>
		new SweepError(code, msg, { file: outDir });
	const what = (real: string) => (reads.real.indexOf(real) === 0 ? 'the input file' : `a file Sweep reads (${real})`);
	for (const real of [outDir, await realPathOf(outDir)]) {
		for (const r of reads.real) {
			if (isInside(real, r)) throw refuse(`The output folder ${outDir} contains ${what(r)}; choose another folder.`);
		}
	}
	const parent = path.dirname(outDir);
	const base = path.basename(outDir);

	// Before creating anything: the nearest existing folder must be a writable folder with room for the output.
	const near = await nearestExisting(parent);
	if (!near.st?.isDirectory()) {
		throw refuse(`Cannot create the folder ${parent}: ${near.dir} is not a folder.`);
	}
	if (near.dir !== parent) {
		try {
			await access(near.dir, constants.W_OK | constants.X_OK);
		} catch (e) {
			throw refuse(`Cannot create the folder ${parent}: ${near.dir}: ${describe(e)}.`);
		}
	}
	await checkSpace(near.dir, opts.inputBytes, outDir);

	const created: string[] = [];
	if (near.dir !== parent) {
		try {
			await mkdir(parent, { recursive: true });
		} catch (e) {
			throw refuse(`Cannot create the folder ${parent}: ${describe(e)}.`);
		}
		for (let d = parent; d !== near.dir && d !== path.dirname(d); d = path.dirname(d)) created.push(d);
	}
	let lock: RunLock;
	try {
		lock = acquireRunLock(outDir);
	} catch (e) {
		await removeCreated(created);
		throw e;
	}
	const warnings: string[] = [];
	try {
		await recoverStale(parent, base, outDir, reads, warnings);
		// An append killed outright is undone first: should this run fail, the folder it keeps is the old output.
		if (await hasJournal(outDir)) {
			await recoverAppend(outDir).catch((e: unknown) => {
				// It cannot be undone (a file that needs putting back cannot be written, or the journal is unreadable).
				// This run replaces the whole folder, so it goes on: if it succeeds the half-undone folder is deleted with
				// the rest; if it fails the folder is left as it is, journal included, for a later run to finish.
				const why = e instanceof UndoIncomplete ? e.message : e instanceof Error ? e.message : String(e);
				warnings.push(
					`an interrupted append to ${outDir} could not be undone (${why.replace(/\.$/, '')}); this run replaces the folder anyway`,
				);
			});
		}
		const st = await lstat(outDir).catch(() => null);
		if (st) {
			if (st.isSymbolicLink()) {
				throw refuse(
					`The output folder ${outDir} is a symbolic link; Sweep does not write through links. Give the real path instead.`,
				);
			}
			if (!st.isDirectory()) throw refuse(`The output path ${outDir} exists and is not a folder.`);
			if (reads.folders.has(idOf(st))) {
				throw refuse(
					`The output folder ${outDir} contains the input file (it is the same folder); choose another folder.`,
				);
			}
			const entries = await readdir(outDir);
			if (entries.length > 0 && !entries.includes(MANIFEST) && !opts.force) {
				throw refuse(
					`The output folder ${outDir} is not empty and was not written by Sweep (no ${MANIFEST}); use --force to replace it.`,
					'output-foreign',
				);
			}
			// Replacing it means renaming it aside and deleting it: check both are possible before anything is written.
			const pst = await stat(parent);
			const cannotRename = await renameProblem(parent, pst, st.uid);
			if (cannotRename) throw refuse(`Cannot replace the output folder ${outDir}: ${cannotRename}.`);
			const cannotDelete = await deletionProblem(outDir, reads);
			if (cannotDelete) throw refuse(`Cannot replace the output folder ${outDir}: ${cannotDelete}.`);
		} else {
			try {
				await access(parent, constants.W_OK | constants.X_OK);
			} catch (e) {
				throw refuse(`Cannot write in ${parent}: ${describe(e)}.`);
			}
		}
		const id = randomBytes(6).toString('hex');
		const tmpDir = path.join(parent, `${base}${TMP}${id}`);
		try {
			await mkdir(tmpDir);
		} catch (e) {
			throw new SweepError('output-invalid', `Cannot write in ${parent}: ${describe(e)}.`, { file: parent, cause: e });
		}
		const tmpLock = tryLock(path.join(tmpDir, TMP_LOCK), lock.holder);
		if ('heldBy' in tmpLock) {
			await rm(tmpDir, { recursive: true, force: true });
			throw refuse(`Cannot lock the temporary folder ${tmpDir}.`);
		}
		return { outDir, tmpDir, id, lock, tmpLock, created, warnings };
	} catch (e) {
		lock.release();
		await removeCreated(created);
		throw e;
	}
}

async function checkSpace(dir: string, bytes: number, outDir: string): Promise<void> {
	let free: number;
	try {
		const fs = await statfs(dir);
		free = fs.bavail * fs.bsize;
	} catch {
		return; // unknown: the run finds out
	}
	if (free < bytes) {
		throw new SweepError(
			'no-space',
			`Not enough free space in ${dir}: ${free} bytes free, the output needs about ${bytes} (the input's size).`,
			{ file: outDir },
		);
	}
}

/** Removes the folders a refused or failed run created (deepest first; only while empty). */
async function removeCreated(created: readonly string[]): Promise<void> {
	for (const d of created) {
		try {
			await rmdir(d);
		} catch {
			return;
		}
	}
}

/**
 * Puts the finished temporary folder in place of the output folder, then removes the old one. Fails (nothing
 * swapped) if the run lock was taken over meanwhile. An old folder that cannot be removed after the swap does not
 * fail the run: the new output is in place and a warning names what was left (the next run removes it if it can).
 * Returns the warnings of the whole run (recovery included).
 */
export async function commitOutput(plan: OutputPlan): Promise<string[]> {
	if (!plan.lock.stillHeld()) {
		throw new SweepError(
			'lock-lost',
			`Another run took over the output folder ${plan.outDir} while this one was stopped for more than 10 s; this run's output was discarded.`,
			{ file: plan.outDir },
		);
	}
	plan.tmpLock.release();
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
	if (hadOld) {
		try {
			await rm(old, { recursive: true, force: true });
		} catch (e) {
			plan.warnings.push(
				`the new output is in place, but the previous one could not be removed completely: ${old} is left (${describe(e)}).`,
			);
		}
	}
	plan.created.length = 0; // they hold the output now
	plan.lock.release();
	return plan.warnings;
}

/** Removes the temporary folder of a failed or cancelled run, and the folders it created; releases its locks. */
export async function discardOutput(plan: OutputPlan): Promise<void> {
	plan.tmpLock.release();
	try {
		await rm(plan.tmpDir, { recursive: true, force: true });
		await removeCreated(plan.created);
	} finally {
		plan.lock.release();
	}
}

export { describe as describeFsError };
