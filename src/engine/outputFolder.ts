import { constants as bufferConstants } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { access, lstat, mkdir, readdir, readFile, realpath, rename, rm, rmdir, stat, statfs } from 'node:fs/promises';
import * as path from 'node:path';
import { APPEND_LEFTOVER_FILES, formatSize, MANIFEST_FILE as MANIFEST, REJECTS_FILE as REJECTS } from '../rules';
import { SweepError } from './errors';
import { hasJournal, recoverAppend, UndoIncomplete } from './journal';
import { TEMP_CSV } from './parquet/phase';
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
/** The id in a temporary or old folder's name: 12 lowercase hex digits (`randomBytes(6)`), exactly. */
const ID = /^[0-9a-f]{12}$/;
const newId = () => randomBytes(6).toString('hex');
/** What creating the temporary folder's lock may leave beside it (runLock.ts: its draft, a take-over guard). */
const LOCK_DRAFT = /^\.sweep-lock\.(?:[0-9a-f]{16}|takeover)$/;
/** Files an operating system's file browser writes into any folder it shows; never anyone's data. */
const OS_FILES = new Set(['.DS_Store', 'Thumbs.db', 'desktop.ini']);
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
		case 'ENAMETOOLONG':
			// Mostly the output folder's own name: at most 255 bytes per name, and the temporary sibling adds 23.
			return `a name in the path is too long (file systems allow 255 bytes per name, and while writing Sweep uses <out>${TMP}<12 hex>: an output folder's name may have at most ${255 - TMP.length - 12} bytes)`;
		default:
			return err.message ?? String(e);
	}
}

/**
 * Why a folder could not be deleted. Node's recursive delete reports ENOTDIR for a file it could not unlink (it
 * then tries it as a folder), so that code means a file in it that cannot be deleted, not a path through a file.
 */
function describeRemoval(e: unknown): string {
	return (e as NodeJS.ErrnoException).code === 'ENOTDIR'
		? "a file in it cannot be deleted: immutable (chattr +i), on a read-only mount, or another user's in a sticky folder"
		: describe(e);
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
	const mounts = await mountPoints();
	const walk = async (d: string, dst: Stats, real: string, parentDev: number | null): Promise<string | null> => {
		if (reads.folders.has(idOf(dst)))
			return `${d} is a folder that holds ${reads.names.get(idOf(dst))}, which Sweep reads`;
		// Removing it would empty another file system (or a bind mount), then fail.
		if (parentDev !== null && (dst.dev !== parentDev || mounts.has(real))) return `${d} is a mount point`;
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
				const why = await walk(p, st, path.join(real, e.name), dst.dev);
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
	return walk(dir, st, await realpath(dir).catch(() => dir), null);
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const isStrings = (x: unknown): x is string[] => Array.isArray(x) && x.every((v) => typeof v === 'string');
const isCount = (x: unknown): boolean => typeof x === 'number' && Number.isFinite(x) && x >= 0;

/**
 * True when `raw` has the fields every Sweep manifest (version 1, of any Sweep version) holds, of their types: a
 * `_manifest.json` Sweep did not write is not taken for one.
 */
function isSweepManifest(raw: unknown): raw is { partitions: Record<string, unknown>[]; rejects: unknown } {
	if (!isObject(raw) || raw.version !== 1) return false;
	const src = raw.source;
	const config = raw.config;
	return (
		isObject(src) &&
		typeof src.path === 'string' &&
		isCount(src.bytes) &&
		isStrings(src.header) &&
		typeof src.delimiter === 'string' &&
		isStrings(raw.columns) &&
		isStrings(raw.partitionBy) &&
		(raw.orders === null || isObject(raw.orders)) &&
		isObject(config) &&
		isCount(config.workers) &&
		isCount(config.chunkSize) &&
		['rowsRead', 'rowsWritten', 'rowsRejected', 'rowsFilteredOut'].every((k) => isCount(raw[k])) &&
		(raw.rejects === null || raw.rejects === REJECTS) &&
		typeof raw.startedAt === 'string' &&
		isCount(raw.durationMs) &&
		Array.isArray(raw.partitions) &&
		raw.partitions.every(
			(p) =>
				isObject(p) &&
				isStrings(p.key) &&
				isCount(p.rows) &&
				(p.file === null || typeof p.file === 'string') &&
				(p.files === undefined ||
					(Array.isArray(p.files) && p.files.every((f) => isObject(f) && typeof f.file === 'string'))),
		)
	);
}

/**
 * Why the folder `dir`, whose entries are `entries`, is not a folder Sweep wrote; null when it is. Sweep's: its
 * `_manifest.json` parses and is a Sweep manifest (isSweepManifest), and every other entry is a file or folder that
 * manifest lists, all the way down: a partition's file (a regular file, not a folder or a link), the folders of its
 * path in the hive layout (folders, holding nothing else), `_rejects.csv` when it lists one, what an interrupted
 * append leaves (its journal, the next manifest, a Parquet file's temporary CSV), or a file browser's `.DS_Store`,
 * `Thumbs.db`, `desktop.ini`. `entries` are the folder's own (the caller's readdir); the hive folders are read here,
 * only those the manifest lists. A file added inside a hive folder, or a folder put where a file was, shows (they
 * were deleted with the old output when only the top level was compared).
 */
export async function foreignReason(dir: string, entries: readonly string[]): Promise<string | null> {
	if (!entries.includes(MANIFEST)) return `no ${MANIFEST}`;
	const file = path.join(dir, MANIFEST);
	let raw: unknown;
	try {
		const st = await lstat(file);
		if (!st.isFile()) return `its ${MANIFEST} is not a file`;
		if (st.size > bufferConstants.MAX_STRING_LENGTH) return `its ${MANIFEST} is not a Sweep manifest (too large)`;
		raw = JSON.parse(await readFile(file, 'utf8'));
	} catch (e) {
		return e instanceof SyntaxError ? `its ${MANIFEST} is not JSON` : `cannot read its ${MANIFEST} (${describe(e)})`;
	}
	if (!isSweepManifest(raw)) return `its ${MANIFEST} is not a Sweep manifest`;
	// Relative paths the manifest accounts for: files, and the folders on the way to them.
	const files = new Set<string>([MANIFEST, ...APPEND_LEFTOVER_FILES]);
	const folders = new Set<string>();
	if (raw.rejects === REJECTS) files.add(REJECTS);
	const add = (f: unknown) => {
		if (typeof f !== 'string' || f === '') return;
		files.add(f);
		// A Parquet file's temporary CSV, left by an append that was killed while converting (docs/parquet.md).
		files.add(f + TEMP_CSV);
		const parts = f.split('/');
		for (let i = 1; i < parts.length; i++) folders.add(parts.slice(0, i).join('/'));
	};
	for (const p of raw.partitions) {
		add(p.file);
		if (Array.isArray(p.files)) for (const f of p.files) add((f as { file?: unknown }).file);
	}
	const check = async (rel: string, names: readonly string[]): Promise<string | null> => {
		for (const name of names) {
			const r = rel === '' ? name : `${rel}/${name}`;
			if (OS_FILES.has(name)) continue;
			const isFile = files.has(r);
			if (!isFile && !folders.has(r)) return `it holds ${r}, which its ${MANIFEST} does not list`;
			const at = path.join(dir, ...r.split('/'));
			const st = await lstat(at).catch(() => null);
			if (st === null) continue; // gone meanwhile
			if (isFile && !st.isFile() && !(folders.has(r) && st.isDirectory()))
				return `${r}, which its ${MANIFEST} lists as a file, is ${st.isDirectory() ? 'a folder' : 'not a regular file'}`;
			if (!isFile && !st.isDirectory()) return `${r}, which its ${MANIFEST} lists as a folder, is not one`;
			if (st.isDirectory()) {
				const inner = await readdir(at).catch(() => null);
				if (inner === null) return `cannot read ${r}`;
				const why = await check(r, inner);
				if (why !== null) return why;
			}
		}
		return null;
	};
	return check('', entries);
}

/** Mount points (real paths) of this process's view (Linux `/proc/self/mountinfo`); empty elsewhere. */
async function mountPoints(): Promise<Set<string>> {
	const out = new Set<string>();
	if (process.platform !== 'linux') return out;
	let text: string;
	try {
		text = await readFile('/proc/self/mountinfo', 'utf8');
	} catch {
		return out;
	}
	for (const line of text.split('\n')) {
		const f = line.split(' ');
		if (f.length > 4)
			out.add(f[4].replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8))));
	}
	return out;
}

/**
 * True when the folder `dir` (stat `st`) is a mount point: on another device than its parent, or (a bind mount of
 * the same file system) listed as one in `/proc/self/mountinfo`. Such a folder cannot be renamed (EBUSY).
 */
async function isMountPoint(dir: string, st: Stats): Promise<boolean> {
	const pst = await stat(path.dirname(dir)).catch(() => null);
	if (pst && pst.dev !== st.dev) return true;
	const real = await realpath(dir).catch(() => null);
	return real !== null && (await mountPoints()).has(real);
}

/**
 * Removes the folder `dir`: every entry but those in `last` first, then those (in that order), then the folder.
 * Sweep's marker (a temporary folder's lock, an old output's manifest) goes last, so a run killed meanwhile leaves a
 * folder the next run still recognises as Sweep's and removes. Throws the first error (the markers are then kept).
 */
async function removeMarkedLast(dir: string, last: readonly string[]): Promise<void> {
	let names: string[];
	try {
		names = await readdir(dir);
	} catch (e) {
		if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
		throw e;
	}
	const first = names.filter((n) => !last.includes(n));
	let error: unknown = null;
	for (let i = 0; i < first.length; i += 64) {
		await Promise.all(
			first.slice(i, i + 64).map((n) =>
				rm(path.join(dir, n), { recursive: true, force: true }).catch((e: unknown) => {
					error ??= e;
				}),
			),
		);
	}
	if (error !== null) throw error;
	for (const n of last) await rm(path.join(dir, n), { force: true });
	await rmdir(dir);
}

/** What a folder named like a temporary one is: a live run's, a dead run's (Sweep's, to remove), or not Sweep's. */
async function temporaryState(p: string): Promise<'live' | 'dead' | 'foreign'> {
	const st = await lstat(p).catch(() => null);
	if (!st?.isDirectory()) return 'foreign';
	let entries: string[];
	try {
		entries = await readdir(p);
	} catch {
		return 'foreign';
	}
	const lock = inspectLock(path.join(p, TMP_LOCK));
	if (lock && !lock.stale) return 'live';
	// Its lock names a run (what Sweep writes first thing in a temporary folder), and that run is gone.
	if (lock?.holder) return 'dead';
	// Killed before its lock was in place (nothing else in it), or after removing it at the end (a complete output).
	const rest = entries.filter((n) => n !== TMP_LOCK && !LOCK_DRAFT.test(n));
	if (rest.length === 0) return 'dead';
	return (await foreignReason(p, rest)) === null ? 'dead' : 'foreign';
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
 * Finishes what an interrupted earlier run left beside `outDir` (called under the run lock). Only folders that are
 * provably Sweep's are touched: named exactly `<out>.sweep-tmp-<id>` / `<out>.sweep-old-<id>` (`<id>` 12 hex
 * digits) and marked as Sweep's. A temporary folder is Sweep's when its lock names a run, or it holds nothing else,
 * or it holds a complete Sweep output (foreignReason); it is removed when its lock is missing or stale. An old folder
 * (a previous output renamed aside) is Sweep's when it holds a Sweep output, or when the temporary folder of the same
 * id is Sweep's (the run died between its two renames, whatever the old output was). If `outDir` is missing, the
 * newest old folder is put back; the others are removed. Folders named like these but not provably Sweep's are left
 * alone with a warning; folders that are unsafe or impossible to delete are left alone with a warning too. Nothing
 * here blocks the run.
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
	const idOfName = (n: string, kind: string) => {
		if (!n.startsWith(base + kind)) return null;
		const id = n.slice(base.length + kind.length);
		return ID.test(id) ? id : null;
	};
	const notSweeps = (p: string) =>
		warnings.push(
			`left ${p} in place: it is named like Sweep's but Sweep did not write it (remove it yourself if it is not needed)`,
		);
	const remove = async (p: string, last: readonly string[]) => {
		const why = await deletionProblem(p, reads);
		if (why) {
			warnings.push(`left ${p} in place: ${why}`);
			return;
		}
		await removeMarkedLast(p, last).catch((e) => {
			warnings.push(`could not remove ${p} completely (${describeRemoval(e)})`);
		});
	};
	const deadTemps: { p: string; id: string }[] = [];
	for (const n of names) {
		const id = idOfName(n, TMP);
		if (id === null) continue;
		const p = path.join(parent, n);
		const state = await temporaryState(p);
		if (state === 'dead') deadTemps.push({ p, id });
		else if (state === 'foreign') notSweeps(p);
	}
	const olds: { p: string; ctime: number }[] = [];
	for (const n of names) {
		const id = idOfName(n, OLD);
		if (id === null) continue;
		const p = path.join(parent, n);
		const st = await lstat(p).catch(() => null);
		if (!st?.isDirectory()) {
			if (st) notSweeps(p);
			continue;
		}
		const entries = await readdir(p).catch(() => null);
		const sweeps =
			deadTemps.some((t) => t.id === id) || (entries !== null && (await foreignReason(p, entries)) === null);
		if (sweeps) olds.push({ p, ctime: st.ctimeMs });
		else notSweeps(p);
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
	for (const o of olds) await remove(o.p, [MANIFEST]);
	for (const t of deadTemps) await remove(t.p, [MANIFEST, TMP_LOCK]);
}

/**
 * Checks the output folder before anything is written, takes its run lock and creates the temporary sibling the run
 * writes into. Refuses (exit 2, nothing created): a folder that holds a file the run reads or a folder above one
 * (compared by real path and by device + inode, so links and bind mounts are seen through), a symbolic link (it is
 * never followed), a file, an existing non-empty folder Sweep did not write (foreignReason: no `_manifest.json`, one
 * that is not a Sweep manifest, or an entry it does not list) unless `force`, a mount point, a folder that could not
 * be replaced or removed, too little free space (at least the input's size), and a folder another run holds.
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
		let first: string | undefined;
		try {
			// The first folder it created (undefined: none): should another process create some of them meanwhile,
			// those are not this run's to remove.
			first = await mkdir(parent, { recursive: true });
		} catch (e) {
			throw refuse(`Cannot create the folder ${parent}: ${describe(e)}.`);
		}
		if (first !== undefined) {
			for (let d = parent; d !== near.dir && d !== path.dirname(d); d = path.dirname(d)) {
				created.push(d);
				if (d === path.resolve(first)) break;
			}
		}
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
			const foreign = entries.length > 0 && !opts.force ? await foreignReason(outDir, entries) : null;
			if (foreign !== null) {
				throw refuse(
					`The output folder ${outDir} is not empty and was not written by Sweep (${foreign}); use --force to replace it.`,
					'output-foreign',
				);
			}
			// Replacing it means renaming it aside and deleting it: check both are possible before anything is written.
			if (await isMountPoint(outDir, st)) {
				throw refuse(
					`Cannot replace the output folder ${outDir}: it is a mount point, which cannot be renamed aside; give a folder inside it or beside it.`,
				);
			}
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
		const id = newId();
		const tmpDir = path.join(parent, `${base}${TMP}${id}`);
		try {
			await mkdir(tmpDir);
		} catch (e) {
			throw new SweepError('output-invalid', `Cannot write in ${parent}: ${describe(e)}.`, { file: parent, cause: e });
		}
		let tmpLock: ReturnType<typeof tryLock>;
		try {
			tmpLock = tryLock(path.join(tmpDir, TMP_LOCK), lock.holder);
		} catch (e) {
			// A full disk (or another write error) as the lock is written: the folder just made goes too.
			await rm(tmpDir, { recursive: true, force: true });
			throw new SweepError('output-invalid', `Cannot write in ${parent}: ${describe(e)}.`, { file: parent, cause: e });
		}
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
			`Not enough free space in ${dir}: ${formatSize(free)} free, the output needs about ${formatSize(bytes)} (estimated from the input's size and the output's compression).`,
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
 * `onCommitted` is called as soon as the new folder is in place (ExtractHooks.onCommitted), before the old one is
 * removed. Returns the warnings of the whole run (recovery included).
 */
export async function commitOutput(plan: OutputPlan, onCommitted?: () => void): Promise<string[]> {
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
	plan.created.length = 0; // they hold the output now
	onCommitted?.();
	if (hadOld) {
		try {
			// Its manifest last: killed meanwhile, what is left is still recognisably Sweep's (recoverStale).
			await removeMarkedLast(old, [MANIFEST]);
		} catch (e) {
			plan.warnings.push(
				`the new output is in place, but the previous one could not be removed completely: ${old} is left (${describeRemoval(e)}).`,
			);
		}
	}
	plan.lock.release();
	return plan.warnings;
}

/**
 * Removes the temporary folder of a failed or cancelled run, releases its locks, then removes the folders it created
 * on the way to the output (deepest first, each only if empty: never one that was there before the run).
 */
export async function discardOutput(plan: OutputPlan): Promise<void> {
	try {
		// The lock stays (and beats) until the rest is gone: killed meanwhile, the folder is still recognisably a
		// temporary folder of Sweep's, which the next run removes (recoverStale).
		await removeMarkedLast(plan.tmpDir, [TMP_LOCK]).catch(async (e: unknown) => {
			plan.tmpLock.release();
			await rm(plan.tmpDir, { recursive: true, force: true }).catch(() => {
				throw e;
			});
		});
	} finally {
		plan.tmpLock.release();
		plan.lock.release();
	}
	// Only now: the run lock (`<out>.sweep-lock`) lies beside the output folder, in the deepest folder created, which
	// it kept from being empty (those folders were left behind).
	await removeCreated(plan.created);
}

export { describe as describeFsError };
