/**
 * Memory with many partitions: what a worker keeps of a chunk whose partition bytes it holds until the coordinator
 * says where they go (WorkerInit.writeOwn, WriteTask). It must be the bytes and each region's offset and length, not
 * the chunk's BucketResult objects (key, parts, stats: hundreds of bytes each, one per partition in the chunk). With
 * 50,000 partitions those objects, held for every chunk in flight, were most of the worker's heap and made peak RSS
 * climb with the file's size until a major GC. Counted in a heap snapshot of the worker (which collects garbage
 * first), so the test does not depend on timing or on when V8 chooses to collect. And a gzip member of a small
 * region must not keep a whole 16 KB zlib output chunk (one per partition per chunk until the worker copies them out).
 */
import * as assert from 'node:assert/strict';
import type { Worker } from 'node:worker_threads';
import * as zlib from 'node:zlib';
import { compressBlock } from '../../src/engine/compression';
import { WorkerPool } from '../../src/engine/pool';
import type { WorkerInit } from '../../src/engine/protocol';

const init: WorkerInit = {
	delimiter: 0x2c,
	fieldCount: 5,
	outputFieldCount: 5,
	keyColumns: [{ index: 1, kind: 0, buckets: 0, name: 'k' }],
	runs: null,
	recordEnds: false,
	writeOwn: true,
	timestampIndex: 2,
	priceIndex: 3,
	quantityIndex: 4,
	orders: null,
	strictUtf8: false,
	eol: '\n',
	compress: null,
};

/** Objects in a heap snapshot that have a property named `name` (V8 lists a property only if it holds a heap object). */
function countWithProperty(snapshotJson: string, name: string): number {
	const snap = JSON.parse(snapshotJson) as {
		snapshot: { meta: { node_fields: string[]; edge_fields: string[]; edge_types: [string[]] } };
		nodes: number[];
		edges: number[];
		strings: string[];
	};
	const m = snap.snapshot.meta;
	const nf = m.node_fields.length;
	const ef = m.edge_fields.length;
	const edgeCount = m.node_fields.indexOf('edge_count');
	const edgeType = m.edge_fields.indexOf('type');
	const edgeName = m.edge_fields.indexOf('name_or_index');
	const property = m.edge_types[0].indexOf('property');
	const target = snap.strings.indexOf(name);
	if (target < 0) return 0;
	let count = 0;
	let e = 0;
	for (let n = 0; n < snap.nodes.length; n += nf) {
		const edges = snap.nodes[n + edgeCount];
		let has = false;
		for (let k = 0; k < edges; k++) {
			const at = e + k * ef;
			if (snap.edges[at + edgeType] === property && snap.edges[at + edgeName] === target) has = true;
		}
		if (has) count++;
		e += edges * ef;
	}
	return count;
}

describe('engine: memory with many partitions', function () {
	this.timeout(120_000);

	it("a worker holding a chunk's partition bytes keeps no BucketResult objects of it", async () => {
		const partitions = 20_000;
		const lines: string[] = [];
		for (let i = 0; i < partitions; i++) lines.push(`${i},key${i},2024-01-02T03:04:05.${i}Z,${i}.5,${i}\n`);
		const chunk = Buffer.from(lines.join(''), 'latin1');
		const bytes = new ArrayBuffer(chunk.length);
		Buffer.from(bytes).set(chunk);
		const pool = new WorkerPool({ size: 1, init });
		try {
			const done = await pool.run({
				type: 'chunk',
				seq: 0,
				bytes,
				offset: 0,
				length: chunk.length,
				spare: [],
				isLast: true,
			});
			assert.equal(done.buckets.length, partitions, 'one bucket per record');
			assert.equal(done.data.byteLength, 0, 'the worker keeps the partition bytes (writeOwn)');
			// No WriteTask is sent: the chunk stays held, as it is while the coordinator reserves its ranges.
			const worker = (pool as unknown as { slots: { worker: Worker }[] }).slots[0].worker;
			const stream = await worker.getHeapSnapshot();
			const parts: Buffer[] = [];
			for await (const piece of stream) parts.push(Buffer.from(piece as Buffer));
			const held = countWithProperty(Buffer.concat(parts).toString('utf8'), 'stats');
			assert.ok(
				held < partitions / 10,
				`the worker still holds ${held} objects with per-partition stats for ${partitions} partitions of a held chunk`,
			);
		} finally {
			await pool.destroy();
		}
	});

	it('a small gzip member does not keep a 16 KB buffer, and every member is the bytes zlib gives by default', () => {
		const gzip = { codec: 'gzip' as const, level: 6 };
		const small = Buffer.from('1,key1,2024-01-02T03:04:05.1Z,1.5,1\n'.repeat(3), 'latin1');
		const member = compressBlock(gzip, small);
		assert.ok(
			member.buffer.byteLength < 16 * 1024,
			`a ${member.length}-byte member keeps ${member.buffer.byteLength} bytes`,
		);
		for (const n of [0, 1, 100, 5_000, 16_000, 17_000, 100_000]) {
			const bytes = Buffer.alloc(n);
			for (let i = 0; i < n; i++) bytes[i] = (i * 7919) % 61 === 0 ? 10 : 48 + ((i * 31) % 43);
			for (const level of [1, 6, 9]) {
				assert.ok(
					compressBlock({ codec: 'gzip', level }, bytes).equals(zlib.gzipSync(bytes, { level })),
					`${n} bytes at level ${level}`,
				);
			}
		}
	});
});
