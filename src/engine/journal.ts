import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { type FileHandle, lstat, open, readFile, rename, rm, rmdir, unlink } from 'node:fs/promises';
import * as path from 'node:path';
import {
	APPEND_JOURNAL_NEXT_FILE,
	APPEND_JOURNAL_FILE as JOURNAL,
	MANIFEST_FILE as MANIFEST,
	MANIFEST_NEXT_FILE as MANIFEST_NEXT,
} from '../rules';
import { SweepError } from './errors';

/**
 * The append journal, kept next to the output files while an append runs (see docs/append.md). JSON lines: the
 * first holds what the folder was (the SHA-256 of its `_manifest.json` and the size of every file an append may
 * grow); each later line names files about to be created, or (Parquet) saves the footers of files about to get new
 * row groups written over their footer. It is written and fsynced before the first byte is
 * appended, and each later line before the files it names exist, so after a crash or a power loss the next run
 * can put every file back exactly as it was: truncate grown files, delete created ones (and the folders made for
 * them in hive layout). Names are paths relative to the output folder, with `/`. One append at a time holds the
 * folder's run lock (runLock.ts); the journal is not a lock.
 */
export { JOURNAL };

const JOURNAL_NEXT = APPEND_JOURNAL_NEXT_FILE;

interface JournalHead {
	sweepAppendJournal: 1;
	/** SHA-256 of `_manifest.json` before the append: while it is still that file, the append has not committed. */
	manifestSha256: string;
	/** Size of every existing file an append may grow, before the append. */
	sizes: Record<string, number>;
	pid: number;
	startedAt: string;
}

const NOFOLLOW = constants.O_NOFOLLOW ?? 0;

export function sha256(bytes: Uint8Array | string): string {
	return createHash('sha256').update(bytes).digest('hex');
}

/** fsync of a folder, so that a rename or an unlink in it survives a power loss (not possible on Windows). */
export async function syncFolder(dir: string): Promise<void> {
	let fh: FileHandle | undefined;
	try {
		fh = await open(dir, 'r');
		await fh.sync();
	} catch {
		// Windows cannot open or fsync a folder; its file systems order metadata on their own.
	} finally {
		await fh?.close().catch(() => undefined);
	}
}

/** Writes `text` to `dir/name` durably: a temporary file, fsync, rename, fsync of the folder. */
export async function writeDurably(dir: string, name: string, tmpName: string, text: string): Promise<void> {
	const tmp = path.join(dir, tmpName);
	const fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | NOFOLLOW, 0o644);
	try {
		await fh.writeFile(text);
		await fh.sync();
	} finally {
		await fh.close();
	}
	await rename(tmp, path.join(dir, name));
	await syncFolder(dir);
}

/** An append in progress: what to undo if it does not finish. */
export class AppendJournal {
	private readonly created = new Set<string>();
	private readonly footers: Footer[] = [];

	private constructor(
		private readonly dir: string,
		private readonly head: JournalHead,
		private fh: FileHandle | null,
	) {}

	/** Writes the journal durably before anything is appended. */
	static async begin(dir: string, manifestSha256: string, sizes: Record<string, number>): Promise<AppendJournal> {
		const head: JournalHead = {
			sweepAppendJournal: 1,
			manifestSha256,
			sizes,
			pid: process.pid,
			startedAt: new Date().toISOString(),
		};
		// Written beside, fsynced, then renamed into place (the caller holds the run lock and undid any old journal).
		await writeDurably(dir, JOURNAL, JOURNAL_NEXT, `${JSON.stringify(head)}\n`);
		const fh = await open(path.join(dir, JOURNAL), constants.O_WRONLY | constants.O_APPEND | NOFOLLOW);
		return new AppendJournal(dir, head, fh);
	}

	/** Records (durably) that these files are about to be created; call before creating them. */
	async willCreate(names: string[]): Promise<void> {
		const fresh = names.filter((n) => !this.created.has(n));
		if (fresh.length === 0) return;
		if (!this.fh) throw new Error('the append journal is closed');
		await this.fh.write(`${JSON.stringify({ created: fresh })}\n`);
		await this.fh.datasync();
		for (const n of fresh) this.created.add(n);
	}

	/**
	 * Records (durably) the footers of Parquet files about to grow by new row groups written over them: where each
	 * footer starts and its bytes (with the 8-byte tail). Call before writing to those files.
	 */
	async willRewrite(footers: { file: string; at: number; tail: Uint8Array }[]): Promise<void> {
		if (footers.length === 0) return;
		if (!this.fh) throw new Error('the append journal is closed');
		const entries = footers.map((f) => ({ file: f.file, at: f.at, tail: Buffer.from(f.tail).toString('base64') }));
		await this.fh.write(`${JSON.stringify({ footers: entries })}\n`);
		await this.fh.datasync();
		this.footers.push(...entries);
	}

	/** The append committed (its manifest is in place): the journal goes. */
	async finish(): Promise<void> {
		await this.close();
		await unlink(path.join(this.dir, JOURNAL));
		await syncFolder(this.dir);
	}

	/** Puts every file back as it was before the append, then removes the journal. */
	async rollback(): Promise<void> {
		await this.close();
		await undo(this.dir, this.head, [...this.created], this.footers);
	}

	/** Stops writing to the journal and leaves it on disk, as a killed process would (tests simulate a kill). */
	async detach(): Promise<void> {
		await this.close();
	}

	private async close(): Promise<void> {
		const fh = this.fh;
		this.fh = null;
		await fh?.close().catch(() => undefined);
	}
}

/** A Parquet file's footer before an append wrote over it: where it started and its bytes (base64), tail included. */
interface Footer {
	file: string;
	at: number;
	tail: string;
}

const inDir = (dir: string, name: string) => path.join(dir, ...name.split('/'));

/** What went wrong with a file, in plain words (the engine's messages are read by people, not by errno tables). */
function reason(e: unknown): string {
	const err = e as NodeJS.ErrnoException;
	switch (err?.code) {
		case 'EACCES':
		case 'EPERM':
			return 'permission denied';
		case 'EROFS':
			return 'the file system is read-only';
		case 'ENOSPC':
			return 'no space left on the device';
		case 'EIO':
			return 'an input/output error';
		default:
			return err?.message ?? String(e);
	}
}

/**
 * An undo that could not put every file back: each file it could not restore, what it tried and why. The journal
 * stays (so a later run can finish the undo once the cause is fixed); every other file was put back.
 */
export class UndoIncomplete extends Error {
	constructor(
		readonly dir: string,
		/** Each file, and what could not be done to it in words (`cannot truncate … back to 13 bytes (…)`). */
		readonly failures: { file: string; text: string }[],
	) {
		super(failures.map((f) => f.text).join('; '));
		this.name = 'UndoIncomplete';
	}

	/** The files Sweep could not put back, for a message. */
	get files(): string[] {
		return [...new Set(this.failures.map((f) => f.file))];
	}
}

/** What to do about an undo that could not finish, for the end of a message. */
export function undoAdvice(e: UndoIncomplete): string {
	const files = e.files;
	const them = files.length === 1 ? 'that file' : 'those files';
	return `${JOURNAL} stays in ${e.dir}. Make ${them} writable (it may be read-only, immutable — chattr -i — or another user's) and run Sweep on the folder again: the next append or extract finishes putting it back. Or extract all the inputs again without --append, which replaces the folder.`;
}

/** The bytes of `file` in [at, at + length), or null when it cannot be read (or is shorter). */
async function readRange(file: string, at: number, length: number): Promise<Buffer | null> {
	let fh: FileHandle | undefined;
	try {
		fh = await open(file, constants.O_RDONLY | NOFOLLOW);
		const buf = Buffer.alloc(length);
		const { bytesRead } = await fh.read(buf, 0, length, at);
		return bytesRead === length ? buf : null;
	} catch {
		return null;
	} finally {
		await fh?.close().catch(() => undefined);
	}
}

/**
 * Puts every file back as the journal says it was. Only files that differ from that are opened for writing (a file
 * the append never grew is left alone, even if it cannot be written to now), so undoing is idempotent and a file that
 * cannot be written stops the undo only if it really needs restoring. Every file is tried; if some could not be put
 * back, the journal stays and UndoIncomplete names them.
 */
async function undo(dir: string, head: JournalHead, created: string[], footers: Footer[]): Promise<void> {
	const failures: UndoIncomplete['failures'] = [];
	const sizeOf = async (file: string): Promise<number | null> => {
		const st = await lstat(file).catch(() => null);
		return st?.isFile() ? st.size : null;
	};
	// Parquet files that grew by row groups: their old footer goes back where it was (the sizes below cut the rest).
	for (const f of footers) {
		const file = inDir(dir, f.file);
		const tail = Buffer.from(f.tail, 'base64');
		const size = await sizeOf(file);
		if (size === null) continue;
		if (size === f.at + tail.length && (await readRange(file, f.at, tail.length))?.equals(tail)) continue;
		let fh: FileHandle | undefined;
		try {
			fh = await open(file, constants.O_WRONLY | NOFOLLOW);
			await fh.write(tail, 0, tail.length, f.at);
			await fh.truncate(f.at + tail.length);
			await fh.sync();
		} catch (e) {
			if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
				failures.push({ file, text: `cannot write the saved Parquet footer back into ${file} (${reason(e)})` });
		} finally {
			await fh?.close().catch(() => undefined);
		}
	}
	for (const [name, size] of Object.entries(head.sizes)) {
		const file = inDir(dir, name);
		const now = await sizeOf(file);
		// Missing, or not grown (a file the append did not get to, or one already put back): nothing to do.
		if (now === null || now <= size) continue;
		let fh: FileHandle | undefined;
		try {
			fh = await open(file, constants.O_WRONLY | NOFOLLOW);
			await fh.truncate(size);
			await fh.sync();
		} catch (e) {
			if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
				failures.push({ file, text: `cannot truncate ${file} back to ${size} bytes (${reason(e)})` });
		} finally {
			await fh?.close().catch(() => undefined);
		}
	}
	for (const name of [...created, MANIFEST_NEXT]) {
		const file = inDir(dir, name);
		await rm(file, { force: true }).catch((e: unknown) => {
			failures.push({ file, text: `cannot delete ${file} (${reason(e)})` });
		});
	}
	// Folders made for new partitions (hive layout), deepest first, if they are empty now.
	const folders = new Set<string>();
	for (const name of created) {
		for (let d = path.posix.dirname(name); d !== '.'; d = path.posix.dirname(d)) folders.add(d);
	}
	for (const d of [...folders].sort((a, b) => b.split('/').length - a.split('/').length)) {
		await rmdir(inDir(dir, d)).catch(() => undefined);
	}
	await syncFolder(dir);
	if (failures.length > 0) throw new UndoIncomplete(dir, failures);
	const journal = path.join(dir, JOURNAL);
	await unlink(journal).catch((e: NodeJS.ErrnoException) => {
		// Every file is back; a journal left behind only makes the next run check that again.
		if (e.code !== 'ENOENT')
			throw new UndoIncomplete(dir, [{ file: journal, text: `cannot delete ${journal} (${reason(e)})` }]);
	});
	await syncFolder(dir);
}

function isSafeName(name: unknown): name is string {
	return (
		typeof name === 'string' &&
		name !== '' &&
		!name.includes('\\') &&
		!name.startsWith('/') &&
		name.split('/').every((seg) => seg !== '' && seg !== '.' && seg !== '..')
	);
}

/**
 * Finishes what an append that was killed outright left in `dir`: if the journal is there and `_manifest.json`
 * is still the one from before that append, every file is put back as it was; if the new manifest made it into
 * place, the append had committed and only the journal goes. Resolves to what was done. Call it with the folder's
 * run lock held, before anything else reads or writes the folder. Rejects with UndoIncomplete when a file that needs
 * putting back cannot be written (the journal stays), and with a SweepError when the journal cannot be read.
 */
export async function recoverAppend(dir: string): Promise<'none' | 'rolled-back' | 'completed'> {
	await rm(path.join(dir, JOURNAL_NEXT), { force: true }).catch(() => undefined);
	let text: string;
	try {
		text = await readFile(path.join(dir, JOURNAL), 'latin1');
	} catch (e) {
		if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'none';
		throw e;
	}
	const journalFile = path.join(dir, JOURNAL);
	const corrupt = (why: string) =>
		new SweepError(
			'manifest-invalid',
			`${journalFile} (left by an interrupted append) cannot be read: ${why}. Sweep cannot undo that append; extract the output again.`,
			{ file: journalFile },
		);
	const lines = text.split('\n');
	let head: JournalHead;
	try {
		head = JSON.parse(lines[0]) as JournalHead;
	} catch {
		throw corrupt('its first line is not JSON');
	}
	if (
		head?.sweepAppendJournal !== 1 ||
		typeof head.manifestSha256 !== 'string' ||
		typeof head.sizes !== 'object' ||
		head.sizes === null ||
		!Object.entries(head.sizes).every(([n, s]) => isSafeName(n) && Number.isSafeInteger(s) && s >= 0)
	) {
		throw corrupt('it is not a Sweep append journal');
	}
	const created: string[] = [];
	const footers: Footer[] = [];
	for (const line of lines.slice(1)) {
		if (line.trim() === '') continue;
		let entry: { created?: unknown; footers?: unknown };
		try {
			entry = JSON.parse(line) as { created?: unknown; footers?: unknown };
		} catch {
			// A line torn by the crash: its files were not created or written yet (each line is fsynced before).
			continue;
		}
		if (Array.isArray(entry.created)) for (const n of entry.created) if (isSafeName(n)) created.push(n);
		if (Array.isArray(entry.footers)) {
			for (const f of entry.footers as Partial<Footer>[]) {
				const size = isSafeName(f?.file) ? head.sizes[f.file] : undefined;
				if (
					typeof f !== 'object' ||
					f === null ||
					size === undefined ||
					!Number.isSafeInteger(f.at) ||
					typeof f.tail !== 'string' ||
					(f.at as number) + Buffer.from(f.tail, 'base64').length !== size
				)
					throw corrupt('a Parquet footer it saved does not fit the file');
				footers.push(f as Footer);
			}
		}
	}
	const manifest = await readFile(path.join(dir, MANIFEST)).catch(() => null);
	if (manifest !== null && sha256(manifest) !== head.manifestSha256) {
		// The new manifest was renamed into place: the append is complete.
		await rm(path.join(dir, MANIFEST_NEXT), { force: true });
		await unlink(journalFile);
		await syncFolder(dir);
		return 'completed';
	}
	await undo(dir, head, created, footers);
	return 'rolled-back';
}

/**
 * True when `dir` holds an append journal (an append is running, or one was killed), or the `.next` file of one
 * (an append killed while it wrote its first journal: nothing else had changed yet).
 */
export async function hasJournal(dir: string): Promise<boolean> {
	for (const name of [JOURNAL, JOURNAL_NEXT]) {
		const found = await lstat(path.join(dir, name)).then(
			() => true,
			() => false,
		);
		if (found) return true;
	}
	return false;
}
