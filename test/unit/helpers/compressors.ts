import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';

/** True when a command-line tool answers `--version` (the system `gzip` and `zstd`). */
export function hasTool(tool: string): boolean {
	return spawnSync(tool, ['--version'], { stdio: 'ignore' }).status === 0;
}

/** Runs a compressor/decompressor tool on `input` and returns what it writes (throws on a non-zero exit). */
export function tool(tool: string, args: string[], input: Buffer): Buffer {
	return execFileSync(tool, args, { input, maxBuffer: 1 << 30 });
}

/** gzip, as one member (Node's zlib) or as the concatenation of one member per piece. */
export function gzipPieces(bytes: Buffer, cuts: number[] = [], level = 6): Buffer {
	return Buffer.concat(pieces(bytes, cuts).map((p) => zlib.gzipSync(p, { level })));
}

/** zstd with the system `zstd` tool, one frame per piece (several frames when `cuts` are given). */
export function zstdPieces(bytes: Buffer, cuts: number[] = []): Buffer {
	return Buffer.concat(pieces(bytes, cuts).map((p) => tool('zstd', ['-q', '-c', '-3'], p)));
}

/** `bytes` cut at the given fractions (0..1) of its length into pieces (empty pieces included). */
export function pieces(bytes: Buffer, cuts: number[]): Buffer[] {
	const at = cuts.map((f) => Math.floor(f * bytes.length)).sort((a, b) => a - b);
	const out: Buffer[] = [];
	let from = 0;
	for (const c of at) {
		out.push(bytes.subarray(from, c));
		from = c;
	}
	out.push(bytes.subarray(from));
	return out;
}

/**
 * A Node with zstd in its zlib (22.15+), to run the CLI's native zstd paths: this one when it has it, else
 * `SWEEP_ZSTD_NODE`, else the Node 24 the real-VS-Code harness caches (scripts/e2e/tools.sh). Null when none.
 */
export function nodeWithZstd(): string | null {
	if (typeof (zlib as { zstdCompressSync?: unknown }).zstdCompressSync === 'function') return process.execPath;
	const candidates: string[] = [];
	if (process.env.SWEEP_ZSTD_NODE) candidates.push(process.env.SWEEP_ZSTD_NODE);
	const cache =
		process.env.SWEEP_E2E_CACHE ??
		path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'sweep-e2e');
	try {
		for (const d of fs.readdirSync(cache)) {
			const marker = path.join(cache, d, '.complete');
			if (d.startsWith('node-') && fs.existsSync(marker)) {
				candidates.push(path.join(fs.readFileSync(marker, 'utf8').trim(), 'bin', 'node'));
			}
		}
	} catch {
		// no cache
	}
	for (const c of candidates) {
		const r = spawnSync(c, ['-e', 'process.exit(typeof require("zlib").zstdCompressSync === "function" ? 0 : 1)']);
		if (r.status === 0) return c;
	}
	return null;
}
