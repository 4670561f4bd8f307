import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import type { Manifest } from '../../src/engine/types';
import { describeExtension, fake, lastShown, run, tradesCsv, Uri, until, writeFile } from './helpers/vscodeFake';

describeExtension('vscode: the Summary view command', (h) => {
	it('Show Summary renders the manifest and opens only the files it lists', async () => {
		const input = writeFile('data/trades.csv', tradesCsv(100));
		const m = await run<Manifest | undefined>('sweep.extract', Uri.file(input), { notify: false });
		assert.ok(m?.outDir);
		await run('sweep.showSummary', Uri.file(path.join(m.outDir, '_manifest.json')), [Uri.file('x')]);
		const panel = fake.panels[fake.panels.length - 1];
		assert.match(panel.webview.html, /Content-Security-Policy" content="default-src 'none'; style-src 'nonce-/);
		assert.equal(h.api.summary()?.html, panel.webview.html);
		assert.equal((panel.webview.options as { localResourceRoots: unknown[] }).localResourceRoots.length, 0);
		panel.webview.receive({ type: 'open', file: 'AAPL.csv' });
		await until(() => fake.executed.some((c) => c.id === 'vscode.open'), 'vscode.open');
		const open = fake.executed.find((c) => c.id === 'vscode.open')!;
		assert.equal((open.args[0] as Uri).fsPath, path.join(m.outDir, 'AAPL.csv'));
		assert.equal(await h.api.openFromSummary('../../../etc/passwd'), false);
		assert.equal(await h.api.openFromSummary('nope.csv'), false);

		// Without an argument: the last run's summary; a folder argument means its _manifest.json.
		await run('sweep.showSummary');
		await run('sweep.showSummary', m.outDir);
		assert.equal(fake.panels.length, 1, 'one panel, reused');
		await run('sweep.showSummary', path.join(fake.ws, 'nothing-here'));
		assert.equal(lastShown().kind, 'error');
		assert.match(lastShown().text, /Cannot read .*_manifest\.json/);
	});
});
