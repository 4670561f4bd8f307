import * as vscode from 'vscode';

/**
 * The file of the active tab. Uses `window.tabGroups` rather than the active text editor, so it also
 * works for files VS Code opened without an editor model (too large to open, over 50 MB).
 */
export function activeTabUri(): vscode.Uri | undefined {
	const input: unknown = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
	if (input instanceof vscode.TabInputTextDiff) return input.modified;
	if (typeof input === 'object' && input !== null && 'uri' in input && input.uri instanceof vscode.Uri) {
		return input.uri;
	}
	return vscode.window.activeTextEditor?.document.uri;
}

/** The workspace folder whose settings apply to the active file: its own, else the first one. */
export function activeFolder(): vscode.WorkspaceFolder | undefined {
	const uri = activeTabUri();
	const own = uri ? vscode.workspace.getWorkspaceFolder(uri) : undefined;
	return own ?? vscode.workspace.workspaceFolders?.[0];
}
