/**
 * Reading a `_manifest.json` that may come from anywhere (a right-click on any file of that name):
 * checked field by field, so the summary view only ever sees well-typed values. No `vscode`.
 */
import { SweepError } from '../engine/errors';
import type { ConfigSource, Manifest, ManifestPartition, PartitionStats } from '../engine/types';
import { MANIFEST_FILE, REJECTS_FILE } from '../rules';

const SOURCES: readonly ConfigSource[] = ['detected', 'fallback', 'env', 'setting', 'flag'];

function fail(file: string, what: string): never {
	throw new SweepError('usage', `${file} is not a Sweep manifest: ${what}`, { file });
}

function isObject(x: unknown): x is Record<string, unknown> {
	return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function count(x: unknown): number {
	return typeof x === 'number' && Number.isFinite(x) && x >= 0 ? x : 0;
}

function optionalNumber(x: unknown): number | undefined {
	return typeof x === 'number' && Number.isFinite(x) ? x : undefined;
}

function stringList(x: unknown): string[] {
	return Array.isArray(x) ? x.map((v) => (typeof v === 'string' ? v : String(v))) : [];
}

function source(x: unknown): ConfigSource {
	return SOURCES.includes(x as ConfigSource) ? (x as ConfigSource) : 'detected';
}

function stats(x: unknown): PartitionStats {
	if (!isObject(x)) return {};
	const s: PartitionStats = {};
	if (typeof x.firstTimestamp === 'string') s.firstTimestamp = x.firstTimestamp;
	if (typeof x.lastTimestamp === 'string') s.lastTimestamp = x.lastTimestamp;
	for (const k of ['minPrice', 'maxPrice', 'quantity', 'vwap'] as const) {
		const v = optionalNumber(x[k]);
		if (v !== undefined) s[k] = v;
	}
	return s;
}

/**
 * Parses and checks a manifest's text. Throws SweepError `usage` when the text is not JSON or not
 * a version-1 manifest; fields of the wrong type are replaced by neutral values.
 */
export function parseManifest(text: string, file = MANIFEST_FILE): Manifest {
	let raw: unknown;
	try {
		raw = JSON.parse(text);
	} catch (e) {
		fail(file, `invalid JSON (${e instanceof Error ? e.message : String(e)})`);
	}
	if (!isObject(raw)) fail(file, 'not a JSON object');
	if (raw.version !== 1) fail(file, `version ${JSON.stringify(raw.version)} (Sweep reads version 1)`);
	if (!Array.isArray(raw.partitions)) fail(file, 'no partitions list');
	const src = isObject(raw.source) ? raw.source : {};
	const config = isObject(raw.config) ? raw.config : {};
	const sources = isObject(config.sources) ? config.sources : {};
	const orders = isObject(raw.orders) ? raw.orders : null;
	const partitions: ManifestPartition[] = raw.partitions.filter(isObject).map((p) => {
		const part: ManifestPartition = {
			key: stringList(p.key),
			file: typeof p.file === 'string' && p.file !== '' ? p.file : null,
			rows: count(p.rows),
			stats: stats(p.stats),
		};
		if (Array.isArray(p.keyHex)) part.keyHex = stringList(p.keyHex);
		if (Array.isArray(p.files)) {
			part.files = p.files
				.filter(isObject)
				.filter((f) => typeof f.file === 'string' && f.file !== '')
				.map((f) => ({ file: f.file as string, rows: count(f.rows) }));
		}
		return part;
	});
	return {
		version: 1,
		source: {
			path: typeof src.path === 'string' ? src.path : '',
			bytes: count(src.bytes),
			header: stringList(src.header),
			delimiter: typeof src.delimiter === 'string' ? src.delimiter : ',',
		},
		columns: stringList(raw.columns),
		partitionBy: stringList(raw.partitionBy),
		...(Array.isArray(raw.partitionNames) ? { partitionNames: stringList(raw.partitionNames) } : {}),
		...(raw.layout === 'hive' || raw.layout === 'flat' ? { layout: raw.layout } : {}),
		...('maxRowsPerFile' in raw
			? { maxRowsPerFile: typeof raw.maxRowsPerFile === 'number' ? count(raw.maxRowsPerFile) : null }
			: {}),
		orders:
			orders === null ? null : { path: typeof orders.path === 'string' ? orders.path : '', keys: count(orders.keys) },
		config: {
			workers: count(config.workers),
			chunkSize: count(config.chunkSize),
			sources: { workers: source(sources.workers), chunkSize: source(sources.chunkSize) },
		},
		rowsRead: count(raw.rowsRead),
		rowsWritten: count(raw.rowsWritten),
		rowsRejected: count(raw.rowsRejected),
		rowsFilteredOut: count(raw.rowsFilteredOut),
		partitions,
		rejects: raw.rejects === REJECTS_FILE ? REJECTS_FILE : null,
		startedAt: typeof raw.startedAt === 'string' ? raw.startedAt : '',
		durationMs: count(raw.durationMs),
	};
}
