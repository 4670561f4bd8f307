import * as path from 'node:path';
import * as vscode from 'vscode';
import { activeTabUri } from './activeFile';
import { CommandId } from './commandIds';
import { toUri } from './commands';
import type { PreviewMessage } from './previewHtml';
import type { PreviewController, PreviewServices, PreviewSnapshot } from './previewPanel';
import { isCsvPath } from './variables';

/** The custom editor's view type (`Open With… → Sweep Preview`). */
export const PREVIEW_VIEW_TYPE = 'sweep.preview';

let panelModule: typeof import('./previewPanel') | undefined;
const panels = () => {
	panelModule ??= require('./previewPanel') as typeof import('./previewPanel');
	return panelModule;
};

/**
 * The open previews. `Sweep: Preview CSV` opens the file with the read-only custom editor, so the command,
 * `Open With…` and a restored tab all go through {@link resolveCustomEditor}.
 */
export class Previews implements vscode.CustomReadonlyEditorProvider, vscode.Disposable {
	private readonly open = new Set<PreviewController>();
	private readonly waiting: { key: string; resolve: (c: PreviewController) => void }[] = [];

	constructor(private readonly s: PreviewServices) {}

	openCustomDocument(uri: vscode.Uri): vscode.CustomDocument {
		return { uri, dispose: () => {} };
	}

	resolveCustomEditor(document: vscode.CustomDocument, panel: vscode.WebviewPanel): void {
		const controller: PreviewController = new (panels().PreviewController)(this.s, document.uri, panel, () =>
			this.open.delete(controller),
		);
		this.open.add(controller);
		const key = document.uri.toString();
		const still = this.waiting.filter((w) => w.key !== key);
		for (const w of this.waiting) if (w.key === key) w.resolve(controller);
		this.waiting.splice(0, this.waiting.length, ...still);
	}

	/** `sweep.preview`: opens the preview of a file (argument, or the active tab's); resolves with what it shows. */
	async command(target: unknown): Promise<PreviewSnapshot | undefined> {
		const uri = toUri(target) ?? activeTabUri();
		if (!uri) {
			void this.s.ui.warn('Sweep: open or select a .csv or .tsv file to preview.');
			return undefined;
		}
		if (uri.scheme !== 'file') {
			void this.s.ui.error(
				`Sweep reads files from disk, and ${uri.toString(true)} is not a file on disk. Save it first.`,
			);
			return undefined;
		}
		if (!isCsvPath(uri.fsPath)) {
			void this.s.ui.error(`Sweep previews .csv and .tsv files; ${path.basename(uri.fsPath)} is neither.`);
			return undefined;
		}
		const existing = this.find(uri.fsPath);
		const opened = existing
			? Promise.resolve(existing)
			: new Promise<PreviewController>((resolve) => this.waiting.push({ key: uri.toString(), resolve }));
		await vscode.commands.executeCommand('vscode.openWith', uri, PREVIEW_VIEW_TYPE);
		const controller = await Promise.race([
			opened,
			new Promise<undefined>((r) => setTimeout(() => r(undefined), 30_000)),
		]);
		if (!controller) return undefined;
		await controller.whenLoaded();
		return controller.snapshot();
	}

	private find(file: string): PreviewController | undefined {
		return [...this.open].find((c) => c.uri.fsPath === file);
	}

	/** What the open previews show. */
	snapshots(): PreviewSnapshot[] {
		return [...this.open].map((c) => c.snapshot());
	}

	/** Sends a message to the preview of `file` as if its view had posted it; resolves when handled. */
	async message(file: string, message: PreviewMessage): Promise<PreviewSnapshot | undefined> {
		const c = this.find(file);
		if (!c) return undefined;
		await c.handle(message);
		return c.snapshot();
	}

	/** Resolves when the preview of `file` has finished (or stopped) its profile. */
	async whenProfiled(file: string): Promise<PreviewSnapshot | undefined> {
		const c = this.find(file);
		if (!c) return undefined;
		await c.whenProfiled();
		return c.snapshot();
	}

	dispose(): void {
		for (const c of [...this.open]) c.dispose();
	}
}

/** Registers the preview's command and its custom editor. Nothing is read or loaded until a preview opens. */
export function registerPreview(previews: Previews): vscode.Disposable[] {
	return [
		vscode.window.registerCustomEditorProvider(PREVIEW_VIEW_TYPE, previews, {
			webviewOptions: { retainContextWhenHidden: true, enableFindWidget: true },
			supportsMultipleEditorsPerDocument: false,
		}),
		vscode.commands.registerCommand(CommandId.Preview, (target?: unknown) => previews.command(target)),
	];
}
