import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Manifest } from '../../src/engine/types';
import {
	describeExtension,
	fake,
	lastShown,
	run,
	setSetting,
	tradesCsv,
	Uri,
	until,
	writeFile,
} from './helpers/vscodeFake';

describeExtension('vscode: one extraction at a time, and cancelling one', (h) => {
	it('one run per file, one at a time: the same file says so, another is queued', async () => {
		const a = writeFile('big/a.csv', tradesCsv(150_000));
		const b = writeFile('big/b.csv', tradesCsv(100));
		await setSetting('chunkSize', 10_000);
		const first = run<Manifest | undefined>('sweep.extract', Uri.file(a), { notify: false });
		await until(() => h.api.isRunning(), 'first run');
		assert.equal(await run('sweep.extract', Uri.file(a)), undefined);
		assert.equal(h.api.lastError()?.code, 'busy');
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
		assert.equal(h.api.isRunning(), false);
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
		assert.equal(h.api.lastError()?.code, 'aborted');
		assert.match(lastShown().text, /cancelled/);
		assert.equal(fs.readFileSync(path.join(outDir, '_manifest.json'), 'utf8'), before);
		assert.deepEqual(
			fs.readdirSync(path.dirname(outDir)).filter((n) => n.includes('.sweep-')),
			[],
		);
		assert.match(progress.reports[1].message ?? '', /^\d+% · [\d,]+ rows · [\d,]+ rows\/s · \d partitions?$/);
	});
});
