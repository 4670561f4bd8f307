import * as assert from 'node:assert/strict';
import { buildPreviewHtml, parsePreviewMessage } from '../../src/vscode/previewHtml';

describe('vscode: the preview webview (HTML and messages, no vscode)', () => {
	it('a strict CSP: nothing remote, style and script by nonce, no inline style attributes or handlers', () => {
		const html = buildPreviewHtml({ nonce: 'abc+/=', name: '<b>"x".csv' });
		assert.match(html, /content="default-src 'none'; style-src 'nonce-abc\+\/='; script-src 'nonce-abc\+\/=';"/);
		assert.ok(!/https?:\/\//.test(html), 'no URL at all');
		assert.ok(!/\sstyle="/.test(html), 'no style attribute (the CSP would block it)');
		assert.ok(!/\son[a-z]+="/.test(html), 'no inline event handler');
		assert.equal((html.match(/<script/g) ?? []).length, 1);
		assert.ok(html.includes('&#60;b&#62;&#34;x&#34;.csv'), 'the file name is escaped');
		assert.ok(!html.includes('<b>"x"'), 'never raw');
		assert.ok(!/innerHTML|insertAdjacentHTML|outerHTML/.test(html), 'the script puts values in as text only');
	});

	it('controls have labels for screen readers; the table is an ARIA grid', () => {
		const html = buildPreviewHtml({ nonce: 'n', name: 'a.csv' });
		assert.match(html, /role="grid"/);
		assert.match(html, /aria-label="Profile progress"/);
		assert.match(html, /aria-label="Extraction progress"/);
	});

	it('accepts the messages the view sends and drops anything else', () => {
		assert.deepEqual(parsePreviewMessage({ type: 'ready' }), { type: 'ready' });
		assert.deepEqual(parsePreviewMessage({ type: 'cancelRun', extra: 1 }), { type: 'cancelRun' });
		assert.deepEqual(
			parsePreviewMessage({ type: 'run', setup: { partitionBy: ['symbol', 'date(ts)'], mapping: { ticker: 'sym' } } }),
			{ type: 'run', setup: { partitionBy: ['symbol', 'date(ts)'], mapping: { ticker: 'sym' } } },
		);
		for (const bad of [
			null,
			'run',
			{ type: 'open', file: '/etc/passwd' },
			{ type: 'run' },
			{ type: 'run', setup: { partitionBy: 'symbol', mapping: {} } },
			{ type: 'run', setup: { partitionBy: [''], mapping: {} } },
			{ type: 'run', setup: { partitionBy: [1], mapping: {} } },
			{ type: 'save', setup: { partitionBy: ['a'], mapping: { a: 3 } } },
			{ type: 'save', setup: { partitionBy: ['a'], mapping: [] } },
		]) {
			assert.equal(parsePreviewMessage(bad), undefined, JSON.stringify(bad));
		}
	});
});
