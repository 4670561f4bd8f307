import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Manifest } from '../../src/engine/types';
import { describeExtension, fake, run, setSetting, tradesCsv, Uri, writeFile } from './helpers/vscodeFake';

describeExtension('vscode: Restricted Mode', (h) => {
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
			assert.match(h.api.statusBar().tooltip, /Restricted Mode/);
			assert.equal(
				await run('sweep.extract', Uri.file(input), { outDir: '/tmp/sweep-evil-out', notify: false }),
				undefined,
			);
			assert.equal(h.api.lastError()?.code, 'output-invalid');
			assert.equal(fs.existsSync('/tmp/sweep-evil-out'), false);
		} finally {
			fake.trusted = true;
		}
	});
});
