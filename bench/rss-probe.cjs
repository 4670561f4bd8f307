// Preloaded with `node --require` when /usr/bin/time is not available: at exit, writes this process's
// resource usage (JSON: maxRSS in KiB, worker threads included; CPU times in µs) to the file named by BENCH_RSS_OUT.
const { writeFileSync } = require('node:fs');

const target = process.env.BENCH_RSS_OUT;
if (target) {
	process.on('exit', () => {
		const { maxRSS, userCPUTime, systemCPUTime } = process.resourceUsage();
		writeFileSync(target, JSON.stringify({ maxRSS, userCPUTime, systemCPUTime }));
	});
}
