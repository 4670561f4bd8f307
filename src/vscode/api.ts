import type { ResolvedConfig } from '../config';
import type { Manifest } from '../engine/types';
import { activeFolder } from './activeFile';
import type { Extractions, LastError } from './extraction';
import type { Previews } from './preview';
import type { PreviewMessage } from './previewHtml';
import type { PreviewSnapshot } from './previewPanel';
import type { StatusBar } from './statusBar';
import type { SummarySnapshot, SummaryView } from './summaryView';
import type { SystemConfig } from './systemConfig';
import type { Notice, Ui } from './ui';

/**
 * What `activate()` returns: `vscode.extensions.getExtension('sweep-dev.sweep')!.activate()`.
 * For other extensions and for the integration tests, which assert on it.
 */
export interface SweepApi {
	/** The status bar item's text and tooltip (the tooltip as Markdown source). */
	statusBar(): { text: string; tooltip: string };
	/** The configuration for the active file's workspace folder (the first folder when none); undefined before detection. */
	config(): ResolvedConfig | undefined;
	/** Resolves when the first system detection has finished (the status bar then shows the figures). */
	whenReady(): Promise<void>;
	/** The manifest of the last successful extraction in this session (with `outDir` filled in). */
	lastManifest(): Manifest | undefined;
	/** True while an extraction runs or waits in the queue. */
	isRunning(): boolean;
	/**
	 * How the last extraction request ended when it did not produce a manifest: a SweepError code
	 * (`missing-column`, `output-foreign`, `aborted`, …), `cancelled` (a prompt was declined or left
	 * unanswered with `interactive: false`), `busy` (that file was already in progress) or `unexpected`.
	 * Cleared by a successful run.
	 */
	lastError(): { code: string; message: string } | undefined;
	/** Cancels the running extraction, as its Cancel button does; false when none runs. */
	cancel(): boolean;
	/** Resolves when no extraction runs or waits. */
	whenIdle(): Promise<void>;
	/** The last 50 messages Sweep showed (information, warnings, errors, modal questions), oldest first. */
	notifications(): readonly Notice[];
	/** The Summary view's manifest and HTML while it is open. */
	summary(): SummarySnapshot | undefined;
	/** Asks the open Summary view to open one of its files, as a click on its row does; false when refused. */
	openFromSummary(file: string): Promise<boolean>;
	/** What the open previews show (head, rows loaded, profile, run). */
	previews(): PreviewSnapshot[];
	/** Handles a message in the preview of `file` as if its view had posted it (Run, Cancel, …). */
	previewMessage(file: string, message: PreviewMessage): Promise<PreviewSnapshot | undefined>;
	/** Resolves when the preview of `file` has finished or stopped its profile. */
	whenPreviewProfiled(file: string): Promise<PreviewSnapshot | undefined>;
}

/** Builds the API over the extension's parts. */
export function createApi(parts: {
	ui: Ui;
	config: SystemConfig;
	statusBar: StatusBar;
	extractions: Extractions;
	summary: SummaryView;
	previews: Previews;
}): SweepApi {
	const { ui, config, statusBar, extractions, summary, previews } = parts;
	return {
		statusBar: () => statusBar.snapshot(),
		config: () => config.resolveFor(activeFolder()?.uri),
		whenReady: () => config.whenReady(),
		lastManifest: () => extractions.lastManifest(),
		isRunning: () => extractions.isRunning(),
		lastError: (): LastError | undefined => extractions.lastError(),
		cancel: () => extractions.cancel(),
		whenIdle: () => extractions.whenIdle(),
		notifications: () => ui.notices(),
		summary: () => summary.snapshot(),
		openFromSummary: (file) => summary.openFile(file),
		previews: () => previews.snapshots(),
		previewMessage: (file, message) => previews.message(file, message),
		whenPreviewProfiled: (file) => previews.whenProfiled(file),
	};
}
