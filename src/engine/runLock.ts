import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SweepError } from './errors';

/**
 * Heartbeat locks (see README "One run per output folder"). A lock is a file created exclusively (`O_EXCL`) that
 * holds who took it (a random run id, host name, pid, start time); its holder touches its modification time every
 * second. A lock whose file has not been touched for `STALE_MS` belongs to a run that died (or was frozen), and may
 * be taken over — unless its holder is a process alive on this very boot and in this very PID namespace (the same PID
 * and start time): a run suspended there is waited for, since it would go on writing when resumed. Liveness never
 * rests on a PID alone: a PID is checked only on this boot and in this PID namespace, to release the lock of a run
 * that died faster than the timeout, or to keep that of one that lives.
 */

/** How often a holder touches its lock files. */
export const BEAT_MS = 1000;
/** A lock untouched for this long is stale. */
export const STALE_MS = 10_000;

/** What a lock file says about its holder. */
export interface LockHolder {
	id: string;
	host: string;
	pid: number;
	/** ISO time the lock was taken. */
	since: string;
	/** Linux: the boot and the PID namespace the holder runs in (so its PID means something only there). */
	boot?: string;
	pidns?: string;
	/** Linux: the holder process's start time (/proc/<pid>/stat, clock ticks after boot): with its PID, that process. */
	start?: string;
}

function readText(file: string): string | undefined {
	try {
		return fs.readFileSync(file, 'utf8').trim();
	} catch {
		return undefined;
	}
}

/**
 * The fields of /proc/<pid>/stat from the third (state) on, or undefined where there is none. `pid (comm) state …`:
 * comm may hold spaces and parentheses, so the fields are counted after the last ')'.
 */
function procStat(pid: number | 'self'): string[] | undefined {
	const stat = readText(`/proc/${pid}/stat`);
	return stat?.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** The start time of process `pid` (field 22 of /proc/<pid>/stat), or undefined where there is no /proc. */
function startOf(pid: number | 'self'): string | undefined {
	return procStat(pid)?.[19];
}

let where: { boot?: string; pidns?: string; start?: string } | undefined;
/** This process's boot id, PID namespace and start time (Linux), read once. */
function placeOfThisProcess(): { boot?: string; pidns?: string; start?: string } {
	if (where === undefined) {
		let pidns: string | undefined;
		try {
			pidns = fs.readlinkSync('/proc/self/ns/pid');
		} catch {
			pidns = undefined;
		}
		where = { boot: readText('/proc/sys/kernel/random/boot_id'), pidns, start: startOf('self') };
	}
	return where;
}

/** One line naming a holder for people: `host myhost, pid 4242, since 2024-03-15 10:00:00 UTC`. */
export function describeHolder(h: LockHolder | null): string {
	if (h === null) return 'a run that is just starting';
	const since = h.since.replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
	return `host ${h.host}, pid ${h.pid}, since ${since}`;
}

function parseHolder(text: string): LockHolder | null {
	try {
		const v = JSON.parse(text) as Partial<LockHolder>;
		if (typeof v.id === 'string' && typeof v.host === 'string' && typeof v.pid === 'number') {
			return {
				id: v.id,
				host: v.host,
				pid: v.pid,
				since: typeof v.since === 'string' ? v.since : '?',
				boot: v.boot,
				pidns: v.pidns,
				start: typeof v.start === 'string' ? v.start : undefined,
			};
		}
	} catch {
		// Being written right now, or not Sweep's: judged by its age alone.
	}
	return null;
}

/** The state of a lock file: missing, or its holder (null when unreadable) and whether it is stale. */
export function inspectLock(
	file: string,
	now = Date.now(),
): { holder: LockHolder | null; stale: boolean; st: fs.Stats } | null {
	let st: fs.Stats;
	let text: string;
	try {
		st = fs.lstatSync(file);
		text = st.isFile() ? fs.readFileSync(file, 'utf8') : '';
	} catch {
		return null;
	}
	const holder = parseHolder(text);
	let stale = now - st.mtimeMs > STALE_MS;
	if (!stale && holder !== null && diedHere(holder)) stale = true;
	// A holder alive on this machine whose heartbeat stopped was suspended (Ctrl-Z, SIGSTOP) or is stuck: it may go on
	// writing the moment it resumes (an append writes in place), so its lock is never taken over.
	else if (stale && holder !== null && aliveHere(holder)) stale = false;
	return { holder, stale, st };
}

/** True only when the holder ran on this boot, in this PID namespace, and that very process (PID and start time) lives. */
function aliveHere(h: LockHolder): boolean {
	return ranHere(h) && h.start !== undefined && startOf(h.pid) === h.start && !isZombie(h.pid);
}

/** True when the holder ran on this boot and in this PID namespace, where its PID means this machine's process. */
function ranHere(h: LockHolder): boolean {
	const here = placeOfThisProcess();
	return !!here.boot && !!here.pidns && h.boot === here.boot && h.pidns === here.pidns;
}

/** True only when the holder ran on this boot, in this PID namespace, and its PID is gone. */
function diedHere(h: LockHolder): boolean {
	if (!ranHere(h)) return false;
	if (h.pid === process.pid) return false; // this process: alive (another run in it holds the lock)
	try {
		process.kill(h.pid, 0);
	} catch (e) {
		return (e as NodeJS.ErrnoException).code === 'ESRCH';
	}
	// A process killed (kill -9) but not yet reaped by its parent is a zombie: its PID exists, it holds nothing.
	return isZombie(h.pid);
}

/** True when /proc says the process has ended and waits to be reaped (state Z or X); false when unknown. */
function isZombie(pid: number): boolean {
	const state = procStat(pid)?.[0];
	return state === 'Z' || state === 'X';
}

/** Lock files this process holds, touched every BEAT_MS by one timer. */
const beating = new Set<number>();
let timer: NodeJS.Timeout | undefined;

function beat(): void {
	const t = new Date();
	for (const fd of beating) {
		try {
			fs.futimesSync(fd, t, t);
		} catch {
			// A failing touch only makes the lock look stale sooner; the holder checks it still owns it before acting.
		}
	}
}

function startBeating(fd: number): void {
	beating.add(fd);
	if (timer === undefined) {
		timer = setInterval(beat, BEAT_MS);
		timer.unref();
	}
}

function stopBeating(fd: number): void {
	beating.delete(fd);
	if (beating.size === 0 && timer !== undefined) {
		clearInterval(timer);
		timer = undefined;
	}
}

/** A lock this process holds. */
export interface HeldLock {
	readonly file: string;
	readonly holder: LockHolder;
	/** True while the lock file on disk is still this one (not taken over after this process was frozen). */
	stillHeld(): boolean;
	/** Stops touching it and removes it (only if it is still this one). Safe to call twice. */
	release(): void;
}

/**
 * Creates `file` exclusively with `holder` in it; null when it exists. The holder is written to a file of its own
 * first and then hard-linked to `file` (which fails if `file` exists), so a lock is never seen empty: a second run
 * always names the holder. Where hard links are not supported, `file` is created with O_EXCL and then written.
 */
function create(file: string, holder: LockHolder): HeldLock | null {
	const text = `${JSON.stringify(holder)}\n`;
	const draft = `${file}.${holder.id}`;
	let fd: number;
	try {
		fd = fs.openSync(draft, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o644);
	} catch {
		return createInPlace(file, text, holder);
	}
	try {
		fs.writeSync(fd, text);
		fs.linkSync(draft, file);
	} catch (e) {
		fs.closeSync(fd);
		fs.rmSync(draft, { force: true });
		const code = (e as NodeJS.ErrnoException).code;
		if (code === 'EEXIST') return null;
		if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'ENOSYS') {
			return createInPlace(file, text, holder);
		}
		throw e;
	}
	fs.rmSync(draft, { force: true });
	return held(file, fd, holder);
}

/** `create` without hard links: O_EXCL, then the holder written (a reader may see it empty for a moment). */
function createInPlace(file: string, text: string, holder: LockHolder): HeldLock | null {
	let fd: number;
	try {
		fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o644);
	} catch (e) {
		if ((e as NodeJS.ErrnoException).code === 'EEXIST') return null;
		throw e;
	}
	try {
		fs.writeSync(fd, text);
	} catch (e) {
		fs.closeSync(fd);
		fs.rmSync(file, { force: true });
		throw e;
	}
	return held(file, fd, holder);
}

/** The lock `file`, open as `fd`: touched every second until released. */
function held(file: string, fd: number, holder: LockHolder): HeldLock {
	const st = fs.fstatSync(fd);
	startBeating(fd);
	let released = false;
	const stillHeld = () => {
		if (released) return false;
		try {
			const now = fs.lstatSync(file);
			return now.ino === st.ino && now.dev === st.dev;
		} catch {
			return false;
		}
	};
	return {
		file,
		holder,
		stillHeld,
		release() {
			if (released) return;
			const mine = stillHeld();
			released = true;
			stopBeating(fd);
			try {
				fs.closeSync(fd);
			} catch {
				// already closed
			}
			if (mine) fs.rmSync(file, { force: true });
		},
	};
}

/** A fresh holder record for this process. */
export function newHolder(): LockHolder {
	return {
		id: randomBytes(8).toString('hex'),
		host: os.hostname(),
		pid: process.pid,
		since: new Date().toISOString(),
		...placeOfThisProcess(),
	};
}

/**
 * Takes the lock `file`, or returns who holds it. A stale lock is taken over under a second, short-lived exclusive
 * file (`<file>.takeover`), so that two runs finding the same stale lock cannot both take it.
 */
export function tryLock(file: string, holder: LockHolder = newHolder()): HeldLock | { heldBy: LockHolder | null } {
	for (let attempt = 0; attempt < 5; attempt++) {
		const mine = create(file, holder);
		if (mine) return mine;
		const seen = inspectLock(file);
		if (seen === null) continue; // released meanwhile: try again
		if (!seen.st.isFile()) {
			// Sweep's lock is always a regular file: a folder or a link there is someone else's, not a run to wait for.
			const what = seen.st.isDirectory()
				? 'a folder'
				: seen.st.isSymbolicLink()
					? 'a symbolic link'
					: 'not a regular file';
			throw new SweepError(
				'output-invalid',
				`${file} is in the way of Sweep's run lock for that output folder: it is ${what}, not a lock Sweep wrote. Remove or rename it, or choose another output folder.`,
				{ file },
			);
		}
		if (!seen.stale) return { heldBy: seen.holder };
		// Stale: take it over, one run at a time.
		const guardFile = `${file}.takeover`;
		const guard = create(guardFile, holder);
		if (guard === null) {
			const g = inspectLock(guardFile);
			if (g?.stale)
				fs.rmSync(guardFile, { force: true }); // a run died while taking over (a millisecond window)
			else return { heldBy: seen.holder };
			continue;
		}
		try {
			const again = inspectLock(file);
			// Remove it only if it is still the very file judged stale.
			if (again?.stale && again.st.ino === seen.st.ino && again.st.mtimeMs === seen.st.mtimeMs) {
				fs.rmSync(file, { force: true });
			}
			const taken = create(file, holder);
			if (taken) return taken;
		} finally {
			guard.release();
		}
	}
	const last = inspectLock(file);
	return { heldBy: last?.holder ?? null };
}

/** The run lock of an output folder: `<parent>/<name>.sweep-lock`, beside it (the folder itself is swapped). */
export function runLockFile(outDir: string): string {
	const abs = path.resolve(outDir);
	return path.join(path.dirname(abs), `${path.basename(abs)}.sweep-lock`);
}

/** A run lock held on an output folder. */
export interface RunLock extends HeldLock {
	readonly outDir: string;
}

/**
 * Takes the run lock of `outDir` (its parent folder must exist): one Sweep run at a time per output folder, across
 * processes, containers and machines sharing the folder. Throws SweepError `output-locked` (exit 2) naming the holder
 * when another live run holds it. Call `release()` when the run is over (its output committed or discarded).
 */
export function acquireRunLock(outDir: string, holder: LockHolder = newHolder()): RunLock {
	const abs = path.resolve(outDir);
	const file = runLockFile(abs);
	let got: HeldLock | { heldBy: LockHolder | null };
	try {
		got = tryLock(file, holder);
	} catch (e) {
		if (e instanceof SweepError) throw e;
		const why = (e as NodeJS.ErrnoException).code === 'EACCES' ? 'permission denied' : (e as Error).message;
		throw new SweepError('output-invalid', `Cannot lock the output folder ${abs} (${file}): ${why}.`, {
			file: abs,
			cause: e,
		});
	}
	if ('heldBy' in got) {
		throw new SweepError(
			'output-locked',
			`Another Sweep run holds the output folder ${abs} (${describeHolder(got.heldBy)}); wait for it to finish or choose another folder.`,
			{ file: abs },
		);
	}
	return Object.assign(got, { outDir: abs });
}
