import * as assert from 'node:assert/strict';
import { SweepError } from '../../src/engine/errors';
import type { Manifest, ManifestPartition } from '../../src/engine/types';
import { formatSize } from '../../src/rules';
import { parseManifest } from '../../src/vscode/manifestFile';
import {
	buildSummaryHtml,
	CHART_TOP,
	formatDecimal,
	openableFiles,
	parseSummaryMessage,
	summaryTotals,
	TABLE_LIMIT,
	topPartitions,
} from '../../src/vscode/summaryHtml';
import { escapeHtml } from '../../src/vscode/webviewPage';

const NONCE = 'bm9uY2Vub25jZW5vbmNl';

function part(key: string, rows: number, stats: ManifestPartition['stats'] = {}): ManifestPartition {
	return { key: [key], file: `${key}.csv`, rows, stats };
}

function manifest(partitions: ManifestPartition[], over: Partial<Manifest> = {}): Manifest {
	const rows = partitions.reduce((n, p) => n + p.rows, 0);
	return {
		version: 1,
		source: {
			path: '/ws/data/trades.csv',
			bytes: 10 * 1024 * 1024,
			header: ['symbol', 'price', 'qty'],
			delimiter: ',',
		},
		columns: ['symbol', 'price', 'qty'],
		partitionBy: ['symbol'],
		orders: null,
		config: { workers: 6, chunkSize: 80_000, sources: { workers: 'detected', chunkSize: 'setting' } },
		rowsRead: rows + 3,
		rowsWritten: rows,
		rowsRejected: 3,
		rowsFilteredOut: 0,
		partitions,
		rejects: '_rejects.csv',
		startedAt: '2024-03-11T13:30:00.000Z',
		durationMs: 2000,
		...over,
	};
}

/** The <script> and <style> elements of a document, with their attributes. */
function elements(html: string, tag: string): { attrs: string; body: string }[] {
	return [...html.matchAll(new RegExp(`<${tag}([^>]*)>([\\s\\S]*?)</${tag}>`, 'g'))].map((m) => ({
		attrs: m[1],
		body: m[2],
	}));
}

describe('vscode: Summary view HTML', () => {
	const m = manifest([
		part('AAPL', 1200, {
			firstTimestamp: '2024-03-11T13:30:00Z',
			lastTimestamp: '2024-03-11T20:00:00Z',
			minPrice: 170.5,
			maxPrice: 175.25,
			quantity: 123_456,
			vwap: 172.123456,
		}),
		part('MSFT', 3400, { minPrice: 400, maxPrice: 410, quantity: 10, vwap: 405 }),
		{ key: ['ZZZ'], file: null, rows: 0, stats: {} },
	]);
	const html = buildSummaryHtml({ manifest: m, outDir: '/ws/data/processed/trades', nonce: NONCE });

	it('has a strict Content-Security-Policy: nothing remote, style and script by nonce only', () => {
		const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]*)">/.exec(html)?.[1];
		assert.equal(csp, `default-src 'none'; style-src 'nonce-${NONCE}'; script-src 'nonce-${NONCE}';`);
		const scripts = elements(html, 'script');
		const styles = elements(html, 'style');
		assert.equal(scripts.length, 1);
		assert.equal(styles.length, 1);
		assert.equal(scripts[0].attrs, ` nonce="${NONCE}"`);
		assert.equal(styles[0].attrs, ` nonce="${NONCE}"`);
		assert.doesNotMatch(html, /\sstyle="/, 'no inline style attributes (the CSP would block them)');
		assert.doesNotMatch(html, /\son[a-z]+=/i, 'no inline event handlers');
		assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//, 'no remote content');
		assert.doesNotMatch(html, /<(img|link|iframe|object)\b/);
	});

	it('uses the theme through CSS variables', () => {
		const css = elements(html, 'style')[0].body;
		assert.match(css, /var\(--vscode-foreground\)/);
		assert.match(css, /var\(--vscode-editor-background\)/);
		assert.doesNotMatch(css, /#[0-9a-f]{3,6}\b/i, 'no hard-coded colours');
	});

	it('shows the totals', () => {
		const totals = Object.fromEntries(summaryTotals(m, '/out'));
		assert.equal(totals['Rows read'], '4,603');
		assert.equal(totals['Rows written'], '4,600');
		assert.equal(totals['Rows rejected'], '3');
		assert.equal(totals['Rows filtered out'], '0');
		assert.equal(totals.Partitions, '2 (+ 1 order key without rows)');
		assert.equal(totals.Time, '2.0 s');
		assert.equal(totals.Throughput, '2,302 rows/s · 5.0 MB/s');
		assert.equal(totals.Workers, '6 (detected)');
		assert.equal(totals['Chunk size'], '80,000 rows (setting)');
		assert.equal(totals['Output folder'], '/out');
		assert.equal(totals['Written as'], 'CSV, one file per partition');
		const parquet = {
			...m,
			format: 'parquet' as const,
			layout: 'hive' as const,
			maxRowsPerFile: 100_000,
			output: { compression: 'snappy' as const, compressionLevel: null },
			source: { ...m.source, compression: 'gzip' as const },
		};
		assert.equal(
			Object.fromEntries(summaryTotals(parquet, '/out'))['Written as'],
			'Parquet (snappy), hive folders, at most 100,000 rows per file, read from gzip',
		);
		for (const [k, v] of summaryTotals(m, '/ws/data/processed/trades')) {
			assert.ok(html.includes(`<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`), `${k} rendered`);
		}
	});

	it('renders a sortable table with the stats, rows that open their file', () => {
		for (const title of [
			'Partition',
			'Rows',
			'First timestamp',
			'Last timestamp',
			'Min price',
			'Max price',
			'Quantity',
			'VWAP',
			'File',
		]) {
			assert.ok(html.includes(`>${title}</button></th>`), `column ${title}`);
		}
		assert.match(html, /<tr class="open" tabindex="0" data-file="AAPL\.csv"[^>]*>/);
		assert.match(html, /<td class="num" data-v="123456">123,456<\/td>/);
		assert.match(html, /<td class="num" data-v="172\.123456">172\.1235<\/td>/);
		assert.match(html, /<tr class="nofile"[^>]*><td data-v="ZZZ">ZZZ<\/td>/, 'order key without rows is not clickable');
		assert.match(elements(html, 'script')[0].body, /postMessage\(\{ type: 'open', file: file \}\)/);
	});

	it('leaves out stat columns no partition has', () => {
		const plain = buildSummaryHtml({ manifest: manifest([part('A', 1)]), outDir: '/o', nonce: NONCE });
		assert.ok(!plain.includes('>VWAP</button>'));
		assert.ok(!plain.includes('>First timestamp</button>'));
	});

	it('escapes hostile keys, file names and paths everywhere', () => {
		const evil = '<script>alert(1)</script>';
		const hostile = manifest(
			[
				{
					key: [evil, '"><img src=x onerror=alert(2)>'],
					file: `${evil}.csv`,
					rows: 5,
					stats: { firstTimestamp: '</td><script>' },
				},
			],
			{
				source: { path: `/ws/${evil}.csv`, bytes: 1, header: [], delimiter: ',' },
				partitionBy: [evil],
			},
		);
		const out = buildSummaryHtml({ manifest: hostile, outDir: `/o/${evil}`, nonce: NONCE });
		assert.equal(elements(out, 'script').length, 1, 'only our own script element');
		assert.ok(!out.includes('<script>alert'), 'no raw <script> from the manifest');
		assert.ok(!out.includes('<img'), 'no raw <img> from the manifest');
		assert.ok(!out.includes('</td><script>'));
		assert.ok(out.includes('&#60;script&#62;alert(1)&#60;/script&#62;'), 'shown as text');
		assert.ok(out.includes('data-file="&#60;script&#62;alert(1)&#60;/script&#62;.csv"'), 'attribute escaped');
		assert.ok(out.includes('&#34;&#62;&#60;img src=x onerror=alert(2)&#62;'), 'quotes escaped');
	});

	it('charts the top 30 partitions by rows as inline SVG bars', () => {
		const many = Array.from({ length: 45 }, (_, i) => part(`K${i}`, ((i * 37) % 45) + 1));
		const svg =
			/<svg class="chart"[\s\S]*?<\/svg>/.exec(
				buildSummaryHtml({ manifest: manifest(many), outDir: '/o', nonce: NONCE }),
			)?.[0] ?? '';
		const bars = [...svg.matchAll(/<rect class="bar" x="\d+" y="\d+" width="(\d+)"/g)].map((b) => Number(b[1]));
		assert.equal(bars.length, CHART_TOP);
		assert.equal(bars[0], 460, 'the largest bar spans the chart');
		assert.deepEqual(
			[...bars].sort((a, b) => b - a),
			bars,
			'largest first',
		);
		const labels = [...svg.matchAll(/<text class="label"[^>]*>([^<]*)<\/text>/g)].map((l) => l[1]);
		assert.deepEqual(
			labels,
			topPartitions(manifest(many)).map((p) => p.key[0]),
		);
		assert.ok(
			/<h2>Rows per partition \(top 30 of 45\)<\/h2>/.test(
				buildSummaryHtml({ manifest: manifest(many), outDir: '/o', nonce: NONCE }),
			),
		);
	});

	it('topPartitions: most rows first, ties in manifest order, empty keys left out', () => {
		const ps = [part('a', 5), part('b', 9), part('c', 5), { key: ['z'], file: null, rows: 0, stats: {} }, part('d', 9)];
		assert.deepEqual(
			topPartitions({ partitions: ps }).map((p) => p.key[0]),
			['b', 'd', 'a', 'c'],
		);
		assert.deepEqual(
			topPartitions({ partitions: ps }, 2).map((p) => p.key[0]),
			['b', 'd'],
		);
	});

	it(`caps the table at ${TABLE_LIMIT.toLocaleString('en-US')} rows and says so`, () => {
		const many = Array.from({ length: TABLE_LIMIT + 5 }, (_, i) => part(`K${i}`, 1));
		const out = buildSummaryHtml({ manifest: manifest(many), outDir: '/o', nonce: NONCE });
		assert.equal((out.match(/<tr class="open"/g) ?? []).length, TABLE_LIMIT);
		assert.match(out, /Showing the first 10,000 of 10,005 partitions/);
	});

	it('offers the rejects file only when there is one', () => {
		assert.match(html, /data-file="_rejects\.csv">Open _rejects\.csv<\/a> · 3 rejected records/);
		const none = buildSummaryHtml({
			manifest: manifest([part('A', 1)], { rejects: null, rowsRejected: 0 }),
			outDir: '/o',
			nonce: NONCE,
		});
		assert.ok(!none.includes('_rejects.csv'));
	});

	it('formats numbers whatever the locale', () => {
		assert.equal(formatDecimal(1234567.891), '1,234,567.891');
		assert.equal(formatDecimal(-0.5), '-0.5');
		assert.equal(formatDecimal(400), '400');
		assert.equal(formatSize(500), '500 bytes');
		assert.equal(formatSize(303 * 1024 * 1024), '303.0 MB');
	});
});

describe('vscode: Summary view messages and files', () => {
	it('accepts only well-formed open messages', () => {
		assert.deepEqual(parseSummaryMessage({ type: 'open', file: 'A.csv' }), { type: 'open', file: 'A.csv' });
		for (const bad of [
			null,
			'open',
			{ type: 'open' },
			{ type: 'open', file: 3 },
			{ type: 'exec', file: 'x' },
			{ type: 'open', file: '' },
		]) {
			assert.equal(parseSummaryMessage(bad), undefined, JSON.stringify(bad));
		}
	});

	it('may open the files the manifest lists (hive folders too), never a path outside the folder', () => {
		const m = manifest([
			part('A', 1),
			{ key: ['x'], file: '../../etc/passwd', rows: 1, stats: {} },
			{ key: ['y'], file: '..', rows: 1, stats: {} },
			{ key: ['w'], file: 'a\\b.csv', rows: 1, stats: {} },
			{ key: ['v'], file: '/etc/passwd', rows: 1, stats: {} },
			{ key: ['u'], file: 'symbol=u/../../x.csv', rows: 1, stats: {} },
			{ key: ['t'], file: 'C:x.csv', rows: 1, stats: {} },
			{
				key: ['h'],
				file: 'symbol=h/part-00001.csv',
				files: [
					{ file: 'symbol=h/part-00001.csv', rows: 1 },
					{ file: 'symbol=h/part-00002.csv', rows: 1 },
				],
				rows: 2,
				stats: {},
			},
		]);
		assert.deepEqual([...openableFiles(m)].sort(), [
			'A.csv',
			'_rejects.csv',
			'symbol=h/part-00001.csv',
			'symbol=h/part-00002.csv',
		]);
	});
});

describe('vscode: reading a _manifest.json from anywhere', () => {
	it('reads what the engine writes', () => {
		const m = manifest([part('A', 2, { vwap: 1.5 })]);
		assert.deepEqual(parseManifest(JSON.stringify(m)), m);
	});

	it('refuses what is not a version-1 manifest', () => {
		for (const [text, why] of [
			['{', /invalid JSON/],
			['[]', /not a JSON object/],
			['{"version":2,"partitions":[]}', /version 2/],
			['{"version":1}', /no partitions list/],
		] as const) {
			assert.throws(
				() => parseManifest(text, '/x/_manifest.json'),
				(e: unknown) =>
					e instanceof SweepError &&
					why.test(e.message) &&
					e.message.startsWith('/x/_manifest.json is not a Sweep manifest'),
			);
		}
	});

	it('replaces ill-typed fields with neutral values', () => {
		const m = parseManifest(
			JSON.stringify({
				version: 1,
				partitions: [{ key: 'A', file: 7, rows: '9', stats: { vwap: 'x', minPrice: 2 } }, 'junk'],
				rowsRead: -5,
				config: { sources: { workers: 'hacked' } },
				rejects: '../../etc/passwd',
			}),
		);
		assert.deepEqual(m.partitions, [{ key: [], file: null, rows: 0, stats: { minPrice: 2 } }]);
		assert.equal(m.rowsRead, 0);
		assert.equal(m.config.sources.workers, 'detected');
		assert.equal(m.rejects, null);
		assert.doesNotThrow(() => buildSummaryHtml({ manifest: m, outDir: '/o', nonce: NONCE }));
	});
});
