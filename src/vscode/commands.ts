import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { formatReport } from '../config';
import type { Manifest } from '../engine/types';
import { MANIFEST_FILE as MANIFEST } from '../rules';
import { activeFolder, activeTabUri } from './activeFile';
import { parseExtractOptions } from './commandArgs';
import { CommandId } from './commandIds';
import type { Extractions } from './extraction';
import { errorLine } from './messages';
import type { SummaryView } from './summaryView';
import type { SystemConfig } from './systemConfig';
import type { Ui } from './ui';
import { isCsvPath } from './variables';

/** What the commands work with. */
export interface CommandServices {
	ui: Ui;
	config: SystemConfig;
	extractions: Extractions;
	summary: SummaryView;
}

/** A Uri from a command argument: a Uri, or an absolute path string. */
export function toUri(arg: unknown): vscode.Uri | undefined {
	if (arg instanceof vscode.Uri) return arg;
	if (typeof arg === 'string' && arg !== '') {
		if (path.isAbsolute(arg)) return vscode.Uri.file(arg);
		if (/^[a-z][a-z0-9+.-]+:\/\//i.test(arg)) return vscode.Uri.parse(arg);
	}
	return undefined;
}

/** Registers Sweep's commands; each returns its result so tests can assert on it. */
export function registerCommands(s: CommandServices): vscode.Disposable[] {
	return [
		vscode.commands.registerCommand(CommandId.Extract, (target?: unknown, options?: unknown) =>
			extractCommand(s, target, undefined, options, false),
		),
		vscode.commands.registerCommand(
			CommandId.ExtractWithOrders,
			(target?: unknown, second?: unknown, third?: unknown) => {
				// (uri, ordersUri, options) or (uri, options); the Explorer passes (uri, selectedUris[]).
				const orders = toUri(second);
				return extractCommand(s, target, orders, orders ? third : second, true);
			},
		),
		vscode.commands.registerCommand(CommandId.Append, (target?: unknown, options?: unknown) =>
			appendCommand(s, target, options),
		),
		vscode.commands.registerCommand(CommandId.ShowConfiguration, () => showConfiguration(s)),
		vscode.commands.registerCommand(CommandId.Redetect, () => redetect(s)),
		vscode.commands.registerCommand(CommandId.ShowSummary, (target?: unknown) => showSummary(s, target)),
	];
}

async function extractCommand(
	s: CommandServices,
	target: unknown,
	ordersUri: vscode.Uri | undefined,
	rawOptions: unknown,
	withOrders: boolean,
): Promise<Manifest | undefined> {
	const uri = toUri(target) ?? activeTabUri();
	if (!uri) {
		void s.ui.warn('Sweep: open or select a .csv or .tsv file (or .csv.gz, .csv.zst) to extract.');
		return undefined;
	}
	if (uri.scheme !== 'file') {
		void s.ui.error(`Sweep reads files from disk, and ${uri.toString(true)} is not a file on disk. Save it first.`);
		return undefined;
	}
	if (!isCsvPath(uri.fsPath)) {
		void s.ui.error(
			`Sweep extracts .csv and .tsv files (also .gz or .zst compressed); ${path.basename(uri.fsPath)} is neither.`,
		);
		return undefined;
	}
	return s.extractions.request({ uri, ordersUri, options: parseExtractOptions(rawOptions), withOrders });
}

/**
 * **Sweep: Append to Existing Output…**: adds the file to an output folder Sweep made (docs/append.md). The folder is
 * the `outDir` option, or picked from the Sweep output folders of the workspace (those holding `_manifest.json`),
 * most recently written first.
 */
async function appendCommand(s: CommandServices, target: unknown, rawOptions: unknown): Promise<Manifest | undefined> {
	const uri = toUri(target) ?? activeTabUri();
	if (uri?.scheme !== 'file' || !isCsvPath(uri.fsPath)) {
		void s.ui.warn('Sweep: open or select the .csv or .tsv file to append.');
		return undefined;
	}
	const options = parseExtractOptions(rawOptions);
	if (!options.outDir) {
		const outDir = await pickOutputFolder(uri);
		if (!outDir) return undefined;
		options.outDir = outDir;
	}
	return s.extractions.request({ uri, options, withOrders: false, append: true });
}

/** Sweep output folders of the workspace (with `_manifest.json`), most recently written first, in a QuickPick. */
async function pickOutputFolder(input: vscode.Uri): Promise<string | undefined> {
	const found = await vscode.workspace.findFiles(`**/${MANIFEST}`, '**/node_modules/**', 500);
	const folders = await Promise.all(
		found.map(async (u) => {
			const dir = path.dirname(u.fsPath);
			const st = await fs.stat(u.fsPath).catch(() => null);
			return { dir, mtime: st?.mtimeMs ?? 0 };
		}),
	);
	folders.sort((a, b) => b.mtime - a.mtime);
	if (folders.length === 0) {
		void vscode.window.showInformationMessage(
			'Sweep: no Sweep output folder (one with _manifest.json) in this workspace. Extract a file first.',
		);
		return undefined;
	}
	const items = folders.map((f) => ({
		label: vscode.workspace.asRelativePath(f.dir, true),
		description: f.mtime ? `written ${new Date(f.mtime).toLocaleString()}` : undefined,
		dir: f.dir,
	}));
	const pick = await vscode.window.showQuickPick(items, {
		title: `Sweep: append ${path.basename(input.fsPath)} to…`,
		placeHolder: 'A Sweep output folder (most recent first)',
		matchOnDescription: true,
	});
	return pick?.dir;
}

/** Writes the report to the `Sweep` channel, line by line, shows the channel, returns the report. */
async function showConfiguration(s: CommandServices): Promise<string> {
	await s.config.whenReady();
	const report = formatReport(s.config.resolveFor(activeFolder()?.uri)!);
	for (const line of report.split('\n')) s.ui.log.info(line);
	s.ui.log.show(true);
	return report;
}

async function redetect(s: CommandServices): Promise<string> {
	s.ui.log.info('Re-detecting the system…');
	await s.config.redetect();
	return showConfiguration(s);
}

/**
 * Shows the summary of a `_manifest.json` (or of an output folder holding one); without an argument,
 * the last run's, or the active tab's `_manifest.json`.
 */
async function showSummary(s: CommandServices, target: unknown): Promise<void> {
	try {
		const uri = toUri(target);
		if (uri) {
			const file = path.basename(uri.fsPath).toLowerCase().endsWith('.json')
				? uri.fsPath
				: path.join(uri.fsPath, MANIFEST);
			await s.summary.showFile(file);
			return;
		}
		const last = s.extractions.lastManifest();
		if (last?.outDir) {
			s.summary.show(last, path.join(last.outDir, MANIFEST));
			return;
		}
		const active = activeTabUri();
		if (active?.scheme === 'file' && path.basename(active.fsPath) === MANIFEST) {
			await s.summary.showFile(active.fsPath);
			return;
		}
		void s.ui.info(`Sweep: no summary to show yet. Run an extraction, or right-click a ${MANIFEST}.`);
	} catch (e) {
		const line = errorLine(e);
		s.ui.log.error(e instanceof Error ? e : line);
		void s.ui.error(line, 'Show Log').then((c) => {
			if (c) s.ui.log.show(true);
		});
	}
}
