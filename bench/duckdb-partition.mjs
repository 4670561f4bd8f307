#!/usr/bin/env node
/**
 * DuckDB doing the benchmark's job: partition a CSV by a column into one CSV folder per value.
 *
 *   node bench/duckdb-partition.mjs INPUT OUTDIR [--threads 2] [--column symbol] [--compression gzip]
 *   node bench/duckdb-partition.mjs --probe      (prints DuckDB's version, exits 3 if it cannot load)
 *
 * Runs `COPY (SELECT * FROM read_csv(INPUT, all_varchar=true)) TO OUTDIR (FORMAT CSV, PARTITION_BY (col))`, adding
 * `COMPRESSION gzip` with --compression gzip. A .gz / .zst input is read compressed (DuckDB goes by the name).
 */
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
	allowPositionals: true,
	options: {
		threads: { type: 'string', default: '2' },
		column: { type: 'string', default: 'symbol' },
		compression: { type: 'string' },
		probe: { type: 'boolean', default: false },
	},
});

let duckdb;
try {
	duckdb = await import('@duckdb/node-api');
} catch (err) {
	process.stderr.write(`cannot load @duckdb/node-api: ${err instanceof Error ? err.message : err}\n`);
	process.exit(3);
}
const instance = await duckdb.DuckDBInstance.create(':memory:', { threads: values.threads });
const connection = await instance.connect();
const quote = (s) => `'${s.replaceAll("'", "''")}'`;

if (values.probe) {
	const reader = await connection.runAndReadAll('SELECT version()');
	console.log(String(reader.getRows()[0][0]));
	process.exit(0);
}
if (positionals.length !== 2) {
	process.stderr.write('usage: node bench/duckdb-partition.mjs INPUT OUTDIR [--threads 2] [--column symbol]\n');
	process.exit(2);
}
const [input, outDir] = positionals;
await connection.run(
	`COPY (SELECT * FROM read_csv(${quote(input)}, all_varchar=true)) ` +
		`TO ${quote(outDir)} (FORMAT CSV, PARTITION_BY (${values.column}), OVERWRITE_OR_IGNORE` +
		`${values.compression ? `, COMPRESSION ${values.compression}` : ''})`,
);
connection.closeSync();
