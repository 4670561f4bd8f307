#!/usr/bin/env node
/**
 * The browser side of Sweep's e2e harness: drives a code-server workbench in Debian's Chromium with
 * playwright-core (no browser download). Started by run.sh, never on its own; the system Node is enough.
 *
 *   node runner.mjs suite --port P --folder DIR --ext DIR --tests FILE.js --work DIR [--timeout-ms N]
 *     Opens the workbench with ?payload= naming the extension under development and its mocha entry. code-server
 *     runs the suite in its Node extension host (with --vscode-option enable-smoke-test-driver) and the workbench
 *     calls window.codeAutomationExit(code) at the end. Exit status: the suite's code, or 3 on a time-out.
 *
 *   node runner.mjs ui --port P --folder DIR --work DIR --csv REL --shots DIR [--timeout-ms N]
 *     Opens a workbench where Sweep is installed (code-server without the smoke-test driver, which would hide
 *     notification toasts) and uses it as a person would: reads the status bar, hovers it,
 *     runs "Sweep: Extract Partitions" from F1 on an open CSV, watches the progress notification, the finishing
 *     notification and the summary view, then runs the command from the Explorer's context menu; then the
 *     preview's steps (previewUiSteps: a ≥ 500 MB file from the Explorer, its profile, a run from the panel). Saves PNGs in
 *     --shots and writes ui-result.json (steps passed / failed) and ui-report.txt into --work.
 *
 * Both write chromium.pid into --work as soon as the browser starts, so run.sh can kill its process group
 * whatever happens here.
 */
// biome-ignore-all lint/performance/useDomNodeTextContent: Playwright's locator.innerText() (the text a person sees), not a DOM node's.
import { closeSync, mkdirSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';

const { positionals, values: opt } = parseArgs({
	allowPositionals: true,
	options: {
		port: { type: 'string' },
		folder: { type: 'string' },
		ext: { type: 'string' },
		tests: { type: 'string' },
		work: { type: 'string' },
		csv: { type: 'string' },
		shots: { type: 'string' },
		'timeout-ms': { type: 'string', default: '600000' },
	},
});
const mode = positionals[0];
const timeoutMs = Number(opt['timeout-ms']);
const authority = `127.0.0.1:${opt.port}`;
const t0 = Date.now();
const log = (...a) => console.log(`[runner ${mode} +${((Date.now() - t0) / 1000).toFixed(1)}s]`, ...a);

const CHROMIUM_ARGS = [
	'--headless',
	'--no-sandbox',
	'--disable-gpu',
	'--disable-quic',
	'--no-first-run',
	'--disable-background-networking',
	'--disable-component-update',
	'--disable-sync',
	'--disable-dev-shm-usage',
	'--disable-crash-reporter',
	'--disable-breakpad',
];

/** Resolves after ms milliseconds. */
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls code-server's health endpoint until it answers (it starts in a few seconds). */
async function waitForServer(deadlineMs) {
	const until = Date.now() + deadlineMs;
	for (;;) {
		try {
			const res = await fetch(`http://${authority}/healthz`);
			if (res.ok) return;
		} catch {
			// not listening yet
		}
		if (Date.now() > until) throw new Error(`code-server did not answer on ${authority} within ${deadlineMs} ms`);
		await sleep(250);
	}
}

/**
 * Starts Chromium and records its pid (Playwright starts it as the leader of its own process group). A browser
 * server is used because it, unlike a plain launch, tells the pid.
 */
async function launch() {
	const server = await chromium.launchServer({
		executablePath: '/usr/bin/chromium',
		headless: true,
		args: CHROMIUM_ARGS,
	});
	const pid = server.process()?.pid;
	if (pid) writeFileSync(join(opt.work, 'chromium.pid'), `${pid}\n`);
	const connected = await chromium.connect(server.wsEndpoint());
	const context = await connected.newContext({ viewport: { width: 1440, height: 900 }, deviceScaleFactor: 1 });
	const page = await context.newPage();
	const consoleLog = [];
	page.on('console', (m) => consoleLog.push(`[${m.type()}] ${m.text()}`));
	page.on('pageerror', (e) => consoleLog.push(`[pageerror] ${e.message}`));
	const browser = {
		close: async () => {
			await connected.close().catch(() => {});
			await server.close();
		},
	};
	return { browser, page, consoleLog };
}

/** The workbench URL for a folder with a smoke-test payload (honoured only with enable-smoke-test-driver). */
function workbenchUrl(payload) {
	const remote = (p) => `vscode-remote://${authority}${p}`;
	const base = `http://${authority}/?folder=${encodeURIComponent(opt.folder)}`;
	if (payload.length === 0) return base;
	const pairs = payload.map(([k, v]) => [k, remote(v)]);
	return `${base}&payload=${encodeURIComponent(JSON.stringify(pairs))}`;
}

async function runSuite() {
	await waitForServer(60_000);
	const { browser, page, consoleLog } = await launch();
	let finish;
	const finished = new Promise((r) => {
		finish = r;
	});
	await page.exposeFunction('codeAutomationExit', (code) => finish({ code }));
	const url = workbenchUrl([
		['extensionDevelopmentPath', opt.ext],
		['extensionTestsPath', opt.tests],
	]);
	log('open', url);
	await page.goto(url);
	let timer;
	const timedOut = new Promise((r) => {
		timer = setTimeout(() => r({ code: 'TIMEOUT' }), timeoutMs);
	});
	const res = await Promise.race([finished, timedOut]);
	clearTimeout(timer);
	log('codeAutomationExit:', res.code);
	writeFileSync(join(opt.work, 'browser-console.log'), consoleLog.join('\n') + '\n');
	if (res.code === 'TIMEOUT') {
		await page.screenshot({ path: join(opt.work, 'timeout.png') }).catch(() => {});
		log(`the suite did not finish within ${timeoutMs} ms (screenshot: timeout.png)`);
	}
	await browser.close();
	return res.code === 'TIMEOUT' ? 3 : Number(res.code) || 0;
}

// ---------------------------------------------------------------------------------------------------------------
// The UI test: each step is named, timed and recorded; a failing step takes a screenshot and the later steps that
// depend on it are still tried where they can be (so one run shows as much as possible).

const steps = [];
const reportLines = [];
/** The page under test, for a screenshot when a step fails. */
let uiPage;
const report = (line) => {
	reportLines.push(line);
	log(line);
};

async function step(name, fn) {
	const started = Date.now();
	try {
		const note = await fn();
		steps.push({ name, ok: true, ms: Date.now() - started });
		report(`  ✔ ${name}${note ? ` — ${note}` : ''} (${Date.now() - started} ms)`);
		return true;
	} catch (e) {
		steps.push({ name, ok: false, ms: Date.now() - started, error: String(e?.message ?? e) });
		const picture = `failed-step-${steps.length}.png`;
		await uiPage?.screenshot({ path: join(opt.shots, picture) }).catch(() => {});
		report(`  ✘ ${name}: ${String(e?.message ?? e).split('\n')[0]} (screenshot ${picture})`);
		return false;
	}
}

/** The Sweep status bar entry: the item registered with id sweep.config (its element id ends with that). */
const statusItem = (page) => page.locator('.statusbar-item[id$="sweep.config"]').first();

/** Runs a command through F1 by typing its title, as a person would. */
async function runFromPalette(page, title) {
	const input = page.locator('.quick-input-widget input');
	// A person whose F1 did not open the palette, or whose palette closed before they could type, presses it again:
	// on a loaded machine the first key press after a click can be lost (seen once in a CI-like run: the editor
	// showed its "file is very large" placeholder and F1 opened nothing within 10 s), and once the palette opened and
	// was gone before the text went in (`locator.fill` timed out after 30 s, 2026-12-03). Each retry is logged; the
	// third miss fails the step.
	for (let attempt = 1; ; attempt++) {
		await page
			.locator('.monaco-workbench')
			.click({ position: { x: 700, y: 450 } })
			.catch(() => {});
		await page.keyboard.press('F1');
		const typed = await input
			.waitFor({ state: 'visible', timeout: 10_000 })
			.then(() => input.fill(`>${title}`, { timeout: 10_000 }))
			.then(() => true)
			.catch((e) => {
				if (attempt === 3) throw e;
				return false;
			});
		if (typed) break;
		log(
			`F1 opened no command palette, or it closed before the command was typed (attempt ${attempt}); pressing it again`,
		);
		await page.keyboard.press('Escape');
	}
	const row = page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first();
	await row.waitFor({ state: 'visible', timeout: 10_000 });
	await page.keyboard.press('Enter');
}

/** Opens a workspace file through Quick Open (Ctrl+P), the way a person would. */
async function openFile(page, rel) {
	await page.keyboard.press('Control+P');
	const input = page.locator('.quick-input-widget input');
	await input.waitFor({ state: 'visible', timeout: 10_000 });
	await input.fill(rel);
	const base = rel.split('/').pop();
	await page.locator('.quick-input-list .monaco-list-row', { hasText: base }).first().waitFor({ timeout: 15_000 });
	await page.keyboard.press('Enter');
	await page.locator('.tabs-container .tab', { hasText: base }).first().waitFor({ timeout: 15_000 });
}

async function shot(page, name, clip) {
	const path = join(opt.shots, name);
	await page.screenshot(clip ? { path, clip } : { path });
	return path;
}

/** The window's bottom-right corner from an element (a notification) down to the status bar. */
async function bottomRight(page, locator) {
	const b = await locator.boundingBox();
	if (!b) throw new Error('element has no box');
	const vp = page.viewportSize();
	const x = Math.max(0, b.x - 24);
	const y = Math.max(0, b.y - 24);
	return { x, y, width: vp.width - x, height: vp.height - y };
}

async function runUi() {
	mkdirSync(opt.shots, { recursive: true });
	await waitForServer(60_000);
	const { browser, page, consoleLog } = await launch();
	uiPage = page;
	const guard = setTimeout(() => {
		report(`  ✘ UI test time-out after ${timeoutMs} ms`);
		steps.push({ name: 'UI test finished in time', ok: false });
		finishUi(browser, consoleLog).finally(() => process.exit(3));
	}, timeoutMs);
	const csv = opt.csv;
	const csvBase = csv.split('/').pop();
	report('UI test (Playwright in Chromium, code-server workbench)');
	// Sweep is installed in this code-server (from the .vsix); no payload, no smoke-test driver (which hides toasts).
	const url = workbenchUrl([]);
	log('open', url);
	await page.goto(url);

	const loaded = await step('workbench loads with the Explorer', async () => {
		await page.locator('.monaco-workbench').waitFor({ timeout: 90_000 });
		await page.locator('.explorer-folders-view .monaco-list-row').first().waitFor({ timeout: 90_000 });
	});

	await step('status bar shows the Sweep item ("N worker(s) · N rows")', async () => {
		const item = statusItem(page);
		await item.waitFor({ state: 'visible', timeout: 60_000 });
		// The text appears once detection is done; until then it may read differently.
		const re = /\d+ workers? · [\d,]+ rows/;
		const until = Date.now() + 30_000;
		let text = '';
		while (Date.now() < until) {
			text = (await item.innerText()).trim();
			if (re.test(text)) break;
			await sleep(250);
		}
		if (!re.test(text)) throw new Error(`status bar text is ${JSON.stringify(text)}`);
		return JSON.stringify(text);
	});

	await step('hovering the status bar item shows its tooltip (cores, memory, sources)', async () => {
		const item = statusItem(page);
		await item.hover();
		const hover = page
			.locator('.monaco-hover, .workbench-hover, .custom-hover')
			.filter({ hasText: /[Cc]ores/ })
			.first();
		await hover.waitFor({ state: 'visible', timeout: 15_000 });
		await sleep(300);
		const text = (await hover.innerText()).replace(/\s+/g, ' ').trim();
		// Clip from the tooltip's top to the bottom of the window, wide enough to show the status bar too.
		const h = await hover.boundingBox();
		const s = await item.boundingBox();
		const vp = page.viewportSize();
		const left = Math.max(0, Math.min(h.x, s.x) - 40);
		const right = Math.min(vp.width, Math.max(h.x + h.width, s.x + s.width) + 40);
		const top = Math.max(0, h.y - 24);
		await shot(page, 'status-bar-tooltip.png', { x: left, y: top, width: right - left, height: vp.height - top });
		await shot(page, 'status-bar-tooltip-full.png');
		return JSON.stringify(text.slice(0, 160));
	});
	await page.mouse.move(700, 300);

	await step('Show System Configuration from F1 writes the report to the "Sweep" output channel', async () => {
		await runFromPalette(page, 'Sweep: Show System Configuration');
		const out = page.locator('.part.panel .monaco-editor .view-lines', { hasText: 'System Configuration:' });
		await out.first().waitFor({ state: 'visible', timeout: 20_000 });
		const text = (await out.first().innerText()).replace(/\u00a0/g, ' ');
		for (const label of ['CPU Cores:', 'Workers:', 'Available Memory:', 'Chunk Size:', 'Parallel Processing:']) {
			if (!text.includes(label)) throw new Error(`output channel lacks ${JSON.stringify(label)}: ${text}`);
		}
		await shot(page, 'output-channel-report.png');
		// Close the panel again so the later screenshots are not crowded.
		await page.keyboard.press('Control+J');
	});

	let opened = false;
	if (loaded) {
		opened = await step(`open ${csv} with Quick Open`, async () => openFile(page, csv));
	}

	const progressToast = page.locator('.notification-toast', { hasText: `Sweep: extracting ${csvBase}` }).first();
	const finishToast = page
		.locator('.notification-toast', { hasText: /Extracted [\d,]+ rows? into [\d,]+ partitions?/ })
		.first();

	const progressShown = await step(
		'F1 → "Sweep: Extract Partitions" → Enter shows the progress notification',
		async () => {
			if (!opened) throw new Error('the CSV is not open');
			await runFromPalette(page, 'Sweep: Extract Partitions');
			await progressToast.waitFor({ state: 'visible', timeout: 30_000 });
			// Wait for the first figures (percent, rows, rows/s, partitions) before the picture.
			const figures = /\d+% · [\d,]+ rows? · [\d,]+ rows\/s · [\d,]+ partitions?/;
			await page.waitForFunction(
				([sel, re]) => [...document.querySelectorAll(sel)].some((e) => new RegExp(re).test(e.textContent ?? '')),
				['.notification-toast', figures.source],
				{ timeout: 30_000 },
			);
			const text = (await progressToast.innerText()).replace(/\s+/g, ' ').trim();
			if (!/Cancel/.test(text)) throw new Error(`the progress notification has no Cancel button: ${text}`);
			await shot(page, 'progress-notification.png', await bottomRight(page, progressToast));
			await shot(page, 'progress-notification-full.png');
			return JSON.stringify(text.slice(0, 160));
		},
	);

	await step('the status bar shows the run (spinner and percentage) meanwhile', async () => {
		if (!progressShown) throw new Error('no run in progress');
		const text = (await statusItem(page).innerText()).trim();
		// On a very fast machine the run may be over already; the item then shows the figures again.
		if (!/Sweep \d+%/.test(text) && (await progressToast.isVisible())) {
			throw new Error(`status bar reads ${JSON.stringify(text)} during the run`);
		}
		return JSON.stringify(text);
	});

	const finished = await step(
		'the finishing notification reports rows, partitions and time, with its buttons',
		async () => {
			if (!progressShown) throw new Error('no run was started');
			await finishToast.waitFor({ state: 'visible', timeout: 5 * 60_000 });
			await sleep(500);
			const text = (await finishToast.innerText()).replace(/\s+/g, ' ').trim();
			for (const button of ['Open Folder', 'Show Summary']) {
				if (!text.includes(button)) throw new Error(`no "${button}" button: ${text}`);
			}
			if (!/ in [\d.]+ s|min/.test(text)) throw new Error(`no duration: ${text}`);
			await shot(page, 'finish-notification.png', await bottomRight(page, finishToast));
			return JSON.stringify(text.slice(0, 200));
		},
	);

	await step('"Show Summary" on that notification opens the summary view, and it renders', async () => {
		if (!finished) throw new Error('no finishing notification');
		await finishToast.locator('.monaco-button', { hasText: 'Show Summary' }).first().click({ timeout: 10_000 });
		const tab = page.locator('.tabs-container .tab.active', { hasText: 'Sweep Summary' });
		await tab.waitFor({ timeout: 20_000 });
		// A webview: its page lives in nested frames, filled in a moment after the tab appears.
		const until = Date.now() + 30_000;
		let body = '';
		while (Date.now() < until) {
			for (const frame of page.frames()) {
				const text = await frame
					.locator('body')
					.innerText({ timeout: 500 })
					.catch(() => '');
				if (text.includes('Sweep Summary:') && /Rows read/.test(text)) body = text;
			}
			if (body) break;
			await sleep(500);
		}
		if (!body) throw new Error('the summary webview shows no summary (no "Sweep Summary:" with "Rows read")');
		if (!/Partitions\s+[\d,]+/.test(body)) throw new Error(`no partition count in the summary: ${body.slice(0, 300)}`);
		await sleep(1500); // let the webview paint
		await shot(page, 'summary-view.png', await page.locator('.part.editor').first().boundingBox());
		await shot(page, 'summary-view-full.png');
		return JSON.stringify(body.replace(/\s+/g, ' ').slice(0, 120));
	});

	await step(`right-click ${csvBase} in the Explorer → "Extract Partitions" runs the command`, async () => {
		await runFromPalette(page, 'Notifications: Clear All Notifications').catch(() => {});
		await page
			.locator('.notification-toast')
			.first()
			.waitFor({ state: 'detached', timeout: 10_000 })
			.catch(() => {});
		const row = page.locator('.explorer-folders-view .monaco-list-row', { hasText: csvBase }).first();
		if (!(await row.isVisible().catch(() => false))) {
			await openFile(page, csv);
			await runFromPalette(page, 'File: Reveal Active File in Explorer View');
		}
		await row.waitFor({ state: 'visible', timeout: 15_000 });
		await row.click({ button: 'right' });
		const item = page
			.locator('.context-view .action-item, .monaco-menu .action-item', { hasText: 'Extract Partitions' })
			.filter({ hasNotText: 'Orders' })
			.first();
		await item.waitFor({ state: 'visible', timeout: 10_000 });
		await sleep(300);
		// Sweep's commands sit in a group of their own (package.json "group": "sweep@…"): the run of entries between
		// the separators (or the menu's edges) around "Extract Partitions" holds Sweep's commands and nothing else.
		const entries = await page
			.locator('.context-view .monaco-menu .actions-container > .action-item')
			.evaluateAll((els) =>
				els.map((e) => (e.querySelector('.separator') ? '|' : e.innerText.replace(/\s+/g, ' ').trim())),
			);
		const at = entries.findIndex((e) => e.startsWith('Extract Partitions') && !e.includes('Orders'));
		const from = entries.lastIndexOf('|', at) + 1;
		const to = entries.indexOf('|', at) < 0 ? entries.length : entries.indexOf('|', at);
		const group = entries.slice(from, to);
		// Our entries: the titles of the commands package.json puts in a "sweep@…" group of the Explorer's menu.
		const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
		const titles = new Map(manifest.contributes.commands.map((c) => [c.command, c.title]));
		const ours = manifest.contributes.menus['explorer/context']
			.filter((m) => m.group?.startsWith('sweep@'))
			.map((m) => titles.get(m.command));
		if (at < 0 || !group.every((e) => ours.some((o) => e.startsWith(o))) || group.length < 2) {
			throw new Error(`Sweep's commands are not a group of their own in the menu: ${JSON.stringify(entries)}`);
		}
		log(`  context menu: ${entries.join(' · ')}`);
		// From the window's top-left corner to just past the menu: the Explorer, the file and its menu.
		const menu = await page.locator('.context-view .monaco-menu').first().boundingBox();
		const clip = menu ? { x: 0, y: 0, width: menu.x + menu.width + 24, height: menu.y + menu.height + 24 } : undefined;
		await shot(page, 'explorer-context-menu.png', clip);
		await item.click();
		await progressToast.waitFor({ state: 'visible', timeout: 30_000 });
		await finishToast.waitFor({ state: 'visible', timeout: 5 * 60_000 });
		return JSON.stringify((await finishToast.innerText()).replace(/\s+/g, ' ').trim().slice(0, 160));
	});

	await previewUiSteps(page);

	clearTimeout(guard);
	await finishUi(browser, consoleLog);
	return steps.every((s) => s.ok) ? 0 : 1;
}

// ---------------------------------------------------------------------------------------------------------------
// The preview's UI steps (issue 17), kept apart from the steps above: a file of at least 500 MB generated here with
// scripts/gen-trades.mjs, "Preview CSV" from its Explorer context menu, the header and first record in the table,
// the profile of the partition column, choosing a column by its heading, a run from the panel, its output on disk.

/** Rows of the preview's big file: about 530 MB (76 bytes a row). */
const PREVIEW_ROWS = Number(process.env.SWEEP_E2E_PREVIEW_ROWS || 7_000_000);

/** The frame of the Sweep Preview webview (nested iframes), once its page shows `text`. */
async function previewFrame(page, text, timeoutMs = 60_000) {
	const until = Date.now() + timeoutMs;
	for (;;) {
		for (const frame of page.frames()) {
			const body = await frame
				.locator('body')
				.innerText({ timeout: 500 })
				.catch(() => '');
			if (body.includes('Sweep Preview:') && (!text || body.includes(text))) return frame;
		}
		if (Date.now() > until) throw new Error(`no Sweep Preview webview showing ${JSON.stringify(text)}`);
		await sleep(500);
	}
}

async function previewUiSteps(page) {
	const rel = 'big/trades-preview.csv';
	const file = join(opt.folder, rel);
	const base = rel.split('/').pop();
	let truth;
	const made = await step(
		`generate a ${PREVIEW_ROWS.toLocaleString('en-US')}-row file (≥ 500 MB) with gen-trades.mjs`,
		async () => {
			mkdirSync(join(opt.folder, 'big'), { recursive: true });
			const { spawnSync } = await import('node:child_process');
			const r = spawnSync(
				process.execPath,
				[join(opt.ext, 'scripts', 'gen-trades.mjs'), '--rows', String(PREVIEW_ROWS), '--seed', '17', '--out', file],
				{ encoding: 'utf8' },
			);
			if (r.status !== 0) throw new Error(`gen-trades failed: ${r.stderr}`);
			truth = JSON.parse(readFileSync(`${file}.truth.json`, 'utf8'));
			if (truth.bytes < 500 * 1024 * 1024) throw new Error(`only ${truth.bytes} bytes`);
			return `${(truth.bytes / 2 ** 20).toFixed(0)} MiB`;
		},
	);

	const opened = await step(
		`right-click ${base} in the Explorer → "Preview CSV" shows its header and first record`,
		async () => {
			if (!made) throw new Error('no file');
			await runFromPalette(page, 'Notifications: Clear All Notifications').catch(() => {});
			await runFromPalette(page, 'File: Refresh Explorer').catch(() => {});
			const folder = page.locator('.explorer-folders-view .monaco-list-row', { hasText: /^big$/ }).first();
			const row = page.locator('.explorer-folders-view .monaco-list-row', { hasText: base }).first();
			if (!(await row.isVisible().catch(() => false))) {
				await folder.waitFor({ state: 'visible', timeout: 15_000 });
				await folder.click();
			}
			await row.waitFor({ state: 'visible', timeout: 15_000 });
			await row.click({ button: 'right' });
			const item = page
				.locator('.context-view .action-item, .monaco-menu .action-item', { hasText: 'Preview CSV' })
				.first();
			await item.waitFor({ state: 'visible', timeout: 10_000 });
			await sleep(300);
			const menu = await page.locator('.context-view .monaco-menu').first().boundingBox();
			const clip = menu
				? { x: 0, y: 0, width: menu.x + menu.width + 24, height: menu.y + menu.height + 24 }
				: undefined;
			await shot(page, 'preview-context-menu.png', clip);
			const started = Date.now();
			await item.click();
			const fd = openSync(file, 'r');
			const headBytes = Buffer.alloc(4096);
			readSync(fd, headBytes, 0, 4096, 0);
			closeSync(fd);
			const firstLine = headBytes.toString('utf8').split('\n');
			const firstField = firstLine[1].split(',')[0];
			const frame = await previewFrame(page, firstField);
			const ms = Date.now() - started;
			const header = (await frame.locator('#gridhead').innerText()).replace(/\s+/g, ' ');
			for (const name of firstLine[0].split(','))
				if (!header.includes(name)) throw new Error(`heading lacks ${name}: ${header}`);
			const first = (await frame.locator('#gridbody .row[aria-rowindex="2"]').innerText()).replace(/\s+/g, ' ');
			if (!first.includes(firstField) || !first.includes(firstLine[1].split(',')[2]))
				throw new Error(`first row reads ${first}`);
			return `first rows on screen ${ms} ms after the click; ${JSON.stringify(first.slice(0, 100))}`;
		},
	);

	const profiled = await step(
		'the profile fills in: symbol is a good partition column, trade_id a poor one',
		async () => {
			if (!opened) throw new Error('no preview');
			const frame = await previewFrame(page);
			await frame
				.locator('#profilebody tr', { hasText: 'a good partition column' })
				.first()
				.waitFor({ timeout: 120_000 });
			await frame.locator('#profprogress.hidden').waitFor({ state: 'attached', timeout: 120_000 });
			const symbolRow = (
				await frame
					.locator('#profilebody tr')
					.filter({ has: frame.locator('th', { hasText: /^\d?symbol$/ }) })
					.first()
					.innerText()
			).replace(/\s+/g, ' ');
			if (!/good partition column/.test(symbolRow)) throw new Error(`symbol: ${symbolRow}`);
			const idRow = (
				await frame
					.locator('#profilebody tr')
					.filter({ has: frame.locator('th', { hasText: /^\d?trade_id$/ }) })
					.first()
					.innerText()
			).replace(/\s+/g, ' ');
			if (!/poor partition column/.test(idRow)) throw new Error(`trade_id: ${idRow}`);
			await sleep(800);
			const editor = await page.locator('.part.editor').first().boundingBox();
			await shot(page, 'preview-table.png', editor);
			await frame.locator('#profileheading').evaluate((e) => e.scrollIntoView({ block: 'start' }));
			await sleep(500);
			await shot(page, 'preview-profile.png', editor);
			const note = (await frame.locator('#profnote').innerText()).trim();
			return `${JSON.stringify(symbolRow.slice(0, 120))}; ${JSON.stringify(note.slice(0, 140))}`;
		},
	);

	const chosen = await step(
		'clicking the "symbol" heading chooses it (and again removes it); Enter does the same',
		async () => {
			if (!opened) throw new Error('no preview');
			const frame = await previewFrame(page);
			await frame.locator('#grid').scrollIntoViewIfNeeded();
			const heading = frame.locator('#gridhead .cell', { hasText: /symbol$/ }).first();
			const chips = frame.locator('#parts .chip');
			// sweep.partitionBy defaults to symbol: it starts chosen.
			if ((await chips.count()) === 0) await heading.click();
			if (!(await chips.first().innerText()).includes('symbol')) throw new Error('symbol is not chosen');
			await heading.click();
			if ((await chips.count()) !== 0) throw new Error('a second click did not remove it');
			if (!(await frame.locator('#run').isDisabled())) throw new Error('Run is enabled without a partition column');
			const why = await frame.locator('#why').innerText();
			await heading.focus();
			await page.keyboard.press('Enter');
			await frame.locator('#parts .chip', { hasText: 'symbol' }).waitFor({ timeout: 5000 });
			if (await frame.locator('#run').isDisabled()) throw new Error('Run is still disabled');
			return `without a column: ${JSON.stringify(why)}`;
		},
	);

	await step(
		'Run in the panel extracts the file: progress and Cancel in the panel, then the output on disk',
		async () => {
			if (!chosen || !profiled) throw new Error('not set up');
			const frame = await previewFrame(page);
			await frame.locator('#run').click();
			await frame.locator('#runtext', { hasText: /\d+% · / }).waitFor({ timeout: 60_000 });
			if (!(await frame.locator('#cancelRun').isVisible())) throw new Error('no Cancel button during the run');
			await frame.locator('#runstate').scrollIntoViewIfNeeded();
			await sleep(300);
			await shot(page, 'preview-run.png', await page.locator('.part.editor').first().boundingBox());
			await shot(page, 'preview-run-full.png');
			await frame
				.locator('#runtext', { hasText: /Extracted [\d,]+ rows into [\d,]+ partitions/ })
				.waitFor({ timeout: 10 * 60_000 });
			const text = (await frame.locator('#runtext').innerText()).trim();
			const manifest = JSON.parse(
				readFileSync(join(opt.folder, 'big', 'processed', 'trades-preview', '_manifest.json'), 'utf8'),
			);
			if (manifest.rowsRead !== truth.rows || manifest.rowsWritten !== truth.rows) {
				throw new Error(`manifest rows ${manifest.rowsRead}/${manifest.rowsWritten}, truly ${truth.rows}`);
			}
			const symbols = Object.keys(truth.symbols);
			if (manifest.partitions.length !== symbols.length)
				throw new Error(`${manifest.partitions.length} partitions, ${symbols.length} symbols`);
			for (const p of manifest.partitions) {
				if (p.rows !== truth.symbols[p.key[0]].rows)
					throw new Error(`${p.key[0]}: ${p.rows} rows, truly ${truth.symbols[p.key[0]].rows}`);
			}
			await frame.locator('#showSummary').click();
			await page.locator('.tabs-container .tab.active', { hasText: 'Sweep Summary' }).waitFor({ timeout: 20_000 });
			return JSON.stringify(text.slice(0, 160));
		},
	);
}

async function finishUi(browser, consoleLog) {
	const passed = steps.filter((s) => s.ok).length;
	const failed = steps.length - passed;
	report(`UI: ${passed} passed, ${failed} failed`);
	writeFileSync(join(opt.work, 'ui-report.txt'), reportLines.join('\n') + '\n');
	writeFileSync(join(opt.work, 'ui-result.json'), JSON.stringify({ passed, failed, steps }, null, 2));
	writeFileSync(join(opt.work, 'browser-console.log'), consoleLog.join('\n') + '\n');
	await browser.close().catch(() => {});
}

const main = mode === 'suite' ? runSuite : mode === 'ui' ? runUi : null;
if (!main) {
	console.error('usage: runner.mjs suite|ui --port P --folder DIR --ext DIR --work DIR ...');
	process.exit(2);
}
main().then(
	(code) => process.exit(code),
	(e) => {
		console.error(`[runner ${mode}] failed:`, e);
		process.exit(2);
	},
);
