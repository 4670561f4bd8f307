// biome-ignore-all lint/suspicious/noTemplateCurlyInString: VS Code-style ${…} variables in settings, on purpose.
/**
 * The extension's wiring and flows in plain Node, against a scripted stand-in for the `vscode` module
 * (the real-VS-Code suite in test/integration covers the host itself). The stand-in answers prompts the
 * way a test script says, so the flows with questions (missing column, foreign folder, dirty file,
 * queue, orders picker) run end to end on the real engine.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import Module from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Manifest } from '../../src/engine/types';
import type { SweepApi } from '../../src/vscode/api';

const root = path.resolve(__dirname, '..', '..', '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));

// ---- the stand-in --------------------------------------------------------------------------------------------------

type Listener<T> = (e: T) => unknown;

class EventEmitter<T> {
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

class Uri {
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

class CancellationTokenSource {
	private readonly emitter = new EventEmitter<void>();
	readonly token = { isCancellationRequested: false, onCancellationRequested: this.emitter.event };
	cancel(): void {
		if (this.token.isCancellationRequested) return;
		this.token.isCancellationRequested = true;
		this.emitter.fire();
	}
}

interface Shown {
	kind: 'info' | 'warning' | 'error';
	text: string;
	items: string[];
	modal: boolean;
}

interface FakeQuickPick {
	title?: string;
	placeholder?: string;
	items: { label: string; description?: string; detail?: string; buttons?: unknown[] }[];
	selectedItems: unknown[];
	accept(label: string): void;
	pressItemButton(label: string): void;
	hide(): void;
}

/** What a test scripts and inspects. */
const fake = {
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
async function setSetting(key: string, value: unknown, scope: 'workspace' | 'global' = 'workspace'): Promise<void> {
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

const vscodeFake = {
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

// ---- helpers -------------------------------------------------------------------------------------------------------

const HEADER = 'trade_id,timestamp,symbol,side,price,qty,venue,condition\n';
const SYMBOLS = ['AAPL', 'MSFT', 'GOOG', 'AMZN', 'TSLA'];

function tradesCsv(rows: number): string {
	const lines = [HEADER];
	for (let i = 0; i < rows; i++) {
		const s = SYMBOLS[(i * 7) % SYMBOLS.length];
		lines.push(
			`T${i},2024-03-11T13:${String(i % 60).padStart(2, '0')}:00.000Z,${s},B,${100 + (i % 50)}.25,${(i % 9) + 1}00,XNAS,F\n`,
		);
	}
	return lines.join('');
}

function writeFile(rel: string, text: string): string {
	const file = path.join(fake.ws, rel);
	fs.mkdirSync(path.dirname(file), { recursive: true });
	fs.writeFileSync(file, text);
	return file;
}

const run = <T>(id: string, ...args: unknown[]) => vscodeFake.commands.executeCommand(id, ...args) as Promise<T>;
const lastShown = () => fake.shown[fake.shown.length - 1];
const until = async (probe: () => unknown, what: string, ms = 20_000) => {
	const end = Date.now() + ms;
	while (!probe()) {
		if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
		await new Promise((r) => setTimeout(r, 5));
	}
};

// ---- the tests -----------------------------------------------------------------------------------------------------

describe('vscode: the extension against a scripted vscode module', function () {
	this.timeout(120_000);
	let ext: { activate: (c: unknown) => SweepApi; deactivate: () => Promise<void> | undefined };
	let api: SweepApi;
	const context = {
		subscriptions: [] as { dispose(): unknown }[],
		workspaceState: new Map<string, unknown>(),
	};
	const state = {
		get: (k: string) => context.workspaceState.get(k),
		update: async (k: string, v: unknown) => void context.workspaceState.set(k, v),
		keys: () => [...context.workspaceState.keys()],
	};
	const originalLoad = (Module as unknown as { _load: (...a: unknown[]) => unknown })._load;
	let activateMs = 0;
	let siLoadedAtActivate = true;
	/** When `require('systeminformation')` was called (cached or not). */
	const siRequests: number[] = [];

	before(() => {
		fake.ws = fs.mkdtempSync(path.join(os.tmpdir(), 'sweep-vscode-'));
		(Module as unknown as { _load: (...a: unknown[]) => unknown })._load = function load(
			request: unknown,
			...rest: unknown[]
		) {
			if (request === 'vscode') return vscodeFake;
			if (request === 'systeminformation') siRequests.push(performance.now());
			return originalLoad.call(this, request, ...rest);
		};
		ext = require('../../src/extension');
		const t0 = performance.now();
		api = ext.activate({ subscriptions: context.subscriptions, workspaceState: state });
		activateMs = performance.now() - t0;
		siLoadedAtActivate = siRequests.length > 0;
	});

	after(async () => {
		await ext.deactivate();
		for (const d of context.subscriptions) d.dispose();
		(Module as unknown as { _load: unknown })._load = originalLoad;
		fs.rmSync(fake.ws, { recursive: true, force: true });
	});

	beforeEach(() => {
		fake.answer = () => undefined;
		fake.quickPick = (qp) => qp.hide();
	});

	afterEach(async () => {
		await api.whenIdle();
		fake.settings.workspace = {};
		fake.settings.global = {};
		fake.configEmitter.fire({ affectsConfiguration: () => true });
		fake.documents = [];
	});

	it('activate() returns at once, with the status bar showing, before detection loads systeminformation', async () => {
		console.log(`      (activate() took ${activateMs.toFixed(2)} ms against the stand-in)`);
		assert.equal(siLoadedAtActivate, false, 'systeminformation is not loaded during activate()');
		assert.equal(fake.statusItems.length, 1);
		const item = fake.statusItems[0];
		assert.equal(item.id, 'sweep.config');
		assert.equal(item.name, 'Sweep');
		assert.equal(item.command, 'sweep.showConfiguration');
		assert.equal(item.visible, true);
		assert.equal(api.config(), undefined, 'detection has not run yet');
		assert.equal(item.text, '$(server-process) Sweep: detecting…');
		await api.whenReady();
		assert.ok(siRequests.length > 0, 'detection loaded systeminformation after activation');
		const config = api.config()!;
		assert.ok(config);
		await until(() => item.text !== '$(server-process) Sweep: detecting…', 'status bar update');
		const w = config.workers;
		assert.equal(
			item.text,
			`$(server-process) ${w} worker${w === 1 ? '' : 's'} · ${config.chunkSize.toLocaleString('en-US')} rows`,
		);
		assert.deepEqual(api.statusBar().text, item.text);
	});

	it('registers exactly the commands of package.json, every disposable in context.subscriptions', () => {
		const declared = (pkg.contributes.commands as { command: string }[]).map((c) => c.command).sort();
		assert.deepEqual([...fake.commands.keys()].sort(), declared);
		assert.ok(context.subscriptions.length >= declared.length + 4);
	});

	it('Show System Configuration writes the SPEC §3 report to the Sweep log line by line and returns it', async () => {
		const before = fake.log.length;
		const report = await run<string>('sweep.showConfiguration');
		assert.match(report, /^System Configuration:\n {2}CPU Cores: \d+\n {2}Workers: \d+\n/);
		assert.deepEqual(
			fake.log.slice(before),
			report.split('\n').map((l) => `[info] ${l}`),
		);
		const again = await run<string>('sweep.redetect');
		assert.equal(again.split('\n')[0], 'System Configuration:');
	});

	it('a bad sweep.workers is ignored, shown in the tooltip and logged once, not on every re-resolve', async () => {
		await setSetting('workers', -1);
		const tip = api.statusBar().tooltip;
		assert.match(tip, /setting sweep\.workers = -1 is not a positive integer; ignored/);
		await setSetting('chunkSize', 50_000);
		await run('sweep.showConfiguration');
		api.config();
		const logged = fake.log.filter((l) => l.startsWith('[warning]') && l.includes('sweep.workers = -1'));
		assert.equal(logged.length, 1, logged.join('\n'));
		assert.match(api.statusBar().text, / · 50,000 rows$/, 'the change applied at once');
	});

	it('extracts a file by Uri, returns the manifest, reports rows and partitions, and the status bar comes back', async () => {
		const input = writeFile('data/trades.csv', tradesCsv(2000));
		const seen: string[] = [];
		const item = fake.statusItems[0];
		const watch = setInterval(() => seen.push(item.text), 1);
		const m = await run<Manifest | undefined>('sweep.extract', Uri.file(input), [Uri.file(input)]);
		clearInterval(watch);
		assert.ok(m, JSON.stringify(api.lastError()));
		assert.equal(m.rowsRead, 2000);
		assert.equal(m.partitions.length, 5);
		assert.equal(m.outDir, path.join(fake.ws, 'data', 'processed', 'trades'));
		assert.ok(fs.existsSync(path.join(m.outDir, 'AAPL.csv')));
		assert.equal(lastShown().text, 'Extracted 2,000 rows into 5 partitions in ' + lastShown().text.split(' in ')[1]);
		assert.match(lastShown().text, /^Extracted 2,000 rows into 5 partitions in \d+\.\d s$/);
		assert.deepEqual(lastShown().items, ['Open Folder', 'Show Summary']);
		assert.ok(
			seen.some((t) => /^\$\(loading~spin\) Sweep \d+%$/.test(t)),
			'spinner during the run',
		);
		assert.doesNotMatch(item.text, /loading/);
		assert.equal(api.lastManifest()?.rowsRead, 2000);
		assert.match(fake.progress[fake.progress.length - 1].title, /Sweep: extracting trades\.csv/);
		assert.ok(
			fake.log.some((l) => l.includes('  partition by: symbol')),
			'settings in force are logged',
		);
	});

	it('the active tab is the target when no Uri is given; other files are refused', async () => {
		const input = writeFile('data/Tab.CSV', tradesCsv(10));
		vscodeFake.window.tabGroups.activeTabGroup.activeTab = { input: { uri: Uri.file(input) } };
		try {
			const m = await run<Manifest | undefined>('sweep.extract', undefined, { notify: false });
			assert.equal(m?.rowsRead, 10);
			assert.equal(m?.outDir, path.join(fake.ws, 'data', 'processed', 'Tab'));
			vscodeFake.window.tabGroups.activeTabGroup.activeTab = { input: { uri: Uri.file(writeFile('notes.txt', 'x')) } };
			assert.equal(await run('sweep.extract'), undefined);
			assert.equal(lastShown().text, 'Sweep extracts .csv and .tsv files; notes.txt is neither.');
			assert.equal(lastShown().kind, 'error');
		} finally {
			vscodeFake.window.tabGroups.activeTabGroup.activeTab = undefined;
		}
		assert.equal(await run('sweep.extract'), undefined);
		assert.match(lastShown().text, /open or select a \.csv or \.tsv file/);
	});

	it('outputDirectory understands ${workspaceFolder} and ${fileBasenameNoExtension}', async () => {
		const input = writeFile('data/vars.csv', tradesCsv(20));
		await setSetting('outputDirectory', '${workspaceFolder}/out/${fileBasenameNoExtension}-parts');
		const m = await run<Manifest | undefined>('sweep.extract', Uri.file(input), { notify: false });
		assert.equal(m?.outDir, path.join(fake.ws, 'out', 'vars-parts'));
		assert.ok(fs.existsSync(path.join(fake.ws, 'out', 'vars-parts', '_manifest.json')));
	});

	it('a missing partition column offers the header columns with samples; the save button stores the pick', async () => {
		const input = writeFile('data/cols.csv', tradesCsv(50));
		await setSetting('partitionBy', ['ticker']);
		let picked: FakeQuickPick | undefined;
		fake.quickPick = (qp) => {
			picked = qp;
			qp.pressItemButton('venue');
		};
		const m = await run<Manifest | undefined>('sweep.extract', Uri.file(input), { notify: false });
		assert.ok(picked, 'a quick pick was shown');
		assert.match(picked.placeholder ?? '', /has no column "ticker"/);
		const symbol = picked.items.find((i) => i.label === 'symbol');
		assert.equal(symbol?.detail, 'e.g. AAPL');
		assert.equal(symbol?.buttons?.length, 1, 'a save button per item');
		assert.ok(m, JSON.stringify(api.lastError()));
		assert.deepEqual(m.partitionBy, ['venue']);
		assert.deepEqual(fake.settings.workspace.partitionBy, ['venue'], 'saved to the workspace settings');
	});

	it('accepting an item uses it once; without a pick or with interactive: false nothing runs', async () => {
		const input = writeFile('data/cols2.csv', tradesCsv(50));
		await setSetting('partitionBy', ['ticker', 'date(ts)']);
		let picks = 0;
		fake.quickPick = (qp) => {
			picks++;
			qp.accept(picks === 1 ? 'symbol' : 'timestamp');
		};
		const m = await run<Manifest | undefined>('sweep.extract', Uri.file(input), { notify: false });
		assert.equal(picks, 2, 'one pick per missing column');
		assert.deepEqual(m?.partitionBy, ['symbol', 'date(timestamp)']);
		assert.deepEqual(fake.settings.workspace.partitionBy, ['ticker', 'date(ts)'], 'not saved');

		fake.quickPick = (qp) => qp.hide();
		assert.equal(await run('sweep.extract', Uri.file(input)), undefined);
		assert.equal(api.lastError()?.code, 'cancelled');

		const shown = fake.shown.length;
		assert.equal(await run('sweep.extract', Uri.file(input), { interactive: false }), undefined);
		assert.equal(api.lastError()?.code, 'missing-column');
		assert.equal(fake.shown[shown].kind, 'error');
		assert.deepEqual(fake.shown[shown].items, ['Show Log']);
		assert.match(fake.shown[shown].text, /^Sweep: Partition column "ticker" is not in the header/);

		const direct = await run<Manifest | undefined>('sweep.extract', Uri.file(input), {
			partitionBy: ['side'],
			notify: false,
		});
		assert.deepEqual(direct?.partitionBy, ['side'], 'the partitionBy option answers it');
	});

	it('a foreign output folder asks before replacing; force answers it', async () => {
		const input = writeFile('data/foreign.csv', tradesCsv(30));
		const junk = writeFile('data/processed/foreign/keep.txt', 'mine');
		assert.equal(await run('sweep.extract', Uri.file(input)), undefined, 'dismissed');
		assert.equal(lastShown().modal, true);
		assert.deepEqual(lastShown().items, ['Replace']);
		assert.match(lastShown().text, /was not written by Sweep/);
		assert.ok(fs.existsSync(junk));
		assert.equal(await run('sweep.extract', Uri.file(input), { force: false }), undefined);
		assert.equal(api.lastError()?.code, 'output-foreign');
		assert.ok(fs.existsSync(junk));
		fake.answer = (m) => (m.modal ? 'Replace' : undefined);
		const m = await run<Manifest | undefined>('sweep.extract', Uri.file(input), { notify: false });
		assert.equal(m?.rowsRead, 30);
		assert.equal(fs.existsSync(junk), false, 'replaced');
	});

	it('a dirty editor is saved first after asking; saveDirty answers it', async () => {
		const input = writeFile('data/dirty.csv', tradesCsv(10));
		let saves = 0;
		fake.documents = [{ uri: Uri.file(input), isDirty: true, save: async () => ++saves > 0 }];
		assert.equal(await run('sweep.extract', Uri.file(input)), undefined);
		assert.match(lastShown().text, /dirty\.csv has unsaved changes/);
		assert.deepEqual(lastShown().items, ['Save and Extract']);
		assert.equal(lastShown().modal, true);
		assert.equal(saves, 0);
		fake.answer = (m) => (m.modal ? 'Save and Extract' : undefined);
		assert.ok(await run('sweep.extract', Uri.file(input), { notify: false }));
		assert.equal(saves, 1);
		fake.answer = () => undefined;
		assert.ok(await run('sweep.extract', Uri.file(input), { notify: false, saveDirty: true }));
		assert.equal(saves, 2);
		assert.equal(await run('sweep.extract', Uri.file(input), { saveDirty: false }), undefined);
		assert.equal(api.lastError()?.code, 'cancelled');
	});

	it('one run per file, one at a time: the same file says so, another is queued', async () => {
		const a = writeFile('big/a.csv', tradesCsv(150_000));
		const b = writeFile('big/b.csv', tradesCsv(100));
		await setSetting('chunkSize', 10_000);
		const first = run<Manifest | undefined>('sweep.extract', Uri.file(a), { notify: false });
		await until(() => api.isRunning(), 'first run');
		assert.equal(await run('sweep.extract', Uri.file(a)), undefined);
		assert.equal(api.lastError()?.code, 'busy');
		assert.equal(lastShown().text, 'Sweep is already extracting a.csv.');
		assert.deepEqual(lastShown().items, ['Show Progress']);

		assert.equal(await run('sweep.extract', Uri.file(b), { ifBusy: 'cancel' }), undefined);
		fake.answer = (m) => (m.items.includes('Queue') ? 'Queue' : undefined);
		const second = run<Manifest | undefined>('sweep.extract', Uri.file(b), { notify: false });
		await until(
			() => fake.shown.some((m) => m.text === 'Sweep is extracting a.csv. Extract b.csv when it is done?'),
			'queue question',
		);
		const [ma, mb] = await Promise.all([first, second]);
		assert.ok(ma && mb);
		assert.ok(Date.parse(mb.startedAt) >= Date.parse(ma.startedAt) + ma.durationMs - 5, 'b ran after a');
		assert.ok(fake.progress.some((p) => p.title === 'Sweep: b.csv is queued'));
		assert.equal(api.isRunning(), false);
	});

	it("the progress notification's Cancel aborts the run: old output kept, no temporary folder", async () => {
		const a = writeFile('big/a.csv', tradesCsv(150_000));
		const outDir = path.join(fake.ws, 'big', 'processed', 'a');
		const before = fs.readFileSync(path.join(outDir, '_manifest.json'), 'utf8');
		await setSetting('chunkSize', 10_000);
		const running = run<Manifest | undefined>('sweep.extract', Uri.file(a));
		await until(() => fake.progress[fake.progress.length - 1]?.title === 'Sweep: extracting a.csv', 'progress');
		const progress = fake.progress[fake.progress.length - 1];
		await until(() => progress.reports.length > 1, 'first report', 30_000);
		progress.source.cancel();
		assert.equal(await running, undefined);
		assert.equal(api.lastError()?.code, 'aborted');
		assert.match(lastShown().text, /cancelled/);
		assert.equal(fs.readFileSync(path.join(outDir, '_manifest.json'), 'utf8'), before);
		assert.deepEqual(
			fs.readdirSync(path.dirname(outDir)).filter((n) => n.includes('.sweep-')),
			[],
		);
		assert.match(progress.reports[1].message ?? '', /^\d+% · [\d,]+ rows · [\d,]+ rows\/s · \d partitions?$/);
	});

	it('orders: the argument, then the picker starting at the last orders file of this workspace', async () => {
		const input = writeFile('data/trades.csv', tradesCsv(500));
		const orders = writeFile('orders/o.csv', 'order_id,symbol\n1,AAPL\n2,MSFT\n3,NOPE\n');
		const m = await run<Manifest | undefined>('sweep.extractWithOrders', Uri.file(input), Uri.file(orders), {
			notify: false,
		});
		assert.equal(m?.orders?.keys, 3);
		assert.deepEqual(
			m?.partitions.map((p) => [p.key[0], p.file]),
			[
				['AAPL', 'AAPL.csv'],
				['MSFT', 'MSFT.csv'],
				['NOPE', null],
			],
		);
		assert.equal(context.workspaceState.get('sweep.lastOrdersFile'), orders);

		fake.openDialog = (o) => [o.defaultUri!];
		const again = await run<Manifest | undefined>('sweep.extractWithOrders', Uri.file(input), [Uri.file(input)]);
		assert.equal(fake.openDialogCalls[fake.openDialogCalls.length - 1].defaultUri?.fsPath, orders);
		assert.equal(again?.orders?.keys, 3);
		assert.match(lastShown().text, / · \d[\d,]* not in orders$/);

		const calls = fake.openDialogCalls.length;
		await setSetting('ordersFile', '${workspaceFolder}/orders/o.csv');
		assert.ok(await run('sweep.extractWithOrders', Uri.file(input), { notify: false }));
		assert.equal(fake.openDialogCalls.length, calls, 'sweep.ordersFile skips the picker');

		fake.openDialog = () => undefined;
		await setSetting('ordersFile', null);
		assert.equal(await run('sweep.extractWithOrders', Uri.file(input)), undefined);
		assert.equal(api.lastError()?.code, 'cancelled');
	});

	it('Restricted Mode ignores workspace outputDirectory/ordersFile with a message', async () => {
		const input = writeFile('data/trades.csv', tradesCsv(40));
		fake.trusted = false;
		try {
			await setSetting('outputDirectory', '/tmp/sweep-workspace-chose-this');
			await setSetting('ordersFile', '/etc/hosts');
			const m = await run<Manifest | undefined>('sweep.extract', Uri.file(input), { notify: false });
			assert.equal(m?.outDir, path.join(fake.ws, 'data', 'processed', 'trades'));
			assert.ok(
				fake.shown.some((s) => /^Sweep: Restricted Mode: the workspace value of sweep\.outputDirectory/.test(s.text)),
			);
			assert.ok(
				fake.shown.some((s) => /^Sweep: Restricted Mode: the workspace value of sweep\.ordersFile/.test(s.text)),
			);
			assert.match(api.statusBar().tooltip, /Restricted Mode/);
			assert.equal(
				await run('sweep.extract', Uri.file(input), { outDir: '/tmp/sweep-evil-out', notify: false }),
				undefined,
			);
			assert.equal(api.lastError()?.code, 'output-invalid');
			assert.equal(fs.existsSync('/tmp/sweep-evil-out'), false);
		} finally {
			fake.trusted = true;
		}
	});

	it('Show Summary renders the manifest and opens only the files it lists', async () => {
		const input = writeFile('data/trades.csv', tradesCsv(100));
		const m = await run<Manifest | undefined>('sweep.extract', Uri.file(input), { notify: false });
		assert.ok(m?.outDir);
		await run('sweep.showSummary', Uri.file(path.join(m.outDir, '_manifest.json')), [Uri.file('x')]);
		const panel = fake.panels[fake.panels.length - 1];
		assert.match(panel.webview.html, /Content-Security-Policy" content="default-src 'none'; style-src 'nonce-/);
		assert.equal(api.summary()?.html, panel.webview.html);
		assert.equal((panel.webview.options as { localResourceRoots: unknown[] }).localResourceRoots.length, 0);
		panel.webview.receive({ type: 'open', file: 'AAPL.csv' });
		await until(() => fake.executed.some((c) => c.id === 'vscode.open'), 'vscode.open');
		const open = fake.executed.find((c) => c.id === 'vscode.open')!;
		assert.equal((open.args[0] as Uri).fsPath, path.join(m.outDir, 'AAPL.csv'));
		assert.equal(await api.openFromSummary('../../../etc/passwd'), false);
		assert.equal(await api.openFromSummary('nope.csv'), false);

		// Without an argument: the last run's summary; a folder argument means its _manifest.json.
		await run('sweep.showSummary');
		await run('sweep.showSummary', m.outDir);
		assert.equal(fake.panels.length, 1, 'one panel, reused');
		await run('sweep.showSummary', path.join(fake.ws, 'nothing-here'));
		assert.equal(lastShown().kind, 'error');
		assert.match(lastShown().text, /Cannot read .*_manifest\.json/);
	});

	it('errors show the one-line cause with Show Log; the log has the details', async () => {
		const missing = path.join(fake.ws, 'data', 'missing.csv');
		assert.equal(await run('sweep.extract', Uri.file(missing)), undefined);
		assert.equal(api.lastError()?.code, 'input-missing');
		assert.equal(lastShown().kind, 'error');
		assert.deepEqual(lastShown().items, ['Show Log']);
		assert.ok(!lastShown().text.includes('\n'));
		assert.ok(fake.log.some((l) => l.startsWith('[error] [input-missing]')));
	});

	it('deactivate() cancels a running extraction and resolves when it has stopped', async () => {
		const a = writeFile('big/a.csv', tradesCsv(150_000));
		await setSetting('chunkSize', 10_000);
		const running = run<Manifest | undefined>('sweep.extract', Uri.file(a), { notify: false });
		await until(
			() => api.isRunning() && fake.progress[fake.progress.length - 1]?.reports.length > 1,
			'run under way',
			30_000,
		);
		await ext.deactivate();
		assert.equal(api.isRunning(), false);
		assert.equal(await running, undefined);
		assert.equal(api.lastError()?.code, 'aborted');
		assert.deepEqual(
			fs.readdirSync(path.join(fake.ws, 'big', 'processed')).filter((n) => n.includes('.sweep-')),
			[],
		);
	});
});
