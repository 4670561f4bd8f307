import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ResolvedConfig } from '../config';
import { isSweepError, SweepError, type SweepErrorCode } from '../engine/errors';
import type { ExtractOptions, ExtractProgress, Manifest } from '../engine/types';
import { MANIFEST_FILE as MANIFEST, partitionColumnOf, REJECTS_FILE as REJECTS } from '../rules';
import { columnChoices, replacePartitionColumn } from './columns';
import type { ExtractCommandOptions } from './commandArgs';
import { loadEngine } from './engine';
import { type Job, JobQueue } from './jobQueue';
import {
	alreadyRunningMessage,
	CANCELLED_MESSAGE,
	completionMessage,
	dirtyQuestion,
	errorLine,
	foreignOutputQuestion,
	formatDuration,
	missingColumnPlaceholder,
	percentOf,
	plural,
	queueQuestion,
	writtenPartitions,
} from './messages';
import { waitWithProgress, withExtractProgress } from './progress';
import type { Settings } from './settings';
import type { FileSettings } from './settingsModel';
import type { StatusBar } from './statusBar';
import type { SummaryView } from './summaryView';
import type { SystemConfig } from './systemConfig';
import type { Ui } from './ui';
import { checkOutputDirectory, resolvePathSetting } from './variables';

/** workspaceState key of the last orders file used in this workspace. */
export const LAST_ORDERS_KEY = 'sweep.lastOrdersFile';

/** One extraction asked for. */
export interface ExtractRequest {
	/** The CSV/TSV file (read from disk). */
	uri: vscode.Uri;
	options: ExtractCommandOptions;
	/** The "Matching Orders…" command: an orders file is required (argument, setting or picker). */
	withOrders: boolean;
	/** Orders file given as the command's second argument. */
	ordersUri?: vscode.Uri;
	/** Also told every progress report (the Preview panel shows the run). */
	onProgress?: (progress: ExtractProgress) => void;
	/** Cancels this request, as its notification's Cancel does (the Preview panel's Cancel). */
	signal?: AbortSignal;
	/**
	 * Append to the existing Sweep output in `options.outDir` (docs/append.md): the output's partition columns and
	 * orders file apply (no pickers), and settings that would change the output are refused by the engine.
	 */
	append?: boolean;
}

/**
 * How the last request ended badly: a SweepError code, `cancelled` (a prompt was declined), `busy` (that file was
 * already in progress) or `unexpected`.
 */
export interface LastError {
	code: SweepErrorCode | 'cancelled' | 'busy' | 'unexpected';
	message: string;
}

/** What one run has settled so far, and what the prompts may still change. */
interface RunState {
	req: ExtractRequest;
	job: Job;
	settings: FileSettings;
	outDir: string;
	interactive: boolean;
	partitionBy: string[];
	force: boolean;
	/** Columns the user was already asked to replace: each is asked about once. */
	askedColumns: Set<string>;
}

interface Services {
	ui: Ui;
	settings: Settings;
	config: SystemConfig;
	statusBar: StatusBar;
	summary: SummaryView;
	/** `context.workspaceState`. */
	state: vscode.Memento;
}

/** A user declined a prompt: the run ends quietly. */
class Declined extends Error {}

/**
 * Runs extractions: one at a time overall, one per file. A second request for a file in progress
 * says so; a request for another file offers to queue it. Every prompt can be answered by an option
 * (see {@link ExtractCommandOptions}), so the whole flow is drivable from tests.
 */
export class Extractions implements vscode.Disposable {
	private readonly queue = new JobQueue();
	private last: Manifest | undefined;
	private lastErr: LastError | undefined;
	private readonly shownNotices = new Set<string>();
	private closed = false;

	constructor(private readonly s: Services) {}

	/** The manifest of the last successful run in this session. */
	lastManifest(): Manifest | undefined {
		return this.last;
	}

	/** How the last request failed or was declined; cleared by a successful run. */
	lastError(): LastError | undefined {
		return this.lastErr;
	}

	/** True while a run is in progress or waiting for its turn. */
	isRunning(): boolean {
		return this.queue.size > 0;
	}

	/** Cancels the running extraction (like its Cancel button); false when none runs. */
	cancel(): boolean {
		const running = this.queue.running;
		if (!running) return false;
		running.abort.abort();
		return true;
	}

	/** Resolves when no run is in progress, queued or waiting for an answer to "queue it?". */
	whenIdle(): Promise<void> {
		return this.queue.whenIdle();
	}

	/**
	 * Cancels everything and waits until the runs have stopped (their temporary folders removed).
	 * Requests after this are refused.
	 */
	async shutdown(): Promise<void> {
		this.closed = true;
		this.queue.abortAll();
		await this.queue.drained();
	}

	/** Handles one request; resolves to the manifest, or undefined when it did not run to the end. */
	async request(req: ExtractRequest): Promise<Manifest | undefined> {
		const key = fileKey(req.uri);
		const name = path.basename(req.uri.fsPath);
		if (this.closed) return undefined;
		const existing = this.queue.get(key);
		if (existing) {
			this.lastErr = { code: 'busy', message: alreadyRunningMessage(name, existing.state !== 'running') };
			void this.s.ui.info(this.lastErr.message, 'Show Progress').then((c) => {
				if (c) void showNotifications(this.s.ui);
			});
			return undefined;
		}
		const others = this.queue.all();
		const job = this.queue.enter(key, name);
		if (req.signal?.aborted) job.abort.abort();
		req.signal?.addEventListener('abort', () => job.abort.abort(), { once: true });
		try {
			if (others.length > 0 && !(await this.agreeToQueue(req, job, (this.queue.running ?? others[0]).name))) {
				return undefined;
			}
			const wait = (turn: Promise<void>) => {
				this.s.ui.log.info(`Queued ${req.uri.fsPath}`);
				return waitWithProgress(`Sweep: ${name} is queued`, turn, job.abort.signal).then((turnCame) => {
					if (!turnCame) {
						this.lastErr = { code: 'cancelled', message: `Queued extraction of ${name} cancelled` };
						this.s.ui.log.info(this.lastErr.message);
					}
					return turnCame;
				});
			};
			return await this.queue.runInTurn(job, wait, () => this.run(job, req));
		} finally {
			this.queue.leave(job);
		}
	}

	/** Another file is in progress: asks (unless `ifBusy` answers) whether to queue this one. */
	private async agreeToQueue(req: ExtractRequest, job: Job, busyWith: string): Promise<boolean> {
		const question = queueQuestion(busyWith, job.name);
		let answer = req.options.ifBusy;
		if (answer === undefined && req.options.interactive !== false) {
			answer = (await this.s.ui.info(question, 'Queue', 'Cancel')) === 'Queue' ? 'queue' : 'cancel';
		}
		if (answer === 'queue' && !job.abort.signal.aborted) return true;
		this.lastErr = { code: 'cancelled', message: `${question} (not queued)` };
		return false;
	}

	/**
	 * One run: settles the output folder and the orders file, then runs the engine; an error the user can answer
	 * (a missing partition column, a folder Sweep did not write) is asked about and the run tried again.
	 */
	private async run(job: Job, req: ExtractRequest): Promise<Manifest | undefined> {
		const o = req.options;
		const started = Date.now();
		try {
			const interactive = o.interactive !== false;
			await this.ensureSaved(req.uri, job.name, o.saveDirty, interactive);
			await this.s.config.whenReady();
			const settings = this.s.settings.forResource(req.uri);
			const config = this.s.config.resolveFor(req.uri, settings)!;
			this.showNotices(settings);
			const ctx = { file: req.uri.fsPath, workspaceFolder: vscode.workspace.getWorkspaceFolder(req.uri)?.uri.fsPath };
			const outDir = this.outDirFor(req, settings, ctx);
			// An append keeps the output's orders file and partition columns unless given for this run (then they must agree).
			const ordersFile = req.append
				? o.ordersFile
					? resolvePathSetting(o.ordersFile, ctx, 'the ordersFile argument')
					: null
				: await this.ordersFor(req, settings, ctx, interactive);
			const partitionBy = o.partitionBy ?? (req.append ? [] : settings.partitionBy);
			if (o.partitionBy && o.savePartitionBy) await this.savePartitionBy(req.uri, partitionBy);
			const state: RunState = {
				req,
				job,
				settings,
				outDir,
				interactive,
				partitionBy,
				force: o.force === true,
				askedColumns: new Set(),
			};
			for (;;) {
				const run = {
					workers: config.workers,
					chunkSize: config.chunkSize,
					configSources: config.sources,
					conversions: config.conversions,
				};
				// An append runs with the output's own settings (its manifest's); only what the command gives is checked.
				const options: ExtractOptions = req.append
					? {
							input: req.uri.fsPath,
							outDir,
							partitionBy: state.partitionBy,
							mapping: o.columnMapping,
							ordersFile,
							...run,
							force: state.force,
							append: true,
							allowDuplicateInput: o.allowDuplicateInput === true,
						}
					: {
							input: req.uri.fsPath,
							outDir,
							partitionBy: state.partitionBy,
							mapping: o.columnMapping ?? settings.columnMapping,
							ordersFile,
							delimiter: settings.delimiter,
							// Parquet: sweep.compression gzip/zstd picks the column chunks' codec; none (the default) leaves snappy.
							compress:
								settings.format === 'parquet' && settings.compression === 'none' ? undefined : settings.compression,
							layout: settings.layout,
							keepPartitionColumns: settings.keepPartitionColumns,
							maxRowsPerFile: settings.maxRowsPerFile,
							columns: settings.columns,
							format: settings.format,
							parquetTypes: settings.format === 'parquet' ? settings.parquetTypes : undefined,
							...run,
							force: state.force,
						};
				this.logStart(options, config);
				try {
					const manifest = await this.execute(job, options, req.onProgress);
					manifest.outDir ??= outDir;
					this.finish(manifest, Date.now() - started, o.notify !== false);
					return manifest;
				} catch (e) {
					if (!(await this.recover(e, state))) throw e;
				}
			}
		} catch (e) {
			this.fail(e, Date.now() - started);
			return undefined;
		}
	}

	/**
	 * Recovers from an error by asking, where a question can fix it: a partition column that is not in the header
	 * (pick another; each column is asked about once) or an output folder Sweep did not write (replace it; asked
	 * once). True when `state` changed and the run should be tried again; false when the error stands.
	 */
	private async recover(e: unknown, state: RunState): Promise<boolean> {
		if (!isSweepError(e) || !state.interactive || state.req.append) return false;
		const { req, job } = state;
		if (e.code === 'missing-column' && req.options.partitionBy === undefined) {
			const column = e.details.column;
			if (column === undefined || state.askedColumns.has(column)) return false;
			if (!isPartitionColumn(state.partitionBy, column)) return false;
			state.askedColumns.add(column);
			const pick = await this.pickColumn(req.uri, job.name, state.settings, column);
			if (!pick) throw new Declined(`No partition column picked for ${job.name}`);
			state.partitionBy = replacePartitionColumn(state.partitionBy, column, pick.column);
			if (pick.save) await this.savePartitionBy(req.uri, state.partitionBy);
			return true;
		}
		if (e.code === 'output-foreign' && req.options.force === undefined && !state.force) {
			const answer = await this.s.ui.ask(foreignOutputQuestion(state.outDir), undefined, 'Replace');
			if (answer !== 'Replace') throw new Declined(`Output folder ${state.outDir} kept; nothing extracted`);
			state.force = true;
			return true;
		}
		return false;
	}

	/** The output folder of a run (the argument or `sweep.outputDirectory`, expanded), refused where unsafe. */
	private outDirFor(
		req: ExtractRequest,
		settings: FileSettings,
		ctx: { file: string; workspaceFolder?: string },
	): string {
		const given = req.options.outDir;
		const outDir = resolvePathSetting(
			given ?? settings.outputDirectory,
			ctx,
			given ? 'the outDir argument' : 'sweep.outputDirectory',
		);
		const refusal = checkOutputDirectory({
			outDir,
			input: req.uri.fsPath,
			workspaceFolders: (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath),
			trusted: vscode.workspace.isTrusted,
			origin: given ? 'argument' : 'setting',
		});
		if (refusal) throw new SweepError('output-invalid', `Sweep will not write there: ${refusal}.`, { file: outDir });
		return outDir;
	}

	/** Saves a dirty editor of the file first, asking unless `saveDirty` answers. */
	private async ensureSaved(
		uri: vscode.Uri,
		name: string,
		saveDirty: boolean | undefined,
		interactive: boolean,
	): Promise<void> {
		const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
		if (!doc?.isDirty) return;
		let save = saveDirty;
		if (save === undefined && interactive) {
			save = (await this.s.ui.ask(dirtyQuestion(name), undefined, 'Save and Extract')) === 'Save and Extract';
		}
		if (!save) throw new Declined(`${name} has unsaved changes; not extracted`);
		if (!(await doc.save()))
			throw new SweepError('io', `Could not save ${name}; nothing was extracted.`, { file: uri.fsPath });
		this.s.ui.log.info(`Saved ${uri.fsPath} before extracting`);
	}

	/** The orders file of a run: the argument, the option, `sweep.ordersFile`, or a file picker. */
	private async ordersFor(
		req: ExtractRequest,
		settings: FileSettings,
		ctx: { file: string; workspaceFolder?: string },
		interactive: boolean,
	): Promise<string | null> {
		let orders: string | undefined;
		if (req.ordersUri) orders = req.ordersUri.fsPath;
		else if (req.options.ordersFile)
			orders = resolvePathSetting(req.options.ordersFile, ctx, 'the ordersFile argument');
		else if (!req.withOrders) return null;
		else if (settings.ordersFile !== null) orders = resolvePathSetting(settings.ordersFile, ctx, 'sweep.ordersFile');
		else if (interactive) orders = await this.pickOrders(req.uri);
		if (orders === undefined) throw new Declined(`No orders file chosen for ${path.basename(req.uri.fsPath)}`);
		await this.s.state.update(LAST_ORDERS_KEY, orders);
		return orders;
	}

	private async pickOrders(uri: vscode.Uri): Promise<string | undefined> {
		const last = this.s.state.get<string>(LAST_ORDERS_KEY);
		const picked = await vscode.window.showOpenDialog({
			defaultUri: vscode.Uri.file(last ?? path.dirname(uri.fsPath)),
			canSelectFiles: true,
			canSelectFolders: false,
			canSelectMany: false,
			openLabel: 'Use Orders File',
			title: `Sweep: orders file for ${path.basename(uri.fsPath)}`,
			filters: { 'CSV / TSV': ['csv', 'tsv', 'CSV', 'TSV', 'gz', 'zst'], 'All files': ['*'] },
		});
		return picked?.[0]?.fsPath;
	}

	/** The quick pick of the header's columns, each with a sample value, and a save button per item. */
	private async pickColumn(
		uri: vscode.Uri,
		name: string,
		settings: FileSettings,
		missing: string,
	): Promise<{ column: string; save: boolean } | undefined> {
		const info = await loadEngine().inspectHeader(uri.fsPath, { delimiter: settings.delimiter });
		const choices = columnChoices(info.header, info.sample, settings.columnMapping);
		const canSave = vscode.workspace.getWorkspaceFolder(uri) !== undefined;
		const save: vscode.QuickInputButton = {
			iconPath: new vscode.ThemeIcon('save'),
			tooltip: 'Use this column and save it to the workspace settings (sweep.partitionBy)',
		};
		type Item = vscode.QuickPickItem & { column: string };
		return new Promise((resolve) => {
			const qp = vscode.window.createQuickPick<Item>();
			qp.title = `Sweep: partition ${name} by`;
			qp.placeholder = missingColumnPlaceholder(missing, name);
			qp.matchOnDescription = true;
			qp.items = choices.map((c) => ({
				label: c.column,
				description: c.source === undefined ? undefined : `from column ${c.source}`,
				detail: c.sample === undefined ? 'no sample value' : `e.g. ${c.sample}`,
				column: c.column,
				buttons: canSave ? [save] : [],
			}));
			let done = false;
			const finish = (result: { column: string; save: boolean } | undefined) => {
				if (done) return;
				done = true;
				resolve(result);
				qp.dispose();
			};
			qp.onDidAccept(() => {
				const item = qp.selectedItems[0];
				if (item) finish({ column: item.column, save: false });
			});
			qp.onDidTriggerItemButton((e) => finish({ column: e.item.column, save: true }));
			qp.onDidHide(() => finish(undefined));
			qp.show();
		});
	}

	private async savePartitionBy(uri: vscode.Uri, partitionBy: string[]): Promise<void> {
		if (await this.s.settings.savePartitionBy(uri, partitionBy)) {
			this.s.ui.log.info(`Saved sweep.partitionBy = ${JSON.stringify(partitionBy)} to the workspace settings`);
		} else {
			void this.s.ui.warn(
				`Sweep: ${path.basename(uri.fsPath)} is in no workspace folder; sweep.partitionBy was not saved.`,
			);
		}
	}

	/** Runs the engine under the progress notification, the status bar following along. */
	private async execute(
		job: Job,
		options: ExtractOptions,
		onProgress?: (progress: ExtractProgress) => void,
	): Promise<Manifest> {
		const { statusBar } = this.s;
		statusBar.setRunning(0, job.name);
		try {
			return await withExtractProgress(
				{
					title: `Sweep: extracting ${job.name}`,
					signal: job.abort.signal,
					onProgress: (p) => {
						statusBar.setRunning(percentOf(p), job.name);
						onProgress?.(p);
					},
				},
				(signal, report) => loadEngine().extract(options, { signal, onProgress: report }),
			);
		} finally {
			statusBar.setRunning(undefined);
		}
	}

	private logStart(o: ExtractOptions, config: ResolvedConfig): void {
		const log = this.s.ui.log;
		const source = (label: string | null) => label ?? 'detected';
		log.info(`Extracting ${o.input}`);
		log.info(`  output folder: ${o.outDir}`);
		log.info(`  partition by: ${(o.partitionBy ?? []).join(', ')}`);
		log.info(`  column mapping: ${JSON.stringify(o.mapping ?? {})}`);
		log.info(`  delimiter: ${o.delimiter ? JSON.stringify(o.delimiter) : 'sniffed'}`);
		log.info(
			`  layout: ${o.layout ?? 'flat'}${o.layout === 'hive' && o.keepPartitionColumns ? ' (partition columns kept)' : ''}, max rows per file: ${o.maxRowsPerFile ?? 'none'}, columns: ${o.columns ? o.columns.join(', ') : 'all'}`,
		);
		log.info(`  orders: ${o.ordersFile ?? 'none'}`);
		if (o.format === 'parquet') log.info(`  format: parquet (types: ${o.parquetTypes ?? 'infer'})`);
		log.info(
			`  workers: ${o.workers} (${source(config.labels.workers)}), chunk size: ${o.chunkSize} rows (${source(config.labels.chunkSize)})`,
		);
		if (o.force) log.info('  replacing a folder Sweep did not write (force)');
	}

	private finish(m: Manifest, wallMs: number, notify: boolean): void {
		this.last = m;
		this.lastErr = undefined;
		const log = this.s.ui.log;
		const rate = m.durationMs > 0 ? Math.round((m.rowsRead * 1000) / m.durationMs) : 0;
		log.info(
			`Done in ${formatDuration(m.durationMs)} (${formatDuration(wallMs)} with prompts): read ${plural(m.rowsRead, 'row')} ` +
				`(${rate.toLocaleString('en-US')} rows/s), wrote ${plural(m.rowsWritten, 'row')} into ${plural(writtenPartitions(m), 'partition')}, ` +
				`rejected ${m.rowsRejected.toLocaleString('en-US')}, filtered out ${m.rowsFilteredOut.toLocaleString('en-US')}`,
		);
		for (const w of m.warnings ?? []) {
			if (notify) void this.s.ui.warn(`Sweep: ${w}`);
			else log.warn(w);
		}
		if (!notify) return;
		const outDir = m.outDir!;
		const buttons = ['Open Folder', 'Show Summary'];
		if (m.rejects !== null && m.rowsRejected > 0) buttons.push('Show Rejects');
		void this.s.ui.info(completionMessage(m), ...buttons).then(async (choice) => {
			try {
				if (choice === 'Open Folder') await openFolder(outDir, this.s.ui);
				else if (choice === 'Show Summary') this.s.summary.show(m, path.join(outDir, MANIFEST));
				else if (choice === 'Show Rejects') {
					await vscode.commands.executeCommand('vscode.open', vscode.Uri.file(path.join(outDir, REJECTS)));
				}
			} catch (e) {
				void this.s.ui.error(errorLine(e));
			}
		});
	}

	private fail(e: unknown, elapsedMs: number): void {
		const { ui } = this.s;
		ui.log.info(`Stopped after ${formatDuration(elapsedMs)}`);
		if (e instanceof Declined) {
			this.lastErr = { code: 'cancelled', message: e.message };
			ui.log.info(e.message);
			return;
		}
		if (isSweepError(e) && e.code === 'aborted') {
			this.lastErr = { code: 'aborted', message: e.message };
			void ui.info(CANCELLED_MESSAGE);
			return;
		}
		const line = errorLine(e);
		if (isSweepError(e)) {
			this.lastErr = { code: e.code, message: e.message };
			ui.log.error(`[${e.code}] ${e.message}`);
			if (e.details.cause instanceof Error) ui.log.error(e.details.cause);
		} else {
			this.lastErr = { code: 'unexpected', message: e instanceof Error ? e.message : String(e) };
			ui.log.error(e instanceof Error ? e : new Error(String(e)));
		}
		void ui.error(line, 'Show Log').then((c) => {
			if (c) ui.log.show(true);
		});
	}

	/** Restricted Mode notices, shown once per session each (they are also in the log and tooltip). */
	private showNotices(settings: FileSettings): void {
		for (const n of settings.notices) {
			if (this.shownNotices.has(n)) continue;
			this.shownNotices.add(n);
			void this.s.ui.info(`Sweep: ${n}`);
		}
	}

	dispose(): void {
		this.queue.abortAll();
	}
}

/** Whether `column` is one of the partition columns (plain or inside a function such as `date(…)`). */
function isPartitionColumn(partitionBy: readonly string[], column: string): boolean {
	return partitionBy.some((spec) => spec === column || partitionColumnOf(spec) === column);
}

function fileKey(uri: vscode.Uri): string {
	const p = path.resolve(uri.fsPath);
	return process.platform === 'win32' || process.platform === 'darwin' ? p.toLowerCase() : p;
}

/** Reveals the output folder: in the OS file manager when local, in the Explorer when remote. */
export async function openFolder(outDir: string, ui: Ui): Promise<void> {
	const local = vscode.env.remoteName === undefined && vscode.env.uiKind === vscode.UIKind.Desktop;
	if (local) {
		await vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(path.join(outDir, MANIFEST)));
	} else if (vscode.workspace.getWorkspaceFolder(vscode.Uri.file(outDir))) {
		await vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(outDir));
	} else {
		void ui.info(`Sweep: the partitions are in ${outDir}`);
	}
}

/** Opens the notification centre, where the running extraction's progress notification lives. */
async function showNotifications(ui: Ui): Promise<void> {
	try {
		await vscode.commands.executeCommand('notifications.showList');
	} catch {
		ui.log.show(true);
	}
}
