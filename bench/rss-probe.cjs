// Preloaded with `node --require` when /usr/bin/time is not available: at exit, writes this process's
// peak resident set size (KiB, worker threads included) to the file named by BENCH_RSS_OUT.
const { writeFileSync } = require('node:fs');

const target = process.env.BENCH_RSS_OUT;
if (target) {
	process.on('exit', () => {
		writeFileSync(target, String(process.resourceUsage().maxRSS));
	});
}
