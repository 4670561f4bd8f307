import type { Stats } from 'node:fs';

/**
 * The one rule by which Sweep decides that a file it reads is still the file it was (README "What Sweep
 * guarantees", "The input must hold still"): the same device and inode at the same path, the same size, the same
 * modification time and the same change time (ctime).
 *
 * The change time is what makes the rule whole: nobody can set it, and every write moves it — so does putting the
 * modification time back (`touch -d`, `utimes`), which is how a same-size rewrite in place could otherwise pass for
 * the file that was read. It also moves when the file's permissions, owner or links change (`chmod`, `chown`, `ln`,
 * a rename): such a change while the file is read fails the run too. That is deliberate: a clear "changed while it
 * was read" that a rerun fixes, rather than a manifest describing bytes that were never the ones partitioned.
 */

/**
 * What changed between `before` (the file when it was opened) and `after` (its open descriptor's stat now), in
 * words, or null when nothing did. `atPath`: what its path names now (null: nothing), to see a file deleted,
 * renamed or replaced while its descriptor still reads the old one; undefined to leave the path out.
 */
export function fileChange(before: Stats, after: Stats, atPath?: Stats | null): string | null {
	if (after.size !== before.size) return `its size went from ${before.size} to ${after.size} bytes`;
	if (atPath === null) return 'it was deleted or renamed';
	if (!sameInode(before, after) || (atPath !== undefined && !sameInode(before, atPath)))
		return 'it was replaced by another file';
	if (after.mtimeMs !== before.mtimeMs) return 'it was modified (its modification time changed)';
	if (after.ctimeMs !== before.ctimeMs)
		return 'it was written to, or its permissions, owner or links changed (its change time moved, though its size and modification time are as they were)';
	return null;
}

const sameInode = (a: Stats, b: Stats) => a.dev === b.dev && a.ino === b.ino;

/** How a manifest records a file's state (its `inputs`): size, modification and change times (ISO 8601, ms). */
export interface FileStamp {
	bytes: number;
	mtime: string;
	ctime: string;
}

export function stampOf(st: Stats): FileStamp {
	return { bytes: st.size, mtime: st.mtime.toISOString(), ctime: st.ctime.toISOString() };
}

/**
 * Whether a recorded stamp is the file's now, by the rule above (the path is compared by the caller). A stamp
 * without a change time (in a manifest written by an earlier version of Sweep) never matches: its size and modification time
 * alone cannot tell a rewrite that put the modification time back.
 */
export function sameStamp(recorded: Partial<FileStamp>, now: FileStamp): boolean {
	return (
		recorded.ctime !== undefined &&
		recorded.bytes === now.bytes &&
		recorded.mtime === now.mtime &&
		recorded.ctime === now.ctime
	);
}
