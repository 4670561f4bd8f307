import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { type FileSettings, type Inspected, parseJsonc, readFileSettings, settingIn } from './settingsModel';

/** Settings a workspace may not set in Restricted Mode (package.json `restrictedConfigurations`). */
const RESTRICTED: ReadonlySet<string> = new Set(['outputDirectory', 'ordersFile']);

/**
 * The one place that reads Sweep's settings. Hands out fresh, typed {@link FileSettings} for a
 * resource (the file's workspace folder decides), and fires {@link onDidChange} when a `sweep.*`
 * setting or the workspace trust changes, so everything re-resolves at once, without a reload.
 */
export class Settings implements vscode.Disposable {
	private readonly changed = new vscode.EventEmitter<void>();
	private readonly disposables: vscode.Disposable[] = [this.changed];
	private readonly files = new Map<string, { stamp: string; parsed: unknown }>();
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
		if (!vscode.workspace.isTrusted) {
			// Restricted Mode hides workspace values of restricted settings from the API, changes included:
			// watch the files, so the notice about an ignored value follows them.
			const watcher = vscode.workspace.createFileSystemWatcher('**/{.vscode/settings.json,*.code-workspace}');
			const fire = () => this.changed.fire();
			this.disposables.push(watcher, watcher.onDidChange(fire), watcher.onDidCreate(fire), watcher.onDidDelete(fire));
		}
	}

	/** Settings for a file or folder (undefined: the window's, i.e. user and workspace values). */
	forResource(resource: vscode.Uri | undefined): FileSettings {
		const config = vscode.workspace.getConfiguration('sweep', resource ?? null);
		const trusted = vscode.workspace.isTrusted;
		return readFileSettings(
			{
				get: (key) => config.get(key),
				inspect: (key) => {
					const inspected: Inspected | undefined = config.inspect(key);
					if (trusted || !RESTRICTED.has(key)) return inspected;
					if (inspected?.workspaceValue !== undefined || inspected?.workspaceFolderValue !== undefined)
						return inspected;
					return { ...inspected, ...this.hiddenWorkspaceValue(resource, `sweep.${key}`) };
				},
			},
			trusted,
		);
	}

	/**
	 * In Restricted Mode VS Code leaves workspace values of restricted settings out of `inspect()`. Sweep
	 * ignores them too, but says so: this finds them in the workspace's settings files, only to name them.
	 */
	private hiddenWorkspaceValue(resource: vscode.Uri | undefined, key: string): Inspected {
		const folder = resource ? vscode.workspace.getWorkspaceFolder(resource) : vscode.workspace.workspaceFolders?.[0];
		const workspaceFile = vscode.workspace.workspaceFile;
		if (folder?.uri.scheme === 'file') {
			const value = settingIn(this.readJsonc(path.join(folder.uri.fsPath, '.vscode', 'settings.json')), key);
			if (value !== undefined) return workspaceFile ? { workspaceFolderValue: value } : { workspaceValue: value };
		}
		if (workspaceFile?.scheme === 'file') {
			const value = settingIn(settingIn(this.readJsonc(workspaceFile.fsPath), 'settings'), key);
			if (value !== undefined) return { workspaceValue: value };
		}
		return {};
	}

	private readJsonc(file: string): unknown {
		try {
			const st = fs.statSync(file);
			const stamp = `${st.mtimeMs}:${st.size}`;
			const cached = this.files.get(file);
			if (cached?.stamp === stamp) return cached.parsed;
			const parsed = parseJsonc(fs.readFileSync(file, 'utf8'));
			this.files.set(file, { stamp, parsed });
			return parsed;
		} catch {
			return undefined;
		}
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

	/**
	 * Stores Sweep settings (`{ partitionBy: [...], columnMapping: {...}, … }`, keys without `sweep.`) in the
	 * workspace settings of the resource's folder, like {@link savePartitionBy}. False when it is in no folder.
	 */
	async saveForFolder(resource: vscode.Uri, values: Record<string, unknown>): Promise<boolean> {
		if (!vscode.workspace.getWorkspaceFolder(resource)) return false;
		const target =
			vscode.workspace.workspaceFile === undefined
				? vscode.ConfigurationTarget.Workspace
				: vscode.ConfigurationTarget.WorkspaceFolder;
		const config = vscode.workspace.getConfiguration('sweep', resource);
		for (const [key, value] of Object.entries(values)) await config.update(key, value, target);
		return true;
	}

	dispose(): void {
		for (const d of this.disposables) d.dispose();
	}
}
