import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ResolvedConfig } from '../config';
import { isSweepError, SweepError } from '../engine/errors';
import type { ExtractOptions, ExtractProgress, Manifest } from '../engine/types';
import { MANIFEST_FILE as MANIFEST, partitionColumnOf, REJECTS_FILE as REJECTS } from '../rules';
import { columnChoices, replacePartitionColumn } from './columns';
import type { ExtractCommandOptions } from './commandArgs';
import { loadEngine } from './engine';
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

/** How the last request ended badly: a SweepError code, `cancelled` (a prompt was declined) or `unexpected`. */
export interface LastError {
	code: string;
	message: string;
}

interface Job {
	key: string;
	uri: vscode.Uri;
	name: string;
	state: 'asking' | 'queued' | 'running';
	abort: AbortController;
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
	private readonly jobs = new Map<string, Job>();
	/** Settles when the last job queued so far is done; never rejects. */
	private tail: Promise<void> = Promise.resolve();
	private running: Job | undefined;
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
		return this.jobs.size > 0;
	}

	/** Cancels the running extraction (like its Cancel button); false when none runs. */
	cancel(): boolean {
		if (!this.running) return false;
		this.running.abort.abort();
		return true;
	}

	/** Resolves when no run is in progress, queued or waiting for an answer to "queue it?". */
	async whenIdle(): Promise<void> {
		while (this.jobs.size > 0) await Promise.race([this.tail, new Promise((r) => setTimeout(r, 50))]);
	}

	/**
	 * Cancels everything and waits until the runs have stopped (their temporary folders removed).
	 * Requests after this are refused.
	 */
	async shutdown(): Promise<void> {
		this.closed = true;
		for (const job of this.jobs.values()) job.abort.abort();
		for (let tail = this.tail; ; tail = this.tail) {
			await tail;
			if (tail === this.tail) return;
		}
	}

	/** Handles one request; resolves to the manifest, or undefined when it did not run to the end. */
	async request(req: ExtractRequest): Promise<Manifest | undefined> {
		const key = fileKey(req.uri);
		const name = path.basename(req.uri.fsPath);
		if (this.closed) return undefined;
		const existing = this.jobs.get(key);
		if (existing) {
			this.lastErr = { code: 'busy', message: alreadyRunningMessage(name, existing.state !== 'running') };
			void this.s.ui.info(this.lastErr.message, 'Show Progress').then((c) => {
				if (c) void showNotifications(this.s.ui);
			});
			return undefined;
		}
		const job: Job = { key, uri: req.uri, name, state: 'asking', abort: new AbortController() };
		if (req.signal?.aborted) job.abort.abort();
		req.signal?.addEventListener('abort', () => job.abort.abort(), { once: true });
		const others = [...this.jobs.values()];
		this.jobs.set(key, job);
		try {
			if (others.length > 0) {
				const busyWith = (this.running ?? others[0]).name;
				const question = queueQuestion(busyWith, name);
				let answer = req.options.ifBusy;
				if (answer === undefined && req.options.interactive !== false) {
					answer = (await this.s.ui.info(question, 'Queue', 'Cancel')) === 'Queue' ? 'queue' : 'cancel';
				}
				if (answer !== 'queue' || job.abort.signal.aborted) {
					this.lastErr = { code: 'cancelled', message: `${question} (not queued)` };
					return undefined;
				}
			}
			job.state = 'queued';
			const before = this.tail;
			let release!: () => void;
			const mine = new Promise<void>((resolve) => {
				release = resolve;
			});
			this.tail = before.then(() => mine);
			try {
				if (this.jobs.size > 1) {
					this.s.ui.log.info(`Queued ${req.uri.fsPath}`);
					const turn = await waitWithProgress(`Sweep: ${name} is queued`, before, job.abort.signal);
					if (!turn) {
						this.lastErr = { code: 'cancelled', message: `Queued extraction of ${name} cancelled` };
						this.s.ui.log.info(this.lastErr.message);
						return undefined;
					}
				} else {
					await before;
				}
				if (job.abort.signal.aborted) return undefined;
				job.state = 'running';
				this.running = job;
				return await this.run(job, req);
			} finally {
				if (this.running === job) this.running = undefined;
				release();
			}
		} finally {
			this.jobs.delete(key);
		}
	}

	private async run(job: Job, req: ExtractRequest): Promise<Manifest | undefined> {
		const { ui, settings: settingsService, config: systemConfig } = this.s;
		const o = req.options;
		const interactive = o.interactive !== false;
		const input = req.uri.fsPath;
		const started = Date.now();
		try {
			await this.ensureSaved(req.uri, job.name, o.saveDirty, interactive);
			await systemConfig.whenReady();
			const folder = vscode.workspace.getWorkspaceFolder(req.uri);
			const settings = settingsService.forResource(req.uri);
			const config = systemConfig.resolveFor(req.uri, settings)!;
			this.showNotices(settings);
			const ctx = { file: input, workspaceFolder: folder?.uri.fsPath };

			const outDir = resolvePathSetting(
				o.outDir ?? settings.outputDirectory,
				ctx,
				o.outDir ? 'the outDir argument' : 'sweep.outputDirectory',
			);
			const refusal = checkOutputDirectory({
				outDir,
				input,
				workspaceFolders: (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath),
				trusted: vscode.workspace.isTrusted,
				origin: o.outDir ? 'argument' : 'setting',
			});
			if (refusal) throw new SweepError('output-invalid', `Sweep will not write there: ${refusal}.`, { file: outDir });

			// An append keeps the output's orders file unless one is given for this run.
			const ordersFile = req.append
				? o.ordersFile
					? resolvePathSetting(o.ordersFile, ctx, 'the ordersFile argument')
					: null
				: await this.ordersFor(req, settings, ctx, interactive);

			// An append takes the output's partition columns (given ones must agree).
			let partitionBy = o.partitionBy ?? (req.append ? [] : settings.partitionBy);
			if (o.partitionBy && o.savePartitionBy) await this.savePartitionBy(req.uri, partitionBy);
			let force = o.force === true;
			for (let attempt = 0; ; attempt++) {
				const options: ExtractOptions = {
					input,
					outDir,
					partitionBy,
					mapping: o.columnMapping ?? settings.columnMapping,
					ordersFile,
					delimiter: settings.delimiter,
					workers: config.workers,
					chunkSize: config.chunkSize,
					configSources: config.sources,
					force,
					...(req.append ? { append: true, allowDuplicateInput: o.allowDuplicateInput === true } : {}),
				};
				this.logStart(options, config);
				try {
					const manifest = await this.execute(job, options, req.onProgress);
					manifest.outDir ??= outDir;
					this.finish(manifest, Date.now() - started, o.notify !== false);
					return manifest;
				} catch (e) {
					const column = isSweepError(e) && e.code === 'missing-column' ? e.details.column : undefined;
					if (column !== undefined && o.partitionBy === undefined && !req.append && interactive && attempt < 8) {
						if (isPartitionColumn(partitionBy, column)) {
							const pick = await this.pickColumn(req.uri, job.name, settings, column);
							if (!pick) throw new Declined(`No partition column picked for ${job.name}`);
							partitionBy = replacePartitionColumn(partitionBy, column, pick.column);
							if (pick.save) await this.savePartitionBy(req.uri, partitionBy);
							continue;
						}
					}
					if (
						isSweepError(e) &&
						e.code === 'output-foreign' &&
						!req.append &&
						o.force === undefined &&
						interactive &&
						!force
					) {
						const answer = await ui.ask(foreignOutputQuestion(outDir), undefined, 'Replace');
						if (answer !== 'Replace') throw new Declined(`Output folder ${outDir} kept; nothing extracted`);
						force = true;
						continue;
					}
					throw e;
				}
			}
		} catch (e) {
			this.fail(e, Date.now() - started);
			return undefined;
		}
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
			filters: { 'CSV / TSV': ['csv', 'tsv', 'CSV', 'TSV'], 'All files': ['*'] },
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
		log.info(`  orders: ${o.ordersFile ?? 'none'}`);
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
		for (const job of this.jobs.values()) job.abort.abort();
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
