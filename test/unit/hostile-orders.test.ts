import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { extract } from '../../src/engine';
import { loadOrders, ORDERS_LIMITS } from '../../src/engine/orders';
import { type PartitionSpec, parsePartitionList } from '../../src/rules';
import { requireCli, runCli, startCli, writeTrades } from '../fixtures/hostile/env';
import { outputBytes } from '../fixtures/hostile/oracle';
import { expectSweepError, hangGuard } from './helpers/engine';
import { leftovers, makeTmp, removeTmp } from './helpers/fsutil';

/**
 * Issue 12 (4): endless, huge and special orders files (and special input files). The orders file is streamed with
 * bounded memory, cancellable, and FIFOs and devices are refused at once (README "Special files").
 */

const keys = (specs: string[]): PartitionSpec[] => {
	const r = parsePartitionList(specs);
	if (!r.ok) throw new Error(r.problem);
	return r.value;
};

describe('hostile orders', function () {
	this.timeout(300_000);
	let dir = '';
	before(() => requireCli());
	beforeEach(() => {
		dir = makeTmp('sweep-hostile-orders-');
	});
	afterEach(() => removeTmp(dir));

	const put = (name: string, bytes: string | Buffer) => {
		const p = path.join(dir, name);
		fs.writeFileSync(p, bytes);
		return p;
	};

	describe('special files are refused at once (exit 2), never read', () => {
		const mkfifo = (p: string) => {
			const r = spawnSync('mkfifo', [p]);
			return r.status === 0;
		};

		it('a FIFO as the orders file: exit 2 naming it, even with no writer (no hang), nothing created', async function () {
			const input = put('in.csv', 'id,symbol\n1,A\n');
			const fifo = path.join(dir, 'orders.fifo');
			if (!mkfifo(fifo)) {
				console.log('      (skipped: mkfifo is not available)');
				return this.skip();
			}
			const out = path.join(dir, 'out');
			const r = await runCli(['extract', input, '--out', out, '--orders', fifo], { timeoutMs: 30_000 });
			assert.equal(r.code, 2, r.stderr);
			assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
			assert.match(r.stderr, /orders\.fifo is a FIFO \(named pipe\); Sweep reads only regular files/);
			assert.ok(!fs.existsSync(out));
		});

		it('/dev/zero as the orders file or the input: exit 2 at once (no memory growth)', async () => {
			const input = put('in.csv', 'id,symbol\n1,A\n');
			const out = path.join(dir, 'out');
			const r = await runCli(['extract', input, '--out', out, '--orders', '/dev/zero'], { timeoutMs: 30_000 });
			assert.equal(r.code, 2, r.stderr);
			assert.match(r.stderr, /\/dev\/zero is a character device; Sweep reads only regular files/);
			const r2 = await runCli(['extract', '/dev/zero', '--out', out], { timeoutMs: 30_000 });
			assert.equal(r2.code, 2, r2.stderr);
			assert.match(r2.stderr, /\/dev\/zero is a character device/);
			assert.ok(!fs.existsSync(out));
		});

		it('a FIFO as the input: exit 2, even while a writer keeps it open', async function () {
			const fifo = path.join(dir, 'in.csv');
			if (!mkfifo(fifo)) {
				console.log('      (skipped: mkfifo is not available)');
				return this.skip();
			}
			// A writer that keeps writing into the FIFO (it blocks until a reader opens it; Sweep must not be that reader).
			const writer = spawn('bash', ['-c', 'exec yes a,b > "$0"', fifo], { stdio: 'ignore' });
			try {
				const r = await runCli(['extract', fifo, '--out', path.join(dir, 'out')], { timeoutMs: 30_000 });
				assert.equal(r.code, 2, r.stderr);
				assert.match(r.stderr, /in\.csv is a FIFO \(named pipe\)/);
				assert.ok(!fs.existsSync(path.join(dir, 'out')));
			} finally {
				writer.kill('SIGKILL');
			}
		});

		it('a link to a regular file is fine', async () => {
			const input = put('in.csv', 'id,symbol\n1,A\n2,B\n');
			put('orders-real.csv', 'symbol\nB\n');
			fs.symlinkSync('orders-real.csv', path.join(dir, 'orders.csv'));
			const m = await extract({
				input,
				outDir: path.join(dir, 'out'),
				ordersFile: path.join(dir, 'orders.csv'),
				workers: 1,
				chunkSize: 10,
			});
			assert.deepEqual(
				m.partitions.map((p) => p.file),
				['B.csv'],
			);
		});
	});

	describe('streamed with bounded memory', () => {
		it('follows the CSV rules: BOM, CRLF, quoted keys with delimiters and line breaks, blank lines, mapping, a CR at the end', async () => {
			const orders = put(
				'orders.csv',
				Buffer.concat([
					Buffer.from([0xef, 0xbb, 0xbf]),
					Buffer.from('n;ticker\r\n1;"A;1"\r\n\r\n2;"B\nb"\n3;""""\n\n4;C\n5;A;1x\n6;\xff\r', 'latin1'),
				]),
			);
			// 'A;1x' has 3 fields: an error naming its line. Without it the file is fine.
			await expectSweepError(loadOrders(orders, { symbol: 'ticker' }, keys(['symbol'])), 'bad-orders').then((e) => {
				assert.match(e.message, /line 9: expected 2 fields, found 3/);
			});
			fs.writeFileSync(
				orders,
				Buffer.concat([
					Buffer.from([0xef, 0xbb, 0xbf]),
					Buffer.from('n;ticker\r\n1;"A;1"\r\n\r\n2;"B\nb"\n3;""""\n\n4;C\n6;\xff\r', 'latin1'),
				]),
			);
			const o = await loadOrders(orders, { symbol: 'ticker' }, keys(['symbol']));
			assert.deepEqual(o.keys, ['A;1', 'B\nb', '"', 'C', '\xff']);
		});

		it('names the line of a malformed record: text after a closing quote, an unclosed quote, a record over 1 MB', async () => {
			const cases: [string, RegExp][] = [
				['symbol,n\nA,1\n"B"x,2\n', /line 3: text after a closing quote/],
				['symbol,n\nA,1\n"B,2\nC,3\n', /line 3: a quoted field is not closed before the end of the file/],
				[
					`symbol,n\nA,1\n"${'x'.repeat(ORDERS_LIMITS.maxRecordBytes + 10)}\n`,
					/line 3: a record longer than 1 MB starts here/,
				],
				[`symbol,n\nA,1\n${'x'.repeat(3 * 1024 * 1024)}`, /line 3: a record longer than 1 MB starts here/],
			];
			for (const [text, want] of cases) {
				const orders = put('orders.csv', text);
				const e = await expectSweepError(loadOrders(orders, {}, keys(['symbol'])), 'bad-orders');
				assert.match(e.message, want);
			}
		});

		it(`more than ${ORDERS_LIMITS.maxKeys.toLocaleString('en-US')} distinct keys: a clear error naming the line`, async () => {
			const file = path.join(dir, 'orders.csv');
			const fd = fs.openSync(file, 'w');
			fs.writeSync(fd, 'symbol\n');
			const n = ORDERS_LIMITS.maxKeys + 1;
			for (let i = 0; i < n; i += 100_000) {
				const lines: string[] = [];
				for (let j = i; j < Math.min(n, i + 100_000); j++) lines.push(`K${j}`);
				fs.writeSync(fd, `${lines.join('\n')}\n`);
			}
			// Repeats do not count: the same keys again.
			fs.closeSync(fd);
			const e = await expectSweepError(loadOrders(file, {}, keys(['symbol'])), 'bad-orders');
			assert.match(e.message, /line 1000002: more than 1,000,000 distinct keys/);
			// The first 1,000,000 alone (repeated twice) are fine.
			const lines = fs.readFileSync(file, 'latin1').split('\n');
			const ok = path.join(dir, 'ok.csv');
			fs.writeFileSync(ok, `${lines.slice(0, n).join('\n')}\n${lines.slice(1, n).join('\n')}\n`, 'latin1');
			const o = await loadOrders(ok, {}, keys(['symbol']));
			assert.equal(o.keys.length, ORDERS_LIMITS.maxKeys);
		});

		// The orders' keys must be one file's: it is checked after reading by the input's rule (sameFile.ts). The change
		// is made after its first read (a signal whose `aborted` the reader asks before and after each read).
		it('an orders file changed while it is read (grown; or rewritten with its modification time put back): exit 2 naming the change', async () => {
			const cases: [string, (f: string) => void, RegExp][] = [
				['grown', (f) => fs.appendFileSync(f, 'D\n'), /its size went from 13 to 15 bytes/],
				[
					'rewritten, modification time put back',
					(f) => {
						const was = fs.statSync(f);
						fs.writeFileSync(f, 'symbol\nA\nC\nE\n');
						fs.utimesSync(f, was.atime, was.mtime);
					},
					/it was written to, or its permissions, owner or links changed \(its change time moved/,
				],
			];
			for (const [what, change, want] of cases) {
				const orders = put('orders.csv', 'symbol\nA\nB\nE\n');
				// A whole second, which utimes can put back exactly (a Date has no sub-millisecond part).
				const second = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
				fs.utimesSync(orders, second, second);
				let asked = 0;
				const signal = {
					get aborted() {
						if (++asked === 2) change(orders);
						return false;
					},
				} as AbortSignal;
				const e = await expectSweepError(loadOrders(orders, {}, keys(['symbol']), signal), 'bad-orders');
				assert.ok(asked >= 2, `${what}: the file was changed during the read`);
				assert.match(e.message, /^Orders file .*orders\.csv: it changed while it was read \(/, what);
				assert.match(e.message, want, what);
				assert.equal(e.exitCode, 2);
			}
		});

		it('the trades file itself as the orders file: same partitions as without orders, nothing filtered out', async () => {
			const input = path.join(dir, 'trades.csv');
			writeTrades(input, 200_000, 300);
			await extract({ input, outDir: path.join(dir, 'all'), workers: 1, chunkSize: 10_000 });
			const sym = await extract({
				input,
				outDir: path.join(dir, 'self'),
				ordersFile: input,
				workers: 1,
				chunkSize: 10_000,
			});
			assert.equal(sym.orders?.keys, 300);
			assert.equal(sym.rowsFilteredOut, 0);
			const partitionFiles = (out: string) => {
				const m = outputBytes(out);
				m.delete('_manifest.json');
				return m;
			};
			assert.deepEqual(partitionFiles(path.join(dir, 'self')), partitionFiles(path.join(dir, 'all')));
		});

		it('cancel (AbortSignal) and SIGTERM stop a long orders read within a second, nothing written', async () => {
			const input = put('in.csv', 'id,symbol\n1,S1\n');
			const big = path.join(dir, 'big-orders.csv');
			writeTrades(big, 1_500_000, 500); // ~70 MB
			const out = path.join(dir, 'out');
			const ac = new AbortController();
			const run = extract({ input, outDir: out, ordersFile: big, workers: 1, chunkSize: 10 }, { signal: ac.signal });
			await new Promise((r) => setTimeout(r, 150));
			const t0 = Date.now();
			ac.abort();
			await expectSweepError(hangGuard(run, 5000, 'cancelled orders read'), 'aborted');
			const waited = Date.now() - t0;
			assert.ok(waited < 1000, `cancel took ${waited} ms`);
			assert.ok(!fs.existsSync(out));
			// The CLI: SIGTERM while it reads the orders file.
			const cli = startCli(['extract', input, '--out', out, '--orders', big, '--workers', '1']);
			// Wait until it has the orders file open (Linux: /proc/<pid>/fd), i.e. it is reading it.
			const reading = () => {
				try {
					return fs.readdirSync(`/proc/${cli.child.pid}/fd`).some((fd) => {
						try {
							return fs.readlinkSync(`/proc/${cli.child.pid}/fd/${fd}`) === fs.realpathSync(big);
						} catch {
							return false;
						}
					});
				} catch {
					return false;
				}
			};
			for (let i = 0; i < 6000 && !reading() && cli.child.exitCode === null; i++)
				await new Promise((r) => setTimeout(r, 5));
			assert.ok(reading(), 'the CLI opened the orders file');
			const t1 = Date.now();
			cli.child.kill('SIGTERM');
			const r = await cli.done;
			const took = Date.now() - t1;
			assert.equal(r.code, 130, r.stderr);
			assert.ok(took < 1500, `SIGTERM took ${took} ms`); // process exit included
			assert.ok(!fs.existsSync(out));
			assert.deepEqual(leftovers(out), []);
		});
	});
});
