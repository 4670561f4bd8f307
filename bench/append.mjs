// Appending a day to a big output (issue 16): the append must cost what the new day costs, not the output's size.
//
//   node bench/append.mjs --base BIG.csv --day DAY.csv [--work DIR]
//
// Extracts BIG.csv once into DIR/out (not timed), then appends DAY.csv with --append and, for comparison, extracts
// DAY.csv alone into a fresh folder. Each of the two is run under /usr/bin/time -v: wall time, CPU time and the
// bytes the process wrote (file-system outputs × 512). The append's output is put back (truncate + delete, as a
// rollback does) between rounds. Prints a Markdown table.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const args = process.argv.slice(2);
const arg = (name, dflt) => {
	const i = args.indexOf(`--${name}`);
	return i >= 0 ? args[i + 1] : dflt;
};
const base = arg('base');
const day = arg('day');
const work = arg('work', '/tmp/sweep-bench-append');
const rounds = Number(arg('runs', '1'));
if (!base || !day) {
	console.error('usage: node bench/append.mjs --base BIG.csv --day DAY.csv [--work DIR] [--runs N]');
	process.exit(2);
}
const cli = path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'dist', 'cli.js');
fs.mkdirSync(work, { recursive: true });
const out = path.join(work, 'out');

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

if (!fs.existsSync(path.join(out, '_manifest.json'))) {
	console.error(`extracting ${base} into ${out} (once, not timed)…`);
	execFileSync(process.execPath, [cli, 'extract', base, '--out', out], { stdio: 'inherit' });
}
const manifest = JSON.parse(fs.readFileSync(path.join(out, '_manifest.json'), 'utf8'));
const snapshot = new Map(manifest.partitions.filter((p) => p.file).map((p) => [p.file, p.bytes]));
const manifestText = fs.readFileSync(path.join(out, '_manifest.json'));
const restore = () => {
	for (const name of fs.readdirSync(out)) {
		if (name === '_manifest.json') continue;
		if (snapshot.has(name)) fs.truncateSync(path.join(out, name), snapshot.get(name));
		else fs.rmSync(path.join(out, name), { force: true });
	}
	fs.writeFileSync(path.join(out, '_manifest.json'), manifestText);
};
const outputBytes = [...snapshot.values()].reduce((a, b) => a + b, 0);
const rows = [];
for (let i = 0; i < rounds; i++) {
	restore();
	execFileSync('sync');
	const append = timed(['extract', day, '--out', out, '--append']);
	const fresh = path.join(work, `fresh-${i}`);
	fs.rmSync(fresh, { recursive: true, force: true });
	execFileSync('sync');
	const alone = timed(['extract', day, '--out', fresh]);
	fs.rmSync(fresh, { recursive: true, force: true });
	rows.push({ append, alone });
}
restore();
const dayMB = fs.statSync(day).size / 2 ** 20;
console.log(
	`\nAppend ${path.basename(day)} (${dayMB.toFixed(0)} MB) to an output of ${(outputBytes / 2 ** 30).toFixed(2)} GB`,
);
console.log(`(${manifest.partitions.length} partitions), ${rounds} round(s):\n`);
console.log('| run | wall s | CPU s | MB written | peak RSS MB |');
console.log('| --- | ---: | ---: | ---: | ---: |');
for (const { append, alone } of rows) {
	for (const [name, r] of [
		['append to the big output', append],
		['the same day into an empty folder', alone],
	]) {
		console.log(
			`| ${name} | ${r.wall.toFixed(2)} | ${r.cpu.toFixed(2)} | ${r.writtenMB.toFixed(0)} | ${r.rssMB.toFixed(0)} |`,
		);
	}
}
