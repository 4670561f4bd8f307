/**
 * The worker's key tables (src/engine/keyTable.ts): ids are handed out from 0 in order of first appearance within a
 * chunk, the same bytes (KeyTable) or the same tuple of part ids (TupleTable) always get the same id until the table is
 * reset, and `isNew` says whether the last lookup inserted. Checked against a Map on random sequences with the
 * locality of real files (a partition's next record mostly has the same parts) and without it, across resets.
 */
import * as assert from 'node:assert/strict';
import { KeyTable, TupleTable } from '../../src/engine/keyTable';
import { type GeneratorPrng, importGenerator } from './helpers/engine';

let mulberry32: GeneratorPrng['mulberry32'];
before(async () => {
	({ mulberry32 } = await importGenerator());
});

describe('engine: key tables', () => {
	for (const width of [2, 3]) {
		it(`TupleTable of width ${width}: the ids and isNew of a Map, over chunks (resets) with and without locality`, () => {
			const table = new TupleTable(width);
			const parts = new Int32Array(width);
			for (let seed = 1; seed <= 40; seed++) {
				const rand = mulberry32(seed * 7 + width);
				// Few or many distinct first parts (past the 256 the table starts with), few or many seconds.
				const firsts = 1 + Math.floor(rand() * (seed % 4 === 0 ? 3000 : 40));
				const others = 1 + Math.floor(rand() * (seed % 3 === 0 ? 500 : 4));
				const local = rand() < 0.7;
				table.reset();
				const ids = new Map<string, number>();
				const last = new Map<number, number[]>();
				for (let n = 0; n < 3000; n++) {
					const first = Math.floor(rand() * firsts);
					const prev = last.get(first);
					for (let k = 1; k < width; k++)
						parts[k] = local && prev && rand() < 0.9 ? prev[k] : Math.floor(rand() * others);
					parts[0] = first;
					last.set(first, Array.from(parts));
					const key = Array.from(parts).join(',');
					const expected = ids.get(key);
					const id = table.idOf(parts);
					if (expected === undefined) {
						assert.equal(id, ids.size, `seed ${seed}, record ${n}: a new tuple gets the next id`);
						assert.equal(table.isNew, true);
						ids.set(key, id);
					} else {
						assert.equal(id, expected, `seed ${seed}, record ${n}: ${key}`);
						assert.equal(table.isNew, false);
					}
				}
			}
		});
	}

	it('TupleTable: a reset forgets every tuple, also the last one seen with each first part', () => {
		const table = new TupleTable(2);
		const id = (a: number, b: number) => table.idOf(Int32Array.of(a, b));
		assert.equal(id(5, 1), 0);
		assert.equal(id(6, 2), 1);
		assert.equal(id(5, 1), 0);
		table.reset();
		// In the new chunk (6, 2) comes first: it must not get the old chunk's id 1, nor (5, 1) its old 0 by memory.
		assert.equal(id(6, 2), 0);
		assert.equal(table.isNew, true);
		assert.equal(id(5, 1), 1);
		assert.equal(table.isNew, true);
		assert.equal(id(5, 3), 2);
		assert.equal(id(5, 1), 1);
		assert.equal(table.isNew, false);
	});

	it('KeyTable: the ids and isNew of a Map for random byte strings, across resets', () => {
		const table = new KeyTable();
		const rand = mulberry32(99);
		const bytes = Buffer.alloc(64);
		const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
		for (let chunk = 0; chunk < 5; chunk++) {
			table.reset();
			const ids = new Map<string, number>();
			for (let n = 0; n < 5000; n++) {
				const len = Math.floor(rand() * 9);
				const from = Math.floor(rand() * 8);
				for (let i = 0; i < len; i++) bytes[from + i] = 0x41 + Math.floor(rand() * 3);
				const key = bytes.toString('latin1', from, from + len);
				const expected = ids.get(key);
				const id = table.idOf(bytes, view, from, from + len);
				if (expected === undefined) {
					assert.equal(id, ids.size);
					assert.equal(table.isNew, true);
					ids.set(key, id);
				} else {
					assert.equal(id, expected, `chunk ${chunk}, ${JSON.stringify(key)}`);
					assert.equal(table.isNew, false);
				}
			}
		}
	});
});
