// Appending a day to a big output (issue 16): the append must cost what the new day costs, not the output's size.
//
//   node bench/append.mjs --base BIG.csv --day DAY.csv [--work DIR] [--runs N]
//
// `npm run bench -- --size big` runs it too (base: the 10× file, day: the default file; `--no-append` skips it).
//
// Extracts BIG.csv once into DIR/out (not timed; kept for the next time), then appends DAY.csv with --append and,
// for comparison, extracts DAY.csv alone into a fresh folder. Each of the two is run under /usr/bin/time -v: wall
// time, CPU time and the bytes the process wrote (file-system outputs × 512). The append's output is put back
// (truncate + delete, as a rollback does) between rounds and at the end. Prints a Markdown table.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const cli = path.join(here, '..', 'dist', 'cli.js');

function timed(argv) {
	const r = spawnSync('/usr/bin/time', ['-v', process.execPath, cli, ...argv], { encoding: 'utf8' });
	if (r.status !== 0) throw new Error(`sweep ${argv.join(' ')} failed: ${r.stderr}`);
	const field = (re) => Number(re.exec(r.stderr)?.[1] ?? Number.NaN);
	const [m, s] = /Elapsed \(wall clock\) time .*: (?:(\d+):)?([\d.]+)/.exec(r.stderr).slice(1);
	return {
		wall: Number(m ?? 0) * 60 + Number(s),
		cpu: field(/User time \(seconds\): ([\d.]+)/) + field(/System time \(seconds\): ([\d.]+)/),
		writtenMB: (field(/File system outputs: (\d+)/) * 512) / 2 ** 20,
		rssMB: field(/Maximum resident set size \(kbytes\): (\d+)/) / 1024,
	};
}

/** Runs the comparison; returns its Markdown. */
export function appendBench({ base, day, work, rounds = 1, log = console.error }) {
	fs.mkdirSync(work, { recursive: true });
	const out = path.join(work, 'out');
	if (!fs.existsSync(path.join(out, '_manifest.json'))) {
		log(`extracting ${base} into ${out} (once, not timed)…`);
		execFileSync(process.execPath, [cli, 'extract', base, '--out', out], { stdio: 'inherit' });
	}
	const manifest = JSON.parse(fs.readFileSync(path.join(out, '_manifest.json'), 'utf8'));
	// Flat output, one file per partition (what the base extract above makes).
	const snapshot = new Map(manifest.partitions.filter((p) => p.file).map((p) => [p.file, p.bytes]));
	if (manifest.rejects) snapshot.set(manifest.rejects, manifest.rejectsBytes);
	const manifestText = fs.readFileSync(path.join(out, '_manifest.json'));
	const restore = () => {
		for (const name of fs.readdirSync(out)) {
			if (name === '_manifest.json') continue;
			if (snapshot.has(name)) fs.truncateSync(path.join(out, name), snapshot.get(name));
			else fs.rmSync(path.join(out, name), { force: true, recursive: true });
		}
		fs.writeFileSync(path.join(out, '_manifest.json'), manifestText);
	};
	const outputBytes = [...snapshot.values()].reduce((a, b) => a + b, 0);
	const rows = [];
	try {
		for (let i = 0; i < rounds; i++) {
			restore();
			execFileSync('sync');
			// --allow-duplicate-input: the day may be one of the base's days (its SHA-256 is then listed).
			const append = timed(['extract', day, '--out', out, '--append', '--allow-duplicate-input']);
			const fresh = path.join(work, `fresh-${i}`);
			fs.rmSync(fresh, { recursive: true, force: true });
			execFileSync('sync');
			const alone = timed(['extract', day, '--out', fresh]);
			fs.rmSync(fresh, { recursive: true, force: true });
			rows.push({ append, alone });
		}
	} finally {
		restore();
	}
	const dayMB = fs.statSync(day).size / 2 ** 20;
	const md = [
		`Append ${path.basename(day)} (${dayMB.toFixed(0)} MB) to an output of ${(outputBytes / 2 ** 30).toFixed(2)} GB ` +
			`(${manifest.partitions.length} partitions, ${manifest.inputs?.length ?? '?'} input(s)), ${rounds} round(s):`,
		'',
		'| run | wall s | CPU s | MB written | peak RSS MB |',
		'| --- | ---: | ---: | ---: | ---: |',
	];
	for (const { append, alone } of rows) {
		for (const [name, r] of [
			['append to the big output', append],
			['the same day into an empty folder', alone],
		]) {
			md.push(
				`| ${name} | ${r.wall.toFixed(2)} | ${r.cpu.toFixed(2)} | ${r.writtenMB.toFixed(0)} | ${r.rssMB.toFixed(0)} |`,
			);
		}
	}
	return md.join('\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
	const args = process.argv.slice(2);
	const arg = (name, dflt) => {
		const i = args.indexOf(`--${name}`);
		return i >= 0 ? args[i + 1] : dflt;
	};
	const base = arg('base');
	const day = arg('day');
	if (!base || !day) {
		console.error('usage: node bench/append.mjs --base BIG.csv --day DAY.csv [--work DIR] [--runs N]');
		process.exit(2);
	}
	const markdown = appendBench({
		base,
		day,
		work: arg('work', '/tmp/sweep-bench-append'),
		rounds: Number(arg('runs', '1')),
	});
	console.log(`\n${markdown}`);
}
