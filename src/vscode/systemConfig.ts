import * as vscode from 'vscode';
import { detectSystem, type ResolvedConfig, resolveConfig, type SystemInfo } from '../config';
import { describeDetection } from './messages';
import type { Settings } from './settings';
import type { FileSettings } from './settingsModel';

/**
 * Holds what detection found and resolves the configuration for a resource on demand (settings for
 * its folder + environment + detection). Detection runs off the activation path ({@link start}) and
 * again on {@link redetect}. Each warning is logged once, when it appears, not on every re-resolve.
 */
export class SystemConfig implements vscode.Disposable {
	private system: SystemInfo | undefined;
	private detecting: Promise<SystemInfo> | undefined;
	private readonly ready: Promise<void>;
	private markReady!: () => void;
	private readonly changed = new vscode.EventEmitter<void>();
	/** Warnings currently in force, per folder, so a warning is logged when it appears, once. */
	private readonly activeWarnings = new Map<string, Set<string>>();
	private readonly disposables: vscode.Disposable[] = [this.changed];
	private timer: NodeJS.Immediate | undefined;
	/** Fires when detection finished or settings changed: re-read {@link resolveFor}. */
	readonly onDidChange = this.changed.event;

	constructor(
		private readonly settings: Settings,
		private readonly log: vscode.LogOutputChannel,
		private readonly detect: () => Promise<SystemInfo> = () => detectSystem(),
	) {
		this.ready = new Promise((resolve) => {
			this.markReady = resolve;
		});
		this.disposables.push(settings.onDidChange(() => this.changed.fire()));
	}

	/** Starts the first detection after activation has returned. */
	start(): void {
		this.timer = setImmediate(() => {
			this.timer = undefined;
			this.redetect().catch((e) => this.log.error('System detection failed', e));
		});
	}

	/** Resolves once the first detection is done. */
	whenReady(): Promise<void> {
		return this.ready;
	}

	/** True once a detection has finished. */
	isReady(): boolean {
		return this.system !== undefined;
	}

	/** Runs detection (again); concurrent calls share one detection. */
	redetect(): Promise<SystemInfo> {
		if (this.detecting) return this.detecting;
		const started = Date.now();
		this.detecting = this.detect()
			.then((system) => {
				this.system = system;
				this.log.info(describeDetection(system, Date.now() - started));
				this.markReady();
				this.changed.fire();
				return system;
			})
			.finally(() => {
				this.detecting = undefined;
			});
		return this.detecting;
	}

	/**
	 * The configuration for a resource's folder (undefined: the window's), or undefined before the
	 * first detection. New warnings go to the log.
	 */
	resolveFor(resource: vscode.Uri | undefined, fileSettings?: FileSettings): ResolvedConfig | undefined {
		if (!this.system) return undefined;
		const s = fileSettings ?? this.settings.forResource(resource);
		const config = resolveConfig(this.system, {
			settings: { workers: s.workers, chunkSize: s.chunkSize },
			env: process.env,
		});
		this.noteWarnings(resource, [...config.warnings, ...s.warnings, ...s.notices]);
		return config;
	}

	private noteWarnings(resource: vscode.Uri | undefined, warnings: string[]): void {
		const folder = resource ? vscode.workspace.getWorkspaceFolder(resource) : undefined;
		const key = folder?.uri.toString() ?? '';
		const before = this.activeWarnings.get(key) ?? new Set<string>();
		for (const w of warnings) if (!before.has(w)) this.log.warn(w);
		this.activeWarnings.set(key, new Set(warnings));
	}

	dispose(): void {
		if (this.timer) clearImmediate(this.timer);
		for (const d of this.disposables) d.dispose();
	}
}
