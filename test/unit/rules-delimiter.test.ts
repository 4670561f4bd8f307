import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { extract } from '../../src/engine';
import { parseDelimiter } from '../../src/rules';
import { expectSweepError } from './helpers/engine';
import { makeTmp, removeTmp } from './helpers/fsutil';
import { cliVerdict, settingsWith } from './helpers/layers';

/**
 * The delimiter rule (src/rules/delimiter.ts, docs/rules.md), one table run through `--delimiter`, `sweep.delimiter`
 * and the engine's `delimiter`: each layer accepts the same values (and means the same character by them) and
 * refuses the same values in the same words.
 */
const ACCEPTED: [raw: string | null, means: string | null][] = [
	[',', ','],
	[';', ';'],
	['|', '|'],
	['\t', '\t'],
	[' ', ' '],
	['#', '#'],
	['x', 'x'],
	['comma', ','],
	['Semicolon', ';'],
	['PIPE', '|'],
	['tab', '\t'],
	['TAB', '\t'],
	['\\t', '\t'],
	['auto', null],
	['Auto', null],
	['', null],
	[null, null],
];
const REFUSED: unknown[] = ['"', '\n', '\r', '§', 'é', '€', ',,', 'ab', 'tabs', 'space', '\\n', 3, true];
const PROBLEM = 'is not one ASCII character other than a quote or line break (or comma, semicolon, pipe, tab, auto)';

describe('rules: the delimiter, the same in the CLI, the settings and the engine', () => {
	let dir: string;
	before(() => {
		dir = makeTmp('sweep-rules-delimiter-');
	});
	after(() => removeTmp(dir));

	/** A one-column file whose values hold none of the table's characters, so any delimiter reads it alike. */
	const input = () => {
		const file = path.join(dir, 'one.csv');
		if (!fs.existsSync(file)) fs.writeFileSync(file, 'k\nA\nB\nA\n');
		return file;
	};

	for (const [raw, means] of ACCEPTED) {
		it(`accepts ${JSON.stringify(raw)} as ${means === null ? 'sniff' : JSON.stringify(means)}`, async () => {
			assert.deepEqual(parseDelimiter(raw), { ok: true, value: means });

			if (raw !== null) {
				const cli = await cliVerdict(['extract', 'in.csv', '--delimiter', raw]);
				assert.ok(cli.ok, `CLI: ${cli.ok ? '' : cli.stderr}`);
				assert.equal(cli.command.kind === 'extract' && cli.command.options.delimiter, means);
			}

			const settings = settingsWith({ delimiter: raw });
			assert.deepEqual(settings.warnings, []);
			assert.equal(settings.delimiter, means);

			const outDir = path.join(dir, `out-${ACCEPTED.findIndex(([r]) => r === raw)}`);
			const m = await extract({ input: input(), outDir, partitionBy: ['k'], delimiter: raw, workers: 1, chunkSize: 2 });
			assert.equal(m.source.delimiter, means ?? ',', 'the delimiter the run used');
			assert.deepEqual(
				m.partitions.map((p) => [p.key, p.rows]),
				[
					[['A'], 2],
					[['B'], 1],
				],
			);
		});
	}

	for (const raw of REFUSED) {
		it(`refuses ${JSON.stringify(raw)} with the same words everywhere`, async () => {
			assert.deepEqual(parseDelimiter(raw), { ok: false, problem: PROBLEM });

			if (typeof raw === 'string') {
				const cli = await cliVerdict(['extract', 'in.csv', '--delimiter', raw]);
				assert.ok(!cli.ok, 'the CLI refuses it');
				assert.equal(cli.exitCode, 2);
				assert.equal(cli.stderr, `sweep: error: --delimiter ${JSON.stringify(raw)} ${PROBLEM}\n`);
			}

			const settings = settingsWith({ delimiter: raw });
			assert.equal(settings.delimiter, null, 'a refused setting sniffs instead of failing the run');
			assert.deepEqual(settings.warnings, [
				`setting sweep.delimiter = ${JSON.stringify(raw)} ${PROBLEM}; the delimiter is sniffed instead`,
			]);

			const outDir = path.join(dir, 'never');
			const e = await expectSweepError(
				extract({ input: input(), outDir, delimiter: raw as string, workers: 1, chunkSize: 2 }),
				'usage',
			);
			assert.equal(e.message, `delimiter ${JSON.stringify(raw)} ${PROBLEM}`);
			assert.equal(e.exitCode, 2);
			assert.ok(!fs.existsSync(outDir), 'nothing written');
		});
	}
});
