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
 *   node runner.mjs ui --port P --folder DIR --ext DIR --work DIR --csv REL --shots DIR [--timeout-ms N]
 *     Loads the extension (no tests) and uses the workbench as a person would: reads the status bar, hovers it,
 *     runs "Sweep: Extract Partitions" from F1 on an open CSV, watches the progress notification, the finishing
 *     notification and the summary view, then runs the command from the Explorer's context menu. Saves PNGs in
 *     --shots and writes ui-result.json (steps passed / failed) and ui-report.txt into --work.
 *
 * Both write chromium.pid into --work as soon as the browser starts, so run.sh can kill its process group
 * whatever happens here.
 */
// biome-ignore-all lint/performance/useDomNodeTextContent: Playwright's locator.innerText() (the text a person sees), not a DOM node's.
import { mkdirSync, writeFileSync } from 'node:fs';
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
	const pairs = payload.map(([k, v]) => [k, remote(v)]);
	return `http://${authority}/?folder=${encodeURIComponent(opt.folder)}&payload=${encodeURIComponent(JSON.stringify(pairs))}`;
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
	await page
		.locator('.monaco-workbench')
		.click({ position: { x: 700, y: 450 } })
		.catch(() => {});
	await page.keyboard.press('F1');
	const input = page.locator('.quick-input-widget input');
	await input.waitFor({ state: 'visible', timeout: 10_000 });
	await input.fill(`>${title}`);
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

/** A box around an element, padded and kept inside the viewport, for tight screenshots. */
async function around(locator, pad = { x: 16, y: 16 }, page) {
	const b = await locator.boundingBox();
	if (!b) throw new Error('element has no box');
	const vp = page.viewportSize();
	const x = Math.max(0, b.x - pad.x);
	const y = Math.max(0, b.y - pad.y);
	return {
		x,
		y,
		width: Math.min(vp.width - x, b.width + 2 * pad.x),
		height: Math.min(vp.height - y, b.height + 2 * pad.y),
	};
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
	const url = workbenchUrl([['extensionDevelopmentPath', opt.ext]]);
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

	const progressShown = await step(
		'F1 → "Sweep: Extract Partitions" → Enter shows the progress notification',
		async () => {
			if (!opened) throw new Error('the CSV is not open');
			await runFromPalette(page, 'Sweep: Extract Partitions');
			const toast = page.locator('.notification-toast', { hasText: /Sweep|rows|Extract/i }).first();
			await toast.waitFor({ state: 'visible', timeout: 30_000 });
			// Let rows/s and the bar appear before the picture.
			await sleep(1200);
			const text = (await toast.innerText()).replace(/\s+/g, ' ').trim();
			await shot(
				page,
				'progress-notification.png',
				await around(page.locator('.notifications-toasts').first(), { x: 24, y: 24 }, page),
			);
			await shot(page, 'progress-notification-full.png');
			return JSON.stringify(text.slice(0, 160));
		},
	);

	await step('status bar shows the run (spinner and percentage) while it runs', async () => {
		if (!progressShown) throw new Error('no run in progress');
		const text = (await statusItem(page).innerText()).trim();
		if (!/%/.test(text)) {
			// The run may already be over on a fast machine; the item then shows the figures again.
			return `run already finished (${JSON.stringify(text)})`;
		}
		await shot(page, 'status-bar-running.png', await around(statusItem(page), { x: 200, y: 10 }, page));
		return JSON.stringify(text);
	});

	let finishToast;
	const finishedOk = await step('the finishing notification reports rows, partitions and time', async () => {
		if (!progressShown) throw new Error('no run was started');
		finishToast = page
			.locator('.notification-toast', { hasText: /partition/i })
			.filter({ has: page.locator('.monaco-button, .notification-list-item-buttons-container a, button') })
			.first();
		await finishToast.waitFor({ state: 'visible', timeout: 5 * 60_000 });
		await sleep(500);
		const text = (await finishToast.innerText()).replace(/\s+/g, ' ').trim();
		if (!/[\d,]+ rows/.test(text)) throw new Error(`finish notification has no row count: ${text}`);
		await shot(
			page,
			'finish-notification.png',
			await around(page.locator('.notifications-toasts').first(), { x: 24, y: 24 }, page),
		);
		return JSON.stringify(text.slice(0, 200));
	});

	await step("the summary view renders (from the notification's button)", async () => {
		if (!finishedOk) throw new Error('no finishing notification');
		const button = finishToast.locator('.monaco-button, a.monaco-button', { hasText: /summary/i }).first();
		await button.click({ timeout: 10_000 });
		// The summary is a webview (iframe) or an editor; either way a tab titled with "Summary" or the file name opens.
		const tab = page.locator('.tabs-container .tab.active');
		await tab.waitFor({ timeout: 20_000 });
		const until = Date.now() + 20_000;
		let ok = false;
		while (Date.now() < until && !ok) {
			for (const frame of page.frames()) {
				const body = await frame
					.locator('body')
					.innerText({ timeout: 500 })
					.catch(() => '');
				if (/partition/i.test(body) && /rows/i.test(body)) {
					ok = true;
					break;
				}
			}
			if (!ok) await sleep(500);
		}
		if (!ok) throw new Error('no summary content (partitions, rows) rendered');
		await sleep(800);
		await shot(page, 'summary-view.png');
		return JSON.stringify((await tab.innerText()).trim());
	});

	await step(`right-click ${csvBase} in the Explorer → "Extract Partitions" runs the command`, async () => {
		// Dismiss notifications so the later finish toast is this run's.
		await runFromPalette(page, 'Notifications: Clear All Notifications').catch(() => {});
		await sleep(500);
		const row = page.locator('.explorer-folders-view .monaco-list-row', { hasText: csvBase }).first();
		if (!(await row.isVisible().catch(() => false))) {
			// Reveal the file in the Explorer first (its folder may be collapsed).
			await openFile(page, csv);
			await runFromPalette(page, 'File: Reveal Active File in Explorer View');
		}
		await row.waitFor({ state: 'visible', timeout: 15_000 });
		await row.click({ button: 'right' });
		const item = page.locator('.context-view .action-item, .monaco-menu .action-item', {
			hasText: 'Extract Partitions',
		});
		await item.first().waitFor({ state: 'visible', timeout: 10_000 });
		await shot(page, 'explorer-context-menu.png');
		await item.filter({ hasNotText: 'Orders' }).first().click();
		const toast = page.locator('.notification-toast', { hasText: /partition/i }).first();
		await toast.waitFor({ state: 'visible', timeout: 5 * 60_000 });
		const text = (await toast.innerText()).replace(/\s+/g, ' ').trim();
		return JSON.stringify(text.slice(0, 160));
	});

	clearTimeout(guard);
	await finishUi(browser, consoleLog);
	return steps.every((s) => s.ok) ? 0 : 1;
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
