/**
 * The options object the extraction commands accept (plain values, no `vscode`). Every prompt of a
 * run has an option that answers it, so tests and other extensions can drive a run without UI.
 */
export interface ExtractCommandOptions {
	/** Output folder exists and Sweep did not write it: true replaces it, false refuses; unset asks. */
	force?: boolean;
	/** Partition columns for this run (overrides `sweep.partitionBy`; a missing one is then an error, no pick). */
	partitionBy?: string[];
	/** With `partitionBy`: also store it in the workspace settings of the file's folder. */
	savePartitionBy?: boolean;
	/** Output folder for this run (absolute, or relative to the workspace folder; `${…}` variables work). */
	outDir?: string;
	/** Column renames for this run, `{ canonical: source }` (overrides `sweep.columnMapping`). */
	columnMapping?: Record<string, string>;
	/** Orders file for this run (path); for `sweep.extract` too, which then keeps matching rows only. */
	ordersFile?: string;
	/** The file has unsaved changes: true saves it, false cancels; unset asks. */
	saveDirty?: boolean;
	/** Another file is being extracted: 'queue' waits for it, 'cancel' gives up; unset asks. */
	ifBusy?: 'queue' | 'cancel';
	/** false: never prompt; a question without an answer above counts as "Cancel". Default true. */
	interactive?: boolean;
	/** false: no notification when the run is done (the log still has it). Default true. */
	notify?: boolean;
	/** `sweep.append`: add the file even if the output already holds the same content. */
	allowDuplicateInput?: boolean;
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
	return typeof x === 'object' && x !== null && !Array.isArray(x) && Object.getPrototypeOf(x) === Object.prototype;
}

/**
 * Reads an options argument, keeping only well-typed known keys. Menus pass other things in that
 * position (the Explorer a list of selected URIs, editor title menus `{ groupId, … }`): they give `{}`.
 */
export function parseExtractOptions(raw: unknown): ExtractCommandOptions {
	if (!isPlainObject(raw)) return {};
	const o: ExtractCommandOptions = {};
	if (typeof raw.force === 'boolean') o.force = raw.force;
	if (typeof raw.allowDuplicateInput === 'boolean') o.allowDuplicateInput = raw.allowDuplicateInput;
	if (
		Array.isArray(raw.partitionBy) &&
		raw.partitionBy.length > 0 &&
		raw.partitionBy.every((c) => typeof c === 'string' && c !== '')
	) {
		o.partitionBy = [...raw.partitionBy];
	} else if (typeof raw.partitionBy === 'string' && raw.partitionBy !== '') {
		o.partitionBy = [raw.partitionBy];
	}
	if (typeof raw.savePartitionBy === 'boolean') o.savePartitionBy = raw.savePartitionBy;
	if (
		isPlainObject(raw.columnMapping) &&
		Object.values(raw.columnMapping).every((v) => typeof v === 'string' && v !== '')
	) {
		o.columnMapping = { ...(raw.columnMapping as Record<string, string>) };
	}
	if (typeof raw.outDir === 'string' && raw.outDir.trim() !== '') o.outDir = raw.outDir;
	if (typeof raw.ordersFile === 'string' && raw.ordersFile.trim() !== '') o.ordersFile = raw.ordersFile;
	if (typeof raw.saveDirty === 'boolean') o.saveDirty = raw.saveDirty;
	if (raw.ifBusy === 'queue' || raw.ifBusy === 'cancel') o.ifBusy = raw.ifBusy;
	if (typeof raw.interactive === 'boolean') o.interactive = raw.interactive;
	if (typeof raw.notify === 'boolean') o.notify = raw.notify;
	return o;
}
