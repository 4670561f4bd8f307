import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'csv-parse/sync';
import type { Manifest } from '../../src/engine/types';
import { requireCli, runCli } from './helpers/cli';
import { readOutput } from './helpers/compare';
import { generateTrades, type TradesTruth } from './helpers/engine';
import { makeTmp, removeTmp } from './helpers/fsutil';

/**
 * A realistic file from scripts/gen-trades.mjs (quoted commas, line breaks, `""`) through `node dist/cli.js extract`:
 * rows and qty per symbol match its truth.json, read back from the partition files themselves, at workers 1 and 2,
 * and both runs write the same bytes.
 */

/** Rows and qty per symbol, counted from the partition files with csv-parse. */
function countFiles(outDir: string, m: Manifest): Map<string, { rows: number; qty: number }> {
	const counts = new Map<string, { rows: number; qty: number }>();
	for (const part of m.partitions) {
		if (!part.file) continue;
		const records = parse(fs.readFileSync(path.join(outDir, part.file)), {
			record_delimiter: ['\r\n', '\n'],
			columns: true,
		}) as Record<string, string>[];
		const c = { rows: 0, qty: 0 };
		for (const r of records) {
			assert.equal(r.symbol, part.key[0], `${part.file} holds only ${part.key[0]}`);
			c.rows++;
			c.qty += Number(r.qty);
		}
		counts.set(part.key[0], c);
	}
	return counts;
}

describe('engine: generated trades against their truth', function () {
	this.timeout(600_000);
	let tmp: string;
	before(() => {
		requireCli();
		tmp = makeTmp('sweep-trades-');
	});
	after(() => removeTmp(tmp));

	it('200,000 rows: rows and qty per symbol match truth.json at workers 1 and 2, same bytes', async () => {
		const input = path.join(tmp, 'trades.csv');
		const truth: TradesTruth = generateTrades(input, 200_000);
		const outputs: Map<string, Buffer>[] = [];
		for (const workers of [1, 2]) {
			const out = path.join(tmp, `out-${workers}`);
			const r = await runCli(['extract', input, '--out', out, '--workers', String(workers), '--json']);
			assert.equal(r.code, 0, r.stderr);
			const m = JSON.parse(r.stdout) as Manifest;
			assert.equal(m.rowsRead, truth.rows);
			assert.equal(m.rowsWritten, truth.rows);
			assert.equal(m.rowsRejected, 0);
			assert.equal(m.source.bytes, truth.bytes);
			assert.deepEqual(
				m.partitions.map((x) => x.key[0]),
				Object.keys(truth.symbols),
				'partitions in order of first appearance',
			);
			for (const part of m.partitions) {
				const t = truth.symbols[part.key[0]];
				assert.equal(part.rows, t.rows, `${part.key[0]} rows in the manifest`);
				assert.equal(part.stats.quantity, t.qty, `${part.key[0]} quantity in the manifest`);
			}
			assert.deepEqual(Object.fromEntries(countFiles(out, m)), truth.symbols, 'rows and qty read back from the files');
			outputs.push(readOutput(out));
		}
		const [one, two] = outputs;
		assert.deepEqual([...one.keys()].sort(), [...two.keys()].sort());
		for (const [name, bytes] of one) {
			if (name === '_manifest.json') continue;
			assert.ok(bytes.equals(two.get(name) as Buffer), `${name} identical at workers 1 and 2`);
		}
	});

	it('CRLF trades with an orders file: kept symbols match truth, NOTRADES listed with no rows', async () => {
		const input = path.join(tmp, 'crlf.csv');
		const orders = path.join(tmp, 'orders.csv');
		const truth = generateTrades(input, 50_000, ['--crlf', '--orders', orders, '--order-symbols', '12']);
		const ordered = [
			...new Set((parse(fs.readFileSync(orders), { columns: true }) as Record<string, string>[]).map((r) => r.symbol)),
		];
		const out = path.join(tmp, 'out-orders');
		const r = await runCli([
			'extract',
			input,
			'--out',
			out,
			'--orders',
			orders,
			'--workers',
			'2',
			'--chunk-size',
			'777',
		]);
		assert.equal(r.code, 0, r.stderr);
		const m = JSON.parse(fs.readFileSync(path.join(out, '_manifest.json'), 'utf8')) as Manifest;
		const kept = ordered.filter((s) => truth.symbols[s]);
		const keptRows = kept.reduce((n, s) => n + truth.symbols[s].rows, 0);
		assert.equal(m.rowsWritten, keptRows);
		assert.equal(m.rowsFilteredOut, truth.rows - keptRows);
		assert.equal(m.orders?.keys, ordered.length);
		const counts = countFiles(out, m);
		for (const s of kept) assert.deepEqual(counts.get(s), truth.symbols[s], s);
		const none = m.partitions.find((x) => x.key[0] === 'NOTRADES');
		assert.deepEqual(none && [none.rows, none.file], [0, null]);
		const header = fs
			.readFileSync(path.join(out, `${kept[0]}.csv`))
			.subarray(0, 80)
			.toString('latin1');
		assert.ok(header.startsWith('trade_id,timestamp,symbol,side,price,qty,venue,condition\r\n'), header);
	});
});
