import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'csv-parse/sync';
import type { Manifest } from '../../../src/engine/types';
import type { ReferenceReject, ReferenceResult } from '../reference';

/** The files of an output folder (hive layout: in sub-folders), relative path with `/` -> bytes. */
export function readOutput(outDir: string, under = ''): Map<string, Buffer> {
	const out = new Map<string, Buffer>();
	for (const e of fs.readdirSync(path.join(outDir, under), { withFileTypes: true })) {
		const rel = under === '' ? e.name : `${under}/${e.name}`;
		if (e.isDirectory()) {
			assert.ok(under !== '' || e.name.includes('='), `${rel} in ${outDir} is a folder but not a hive folder`);
			for (const [k, v] of readOutput(outDir, rel)) out.set(k, v);
			continue;
		}
		assert.ok(e.isFile(), `${rel} in ${outDir} is not a regular file`);
		out.set(rel, fs.readFileSync(path.join(outDir, rel)));
	}
	return out;
}

/** A short, printable account of where two byte strings first differ. */
export function byteDiff(actual: Buffer, expected: Buffer): string {
	let i = 0;
	while (i < actual.length && i < expected.length && actual[i] === expected[i]) i++;
	const show = (b: Buffer) => JSON.stringify(b.subarray(Math.max(0, i - 30), i + 30).toString('latin1'));
	return `first difference at byte ${i} (lengths ${actual.length} vs ${expected.length}): actual …${show(actual)}… expected …${show(expected)}…`;
}

/**
 * Checks `_rejects.csv` against the expected rejects: exact header `line,reason,raw` + LF, one row per reject in
 * line order, LF endings, `line` exact, `raw` exact and always double-quoted, `reason` a non-empty CSV field.
 * Returns the reasons the engine gave.
 */
export function checkRejectsFile(buf: Buffer, expected: ReferenceReject[]): string[] {
	const text = buf.toString('latin1');
	assert.ok(text.startsWith('line,reason,raw\n'), `_rejects.csv header: ${JSON.stringify(text.slice(0, 40))}`);
	const rows = parse(buf, {
		encoding: 'latin1',
		record_delimiter: '\n',
		relax_column_count: true,
		raw: true,
		info: true,
	}) as unknown as { record: string[]; raw: string; info: { bytes: number } }[];
	assert.equal(rows.length - 1, expected.length, `_rejects.csv rows: ${JSON.stringify(rows.map((r) => r.record))}`);
	assert.ok(text.endsWith('\n'), '_rejects.csv ends with LF');
	const reasons: string[] = [];
	let pos = rows[0].info.bytes;
	expected.forEach((e, i) => {
		const row = rows[i + 1];
		const rowText = text.slice(pos, row.info.bytes);
		pos = row.info.bytes;
		const raw = e.raw.toString('latin1');
		assert.equal(row.record.length, 3, `_rejects.csv row ${i + 1} has 3 fields: ${JSON.stringify(rowText)}`);
		assert.equal(row.record[0], String(e.line), `_rejects.csv row ${i + 1} line (raw ${JSON.stringify(raw)})`);
		assert.equal(row.record[2], raw, `_rejects.csv row ${i + 1} raw`);
		assert.ok(row.record[1].length > 0, `_rejects.csv row ${i + 1} has a reason`);
		assert.ok(
			rowText.startsWith(`${e.line},`) && rowText.endsWith(`,"${raw.replace(/"/g, '""')}"\n`),
			`_rejects.csv row ${i + 1} is line,reason,"raw" + LF: ${JSON.stringify(rowText)}`,
		);
		reasons.push(Buffer.from(row.record[1], 'latin1').toString('utf8'));
	});
	return reasons;
}

/** The manifest without what may differ between runs (config, timing, the in-memory outDir). */
export function manifestCore(m: Manifest): Omit<Manifest, 'config' | 'startedAt' | 'durationMs' | 'outDir'> {
	const { config: _c, startedAt: _s, durationMs: _d, outDir: _o, ...rest } = m;
	return rest;
}

/** What the test knows about a run besides the reference's result. */
export interface RunFacts {
	input: string;
	partitionBy: string[];
	ordersPath?: string | null;
	/** Printed with every failure (e.g. the generated CSV). */
	context?: string;
}

/**
 * Asserts that `outDir` holds exactly what the reference predicts, byte for byte, and that its `_manifest.json`
 * agrees (and equals `returned`, the manifest `extract` resolved to, when given). Returns the manifest read.
 */
export function assertMatchesReference(
	outDir: string,
	ref: ReferenceResult,
	facts: RunFacts,
	returned?: Manifest,
): Manifest {
	const ctx = facts.context ? `\n${facts.context}` : '';
	const files = readOutput(outDir);
	const expectedNames = [...ref.files.keys(), '_manifest.json', ...(ref.rejects.length ? ['_rejects.csv'] : [])].sort();
	assert.deepEqual([...files.keys()].sort(), expectedNames, `files in the output folder${ctx}`);
	for (const [name, bytes] of ref.files) {
		const actual = files.get(name) as Buffer;
		if (!actual.equals(bytes)) assert.fail(`${name}: ${byteDiff(actual, bytes)}${ctx}`);
	}
	if (ref.rejects.length) checkRejectsFile(files.get('_rejects.csv') as Buffer, ref.rejects);

	const manifest = JSON.parse((files.get('_manifest.json') as Buffer).toString('utf8')) as Manifest;
	if (returned) {
		const { outDir: _o, ...rest } = returned;
		assert.deepEqual(rest, manifest, `the manifest extract returned equals _manifest.json${ctx}`);
	}
	assert.equal(manifest.version, 1);
	assert.equal(path.resolve(manifest.source.path), path.resolve(facts.input), `source.path${ctx}`);
	assert.equal(manifest.source.bytes, fs.statSync(facts.input).size, `source.bytes${ctx}`);
	assert.deepEqual(manifest.source.header, ref.header, `source.header${ctx}`);
	assert.equal(manifest.source.delimiter, ref.delimiter, `source.delimiter${ctx}`);
	assert.deepEqual(manifest.columns, ref.columns, `columns${ctx}`);
	assert.deepEqual(manifest.partitionBy, facts.partitionBy, `partitionBy${ctx}`);
	if (facts.ordersPath) {
		assert.ok(manifest.orders, `orders${ctx}`);
		assert.equal(path.resolve(manifest.orders.path), path.resolve(facts.ordersPath), `orders.path${ctx}`);
		assert.equal(manifest.orders.keys, ref.ordersKeys, `orders.keys${ctx}`);
	} else assert.equal(manifest.orders, null, `orders${ctx}`);
	const counts = (m: { rowsRead: number; rowsWritten: number; rowsRejected: number; rowsFilteredOut: number }) => ({
		rowsRead: m.rowsRead,
		rowsWritten: m.rowsWritten,
		rowsRejected: m.rowsRejected,
		rowsFilteredOut: m.rowsFilteredOut,
	});
	assert.deepEqual(counts(manifest), counts(ref), `row counts${ctx}`);
	assert.equal(manifest.rowsRead, manifest.rowsWritten + manifest.rowsRejected + manifest.rowsFilteredOut);
	const parts = manifest.partitions.map((p) => {
		const q: {
			key: string[];
			keyHex?: string[];
			file: string | null;
			rows: number;
			files?: { file: string; rows: number }[];
		} = {
			key: p.key,
			file: p.file,
			rows: p.rows,
		};
		if (p.keyHex !== undefined) q.keyHex = p.keyHex;
		if (p.files !== undefined) q.files = p.files.map((f) => ({ file: f.file, rows: f.rows }));
		// Each file's size, as the manifest records it for an append (docs/append.md), is the file's.
		for (const f of p.files ?? (p.file === null ? [] : [{ file: p.file, bytes: p.bytes }])) {
			assert.equal(f.bytes, files.get(f.file)?.length, `manifest bytes of ${f.file}${ctx}`);
		}
		assert.equal(typeof p.stats, 'object', `partition ${JSON.stringify(p.key)} has stats${ctx}`);
		return q;
	});
	assert.deepEqual(parts, ref.partitions, `manifest partitions${ctx}`);
	assert.equal(manifest.rejects, ref.rejects.length ? '_rejects.csv' : null, `manifest rejects${ctx}`);
	return manifest;
}
