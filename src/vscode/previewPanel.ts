import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { formatCount } from '../config';
import type { Manifest } from '../engine/types';
import type * as Preview from '../preview';
import type { PreviewHead, PreviewRow, ProfileSnapshot } from '../preview/types';
import { formatSize, MANIFEST_FILE, parsePartitionSpec, SUPPORTED_PARTITION_FUNCTIONS } from '../rules';
import { type Extractions, openFolder } from './extraction';
import { completionMessage, errorLine, percentOf, progressMessage } from './messages';
import { buildPreviewHtml, type PreviewMessage, parsePreviewMessage, type RunSetup } from './previewHtml';
import type { Settings } from './settings';
import type { SummaryView } from './summaryView';
import type { SystemConfig } from './systemConfig';
import type { Ui } from './ui';
import { resolvePathSetting } from './variables';

let reader: typeof Preview | undefined;
/** The preview's reader (dist/preview.js), loaded when the first preview opens, never at activation. */
function loadReader(): typeof Preview {
	reader ??= require('../preview') as typeof Preview;
	return reader;
}

/** What the preview panels need from the rest of the extension. */
export interface PreviewServices {
	ui: Ui;
	settings: Settings;
	config: SystemConfig;
	extractions: Extractions;
	summary: SummaryView;
}

/** What a preview shows, for `SweepApi.previews()` and the tests. */
export interface PreviewSnapshot {
	file: string;
	head?: PreviewHead;
	rowsLoaded: number;
	/** The rows loaded so far, as shown (line and fields). */
	rows: PreviewRow[];
	profile?: ProfileSnapshot;
	profileState: 'idle' | 'running' | 'done' | 'cancelled' | 'failed';
	/** Why Run is disabled because of the file (not because no column is chosen). */
	runBlocked?: string;
	problem?: string;
	run?: { state: 'running' | 'done' | 'failed' | 'cancelled'; text: string; manifest?: Manifest };
	ordersFile?: string;
	outDir: string;
	html: string;
}

type OrdersChoice = { path: string; source: string } | null;

/** The time grains a date/time column can be partitioned by: those of the partition grammar the engine computes. */
const TIME_GRAINS = (['date', 'month', 'year', 'hour'] as const).filter((f) => SUPPORTED_PARTITION_FUNCTIONS.has(f));

/**
 * One preview: a webview (a panel of the custom editor) over one CSV file. Reads a bounded head on the
 * extension host (a few MB), pages more rows on scroll, profiles the file in a worker thread, and starts the
 * same extraction as the commands (`Extractions.request`) with what the user set up in the view.
 */
export class PreviewController implements vscode.Disposable {
	private head: PreviewHead | undefined;
	private rows: PreviewRow[] = [];
	private next: { offset: number; line: number } | null = null;
	private loadingMore = false;
	private profile: ProfileSnapshot | undefined;
	private profileRun: Preview.ProfileRun | undefined;
	private profileState: PreviewSnapshot['profileState'] = 'idle';
	private problem: string | undefined;
	private runBlocked: string | undefined;
	private run: PreviewSnapshot['run'];
	private runAbort: AbortController | undefined;
	private orders: OrdersChoice | undefined; // undefined: the setting's (if any)
	private outDir: string | undefined; // chosen here
	private readonly disposables: vscode.Disposable[] = [];
	private readonly html: string;
	private disposed = false;
	private readonly loaded: Promise<void>;
	private markLoaded!: () => void;

	constructor(
		private readonly s: PreviewServices,
		readonly uri: vscode.Uri,
		private readonly panel: vscode.WebviewPanel,
		private readonly onDispose: () => void,
	) {
		this.loaded = new Promise((r) => {
			this.markLoaded = r;
		});
		panel.webview.options = { enableScripts: true, enableCommandUris: false, localResourceRoots: [] };
		this.html = buildPreviewHtml({ nonce: randomBytes(16).toString('base64'), name: path.basename(uri.fsPath) });
		panel.webview.html = this.html;
		this.disposables.push(
			panel.webview.onDidReceiveMessage((raw) => {
				const m = parsePreviewMessage(raw);
				if (m) void this.handle(m);
			}),
			panel.onDidDispose(() => this.dispose()),
			s.settings.onDidChange(() => void this.postSetup(false)),
			s.config.onDidChange(() => void this.postSetup(false)),
		);
		this.watchFile();
	}

	/** Resolves once the head has been read and posted (or failed to read). */
	whenLoaded(): Promise<void> {
		return this.loaded;
	}

	/** Resolves once the profile has finished, stopped or failed. */
	async whenProfiled(): Promise<void> {
		await this.loaded;
		await this.profileRun?.finished;
	}

	snapshot(): PreviewSnapshot {
		return {
			file: this.uri.fsPath,
			head: this.head,
			rowsLoaded: this.rows.length,
			rows: this.rows,
			profile: this.profile,
			profileState: this.profileState,
			runBlocked: this.runBlocked,
			problem: this.problem,
			run: this.run,
			ordersFile: this.currentOrders()?.path,
			outDir: this.outDir ?? this.defaultOutDir().path,
			html: this.html,
		};
	}

	/** Handles a message as if the view had posted it (the view's own messages come through here too). */
	async handle(m: PreviewMessage): Promise<void> {
		try {
			switch (m.type) {
				case 'ready':
					await this.load();
					return;
				case 'more':
					await this.more();
					return;
				case 'cancelProfile':
					this.profileRun?.cancel();
					return;
				case 'restartProfile':
					this.startProfile();
					return;
				case 'pickOrders':
					await this.pickOrders();
					return;
				case 'clearOrders':
					this.orders = null;
					await this.postSetup(false);
					return;
				case 'pickOutDir':
					await this.pickOutDir();
					return;
				case 'resetOutDir':
					this.outDir = undefined;
					await this.postSetup(false);
					return;
				case 'run':
					await this.runExtraction(m.setup);
					return;
				case 'cancelRun':
					this.runAbort?.abort();
					return;
				case 'save':
					await this.save(m.setup);
					return;
				case 'showSummary':
					if (this.run?.manifest?.outDir) {
						this.s.summary.show(this.run.manifest, path.join(this.run.manifest.outDir, MANIFEST_FILE));
					}
					return;
				case 'openFolder':
					if (this.run?.manifest?.outDir) await openFolder(this.run.manifest.outDir, this.s.ui);
					return;
			}
		} catch (e) {
			this.s.ui.log.error(e instanceof Error ? e : String(e));
			void this.s.ui.error(`Sweep Preview: ${errorLine(e)}`);
		}
	}

	private post(message: unknown): void {
		if (!this.disposed) void this.panel.webview.postMessage(message);
	}

	private async load(): Promise<void> {
		if (this.head) {
			// The view was reloaded (e.g. moved to another group): post everything again.
			this.postHead();
			if (this.profile) this.post({ type: 'profile', snapshot: this.profile });
			await this.postSetup(true);
			return;
		}
		const settings = this.s.settings.forResource(this.uri);
		const started = performance.now();
		const head = await loadReader().readPreviewHead(this.uri.fsPath, { delimiter: settings.delimiter });
		this.head = head;
		this.rows = head.rows;
		this.next = head.next;
		this.problem = head.problem?.message;
		this.runBlocked = head.problem?.blocksRun ? head.problem.message : undefined;
		this.s.ui.log.info(
			`Preview of ${this.uri.fsPath}: read ${formatSize(head.headBytes)} in ${Math.round(performance.now() - started)} ms` +
				(head.problem ? ` (${head.problem.message})` : ''),
		);
		this.postHead();
		await this.postSetup(true);
		if (head.header.length > 0 && !head.problem) this.startProfile();
		this.markLoaded();
	}

	private postHead(): void {
		const h = this.head!;
		const d = h.dialect;
		const delimiterName = (c: string) =>
			c === ','
				? 'comma (,)'
				: c === ';'
					? 'semicolon (;)'
					: c === '\t'
						? 'tab'
						: c === '|'
							? 'pipe (|)'
							: JSON.stringify(c);
		const compressed = h.compression !== 'none';
		const contentSize = compressed ? (h.contentEstimate ?? h.size) : h.size;
		const facts: [string, string, string?][] = [
			[
				'Size',
				formatSize(h.size) + (compressed ? `, ${h.compression}-compressed (≈ ${formatSize(contentSize)} of text)` : ''),
			],
		];
		if (d) {
			facts.push(
				['Delimiter', `${delimiterName(d.delimiter)}${d.sniffed ? ', sniffed' : ', from sweep.delimiter'}`],
				['Line endings', d.lineEndings],
				['Encoding', `${d.encoding}${d.bom ? ' with BOM' : ''}`],
				[
					'Quoting',
					d.quotedRecords === 0
						? 'none seen'
						: `quoted fields in ${formatCount(d.quotedRecords)} of the first ${formatCount(h.headRecords)} records` +
							(d.multilineRecords > 0 ? `, ${formatCount(d.multilineRecords)} spanning lines` : ''),
				],
				['Columns', formatCount(h.header.length)],
				[
					'Records',
					h.wholeFile
						? formatCount(h.headRecords)
						: `≈ ${formatCount(Math.round(h.headRecords * (contentSize / Math.max(1, h.headBytes))))} (rough estimate from the first ${formatSize(h.headBytes)}; the profile refines it)`,
					'rowsfact',
				],
			);
		}
		const reader = loadReader();
		this.post({
			type: 'head',
			head: {
				name: path.basename(h.file),
				header: h.header,
				headBytes: h.headBytes,
				compressed: h.compression !== 'none',
			},
			facts,
			rows: this.rows,
			more: this.next !== null && this.rows.length < reader.TABLE_ROW_CAP,
			cap: reader.TABLE_ROW_CAP,
			problem: h.problem?.message,
			blocksRun: h.problem?.blocksRun === true,
			notes: h.notes,
		});
	}

	private async more(): Promise<void> {
		const h = this.head;
		const reader = loadReader();
		if (!h?.dialect || this.next === null || this.loadingMore || this.rows.length >= reader.TABLE_ROW_CAP) {
			this.post({ type: 'rows', rows: [], more: false });
			return;
		}
		this.loadingMore = true;
		try {
			const count = Math.min(1000, reader.TABLE_ROW_CAP - this.rows.length);
			const page = await reader.readRows(h.file, this.next, count, h.dialect.delimiter, h.header.length, h);
			this.rows = this.rows.concat(page.rows);
			this.next = page.next;
			this.post({ type: 'rows', rows: page.rows, more: this.next !== null && this.rows.length < reader.TABLE_ROW_CAP });
		} catch (e) {
			this.post({ type: 'rows', rows: [], more: false });
			this.fileProblem(e instanceof reader.SourceProblem ? e.message : errorLine(e), false);
		} finally {
			this.loadingMore = false;
		}
	}

	private startProfile(): void {
		const h = this.head;
		if (!h || h.header.length === 0 || this.disposed) return;
		this.profileRun?.cancel();
		const settings = this.s.settings.forResource(this.uri);
		this.profileState = 'running';
		const started = performance.now();
		const run = loadReader().startProfile(
			h.file,
			{ delimiter: settings.delimiter },
			(snapshot) => {
				this.profile = snapshot;
				this.post({ type: 'profile', snapshot });
				if (snapshot.done) {
					this.s.ui.log.info(
						`Profile of ${h.file}: ${formatCount(snapshot.headRecords + snapshot.sampledRecords)} records in ${Math.round(performance.now() - started)} ms (${snapshot.exact ? 'whole file' : `${snapshot.blocksDone} blocks`})`,
					);
				}
			},
			(message) => {
				this.post({ type: 'profileStopped', text: `The profile stopped: ${message}` });
				this.s.ui.log.warn(`Profile of ${h.file} stopped: ${message}`);
			},
		);
		this.profileRun = run;
		void run.finished.then((how) => {
			if (this.profileRun !== run) return;
			this.profileState = how;
			if (how === 'cancelled')
				this.post({ type: 'profileStopped', text: 'Profile cancelled; the figures so far stay.' });
		});
	}

	/** The orders file in effect: chosen here, or `sweep.ordersFile`. */
	private currentOrders(): OrdersChoice {
		if (this.orders !== undefined) return this.orders;
		const settings = this.s.settings.forResource(this.uri);
		if (settings.ordersFile === null) return null;
		try {
			const folder = vscode.workspace.getWorkspaceFolder(this.uri)?.uri.fsPath;
			const p = resolvePathSetting(
				settings.ordersFile,
				{ file: this.uri.fsPath, workspaceFolder: folder },
				'sweep.ordersFile',
			);
			return { path: p, source: `sweep.ordersFile, ${settings.ordersFileOrigin} setting` };
		} catch (e) {
			return { path: settings.ordersFile, source: errorLine(e) };
		}
	}

	private defaultOutDir(): { path: string; source: string } {
		const settings = this.s.settings.forResource(this.uri);
		try {
			const folder = vscode.workspace.getWorkspaceFolder(this.uri)?.uri.fsPath;
			const p = resolvePathSetting(
				settings.outputDirectory,
				{ file: this.uri.fsPath, workspaceFolder: folder },
				'sweep.outputDirectory',
			);
			return {
				path: p,
				source:
					settings.outputDirectoryOrigin === 'default'
						? 'default'
						: `sweep.outputDirectory, ${settings.outputDirectoryOrigin} setting`,
			};
		} catch (e) {
			return { path: settings.outputDirectory, source: errorLine(e) };
		}
	}

	/** Posts the run set-up: orders, output folder, workers and chunk size with their sources. */
	private async postSetup(initial: boolean): Promise<void> {
		const settings = this.s.settings.forResource(this.uri);
		await this.s.config.whenReady();
		const config = this.s.config.resolveFor(this.uri, settings);
		const source = (label: string | null) => label ?? 'detected';
		const orders = this.currentOrders();
		const outDir = this.outDir ? { path: this.outDir, source: 'chosen here' } : this.defaultOutDir();
		const notices = [...settings.notices];
		if (!vscode.workspace.isTrusted)
			notices.unshift(
				'Restricted Mode: runs follow its rules (workspace values of sweep.outputDirectory and sweep.ordersFile are ignored).',
			);
		const setup = {
			orders,
			outDir,
			workers: config ? `${formatCount(config.workers)} (${source(config.labels.workers)})` : 'detecting…',
			chunk: config ? `${formatCount(config.chunkSize)} rows (${source(config.labels.chunkSize)})` : 'detecting…',
			notice: notices.join(' '),
			canSave: vscode.workspace.getWorkspaceFolder(this.uri) !== undefined,
			grains: TIME_GRAINS,
		};
		const message: Record<string, unknown> = { type: 'setup', setup };
		if (initial && this.head) message.initial = this.initialChoices(settings.partitionBy, settings.columnMapping);
		this.post(message);
	}

	/** The settings' partition columns and renames, as the view holds them (column indexes of the file). */
	private initialChoices(
		partitionBy: readonly string[],
		mapping: Readonly<Record<string, string>>,
	): { parts: { col: number; grain: string }[]; renames: Record<number, string> } {
		const header = this.head!.header;
		const renames: Record<number, string> = {};
		for (const [canonical, source] of Object.entries(mapping)) {
			const i = header.indexOf(source);
			if (i >= 0) renames[i] = canonical;
		}
		const outName = (i: number) => renames[i] ?? header[i];
		const parts: { col: number; grain: string }[] = [];
		for (const text of partitionBy) {
			const parsed = parsePartitionSpec(text);
			if (!parsed.ok || !(TIME_GRAINS as readonly string[]).concat('value').includes(parsed.value.fn)) continue;
			const { column, fn } = parsed.value;
			const i = header.findIndex((_, k) => outName(k) === column);
			if (i >= 0 && !parts.some((p) => p.col === i)) parts.push({ col: i, grain: fn === 'value' ? '' : fn });
		}
		return { parts, renames };
	}

	private async pickOrders(): Promise<void> {
		const current = this.currentOrders();
		const picked = await vscode.window.showOpenDialog({
			defaultUri: vscode.Uri.file(current?.path ?? path.dirname(this.uri.fsPath)),
			canSelectFiles: true,
			canSelectFolders: false,
			canSelectMany: false,
			openLabel: 'Use Orders File',
			title: `Sweep: orders file for ${path.basename(this.uri.fsPath)}`,
			filters: { 'CSV / TSV': ['csv', 'tsv', 'CSV', 'TSV'], 'All files': ['*'] },
		});
		if (picked?.[0]) {
			this.orders = { path: picked[0].fsPath, source: 'chosen here' };
			await this.postSetup(false);
		}
	}

	private async pickOutDir(): Promise<void> {
		const picked = await vscode.window.showOpenDialog({
			defaultUri: vscode.Uri.file(path.dirname(this.outDir ?? this.defaultOutDir().path)),
			canSelectFiles: false,
			canSelectFolders: true,
			canSelectMany: false,
			openLabel: 'Write Partitions Here',
			title: `Sweep: output folder for ${path.basename(this.uri.fsPath)}`,
		});
		if (picked?.[0]) {
			this.outDir = picked[0].fsPath;
			await this.postSetup(false);
		}
	}

	/** Starts the same extraction as the commands, with this view's choices; progress and Cancel show here too. */
	private async runExtraction(setup: RunSetup): Promise<void> {
		if (this.runBlocked) {
			void this.s.ui.warn(`Sweep: ${this.runBlocked}`);
			return;
		}
		if (this.run?.state === 'running') return;
		if (setup.partitionBy.length === 0) return;
		const abort = new AbortController();
		this.runAbort = abort;
		const orders = this.currentOrders();
		const name = path.basename(this.uri.fsPath);
		this.setRun({ state: 'running', text: `Starting the extraction of ${name}…` }, 0);
		let manifest: Manifest | undefined;
		try {
			manifest = await this.s.extractions.request({
				uri: this.uri,
				withOrders: orders !== null,
				ordersUri: orders ? vscode.Uri.file(orders.path) : undefined,
				options: {
					partitionBy: setup.partitionBy,
					columnMapping: setup.mapping,
					outDir: this.outDir,
				},
				onProgress: (p) => this.setRun({ state: 'running', text: progressMessage(p) }, percentOf(p)),
				signal: abort.signal,
			});
		} finally {
			if (this.runAbort === abort) this.runAbort = undefined;
		}
		if (manifest) {
			this.setRun({ state: 'done', text: `${completionMessage(manifest)} → ${manifest.outDir}`, manifest }, 100);
			return;
		}
		const err = this.s.extractions.lastError();
		const cancelled = abort.signal.aborted || err?.code === 'aborted' || err?.code === 'cancelled';
		this.setRun({
			state: cancelled ? 'cancelled' : 'failed',
			text: cancelled
				? 'Cancelled; the previous output, if any, is untouched.'
				: `Failed: ${err?.message ?? 'see the Sweep log'}`,
		});
	}

	private setRun(run: NonNullable<PreviewSnapshot['run']>, percent?: number): void {
		this.run = run;
		this.post({ type: 'run', state: run.state, text: run.text, percent });
	}

	/** "Use these settings for this folder": partition columns, renames, and the orders file and folder chosen here. */
	private async save(setup: RunSetup): Promise<void> {
		const values: Record<string, unknown> = { partitionBy: setup.partitionBy, columnMapping: setup.mapping };
		if (this.orders !== undefined) values.ordersFile = this.orders?.path ?? null;
		if (this.outDir !== undefined) values.outputDirectory = this.outDir;
		const saved = await this.s.settings.saveForFolder(this.uri, values);
		const keys = Object.keys(values)
			.map((k) => `sweep.${k}`)
			.join(', ');
		const text = saved
			? `Saved ${keys} to the workspace settings.`
			: `${path.basename(this.uri.fsPath)} is in no workspace folder: nothing was saved.`;
		this.s.ui.log.info(`Preview of ${this.uri.fsPath}: ${text} ${JSON.stringify(values)}`);
		this.post({ type: 'saved', text });
	}

	/** Watches the file: deleted or changed while the view is open gets one sentence in the view. */
	private watchFile(): void {
		const watcher = vscode.workspace.createFileSystemWatcher(
			new vscode.RelativePattern(vscode.Uri.file(path.dirname(this.uri.fsPath)), path.basename(this.uri.fsPath)),
		);
		this.disposables.push(
			watcher,
			watcher.onDidDelete(() =>
				this.fileProblem(`${this.uri.fsPath} was deleted or moved; the preview shows what was read before.`, true),
			),
			watcher.onDidChange(() =>
				this.fileProblem(`${this.uri.fsPath} changed on disk; reopen the preview to see it as it is now.`, false),
			),
		);
	}

	private fileProblem(text: string, blocksRun: boolean): void {
		if (this.problem === text) return;
		this.problem = text;
		if (blocksRun) {
			this.runBlocked = text;
			this.profileRun?.cancel();
		}
		this.post({ type: 'problem', text, blocksRun });
	}

	dispose(): void {
		if (this.disposed) return;
		this.disposed = true;
		// A run started here goes on (its notification has its own Cancel); the profile stops.
		this.profileRun?.cancel();
		for (const d of this.disposables) d.dispose();
		this.markLoaded();
		this.onDispose();
	}
}
