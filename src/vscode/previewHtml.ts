/**
 * The Preview webview's document and the messages it exchanges with the extension, as pure functions (no
 * `vscode`). Strict CSP, the shell every Sweep webview shares (webviewPage.ts): nothing remote, the one style block
 * and the one script by nonce. The page is static: every value from the file arrives later by `postMessage` and is put
 * into the DOM as text (`textContent`, attributes), never as HTML.
 */
import { escapeHtml, webviewPage } from './webviewPage';

/** Height of one table row in CSS pixels (the table is virtualised on it). */
export const ROW_HEIGHT = 22;
/** Characters of a value shown in a cell; the full text (up to the reader's cap) is in its tooltip. */
export const CELL_CHARS = 80;

/** Messages the webview posts to the extension. */
export type PreviewMessage =
	| { type: 'ready' }
	| { type: 'more' }
	| { type: 'cancelProfile' }
	| { type: 'restartProfile' }
	| { type: 'pickOrders' }
	| { type: 'clearOrders' }
	| { type: 'pickOutDir' }
	| { type: 'resetOutDir' }
	| { type: 'run'; setup: RunSetup }
	| { type: 'cancelRun' }
	| { type: 'save'; setup: RunSetup }
	| { type: 'showSummary' }
	| { type: 'openFolder' };

/** What the user set up in the view: partition specs (output names, `date(COL)`) and the renames. */
export interface RunSetup {
	partitionBy: string[];
	/** `{ canonical: source }`, as `sweep.columnMapping`. */
	mapping: Record<string, string>;
}

const SIMPLE = new Set([
	'ready',
	'more',
	'cancelProfile',
	'restartProfile',
	'pickOrders',
	'clearOrders',
	'pickOutDir',
	'resetOutDir',
	'cancelRun',
	'showSummary',
	'openFolder',
]);

const isName = (x: unknown): x is string => typeof x === 'string' && x !== '' && x.length <= 1000;

/** Checks a message from the view; anything malformed is dropped (undefined). */
export function parsePreviewMessage(raw: unknown): PreviewMessage | undefined {
	if (typeof raw !== 'object' || raw === null) return undefined;
	const m = raw as Record<string, unknown>;
	if (typeof m.type !== 'string') return undefined;
	if (SIMPLE.has(m.type)) return { type: m.type } as PreviewMessage;
	if (m.type !== 'run' && m.type !== 'save') return undefined;
	const setup = m.setup as Record<string, unknown> | undefined;
	if (typeof setup !== 'object' || setup === null) return undefined;
	const { partitionBy, mapping } = setup;
	if (!Array.isArray(partitionBy) || partitionBy.length > 64 || !partitionBy.every(isName)) return undefined;
	if (typeof mapping !== 'object' || mapping === null || Array.isArray(mapping)) return undefined;
	const entries = Object.entries(mapping as Record<string, unknown>);
	if (entries.length > 10_000 || !entries.every(([k, v]) => isName(k) && isName(v))) return undefined;
	return {
		type: m.type,
		setup: { partitionBy: [...partitionBy], mapping: Object.fromEntries(entries) as Record<string, string> },
	};
}

const STYLE = `
:root { --row: ${ROW_HEIGHT}px; }
body { color: var(--vscode-foreground); background: var(--vscode-editor-background); font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); padding: 0 16px 24px; }
h1 { font-size: 1.3em; font-weight: 600; margin: 12px 0 4px; }
h2 { font-size: 1.05em; font-weight: 600; margin: 18px 0 6px; }
.muted { color: var(--vscode-descriptionForeground); }
.facts { display: flex; flex-wrap: wrap; gap: 2px 18px; margin: 4px 0 8px; }
.facts span b { font-weight: 600; }
.banner { border-left: 3px solid var(--vscode-inputValidation-warningBorder, var(--vscode-editorWarning-foreground)); background: var(--vscode-inputValidation-warningBackground, transparent); padding: 6px 10px; margin: 8px 0; }
.banner.error { border-left-color: var(--vscode-inputValidation-errorBorder, var(--vscode-errorForeground)); background: var(--vscode-inputValidation-errorBackground, transparent); }
.note { margin: 4px 0; }
button { font-family: inherit; font-size: inherit; color: var(--vscode-button-foreground); background: var(--vscode-button-background); border: 1px solid var(--vscode-button-border, transparent); padding: 3px 12px; border-radius: 2px; cursor: pointer; }
button:hover { background: var(--vscode-button-hoverBackground); }
button.secondary { color: var(--vscode-button-secondaryForeground); background: var(--vscode-button-secondaryBackground); }
button.secondary:hover { background: var(--vscode-button-secondaryHoverBackground); }
button:disabled { opacity: 0.5; cursor: default; }
button:focus-visible, input:focus-visible, select:focus-visible, [tabindex]:focus-visible { outline: 1px solid var(--vscode-focusBorder); outline-offset: -1px; }
input, select { font-family: inherit; font-size: inherit; color: var(--vscode-input-foreground); background: var(--vscode-input-background); border: 1px solid var(--vscode-input-border, transparent); padding: 2px 4px; }
.grid { position: relative; height: min(45vh, 440px); overflow: auto; border: 1px solid var(--vscode-editorWidget-border, var(--vscode-panel-border, transparent)); font-variant-numeric: tabular-nums; }
.grid .body { position: relative; }
.grid .row { display: grid; height: var(--row); line-height: var(--row); white-space: nowrap; }
.grid .head { position: sticky; top: 0; z-index: 1; background: var(--vscode-editorGroupHeader-tabsBackground, var(--vscode-editor-background)); font-weight: 600; }
.grid .cell { overflow: hidden; text-overflow: ellipsis; padding: 0 6px; border-right: 1px solid var(--vscode-editorWidget-border, transparent); }
.grid .line { color: var(--vscode-editorLineNumber-foreground, var(--vscode-descriptionForeground)); text-align: right; }
.grid .head .cell { cursor: pointer; }
.grid .head .cell:hover { background: var(--vscode-list-hoverBackground); }
.grid .head .cell.part { color: var(--vscode-textLink-foreground); }
.grid .body .row:hover { background: var(--vscode-list-hoverBackground); }
.grid .row.bad .line { color: var(--vscode-errorForeground); }
.grid .cell.focus { outline: 1px solid var(--vscode-focusBorder); outline-offset: -1px; }
.badge { display: inline-block; min-width: 1.2em; margin-right: 4px; padding: 0 4px; border-radius: 8px; font-size: 0.85em; line-height: 1.4; text-align: center; color: var(--vscode-badge-foreground); background: var(--vscode-badge-background); }
.tablefoot { margin: 4px 0; }
table.profile { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
table.profile th, table.profile td { text-align: left; padding: 3px 8px; border-bottom: 1px solid var(--vscode-editorWidget-border, transparent); vertical-align: middle; white-space: nowrap; }
table.profile td.num { text-align: right; }
table.profile td.vals { max-width: 14em; overflow: hidden; text-overflow: ellipsis; }
table.profile td.top { max-width: 24em; overflow: hidden; text-overflow: ellipsis; }
table.profile td.hint { white-space: normal; min-width: 18em; }
table.profile input { width: 8em; }
.hint-good { color: var(--vscode-testing-iconPassed, var(--vscode-charts-green)); }
.hint-fair { color: var(--vscode-editorWarning-foreground, var(--vscode-charts-yellow)); }
.hint-bad, .hint-single { color: var(--vscode-errorForeground, var(--vscode-charts-red)); }
progress { width: 16em; height: 0.8em; vertical-align: middle; accent-color: var(--vscode-progressBar-background); }
.setup { display: grid; grid-template-columns: max-content auto; gap: 6px 14px; align-items: center; }
.setup > .label { color: var(--vscode-descriptionForeground); }
.chips { display: flex; flex-wrap: wrap; gap: 6px; align-items: center; }
.chip { display: inline-flex; align-items: center; gap: 4px; padding: 1px 4px 1px 8px; border-radius: 10px; background: var(--vscode-badge-background); color: var(--vscode-badge-foreground); }
.chip button { padding: 0 6px; background: transparent; color: inherit; border: none; }
.path { font-family: var(--vscode-editor-font-family); word-break: break-all; }
.actions { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; margin-top: 12px; }
.runstate { margin-top: 10px; }
.hidden { display: none !important; }
`;

// Static: the data arrives by postMessage and goes into the DOM as text only.
const SCRIPT = `
(function () {
	'use strict';
	const vscode = acquireVsCodeApi();
	const ROW = ${ROW_HEIGHT};
	const CHARS = ${CELL_CHARS};
	const $ = (id) => document.getElementById(id);
	const el = (tag, cls, text) => { const e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = text; return e; };
	const fmt = (n) => Number(n).toLocaleString('en-US');
	const st = { head: null, rows: [], more: false, loading: false, cap: 0, profile: null, parts: [], renames: {}, focus: { r: -1, c: 0 }, blocked: '', running: false, setup: null };
	const post = (m) => vscode.postMessage(m);

	// ---- the table (virtualised: only the rows in view are in the DOM) ----------------------------------------
	const grid = $('grid');
	const headRow = $('gridhead');
	const body = $('gridbody');
	function columnsTemplate() {
		const n = st.head ? st.head.header.length : 0;
		return '72px' + ' minmax(90px, 220px)'.repeat(n);
	}
	function outName(i) { return st.renames[i] || st.head.header[i]; }
	function partIndex(i) { return st.parts.findIndex((p) => p.col === i); }
	function renderHead() {
		headRow.textContent = '';
		headRow.style.gridTemplateColumns = columnsTemplate();
		headRow.setAttribute('aria-rowindex', '1');
		const corner = el('div', 'cell line', 'line');
		corner.setAttribute('role', 'columnheader');
		corner.setAttribute('aria-colindex', '1');
		headRow.appendChild(corner);
		st.head.header.forEach((name, i) => {
			const c = el('div', 'cell');
			c.setAttribute('role', 'columnheader');
			c.setAttribute('aria-colindex', String(i + 2));
			c.dataset.col = String(i);
			c.tabIndex = -1;
			const p = partIndex(i);
			if (p >= 0) { c.classList.add('part'); c.appendChild(el('span', 'badge', String(p + 1))); }
			c.appendChild(document.createTextNode(outName(i)));
			const prof = st.profile && st.profile.columns[i];
			const tip = [name + (st.renames[i] ? ' → ' + st.renames[i] : '')];
			if (prof) tip.push(prof.type + ' · ' + prof.hint.text);
			tip.push(p >= 0 ? 'Partition column ' + (p + 1) + ': click or Enter to remove' : 'Click or press Enter to partition by this column');
			c.title = tip.join('\\n');
			c.setAttribute('aria-label', outName(i) + (p >= 0 ? ', partition column ' + (p + 1) : '') + '. Press Enter to ' + (p >= 0 ? 'remove it from' : 'add it to') + ' the partition columns');
			c.addEventListener('click', () => { st.focus = { r: -1, c: i + 1 }; togglePart(i); });
			headRow.appendChild(c);
		});
	}
	function cut(v) { return v.length > CHARS ? v.slice(0, CHARS - 1) + '…' : v; }
	function renderBody() {
		const total = st.rows.length;
		grid.setAttribute('aria-rowcount', String(total + 1));
		body.style.height = (total * ROW) + 'px';
		const top = Math.max(0, grid.scrollTop - ROW);
		const first = Math.max(0, Math.floor(top / ROW) - 10);
		const last = Math.min(total, Math.ceil((grid.scrollTop + grid.clientHeight) / ROW) + 10);
		body.textContent = '';
		const tmpl = columnsTemplate();
		for (let r = first; r < last; r++) {
			const rec = st.rows[r];
			const row = el('div', 'row' + (rec.problem ? ' bad' : ''));
			row.setAttribute('role', 'row');
			row.setAttribute('aria-rowindex', String(r + 2));
			row.style.gridTemplateColumns = tmpl;
			row.style.position = 'absolute';
			row.style.top = (r * ROW) + 'px';
			row.style.left = '0';
			row.style.right = '0';
			const ln = el('div', 'cell line', fmt(rec.line));
			ln.setAttribute('role', 'rowheader');
			ln.setAttribute('aria-colindex', '1');
			ln.dataset.r = String(r); ln.dataset.c = '0'; ln.tabIndex = -1;
			if (rec.problem) ln.title = 'Line ' + fmt(rec.line) + ': ' + rec.problem;
			row.appendChild(ln);
			for (let i = 0; i < rec.fields.length; i++) {
				const v = rec.fields[i];
				const c = el('div', 'cell', cut(v));
				c.setAttribute('role', 'gridcell');
				c.setAttribute('aria-colindex', String(i + 2));
				c.dataset.r = String(r); c.dataset.c = String(i + 1); c.tabIndex = -1;
				if (v.length > 8) c.title = v; // the cell may be cut to its column's width
				row.appendChild(c);
			}
			body.appendChild(row);
		}
		markFocus(false);
		$('tablefoot').textContent = st.loading ? 'Loading more rows…' : st.more ? '' :
			total >= st.cap ? 'The table stops at ' + fmt(st.cap) + ' rows; the profile below covers the whole file.' : total > 0 ? 'End of the file.' : '';
		if (st.more && !st.loading && last >= total - 40) { st.loading = true; post({ type: 'more' }); }
	}
	grid.addEventListener('scroll', () => requestAnimationFrame(renderBody));
	function cellAt(r, c) {
		if (r < 0) return headRow.children[c] || null;
		return body.querySelector('[data-r="' + r + '"][data-c="' + c + '"]');
	}
	function markFocus(move) {
		grid.querySelectorAll('.cell.focus').forEach((e) => { e.classList.remove('focus'); e.tabIndex = -1; });
		const { r, c } = st.focus;
		if (r >= 0) {
			const y = r * ROW;
			if (move && (y < grid.scrollTop + ROW || y + ROW > grid.scrollTop + grid.clientHeight)) {
				grid.scrollTop = Math.max(0, y - grid.clientHeight / 2);
				renderBody();
				return;
			}
		}
		const cell = cellAt(r, c);
		if (!cell) return;
		cell.classList.add('focus');
		cell.tabIndex = 0;
		if (move) { cell.focus({ preventScroll: r >= 0 }); if (r < 0) grid.scrollTop = grid.scrollTop; }
	}
	grid.addEventListener('keydown', (e) => {
		if (!st.head) return;
		const cols = st.head.header.length + 1;
		let { r, c } = st.focus;
		const page = Math.max(1, Math.floor(grid.clientHeight / ROW) - 2);
		switch (e.key) {
			case 'ArrowDown': r = Math.min(st.rows.length - 1, r + 1); break;
			case 'ArrowUp': r = Math.max(-1, r - 1); break;
			case 'ArrowRight': c = Math.min(cols - 1, c + 1); break;
			case 'ArrowLeft': c = Math.max(0, c - 1); break;
			case 'PageDown': r = Math.min(st.rows.length - 1, r + page); break;
			case 'PageUp': r = Math.max(-1, r - page); break;
			case 'Home': if (e.ctrlKey) r = -1; c = 0; break;
			case 'End': if (e.ctrlKey) r = st.rows.length - 1; c = cols - 1; break;
			case 'Enter': case ' ':
				if (r === -1 && c > 0) { e.preventDefault(); togglePart(c - 1); }
				return;
			default: return;
		}
		e.preventDefault();
		st.focus = { r, c };
		markFocus(true);
	});
	grid.addEventListener('focus', (e) => { if (e.target === grid) markFocus(true); });
	grid.addEventListener('click', (e) => {
		const t = e.target instanceof Element ? e.target.closest('[data-r]') : null;
		if (t) { st.focus = { r: Number(t.dataset.r), c: Number(t.dataset.c) }; markFocus(true); }
	});

	// ---- partition columns and renames ---------------------------------------------------------------------
	function grains() { return (st.setup && st.setup.grains) || []; }
	function isTime(i) { const p = st.profile && st.profile.columns[i]; return !!p && (p.type === 'date' || p.type === 'datetime'); }
	function togglePart(i) {
		const p = partIndex(i);
		if (p >= 0) st.parts.splice(p, 1);
		else st.parts.push({ col: i, grain: isTime(i) && grains().length ? grains()[0] : '' });
		renderHead(); markFocus(true); renderSetup(); renderProfile();
	}
	function specs() { return st.parts.map((p) => p.grain ? p.grain + '(' + outName(p.col) + ')' : outName(p.col)); }
	function mapping() {
		const m = {};
		Object.keys(st.renames).forEach((i) => { const to = st.renames[i]; if (to && to !== st.head.header[i]) m[to] = st.head.header[i]; });
		return m;
	}
	function renderSetup() {
		const chips = $('parts');
		chips.textContent = '';
		if (st.parts.length === 0) chips.appendChild(el('span', 'muted', 'none yet: click a column heading above (or press Enter on it)'));
		st.parts.forEach((p, k) => {
			const chip = el('span', 'chip');
			chip.appendChild(el('span', 'badge', String(k + 1)));
			if ((isTime(p.col) && grains().length) || p.grain) {
				const sel = el('select');
				sel.setAttribute('aria-label', 'How to partition by ' + outName(p.col));
				[['', outName(p.col) + ' (whole value)']].concat(grains().map((g) => [g, g + '(' + outName(p.col) + ')'])).forEach(([v, t]) => {
					const o = el('option', '', t); o.value = v; if (v === p.grain) o.selected = true; sel.appendChild(o);
				});
				sel.addEventListener('change', () => { p.grain = sel.value; renderSetup(); });
				chip.appendChild(sel);
			} else chip.appendChild(el('span', '', outName(p.col)));
			const x = el('button', '', '×');
			x.title = 'Remove ' + outName(p.col);
			x.setAttribute('aria-label', 'Remove partition column ' + outName(p.col));
			x.addEventListener('click', () => togglePart(p.col));
			chip.appendChild(x);
			chips.appendChild(chip);
		});
		const s = st.setup;
		if (s) {
			$('orders').textContent = s.orders ? s.orders.path + ' (' + s.orders.source + ')' : 'none: every record is kept';
			$('clearOrders').classList.toggle('hidden', !s.orders);
			$('outdir').textContent = s.outDir.path + ' (' + s.outDir.source + ')';
			$('resetOutDir').classList.toggle('hidden', s.outDir.source !== 'chosen here');
			$('workers').textContent = s.workers;
			$('chunk').textContent = s.chunk;
			$('trust').textContent = s.notice || '';
		}
		const why = st.blocked || (st.parts.length === 0 ? 'Choose at least one partition column.' : '');
		$('run').disabled = !!why || st.running;
		$('save').disabled = st.parts.length === 0 || !!(s && !s.canSave);
		$('why').textContent = st.running ? '' : why;
	}

	// ---- the profile ---------------------------------------------------------------------------------------
	function renderProfile() {
		const p = st.profile;
		const tbody = $('profilebody');
		tbody.textContent = '';
		if (!st.head) return;
		st.head.header.forEach((name, i) => {
			const c = p && p.columns[i];
			const tr = el('tr');
			const th = el('th', '', '');
			th.scope = 'row';
			const part = partIndex(i);
			if (part >= 0) th.appendChild(el('span', 'badge', String(part + 1)));
			th.appendChild(document.createTextNode(name));
			tr.appendChild(th);
			const td = el('td');
			const inp = el('input');
			inp.value = st.renames[i] || '';
			inp.placeholder = name;
			inp.setAttribute('aria-label', 'Output name of column ' + name + ' (empty keeps ' + name + ')');
			inp.addEventListener('change', () => { const v = inp.value.trim(); if (v) st.renames[i] = v; else delete st.renames[i]; renderHead(); renderSetup(); });
			td.appendChild(inp);
			tr.appendChild(td);
			if (!c) { tr.appendChild(el('td', 'muted', '…')); tbody.appendChild(tr); return; }
			const exact = p.exact;
			let type = c.type;
			if (c.type === 'text' && c.numericShare + c.dateShare > 0) type += ' (' + Math.round((c.numericShare + c.dateShare) * 100) + '% numbers/dates)';
			tr.appendChild(el('td', '', type));
			tr.appendChild(el('td', 'num', (c.distinctExact ? '' : '≈ ') + fmt(c.distinctEstimate)));
			let hint = c.hint.text;
			if (c.days !== undefined) hint += ' · date(' + outName(i) + '): ' + fmt(c.days) + (exact ? '' : '+') + ' day' + (c.days === 1 ? '' : 's');
			tr.appendChild(el('td', 'hint hint-' + c.hint.level, hint));
			tr.appendChild(el('td', 'num', fmt(c.empty) + (c.values ? ' (' + (Math.round(c.empty / c.values * 1000) / 10) + '%)' : '')));
			tr.appendChild(el('td', 'vals', c.min === undefined ? '' : cut(c.min))).title = c.min || '';
			tr.appendChild(el('td', 'vals', c.max === undefined ? '' : cut(c.max))).title = c.max || '';
			const top = c.top.map((t) => (t.value === '' ? '(empty)' : t.value) + ' ' + fmt(t.count)).join(', ');
			tr.appendChild(el('td', 'top', top)).title = top;
			tbody.appendChild(tr);
		});
		if (!p) return;
		$('profprogress').value = p.progress;
		$('profprogress').classList.toggle('hidden', p.done);
		$('cancelProfile').classList.toggle('hidden', p.done || st.profileStopped);
		const rows = p.rows;
		const mb = (b) => (b / 1048576).toFixed(1) + ' MB';
		let text;
		if (p.exact) text = 'Exact: the whole file was read (' + fmt(rows.estimate) + ' records).';
		else if (st.head.compressed) text = 'From the first ' + mb(st.head.headBytes) + ' of the decompressed text (a compressed file cannot be entered at an offset, so nothing further is sampled): ' + fmt(p.headRecords) + ' records. The record count is estimated from the compression ratio; figures with ≈ are estimates.';
		else text = 'From the first ' + mb(st.head.headBytes) + ' (exact) and ' + fmt(p.blocksDone - p.blocksSkipped) + ' of ' + fmt(p.blocksTotal) + ' blocks spread over the file: a sample of ' + fmt(p.headRecords + p.sampledRecords) + ' records. Figures with ≈ are estimates for the whole file; counts of top values, min and max are from the sample.';
		if (p.malformed) text += ' ' + fmt(p.malformed) + ' sampled records would be rejected.';
		if (!p.done) text = (st.profileStopped ? 'Stopped: ' : 'Profiling… ') + text;
		$('profnote').textContent = text;
		$('rowsfact').textContent = (rows.exact ? '' : '≈ ') + fmt(rows.estimate) + (rows.exact ? ' records' : ' records (estimate, ' + fmt(rows.low) + '–' + fmt(rows.high) + ')');
	}

	// ---- messages from the extension ---------------------------------------------------------------------
	window.addEventListener('message', (event) => {
		const m = event.data;
		switch (m.type) {
			case 'head': {
				st.head = m.head; st.rows = m.rows; st.more = m.more; st.cap = m.cap; st.loading = false;
				$('title').textContent = m.head.name;
				const facts = $('facts');
				facts.textContent = '';
				m.facts.forEach(([k, v, id]) => { const s = el('span'); s.appendChild(el('span', 'muted', k + ': ')); const b = el('b', '', v); if (id) b.id = id; s.appendChild(b); facts.appendChild(s); });
				const notes = $('notes');
				notes.textContent = '';
				if (m.problem) { const b = el('div', 'banner error', m.problem); b.setAttribute('role', 'alert'); notes.appendChild(b); }
				m.notes.forEach((n) => notes.appendChild(el('div', 'banner', n)));
				st.blocked = m.problem && m.blocksRun ? m.problem : '';
				$('content').classList.toggle('hidden', m.head.header.length === 0);
				if (m.head.header.length > 0) { renderHead(); renderBody(); renderProfile(); }
				renderSetup();
				break;
			}
			case 'rows':
				st.rows = st.rows.concat(m.rows); st.more = m.more; st.loading = false; renderBody();
				break;
			case 'profile': st.profile = m.snapshot; st.profileStopped = false; renderProfile(); renderHead(); markFocus(false); renderSetup(); break;
			case 'profileStopped': st.profileStopped = true; $('profnote').textContent = m.text; $('cancelProfile').classList.add('hidden'); $('profprogress').classList.add('hidden'); $('restartProfile').classList.remove('hidden'); break;
			case 'setup': {
				st.setup = m.setup;
				if (m.initial) {
					st.parts = m.initial.parts; st.renames = m.initial.renames;
					if (st.head && st.head.header.length) { renderHead(); renderProfile(); }
				}
				renderSetup();
				break;
			}
			case 'problem': {
				const notes = $('notes');
				const b = el('div', 'banner error', m.text); b.setAttribute('role', 'alert');
				notes.insertBefore(b, notes.firstChild);
				if (m.blocksRun) st.blocked = m.text;
				renderSetup();
				break;
			}
			case 'run': {
				st.running = m.state === 'running';
				const box = $('runstate');
				box.classList.remove('hidden');
				$('runprogress').classList.toggle('hidden', !st.running);
				if (m.percent !== undefined) $('runprogress').value = m.percent / 100;
				$('runtext').textContent = m.text;
				$('cancelRun').classList.toggle('hidden', !st.running);
				$('showSummary').classList.toggle('hidden', m.state !== 'done');
				$('openFolder').classList.toggle('hidden', m.state !== 'done');
				renderSetup();
				break;
			}
			case 'saved': $('savedtext').textContent = m.text; break;
		}
	});
	const click = (id, f) => $(id).addEventListener('click', f);
	click('run', () => post({ type: 'run', setup: { partitionBy: specs(), mapping: mapping() } }));
	click('save', () => post({ type: 'save', setup: { partitionBy: specs(), mapping: mapping() } }));
	click('cancelRun', () => post({ type: 'cancelRun' }));
	click('cancelProfile', () => post({ type: 'cancelProfile' }));
	click('restartProfile', () => { $('restartProfile').classList.add('hidden'); post({ type: 'restartProfile' }); });
	click('pickOrders', () => post({ type: 'pickOrders' }));
	click('clearOrders', () => post({ type: 'clearOrders' }));
	click('pickOutDir', () => post({ type: 'pickOutDir' }));
	click('resetOutDir', () => post({ type: 'resetOutDir' }));
	click('showSummary', () => post({ type: 'showSummary' }));
	click('openFolder', () => post({ type: 'openFolder' }));
	post({ type: 'ready' });
})();
`;

/** The whole document of a Preview webview. */
export function buildPreviewHtml(input: { nonce: string; name: string }): string {
	const body = `<h1>Sweep Preview: <span id="title">${escapeHtml(input.name)}</span></h1>
<div id="facts" class="facts" aria-label="File facts"><span class="muted">Reading the start of the file…</span></div>
<div id="notes"></div>
<div id="content">
<h2 id="rowsheading">Rows</h2>
<div id="grid" class="grid" role="grid" tabindex="0" aria-labelledby="rowsheading" aria-rowcount="1">
<div id="gridhead" class="row head" role="row"></div>
<div id="gridbody" class="body" role="rowgroup"></div>
</div>
<div id="tablefoot" class="tablefoot muted" aria-live="polite"></div>
<h2 id="profileheading">Columns</h2>
<p class="note"><progress id="profprogress" max="1" value="0" aria-label="Profile progress"></progress>
<span id="profnote" class="muted" aria-live="polite">Profiling…</span>
<button id="cancelProfile" class="secondary" type="button">Cancel</button>
<button id="restartProfile" class="secondary hidden" type="button">Profile again</button></p>
<table class="profile" aria-labelledby="profileheading">
<thead><tr><th scope="col">Column</th><th scope="col">Output name</th><th scope="col">Type</th><th scope="col">Distinct</th><th scope="col">As a partition column</th><th scope="col">Empty</th><th scope="col">Min</th><th scope="col">Max</th><th scope="col">Most frequent (count in what was read)</th></tr></thead>
<tbody id="profilebody"></tbody>
</table>
</div>
<h2>Run</h2>
<div class="setup">
<span class="label" id="partslabel">Partition by</span><div id="parts" class="chips" aria-labelledby="partslabel"></div>
<span class="label">Orders file</span><div><span id="orders" class="path"></span> <button id="pickOrders" class="secondary" type="button">Choose…</button> <button id="clearOrders" class="secondary hidden" type="button">None</button></div>
<span class="label">Output folder</span><div><span id="outdir" class="path"></span> <button id="pickOutDir" class="secondary" type="button">Choose…</button> <button id="resetOutDir" class="secondary hidden" type="button">Default</button></div>
<span class="label">Workers</span><span id="workers"></span>
<span class="label">Chunk size</span><span id="chunk"></span>
</div>
<p id="trust" class="muted"></p>
<div class="actions">
<button id="run" type="button" disabled>Run</button>
<button id="save" class="secondary" type="button" disabled title="Store the partition columns, renames, orders file and output folder in this folder's workspace settings">Use these settings for this folder</button>
<span id="why" class="muted" aria-live="polite"></span>
<span id="savedtext" class="muted" aria-live="polite"></span>
</div>
<div id="runstate" class="runstate hidden" aria-live="polite">
<progress id="runprogress" max="1" value="0" aria-label="Extraction progress"></progress>
<span id="runtext"></span>
<button id="cancelRun" class="secondary hidden" type="button">Cancel</button>
<button id="showSummary" class="hidden" type="button">Show Summary</button>
<button id="openFolder" class="secondary hidden" type="button">Open Folder</button>
</div>`;
	return webviewPage({ nonce: input.nonce, title: `Sweep Preview: ${input.name}`, style: STYLE, body, script: SCRIPT });
}
