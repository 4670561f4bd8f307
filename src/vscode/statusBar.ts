import * as vscode from 'vscode';
import { activeFolder } from './activeFile';
import { CommandId } from './commandIds';
import { DETECTING_TEXT, runningStatusText, statusBarText, statusBarTooltip } from './messages';
import type { Settings } from './settings';
import type { SystemConfig } from './systemConfig';

/**
 * The `sweep.config` status bar item: the configuration for the active file's workspace folder
 * (the first folder when none), or a spinner and the percentage while a run goes on.
 */
export class StatusBar implements vscode.Disposable {
	private readonly item: vscode.StatusBarItem;
	private readonly disposables: vscode.Disposable[] = [];
	private running: { percent: number; file: string } | undefined;
	private lastFolder: string | undefined;

	constructor(
		private readonly config: SystemConfig,
		private readonly settings: Settings,
	) {
		this.item = vscode.window.createStatusBarItem('sweep.config', vscode.StatusBarAlignment.Right, 100);
		this.item.name = 'Sweep';
		this.item.command = CommandId.ShowConfiguration;
		this.item.text = DETECTING_TEXT;
		this.item.tooltip = 'Sweep is detecting CPU cores and available memory…';
		this.item.show();
		const onActiveChange = () => {
			const folder = activeFolder()?.uri.toString();
			if (folder !== this.lastFolder) this.update();
		};
		this.disposables.push(
			this.item,
			config.onDidChange(() => this.update()),
			vscode.window.tabGroups.onDidChangeTabs(onActiveChange),
			vscode.window.tabGroups.onDidChangeTabGroups(onActiveChange),
			vscode.window.onDidChangeActiveTextEditor(onActiveChange),
		);
	}

	/** Shows a run's progress (percent of bytes), or the configuration again with undefined. */
	setRunning(percent: number | undefined, file = ''): void {
		this.running = percent === undefined ? undefined : { percent, file };
		this.update();
	}

	/** Re-reads the configuration for the active folder and redraws. */
	update(): void {
		if (this.running) {
			this.item.text = runningStatusText(this.running.percent);
			this.item.tooltip = `Sweep is extracting ${this.running.file}: ${Math.floor(this.running.percent)}% read. Click for the configuration.`;
			this.item.backgroundColor = undefined;
			return;
		}
		const folder = activeFolder();
		this.lastFolder = folder?.uri.toString();
		const fileSettings = this.settings.forResource(folder?.uri);
		const config = this.config.resolveFor(folder?.uri, fileSettings);
		if (!config) {
			this.item.text = DETECTING_TEXT;
			return;
		}
		const several = (vscode.workspace.workspaceFolders?.length ?? 0) > 1;
		const tooltip = new vscode.MarkdownString(
			statusBarTooltip(config, [...fileSettings.warnings, ...fileSettings.notices], several ? folder?.name : undefined),
			true,
		);
		this.item.text = statusBarText(config);
		this.item.tooltip = tooltip;
		const warned = config.warnings.length + fileSettings.warnings.length + fileSettings.notices.length > 0;
		this.item.backgroundColor = warned ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
	}

	/** What the item shows now (the tooltip as Markdown source). */
	snapshot(): { text: string; tooltip: string } {
		const t = this.item.tooltip;
		return { text: this.item.text, tooltip: typeof t === 'string' ? t : (t?.value ?? '') };
	}

	dispose(): void {
		for (const d of this.disposables) d.dispose();
	}
}
