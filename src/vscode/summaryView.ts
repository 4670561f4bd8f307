import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { SweepError } from '../engine/errors';
import type { Manifest } from '../engine/types';
import { parseManifest } from './manifestFile';
import { errorLine } from './messages';
import { buildSummaryHtml, openableFiles, parseSummaryMessage } from './summaryHtml';
import type { Ui } from './ui';

/** What the Summary view shows now. */
export interface SummarySnapshot {
	manifestPath: string;
	outDir: string;
	html: string;
}

/** The Summary webview: one panel, reused, showing one manifest at a time. */
export class SummaryView implements vscode.Disposable {
	private panel: vscode.WebviewPanel | undefined;
	private current: (SummarySnapshot & { files: Set<string> }) | undefined;
	private readonly disposables: vscode.Disposable[] = [];

	constructor(private readonly ui: Ui) {}

	/** Reads a `_manifest.json` from disk and shows it; its folder is the output folder. */
	async showFile(manifestPath: string): Promise<void> {
		const text = await readFile(manifestPath, 'utf8').catch((e: NodeJS.ErrnoException) => {
			throw new SweepError('input-missing', `Cannot read ${manifestPath}: ${e.code ?? e.message}`, {
				file: manifestPath,
				cause: e,
			});
		});
		const manifest = parseManifest(text, manifestPath);
		this.show(manifest, manifestPath);
	}

	/** Shows a manifest (reusing the panel if it is open). */
	show(manifest: Manifest, manifestPath: string): void {
		const outDir = path.dirname(manifestPath);
		const html = buildSummaryHtml({ manifest, outDir, nonce: randomBytes(16).toString('base64') });
		this.current = { manifestPath, outDir, html, files: openableFiles(manifest) };
		const title = `Sweep Summary: ${path.basename(manifest.source.path) || path.basename(outDir)}`;
		if (this.panel) {
			this.panel.title = title;
			this.panel.reveal(undefined, false);
		} else {
			this.panel = vscode.window.createWebviewPanel(
				'sweep.summary',
				title,
				{ viewColumn: vscode.ViewColumn.Active, preserveFocus: false },
				{ enableScripts: true, enableCommandUris: false, localResourceRoots: [] },
			);
			this.panel.onDidDispose(() => {
				this.panel = undefined;
				this.current = undefined;
			});
			this.panel.webview.onDidReceiveMessage((raw) => {
				const message = parseSummaryMessage(raw);
				if (message) void this.openFile(message.file);
			});
		}
		this.panel.webview.html = html;
	}

	/**
	 * Opens a file the shown manifest names, beside the view. Names not in the manifest (or with path
	 * parts) are refused: a hand-written manifest cannot open anything outside its folder.
	 */
	async openFile(file: string): Promise<boolean> {
		const current = this.current;
		if (!current?.files.has(file)) {
			this.ui.log.warn(`Summary view asked to open ${JSON.stringify(file)}, which its manifest does not list; refused`);
			return false;
		}
		try {
			await vscode.commands.executeCommand('vscode.open', vscode.Uri.file(path.join(current.outDir, file)), {
				viewColumn: vscode.ViewColumn.Beside,
				preview: true,
			});
			return true;
		} catch (e) {
			void this.ui.error(errorLine(e));
			return false;
		}
	}

	/** The manifest shown and the view's HTML, while the panel is open. */
	snapshot(): SummarySnapshot | undefined {
		if (!this.current) return undefined;
		const { manifestPath, outDir, html } = this.current;
		return { manifestPath, outDir, html };
	}

	dispose(): void {
		this.panel?.dispose();
		for (const d of this.disposables) d.dispose();
	}
}
