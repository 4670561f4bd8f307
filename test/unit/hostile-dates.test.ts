import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { extract } from '../../src/engine';
import { isLeapYear, isValidDate, startsWithDate } from '../../src/engine/keys';
import { requireCli, runCli } from '../fixtures/hostile/env';
import { outputBytes } from '../fixtures/hostile/oracle';
import { expectSweepError } from './helpers/engine';
import { leftovers, makeTmp, removeTmp } from './helpers/fsutil';

/** Issue 12 (5): impossible dates. `date(COL)` takes only real calendar days; leap years right. */

/** JavaScript's own proleptic Gregorian calendar, as an independent oracle. */
function jsValid(year: number, month: number, day: number): boolean {
	if (month < 1 || month > 12 || day < 1) return false;
	const t = new Date(0);
	t.setUTCFullYear(year, month - 1, day);
	return t.getUTCFullYear() === year && t.getUTCMonth() === month - 1 && t.getUTCDate() === day;
}

const pad = (n: number, w: number) => String(n).padStart(w, '0');

describe('hostile dates: impossible days are not dates', function () {
	this.timeout(120_000);
	let dir = '';
	beforeEach(() => {
		dir = makeTmp('sweep-hostile-dates-');
	});
	afterEach(() => removeTmp(dir));

	it('isValidDate and startsWithDate agree with the JavaScript calendar for every day 00–39 of every month 00–13', () => {
		const years = [0, 1, 4, 100, 400, 1600, 1700, 1800, 1900, 1999, 2000, 2023, 2024, 2025, 2100, 2400, 9996, 9999];
		for (let y = 1890; y <= 2110; y++) years.push(y);
		let checked = 0;
		for (const year of years) {
			assert.equal(isLeapYear(year), jsValid(year, 2, 29), `leap year ${year}`);
			for (let month = 0; month <= 13; month++) {
				for (let day = 0; day <= 39; day++) {
					const want = jsValid(year, month, day);
					assert.equal(isValidDate(year, month, day), want, `${year}-${month}-${day}`);
					const text = `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}`;
					for (const tail of ['', 'T10:00:00Z', ' 10:00', 'Z', '+01:00']) {
						const bytes = Buffer.from(`x${text}${tail}y`, 'latin1');
						assert.equal(startsWithDate(bytes, 1, bytes.length - 1), want, JSON.stringify(text + tail));
					}
					checked++;
				}
			}
		}
		assert.ok(checked > 100_000);
	});

	it('startsWithDate: leap days, month ends, and near misses', () => {
		const yes = ['2024-02-29', '2000-02-29', '2023-02-28', '2024-04-30', '2024-12-31', '2024-01-31T00:00:00Z'];
		const no = [
			'2024-02-30',
			'2023-02-29',
			'1900-02-29',
			'2100-02-29',
			'2024-04-31',
			'2024-06-31',
			'2024-09-31',
			'2024-11-31',
			'2024-00-10',
			'2024-13-01',
			'2024-01-00',
			'2024-01-32',
			'2024-1-01',
			'2024-01-1',
			'2024/01/01',
			'2024-01-01x',
			'20a4-01-01',
			'2024-0:-01',
			'2024-01-0/',
			'2024-01-01\x00',
		];
		for (const s of yes) assert.ok(startsWithDate(Buffer.from(s, 'latin1'), 0, s.length), s);
		for (const s of no) assert.ok(!startsWithDate(Buffer.from(s, 'latin1'), 0, s.length), s);
	});

	it('extraction rejects 2024-02-30 and 2023-02-29 with their lines and keeps 2024-02-29 (any workers, chunk sizes)', async () => {
		const input = Buffer.from(
			[
				'timestamp,symbol,qty',
				'2024-02-29T10:00:00Z,A,1', // 2
				'2024-02-30T10:00:00Z,A,2', // 3
				'2023-02-29,B,3', // 4
				'2023-02-28,B,4', // 5
				'2024-04-31 09:30,A,5', // 6
				'2000-02-29,A,6', // 7
				'1900-02-29,A,7', // 8
				'',
			].join('\n'),
		);
		const file = path.join(dir, 'in.csv');
		fs.writeFileSync(file, input);
		const outs: Map<string, string>[] = [];
		for (const [workers, chunkSize] of [
			[1, 1],
			[2, 2],
			[1, 1000],
		]) {
			const outDir = path.join(dir, `out-${workers}-${chunkSize}`);
			const m = await extract({ input: file, outDir, workers, chunkSize, partitionBy: ['symbol', 'date(timestamp)'] });
			outs.push(outputBytes(outDir));
			assert.deepEqual(
				m.partitions.map((p) => p.file),
				['A+2024-02-29.csv', 'B+2023-02-28.csv', 'A+2000-02-29.csv'],
			);
			const rejects = fs.readFileSync(path.join(outDir, '_rejects.csv'), 'utf8').split('\n').slice(1, -1);
			assert.deepEqual(
				rejects.map((r) => Number(r.split(',')[0])),
				[3, 4, 6, 8],
			);
			assert.match(rejects[0], /""2024-02-30T10:00:00Z"" does not start with a valid YYYY-MM-DD date/);
			assert.equal(m.rowsRejected, 4);
			assert.equal(m.rowsWritten, 3);
		}
		for (const o of outs.slice(1)) assert.deepEqual(o, outs[0]);
	});

	it('an orders file with an impossible date is refused before writing (exit 2, its line), nothing created', async () => {
		requireCli();
		const input = path.join(dir, 'in.csv');
		fs.writeFileSync(input, 'timestamp,symbol\n2024-02-29,A\n');
		const orders = path.join(dir, 'orders.csv');
		fs.writeFileSync(orders, 'symbol,timestamp\nA,2024-02-29\nA,2023-02-29T10:00:00Z\n');
		const outDir = path.join(dir, 'out');
		await expectSweepError(
			extract({
				input,
				outDir,
				ordersFile: orders,
				partitionBy: ['symbol', 'date(timestamp)'],
				workers: 1,
				chunkSize: 10,
			}),
			'bad-orders',
		);
		const r = await runCli([
			'extract',
			input,
			'--out',
			outDir,
			'--orders',
			orders,
			'--partition-by',
			'symbol,date(timestamp)',
		]);
		assert.equal(r.code, 2, r.stderr);
		assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
		assert.match(
			r.stderr,
			/line 3: "2023-02-29T10:00:00Z" in column "timestamp" does not start with a valid YYYY-MM-DD date/,
		);
		assert.ok(!fs.existsSync(outDir));
		assert.deepEqual(leftovers(outDir), []);
	});
});
