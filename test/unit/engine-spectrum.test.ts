import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { extract } from '../../src/engine';
import { assertMatchesReference } from './helpers/compare';
import { makeTmp, removeTmp } from './helpers/fsutil';
import { reference, referenceRecords } from './reference';

/** The csv-spectrum corpus (npm) through the engine: partitioned by its first column, byte-identical to the reference. */

const corpus = path.join(path.dirname(require.resolve('csv-spectrum/package.json')), 'csvs');
const names = fs.readdirSync(corpus).filter((n) => n.endsWith('.csv'));

describe('engine: csv-spectrum corpus', function () {
	this.timeout(120_000);
	let tmp: string;
	before(() => {
		tmp = makeTmp('sweep-spectrum-');
		assert.ok(names.length >= 12, `csv-spectrum has ${names.length} CSVs`);
	});
	after(() => removeTmp(tmp));

	for (const name of names) {
		it(`${name}: every record accounted for, bytes as the reference`, async () => {
			const input = path.join(tmp, name);
			fs.copyFileSync(path.join(corpus, name), input);
			const bytes = fs.readFileSync(input);
			const records = referenceRecords(bytes, ',');
			const partitionBy = [records[0].fields[0]];
			const ref = reference(bytes, { delimiter: ',', partitionBy });
			assert.equal(ref.rowsRead, records.length - 1);
			for (const [workers, chunkSize] of [
				[1, 100_000],
				[2, 1],
			]) {
				const outDir = path.join(tmp, `${name}-${workers}-${chunkSize}`);
				// The delimiter is sniffed here, as a user would run it.
				const m = await extract({ input, outDir, partitionBy, workers, chunkSize });
				assertMatchesReference(outDir, ref, { input, partitionBy, context: `${name} at ${workers}/${chunkSize}` }, m);
				assert.equal(m.rowsRead, records.length - 1, 'every data record read');
				assert.equal(m.rowsWritten, records.length - 1, 'every data record written (the corpus has no bad rows)');
			}
		});
	}
});
