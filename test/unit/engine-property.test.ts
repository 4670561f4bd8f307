import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as fc from 'fast-check';
import { extract } from '../../src/engine';
import type { Manifest } from '../../src/engine/types';
import { assertMatchesReference, manifestCore, readOutput } from './helpers/compare';
import { leftovers, makeTmp, removeTmp } from './helpers/fsutil';
import { type CsvCase, csvCase, describeCase } from './helpers/gen-csv';
import { reference } from './reference';

/**
 * Property: for random CSVs, `extract` at any worker count and chunk size writes exactly the reference's bytes,
 * and manifests that agree with each other except for config and timing (README "What Sweep guarantees", "Same output, whatever the settings").
 *
 * Runs are few because every extract starts a worker pool; raise them with SWEEP_FC_RUNS=<factor> and replay a
 * failure with SWEEP_FC_SEED=<seed> SWEEP_FC_PATH=<path> (fast-check prints both for a failing case, and the
 * failure message shows the generated file).
 */

const WORKERS = [1, 2, 3];
const CHUNKS = [1, 2, 3, 17, 1_000_000];
const factor = Number(process.env.SWEEP_FC_RUNS ?? '1') || 1;
const seed = process.env.SWEEP_FC_SEED ? Number(process.env.SWEEP_FC_SEED) : undefined;
const replayPath = process.env.SWEEP_FC_PATH || undefined;

/** Writes a case's files into `dir` and returns their paths. */
function writeCase(dir: string, c: CsvCase): { input: string; orders: string | null } {
	const input = path.join(dir, `input${c.ext}`);
	fs.writeFileSync(input, c.input);
	let orders: string | null = null;
	if (c.orders) {
		orders = path.join(dir, 'orders.csv');
		fs.writeFileSync(orders, c.orders);
	}
	return { input, orders };
}

/**
 * Runs `c` at each (workers, chunkSize) and checks every run against the reference and against each other.
 * `maxOpenFiles` small forces partition files to be closed and reopened for appending.
 */
async function check(c: CsvCase, combos: [number, number][], maxOpenFiles?: number): Promise<void> {
	const dir = makeTmp('sweep-prop-');
	try {
		const { input, orders } = writeCase(dir, c);
		const ref = reference(c.input, {
			delimiter: c.delimiter,
			partitionBy: c.partitionBy,
			mapping: c.mapping,
			orders: c.orders,
			ext: c.ext,
			layout: c.layout,
			keepPartitionColumns: c.keepPartitionColumns,
			maxRowsPerFile: c.maxRowsPerFile,
			columns: c.columns,
		});
		let first: { core: ReturnType<typeof manifestCore>; combo: string; rejects?: Buffer } | null = null;
		for (const [workers, chunkSize] of combos) {
			const outDir = path.join(dir, `out-${workers}-${chunkSize}`);
			const combo = `workers ${workers}, chunkSize ${chunkSize}, maxOpenFiles ${maxOpenFiles ?? 'default'}`;
			const context = `${combo}\n${describeCase(c)}`;
			let returned: Manifest;
			try {
				returned = await extract({
					input,
					outDir,
					workers,
					chunkSize,
					delimiter: c.delimiter,
					partitionBy: c.partitionBy,
					mapping: c.mapping,
					ordersFile: orders,
					maxOpenFiles,
					layout: c.layout,
					keepPartitionColumns: c.keepPartitionColumns,
					maxRowsPerFile: c.maxRowsPerFile,
					columns: c.columns,
				});
			} catch (e) {
				throw new Error(`extract threw ${(e as Error).message}\n${context}`, { cause: e });
			}
			const manifest = assertMatchesReference(
				outDir,
				ref,
				{ input, partitionBy: c.partitionBy, ordersPath: orders, context },
				returned,
			);
			assert.deepEqual(manifest.config, { workers, chunkSize, sources: manifest.config.sources }, context);
			assert.deepEqual(leftovers(outDir), [], `no temporary folders left\n${context}`);
			const rejects = readOutput(outDir).get('_rejects.csv');
			if (!first) first = { core: manifestCore(manifest), combo, rejects };
			else {
				assert.deepEqual(manifestCore(manifest), first.core, `manifest differs from ${first.combo}\n${context}`);
				assert.ok(
					rejects === first.rejects || (rejects && first.rejects && rejects.equals(first.rejects)),
					`_rejects.csv differs from ${first.combo}\n${context}`,
				);
			}
		}
	} finally {
		removeTmp(dir);
	}
}

describe('engine: property tests against the csv-parse reference', function () {
	this.timeout(600_000);

	it('gives the reference bytes at workers 1, 2, 3 × chunk sizes 1, 2, 3, 17 and 1,000,000', async () => {
		const all: [number, number][] = WORKERS.flatMap((w) => CHUNKS.map((k): [number, number] => [w, k]));
		await fc.assert(
			fc.asyncProperty(csvCase, (c) => check(c, all)),
			{ numRuns: Math.ceil(6 * factor), seed, path: replayPath, interruptAfterTimeLimit: 300_000 },
		);
	});

	it('gives the reference bytes for many more files at one random worker count and chunk size each', async () => {
		const combo = fc.tuple(fc.constantFrom(...WORKERS), fc.constantFrom(...CHUNKS), fc.constantFrom(1, 2, undefined));
		await fc.assert(
			fc.asyncProperty(csvCase, combo, (c, [w, k, open]) => check(c, [[w, k]], open)),
			{ numRuns: Math.ceil(40 * factor), seed, path: replayPath, interruptAfterTimeLimit: 300_000 },
		);
	});
});
