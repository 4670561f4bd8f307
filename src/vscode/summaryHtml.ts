/**
 * The HTML of the Summary view, as a pure function of a manifest (no `vscode`). Strict CSP: nothing
 * loads from anywhere, the one style block and the one script carry a nonce, every value from the
 * manifest is escaped. Colours come from the editor theme's CSS variables.
 */

import type { ConfigSource, Manifest, ManifestPartition } from '../engine/types';
import { formatCount, formatSize, MANIFEST_FILE, REJECTS_FILE } from '../rules';
import { formatDuration, plural, writtenPartitions } from './messages';
import { escapeHtml, webviewPage } from './webviewPage';

/** Bars in the chart. */
export const CHART_TOP = 30;
/** Rows in the table (the manifest has them all). */
export const TABLE_LIMIT = 10_000;

/** What the view shows. */
export interface SummaryInput {
	manifest: Manifest;
	/** The output folder (partition file names are relative to it). */
	outDir: string;
	/** Fresh random nonce for the style and the script. */
	nonce: string;
}

/** Messages the view's script posts to the extension. */
export type SummaryMessage = { type: 'open'; file: string };

/** A partition's key as shown: the values joined with ` + `, `(empty)` for an empty value. */
export function keyLabel(p: Pick<ManifestPartition, 'key'>): string {
	return p.key.map((v) => (v === '' ? '(empty)' : v)).join(' + ');
}

/** The `n` partitions with the most rows, most first; ties keep manifest (first-appearance) order. */
export function topPartitions(m: Pick<Manifest, 'partitions'>, n = CHART_TOP): ManifestPartition[] {
	return m.partitions
		.map((p, i) => ({ p, i }))
		.filter(({ p }) => p.rows > 0)
		.sort((a, b) => b.p.rows - a.p.rows || a.i - b.i)
		.slice(0, n)
		.map(({ p }) => p);
}

/** A decimal with `,` thousands and at most `digits` decimals, trailing zeros dropped: `1,234.5`. */
export function formatDecimal(x: number, digits = 4): string {
	if (!Number.isFinite(x)) return String(x);
	const [whole, fraction = ''] = Math.abs(x).toFixed(digits).split('.');
	const frac = fraction.replace(/0+$/, '');
	return `${x < 0 ? '-' : ''}${formatCount(Number(whole))}${frac ? `.${frac}` : ''}`;
}

const SOURCE_WORDS: Record<ConfigSource, string> = {
	detected: 'detected',
	fallback: 'fallback',
	env: 'environment',
	setting: 'setting',
	flag: 'command-line flag',
};

/** Format, layout, compression and file cap of the output, e.g. `Parquet (snappy), hive folders`. */
function writtenAs(m: Manifest): string {
	const codec = m.output?.compression ?? 'none';
	const parts = [
		(m.format === 'parquet' ? 'Parquet' : 'CSV') + (codec === 'none' ? '' : ` (${codec})`),
		m.layout === 'hive' ? 'hive folders' : 'one file per partition',
	];
	if (m.maxRowsPerFile != null) parts.push(`at most ${plural(m.maxRowsPerFile, 'row')} per file`);
	if (m.source.compression && m.source.compression !== 'none') parts.push(`read from ${m.source.compression}`);
	return parts.join(', ');
}

/** The totals block as label/value pairs (plain text, escaped when rendered). */
export function summaryTotals(m: Manifest, outDir: string): [string, string][] {
	const seconds = m.durationMs / 1000;
	const perSecond = (n: number) => (seconds > 0 ? n / seconds : 0);
	const emptyKeys = m.partitions.length - writtenPartitions(m);
	const rows: [string, string][] = [
		['Source', m.source.path],
		['Source size', formatSize(m.source.bytes)],
		['Output folder', outDir],
		['Partitioned by', m.partitionBy.join(', ')],
		['Orders', m.orders === null ? 'none' : `${m.orders.path} (${plural(m.orders.keys, 'key')})`],
		['Written as', writtenAs(m)],
		['Rows read', formatCount(m.rowsRead)],
		['Rows written', formatCount(m.rowsWritten)],
		['Rows rejected', formatCount(m.rowsRejected)],
		['Rows filtered out', formatCount(m.rowsFilteredOut)],
		[
			'Partitions',
			formatCount(writtenPartitions(m)) + (emptyKeys > 0 ? ` (+ ${plural(emptyKeys, 'order key')} without rows)` : ''),
		],
		['Time', formatDuration(m.durationMs)],
		[
			'Throughput',
			`${formatCount(Math.round(perSecond(m.rowsRead)))} rows/s · ${formatSize(perSecond(m.source.bytes))}/s`,
		],
		['Workers', `${formatCount(m.config.workers)} (${SOURCE_WORDS[m.config.sources.workers]})`],
		['Chunk size', `${formatCount(m.config.chunkSize)} rows (${SOURCE_WORDS[m.config.sources.chunkSize]})`],
	];
	if (m.startedAt) rows.push(['Started', m.startedAt]);
	return rows;
}

function chartSvg(m: Manifest): string {
	const top = topPartitions(m);
	if (top.length === 0) return '<p class="muted">No partition has rows.</p>';
	const max = top[0].rows;
	const barH = 18;
	const gap = 4;
	const labelW = 200;
	const barMax = 460;
	const width = labelW + barMax + 110;
	const height = top.length * (barH + gap);
	const bars = top.map((p, i) => {
		const y = i * (barH + gap);
		const w = Math.max(1, Math.round((p.rows / max) * barMax));
		const label = keyLabel(p);
		const shown = label.length > 28 ? `${label.slice(0, 27)}…` : label;
		return (
			`<g><title>${escapeHtml(`${label}: ${formatCount(p.rows)} rows`)}</title>` +
			`<text class="label" x="${labelW - 8}" y="${y + barH - 5}" text-anchor="end">${escapeHtml(shown)}</text>` +
			`<rect class="bar" x="${labelW}" y="${y}" width="${w}" height="${barH}"></rect>` +
			`<text class="value" x="${labelW + w + 6}" y="${y + barH - 5}">${formatCount(p.rows)}</text></g>`
		);
	});
	return (
		`<svg class="chart" role="img" aria-label="Rows per partition, top ${top.length}" viewBox="0 0 ${width} ${height}" ` +
		`width="${width}" height="${height}" xmlns="http://www.w3.org/2000/svg">${bars.join('')}</svg>`
	);
}

type StatColumn = { title: string; get: (p: ManifestPartition) => string | number | undefined; numeric: boolean };

function tableHtml(m: Manifest): string {
	const allStats: StatColumn[] = [
		{ title: 'First timestamp', get: (p) => p.stats.firstTimestamp, numeric: false },
		{ title: 'Last timestamp', get: (p) => p.stats.lastTimestamp, numeric: false },
		{ title: 'Min price', get: (p) => p.stats.minPrice, numeric: true },
		{ title: 'Max price', get: (p) => p.stats.maxPrice, numeric: true },
		{ title: 'Quantity', get: (p) => p.stats.quantity, numeric: true },
		{ title: 'VWAP', get: (p) => p.stats.vwap, numeric: true },
	];
	const statColumns = allStats.filter((c) => m.partitions.some((p) => c.get(p) !== undefined));
	const columns: StatColumn[] = [
		{ title: 'Partition', get: (p) => keyLabel(p), numeric: false },
		{ title: 'Rows', get: (p) => p.rows, numeric: true },
		...statColumns,
		{ title: 'File', get: (p) => p.file ?? '', numeric: false },
	];
	const head = columns
		.map(
			(c, i) =>
				`<th scope="col" aria-sort="none"${c.numeric ? ' class="num"' : ''}><button type="button" data-col="${i}" data-numeric="${c.numeric}">${escapeHtml(c.title)}</button></th>`,
		)
		.join('');
	const shown = m.partitions.slice(0, TABLE_LIMIT);
	const body = shown
		.map((p) => {
			const cells = columns
				.map((c) => {
					const v = c.get(p);
					if (v === undefined) return '<td data-v=""></td>';
					if (typeof v === 'number') {
						const text = c.title === 'Rows' ? formatCount(v) : formatDecimal(v);
						return `<td class="num" data-v="${v}">${text}</td>`;
					}
					return `<td data-v="${escapeHtml(v)}">${escapeHtml(v)}</td>`;
				})
				.join('');
			const attrs =
				p.file === null
					? ' class="nofile" title="No rows: an order key that never appeared"'
					: ` class="open" tabindex="0" data-file="${escapeHtml(p.file)}" title="Open ${escapeHtml(p.file)}"`;
			return `<tr${attrs}>${cells}</tr>`;
		})
		.join('\n');
	const note =
		m.partitions.length > shown.length
			? `<p class="muted">Showing the first ${formatCount(shown.length)} of ${formatCount(m.partitions.length)} partitions; ${MANIFEST_FILE} lists them all.</p>`
			: '';
	return `${note}<table id="partitions"><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

const STYLE = `
body { color: var(--vscode-foreground); background: var(--vscode-editor-background); font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); padding: 0 20px 20px; }
h1 { font-size: 1.4em; font-weight: 600; }
h2 { font-size: 1.1em; font-weight: 600; margin-top: 1.6em; }
.muted { color: var(--vscode-descriptionForeground); }
dl.totals { display: grid; grid-template-columns: max-content auto; gap: 2px 16px; }
dl.totals dt { color: var(--vscode-descriptionForeground); }
dl.totals dd { margin: 0; font-variant-numeric: tabular-nums; word-break: break-all; }
.chart { max-width: 100%; height: auto; }
.chart .bar { fill: var(--vscode-charts-blue, var(--vscode-textLink-foreground)); }
.chart .label, .chart .value { fill: var(--vscode-foreground); font-size: 12px; font-family: var(--vscode-font-family); }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 3px 8px; border-bottom: 1px solid var(--vscode-editorWidget-border, transparent); white-space: nowrap; }
th.num, td.num { text-align: right; }
th button { all: unset; cursor: pointer; font-weight: 600; }
th button:focus-visible, tr.open:focus-visible { outline: 1px solid var(--vscode-focusBorder); }
th[aria-sort="ascending"] button::after { content: " ▲"; }
th[aria-sort="descending"] button::after { content: " ▼"; }
tr.open { cursor: pointer; }
tr.open:hover { background: var(--vscode-list-hoverBackground); }
tr.nofile { color: var(--vscode-disabledForeground, var(--vscode-descriptionForeground)); }
a.action { color: var(--vscode-textLink-foreground); cursor: pointer; }
`;

// Static: the data lives in the table's data-* attributes, so nothing from the manifest is ever
// interpolated into the script.
const SCRIPT = `
(function () {
	const vscode = acquireVsCodeApi();
	const table = document.getElementById('partitions');
	function open(el) { const file = el && el.getAttribute('data-file'); if (file) vscode.postMessage({ type: 'open', file: file }); }
	document.addEventListener('click', function (e) {
		const target = e.target instanceof Element ? e.target : null;
		if (!target) return;
		const action = target.closest('[data-file].action');
		if (action) { e.preventDefault(); open(action); return; }
		const row = target.closest('tr.open');
		if (row) open(row);
	});
	document.addEventListener('keydown', function (e) {
		const target = e.target instanceof Element ? e.target : null;
		if ((e.key === 'Enter' || e.key === ' ') && target && target.matches('tr.open, .action[data-file]')) { e.preventDefault(); open(target); }
	});
	if (!table) return;
	const body = table.tBodies[0];
	table.querySelectorAll('th button').forEach(function (button) {
		button.addEventListener('click', function () {
			const th = button.parentElement;
			const col = Number(button.getAttribute('data-col'));
			const numeric = button.getAttribute('data-numeric') === 'true';
			const dir = th.getAttribute('aria-sort') === 'ascending' ? -1 : 1;
			table.querySelectorAll('th').forEach(function (h) { h.setAttribute('aria-sort', 'none'); });
			th.setAttribute('aria-sort', dir === 1 ? 'ascending' : 'descending');
			const rows = Array.from(body.rows);
			rows.sort(function (a, b) {
				const x = a.cells[col].getAttribute('data-v'), y = b.cells[col].getAttribute('data-v');
				if (x === '' || y === '') return x === y ? 0 : x === '' ? 1 : -1;
				const c = numeric ? Number(x) - Number(y) : x.localeCompare(y, undefined, { numeric: true });
				return c * dir;
			});
			rows.forEach(function (r) { body.appendChild(r); });
		});
	});
})();
`;

/** The whole document for the Summary webview. */
export function buildSummaryHtml(input: SummaryInput): string {
	const { manifest: m, outDir, nonce } = input;
	const name = m.source.path.split(/[\\/]/).pop() || 'extraction';
	const totals = summaryTotals(m, outDir)
		.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`)
		.join('');
	const rejects =
		m.rejects === null
			? ''
			: `<p><a class="action" role="button" tabindex="0" data-file="${REJECTS_FILE}">Open ${REJECTS_FILE}</a> · ${plural(m.rowsRejected, 'rejected record')}</p>`;
	const top = topPartitions(m).length;
	const body = `<h1>Sweep Summary: ${escapeHtml(name)}</h1>
<dl class="totals">${totals}</dl>
${rejects}
<h2>Rows per partition${top < writtenPartitions(m) ? ` (top ${top} of ${formatCount(writtenPartitions(m))})` : ''}</h2>
${chartSvg(m)}
<h2>Partitions</h2>
<p class="muted">Click a column to sort, a row to open its file.</p>
${tableHtml(m)}`;
	return webviewPage({ nonce, title: `Sweep Summary: ${name}`, style: STYLE, body, script: SCRIPT });
}

/** Checks a message from the view; anything else is dropped. */
export function parseSummaryMessage(raw: unknown): SummaryMessage | undefined {
	if (typeof raw !== 'object' || raw === null) return undefined;
	const m = raw as Record<string, unknown>;
	return m.type === 'open' && typeof m.file === 'string' && m.file !== '' ? { type: 'open', file: m.file } : undefined;
}

/**
 * The files the view may open: those the manifest names (and `_rejects.csv`), as relative paths whose parts are
 * plain names (hive layout: `symbol=AAPL/data.csv`), so a hand-written manifest cannot point the view outside its
 * folder.
 */
export function openableFiles(m: Manifest): Set<string> {
	const files = new Set<string>();
	for (const p of m.partitions) {
		if (p.file !== null) files.add(p.file);
		for (const f of p.files ?? []) files.add(f.file);
	}
	if (m.rejects !== null) files.add(m.rejects);
	const bad = (part: string) =>
		part === '' || part === '.' || part === '..' || /[\\:]/.test(part) || part.includes('\0');
	for (const f of files) if (f.split('/').some(bad)) files.delete(f);
	return files;
}
