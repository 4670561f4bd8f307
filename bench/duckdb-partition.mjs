#!/usr/bin/env node
/**
 * DuckDB doing the benchmark's job: partition a CSV by a column into one CSV folder per value.
 *
 *   node bench/duckdb-partition.mjs INPUT OUTDIR [--threads 2] [--column symbol] [--compression gzip] [--by-day]
 *   node bench/duckdb-partition.mjs --probe      (prints DuckDB's version, exits 3 if it cannot load)
 *
 * Runs `COPY (SELECT * FROM read_csv(INPUT, all_varchar=true)) TO OUTDIR (FORMAT CSV, PARTITION_BY (col))`, adding
 * `COMPRESSION gzip` with --compression gzip. A .gz / .zst input is read compressed (DuckDB goes by the name).
 * `--by-day` writes Sweep's `--layout hive --partition-by symbol,date(timestamp)` layout:
 * `SELECT *, timestamp[1:10] AS timestamp_date …` with `PARTITION_BY (symbol, timestamp_date)` (DuckDB leaves
 * partition columns out of the files by default, as Sweep's hive layout does). DuckDB cannot combine PARTITION_BY
 * with FILE_SIZE_BYTES, so it has no row for `--max-rows-per-file`.
 */
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
	allowPositionals: true,
	options: {
		threads: { type: 'string', default: '2' },
		column: { type: 'string', default: 'symbol' },
		compression: { type: 'string' },
		probe: { type: 'boolean', default: false },
		'by-day': { type: 'boolean', default: false },
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
const byDay = values['by-day'];
await connection.run(
	`COPY (SELECT *${byDay ? ', timestamp[1:10] AS timestamp_date' : ''} FROM read_csv(${quote(input)}, all_varchar=true)) ` +
		`TO ${quote(outDir)} (FORMAT CSV, PARTITION_BY (${byDay ? 'symbol, timestamp_date' : values.column}), OVERWRITE_OR_IGNORE` +
		`${values.compression ? `, COMPRESSION ${values.compression}` : ''})`,
);
connection.closeSync();
