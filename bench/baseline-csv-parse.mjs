#!/usr/bin/env node
/**
 * The straightforward way to partition a CSV in Node, as a benchmark baseline: one thread, a csv-parse
 * stream, one write stream per partition value, each record written as its original text.
 *
 *   node bench/baseline-csv-parse.mjs INPUT OUTDIR [--column symbol]
 *
 * Writes `OUTDIR/<encodeURIComponent(value)>.csv`, each starting with the input's header line.
 */
import { once } from 'node:events';
import { createReadStream, createWriteStream, mkdirSync } from 'node:fs';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { parse } from 'csv-parse';

const { values, positionals } = parseArgs({
	allowPositionals: true,
	options: { column: { type: 'string', default: 'symbol' } },
});
if (positionals.length !== 2) {
	process.stderr.write('usage: node bench/baseline-csv-parse.mjs INPUT OUTDIR [--column symbol]\n');
	process.exit(2);
}
const [input, outDir] = positionals;
mkdirSync(outDir, { recursive: true });

// csv-parse's `raw` drops the LF of a CRLF (it keeps the CR): put the line ending back.
const withEol = (raw) => (raw.endsWith('\n') ? raw : raw + '\n');

const parser = createReadStream(input, { highWaterMark: 1 << 20 }).pipe(
	parse({ raw: true, relax_quotes: true, record_delimiter: ['\r\n', '\n'], bom: true }),
);
const streams = new Map();
let header = null;
let column = -1;
let rows = 0;
parser.on('data', ({ record, raw }) => {
	if (header === null) {
		header = withEol(raw);
		column = record.indexOf(values.column);
		if (column === -1) parser.destroy(new Error(`no column ${values.column} in ${input}`));
		return;
	}
	const key = record[column];
	let out = streams.get(key);
	if (!out) {
		out = createWriteStream(path.join(outDir, `${encodeURIComponent(key)}.csv`), { highWaterMark: 1 << 16 });
		out.write(header);
		streams.set(key, out);
	}
	rows++;
	if (!out.write(withEol(raw))) {
		parser.pause();
		out.once('drain', () => parser.resume());
	}
});
await finished(parser);
await Promise.all(
	[...streams.values()].map((s) => {
		s.end();
		return once(s, 'close');
	}),
);
process.stderr.write(`${rows} rows, ${streams.size} partitions\n`);
