import * as vscode from 'vscode';
import { type FileSettings, readFileSettings } from './settingsModel';

/**
 * The one place that reads Sweep's settings. Hands out fresh, typed {@link FileSettings} for a
 * resource (the file's workspace folder decides), and fires {@link onDidChange} when a `sweep.*`
 * setting or the workspace trust changes, so everything re-resolves at once, without a reload.
 */
export class Settings implements vscode.Disposable {
	private readonly changed = new vscode.EventEmitter<void>();
	private readonly disposables: vscode.Disposable[] = [this.changed];
	/** Fires after any `sweep.*` setting or the workspace trust changed. */
	readonly onDidChange = this.changed.event;

	constructor() {
		this.disposables.push(
			vscode.workspace.onDidChangeConfiguration((e) => {
				if (e.affectsConfiguration('sweep')) this.changed.fire();
			}),
			vscode.workspace.onDidGrantWorkspaceTrust(() => this.changed.fire()),
			vscode.workspace.onDidChangeWorkspaceFolders(() => this.changed.fire()),
		);
	}

	/** Settings for a file or folder (undefined: the window's, i.e. user and workspace values). */
	forResource(resource: vscode.Uri | undefined): FileSettings {
		const config = vscode.workspace.getConfiguration('sweep', resource ?? null);
		return readFileSettings(
			{ get: (key) => config.get(key), inspect: (key) => config.inspect(key) },
			vscode.workspace.isTrusted,
		);
	}

	/**
	 * Stores `sweep.partitionBy` in the workspace settings of the resource's folder (the folder's
	 * settings in a multi-root workspace). Returns false when the resource is in no workspace folder.
	 */
	async savePartitionBy(resource: vscode.Uri, partitionBy: string[]): Promise<boolean> {
		if (!vscode.workspace.getWorkspaceFolder(resource)) return false;
		const target =
			vscode.workspace.workspaceFile === undefined
				? vscode.ConfigurationTarget.Workspace
				: vscode.ConfigurationTarget.WorkspaceFolder;
		await vscode.workspace.getConfiguration('sweep', resource).update('partitionBy', partitionBy, target);
		return true;
	}

	dispose(): void {
		for (const d of this.disposables) d.dispose();
	}
}
