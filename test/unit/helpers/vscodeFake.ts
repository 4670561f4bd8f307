// biome-ignore-all lint/suspicious/noTemplateCurlyInString: VS Code-style ${…} variables in settings, on purpose.
/**
 * A scripted stand-in for the `vscode` module, for the extension's tests in plain Node (vscode-*.test.ts; the
 * real-VS-Code suite in test/integration covers the host itself). It answers prompts the way a test script says
 * (`fake.answer`, `fake.quickPick`, `fake.openDialog`), so the flows with questions run end to end on the real
 * engine. {@link describeExtension} (through {@link useExtension}) activates the extension against it for one `describe`.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import Module from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import type { SweepApi } from '../../../src/vscode/api';
import { REPO_ROOT } from './fsutil';

const root = REPO_ROOT;
/** package.json, as the stand-in reads its settings' defaults and the tests its commands. */
export const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));

// ---- the stand-in --------------------------------------------------------------------------------------------------

type Listener<T> = (e: T) => unknown;

export class EventEmitter<T> {
	private listeners = new Set<Listener<T>>();
	event = (listener: Listener<T>) => {
		this.listeners.add(listener);
		return { dispose: () => this.listeners.delete(listener) };
	};
	fire(e: T): void {
		for (const l of [...this.listeners]) l(e);
	}
	dispose(): void {
		this.listeners.clear();
	}
}

export class Uri {
	private constructor(
		readonly scheme: string,
		readonly fsPath: string,
	) {}
	get path(): string {
		return this.fsPath;
	}
	static file(p: string): Uri {
		return new Uri('file', path.resolve(p));
	}
	static parse(s: string): Uri {
		const m = /^([a-z][a-z0-9+.-]*):(.*)$/i.exec(s);
		return new Uri(m?.[1] ?? 'file', m?.[2] ?? s);
	}
	toString(): string {
		return `${this.scheme}://${this.fsPath}`;
	}
}

export class CancellationTokenSource {
	private readonly emitter = new EventEmitter<void>();
	readonly token = { isCancellationRequested: false, onCancellationRequested: this.emitter.event };
	cancel(): void {
		if (this.token.isCancellationRequested) return;
		this.token.isCancellationRequested = true;
		this.emitter.fire();
	}
}

export interface Shown {
	kind: 'info' | 'warning' | 'error';
	text: string;
	items: string[];
	modal: boolean;
}

export interface FakeQuickPick {
	title?: string;
	placeholder?: string;
	items: { label: string; description?: string; detail?: string; buttons?: unknown[] }[];
	selectedItems: unknown[];
	accept(label: string): void;
	pressItemButton(label: string): void;
	hide(): void;
}

/** What a test scripts and inspects. */
export const fake = {
	ws: '',
	trusted: true,
	/** settings.json per scope (keys without `sweep.`). */
	settings: { global: {} as Record<string, unknown>, workspace: {} as Record<string, unknown> },
	shown: [] as Shown[],
	/** Answers a message; default: dismiss (undefined). */
	answer: (_m: Shown): string | undefined => undefined,
	quickPick: (_qp: FakeQuickPick): void => undefined,
	openDialog: (_options: { defaultUri?: Uri }): Uri[] | undefined => undefined,
	openDialogCalls: [] as { defaultUri?: Uri }[],
	progress: [] as {
		title: string;
		source: CancellationTokenSource;
		reports: { message?: string; increment?: number }[];
	}[],
	executed: [] as { id: string; args: unknown[] }[],
	documents: [] as { uri: Uri; isDirty: boolean; save: () => Promise<boolean> }[],
	log: [] as string[],
	statusItems: [] as {
		id: string;
		name?: string;
		text: string;
		tooltip: unknown;
		command?: string;
		visible: boolean;
	}[],
	panels: [] as {
		title: string;
		webview: { html: string; options: unknown; receive: (m: unknown) => void };
		disposed: boolean;
	}[],
	configEmitter: new EventEmitter<{ affectsConfiguration: (s: string) => boolean }>(),
	commands: new Map<string, (...args: unknown[]) => unknown>(),
};

const defaults: Record<string, unknown> = {};
for (const [k, v] of Object.entries(pkg.contributes.configuration.properties as Record<string, { default: unknown }>)) {
	defaults[k.replace(/^sweep\./, '')] = v.default;
}

const restricted = new Set<string>(pkg.capabilities.untrustedWorkspaces.restrictedConfigurations);

/** Like VS Code: in Restricted Mode, workspace values of restricted settings are left out of get() and inspect(). */
function workspaceValue(key: string): unknown {
	return !fake.trusted && restricted.has(`sweep.${key}`) ? undefined : fake.settings.workspace[key];
}

function getConfiguration(section: string) {
	assert.equal(section, 'sweep');
	return {
		get: (key: string) => workspaceValue(key) ?? fake.settings.global[key] ?? defaults[key],
		inspect: (key: string) => ({
			key: `sweep.${key}`,
			defaultValue: defaults[key],
			globalValue: fake.settings.global[key],
			workspaceValue: workspaceValue(key),
		}),
		update: async (key: string, value: unknown, target: number) => {
			const scope = target === 1 ? fake.settings.global : fake.settings.workspace;
			if (value === undefined) delete scope[key];
			else scope[key] = value;
			if (target !== 1) {
				// The workspace's .vscode/settings.json, as VS Code writes it (with a comment, which JSONC allows).
				const flat = Object.fromEntries(Object.entries(fake.settings.workspace).map(([k, v]) => [`sweep.${k}`, v]));
				fs.mkdirSync(path.join(fake.ws, '.vscode'), { recursive: true });
				fs.writeFileSync(
					path.join(fake.ws, '.vscode', 'settings.json'),
					`// workspace\n${JSON.stringify(flat, null, 2)}\n`,
				);
			}
			fake.configEmitter.fire({ affectsConfiguration: (s: string) => s === 'sweep' || s === `sweep.${key}` });
		},
	};
}

/** Changes a setting as a user editing settings.json would (the change event included). */
export async function setSetting(
	key: string,
	value: unknown,
	scope: 'workspace' | 'global' = 'workspace',
): Promise<void> {
	await getConfiguration('sweep').update(key, value, scope === 'global' ? 1 : 2);
}

function show(kind: Shown['kind']) {
	return (text: string, ...rest: unknown[]) => {
		const options = typeof rest[0] === 'object' && rest[0] !== null ? (rest.shift() as { modal?: boolean }) : {};
		const m: Shown = { kind, text, items: rest as string[], modal: options.modal === true };
		fake.shown.push(m);
		return Promise.resolve(fake.answer(m));
	};
}

const folder = () => ({ uri: Uri.file(fake.ws), name: path.basename(fake.ws), index: 0 });

export const vscodeFake = {
	Uri,
	EventEmitter,
	CancellationTokenSource,
	MarkdownString: class {
		constructor(
			public value = '',
			public supportThemeIcons = false,
		) {}
	},
	ThemeColor: class {
		constructor(public id: string) {}
	},
	ThemeIcon: class {
		constructor(public id: string) {}
	},
	TabInputTextDiff: class {},
	StatusBarAlignment: { Left: 1, Right: 2 },
	ProgressLocation: { SourceControl: 1, Window: 10, Notification: 15 },
	ConfigurationTarget: { Global: 1, Workspace: 2, WorkspaceFolder: 3 },
	ViewColumn: { Active: -1, Beside: -2, One: 1 },
	UIKind: { Desktop: 1, Web: 2 },
	env: { remoteName: undefined, uiKind: 1 },
	workspace: {
		get isTrusted() {
			return fake.trusted;
		},
		get workspaceFolders() {
			return [folder()];
		},
		workspaceFile: undefined,
		get textDocuments() {
			return fake.documents;
		},
		getWorkspaceFolder: (uri: Uri) => {
			const rel = path.relative(fake.ws, uri.fsPath);
			return rel.startsWith('..') || path.isAbsolute(rel) ? undefined : folder();
		},
		getConfiguration,
		onDidChangeConfiguration: fake.configEmitter.event,
		onDidGrantWorkspaceTrust: new EventEmitter<void>().event,
		onDidChangeWorkspaceFolders: new EventEmitter<void>().event,
	},
	window: {
		createOutputChannel: (name: string, options: { log?: boolean }) => {
			assert.equal(name, 'Sweep');
			assert.equal(options.log, true);
			const line = (level: string) => (m: unknown) => {
				fake.log.push(`[${level}] ${m instanceof Error ? `${m.message}\n${m.stack}` : String(m)}`);
			};
			return {
				name,
				info: line('info'),
				warn: line('warning'),
				error: line('error'),
				debug: line('debug'),
				trace: line('trace'),
				appendLine: line('info'),
				show: () => undefined,
				dispose: () => undefined,
			};
		},
		createStatusBarItem: (id: string) => {
			const item = {
				id,
				name: undefined as string | undefined,
				text: '',
				tooltip: undefined as unknown,
				command: undefined as string | undefined,
				backgroundColor: undefined,
				visible: false,
				show() {
					item.visible = true;
				},
				hide() {
					item.visible = false;
				},
				dispose() {
					item.visible = false;
				},
			};
			fake.statusItems.push(item);
			return item;
		},
		showInformationMessage: show('info'),
		showWarningMessage: show('warning'),
		showErrorMessage: show('error'),
		withProgress: async (
			options: { title: string; cancellable: boolean },
			task: (p: { report: (v: object) => void }, token: unknown) => Promise<unknown>,
		) => {
			assert.equal(options.cancellable, true);
			const entry = { title: options.title, source: new CancellationTokenSource(), reports: [] as object[] };
			fake.progress.push(entry);
			return task({ report: (v) => entry.reports.push(v) }, entry.source.token);
		},
		createQuickPick: () => {
			const accept = new EventEmitter<void>();
			const hide = new EventEmitter<void>();
			const button = new EventEmitter<{ item: unknown; button: unknown }>();
			const qp = {
				title: undefined,
				placeholder: undefined,
				matchOnDescription: false,
				items: [] as FakeQuickPick['items'],
				selectedItems: [] as unknown[],
				onDidAccept: accept.event,
				onDidHide: hide.event,
				onDidTriggerItemButton: button.event,
				show: () => setImmediate(() => fake.quickPick(qp)),
				dispose: () => hide.fire(),
				accept(label: string) {
					qp.selectedItems = qp.items.filter((i) => i.label === label);
					accept.fire();
				},
				pressItemButton(label: string) {
					const item = qp.items.find((i) => i.label === label)!;
					button.fire({ item, button: item.buttons?.[0] });
				},
				hide: () => hide.fire(),
			};
			return qp;
		},
		showOpenDialog: async (options: { defaultUri?: Uri }) => {
			fake.openDialogCalls.push(options);
			return fake.openDialog(options);
		},
		registerCustomEditorProvider: () => ({ dispose: () => undefined }),
		createWebviewPanel: (_type: string, title: string, _column: unknown, options: unknown) => {
			const receive = new EventEmitter<unknown>();
			const dispose = new EventEmitter<void>();
			const panel = {
				title,
				webview: { html: '', options, onDidReceiveMessage: receive.event, receive: (m: unknown) => receive.fire(m) },
				disposed: false,
				reveal: () => undefined,
				onDidDispose: dispose.event,
				dispose: () => {
					panel.disposed = true;
					dispose.fire();
				},
			};
			fake.panels.push(panel);
			return panel;
		},
		tabGroups: {
			activeTabGroup: { activeTab: undefined as { input: unknown } | undefined },
			onDidChangeTabs: new EventEmitter<void>().event,
			onDidChangeTabGroups: new EventEmitter<void>().event,
		},
		activeTextEditor: undefined,
		onDidChangeActiveTextEditor: new EventEmitter<void>().event,
	},
	commands: {
		registerCommand: (id: string, fn: (...args: unknown[]) => unknown) => {
			assert.ok(!fake.commands.has(id), `${id} registered once`);
			fake.commands.set(id, fn);
			return { dispose: () => fake.commands.delete(id) };
		},
		executeCommand: async (id: string, ...args: unknown[]) => {
			const own = fake.commands.get(id);
			if (own) return own(...args);
			fake.executed.push({ id, args });
			return undefined;
		},
	},
};

// ---- helpers for the tests -------------------------------------------------------------------------------------------------------

const HEADER = 'trade_id,timestamp,symbol,side,price,qty,venue,condition\n';
const SYMBOLS = ['AAPL', 'MSFT', 'GOOG', 'AMZN', 'TSLA'];

export function tradesCsv(rows: number): string {
	const lines = [HEADER];
	for (let i = 0; i < rows; i++) {
		const s = SYMBOLS[(i * 7) % SYMBOLS.length];
		lines.push(
			`T${i},2024-03-11T13:${String(i % 60).padStart(2, '0')}:00.000Z,${s},B,${100 + (i % 50)}.25,${(i % 9) + 1}00,XNAS,F\n`,
		);
	}
	return lines.join('');
}

export function writeFile(rel: string, text: string): string {
	const file = path.join(fake.ws, rel);
	fs.mkdirSync(path.dirname(file), { recursive: true });
	fs.writeFileSync(file, text);
	return file;
}

export const run = <T>(id: string, ...args: unknown[]) => vscodeFake.commands.executeCommand(id, ...args) as Promise<T>;
export const lastShown = () => fake.shown[fake.shown.length - 1];
export const until = async (probe: () => unknown, what: string, ms = 20_000) => {
	const end = Date.now() + ms;
	while (!probe()) {
		if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
		await new Promise((r) => setTimeout(r, 5));
	}
};

// ---- the tests -----------------------------------------------------------------------------------------------------

// ---- activating the extension against the stand-in -------------------------------------------------------------------

/** The activated extension of one `describe`, filled in by its `before` hook. */
export interface Harness {
	ext: { activate: (c: unknown) => SweepApi; deactivate: () => Promise<void> | undefined };
	api: SweepApi;
	context: { subscriptions: { dispose(): unknown }[]; workspaceState: Map<string, unknown> };
	/** How long activate() took, and whether it loaded systeminformation. */
	activateMs: number;
	siLoadedAtActivate: boolean;
	/** When `require('systeminformation')` was called (cached or not). */
	siRequests: number[];
}

/**
 * Registers the hooks of a `describe` that tests the extension: before, a fresh workspace folder and the extension
 * activated with `vscode` resolved to the stand-in; after each test, idle and settings back to their defaults;
 * after, deactivated and cleaned up.
 */
export function useExtension(): Harness {
	const h = {
		context: { subscriptions: [], workspaceState: new Map<string, unknown>() },
		activateMs: 0,
		siLoadedAtActivate: true,
		siRequests: [],
	} as unknown as Harness;
	const state = {
		get: (k: string) => h.context.workspaceState.get(k),
		update: async (k: string, v: unknown) => void h.context.workspaceState.set(k, v),
		keys: () => [...h.context.workspaceState.keys()],
	};
	const loader = Module as unknown as { _load: (...a: unknown[]) => unknown };
	const originalLoad = loader._load;

	before(() => {
		fake.ws = fs.mkdtempSync(path.join(os.tmpdir(), 'sweep-vscode-'));
		fake.shown = [];
		fake.progress = [];
		fake.executed = [];
		fake.log = [];
		fake.statusItems = [];
		fake.panels = [];
		fake.openDialogCalls = [];
		loader._load = function load(request: unknown, ...rest: unknown[]) {
			if (request === 'vscode') return vscodeFake;
			if (request === 'systeminformation') h.siRequests.push(performance.now());
			return originalLoad.call(this, request, ...rest);
		};
		h.ext = require('../../../src/extension');
		const t0 = performance.now();
		h.api = h.ext.activate({ subscriptions: h.context.subscriptions, workspaceState: state });
		h.activateMs = performance.now() - t0;
		h.siLoadedAtActivate = h.siRequests.length > 0;
	});

	after(async () => {
		await h.ext.deactivate();
		for (const d of h.context.subscriptions) d.dispose();
		loader._load = originalLoad;
		fs.rmSync(fake.ws, { recursive: true, force: true });
	});

	beforeEach(() => {
		fake.answer = () => undefined;
		fake.quickPick = (qp) => qp.hide();
	});

	afterEach(async () => {
		await h.api.whenIdle();
		fake.settings.workspace = {};
		fake.settings.global = {};
		fake.configEmitter.fire({ affectsConfiguration: () => true });
		fake.documents = [];
	});
	return h;
}

/**
 * A `describe` of the extension in plain Node, against the scripted `vscode` stand-in, on the real engine: the
 * hooks of {@link useExtension} and a timeout long enough for real extractions.
 */
export function describeExtension(title: string, tests: (h: Harness) => void): void {
	describe(title, function () {
		this.timeout(120_000);
		tests(useExtension());
	});
}
