import * as vscode from 'vscode';
import { createApi, type SweepApi } from './vscode/api';
import { registerCommands } from './vscode/commands';
import { Extractions } from './vscode/extraction';
import { Previews, registerPreview } from './vscode/preview';
import { Settings } from './vscode/settings';
import { StatusBar } from './vscode/statusBar';
import { SummaryView } from './vscode/summaryView';
import { SystemConfig } from './vscode/systemConfig';
import { Ui } from './vscode/ui';

let shutdown: (() => Promise<void>) | undefined;

/**
 * Wires Sweep up and returns at once: system detection (which loads `systeminformation`) starts
 * after activation and is not awaited here.
 */
export function activate(context: vscode.ExtensionContext): SweepApi {
	const log = vscode.window.createOutputChannel('Sweep', { log: true });
	const ui = new Ui(log);
	const settings = new Settings();
	const config = new SystemConfig(settings, log);
	const statusBar = new StatusBar(config, settings);
	const summary = new SummaryView(ui);
	const extractions = new Extractions({ ui, settings, config, statusBar, summary, state: context.workspaceState });
	const previews = new Previews({ ui, settings, config, extractions, summary });
	context.subscriptions.push(
		settings,
		config,
		statusBar,
		summary,
		extractions,
		...registerCommands({ ui, config, extractions, summary }),
		previews,
		...registerPreview(previews),
		log,
	);
	shutdown = () => extractions.shutdown();
	config.start();
	return createApi({ ui, config, statusBar, extractions, summary, previews });
}

/** Cancels a running extraction and resolves once it has stopped (its temporary folder removed). */
export function deactivate(): Promise<void> | undefined {
	const stop = shutdown;
	shutdown = undefined;
	return stop?.();
}
