import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * The repository root: the nearest folder above this file with a tsconfig.json (tests run from out/test/unit;
 * out/ may hold a copy of package.json, never of tsconfig.json).
 */
export const REPO_ROOT = (() => {
	let dir = __dirname;
	while (!fs.existsSync(path.join(dir, 'tsconfig.json'))) {
		const up = path.dirname(dir);
		if (up === dir) throw new Error(`no tsconfig.json above ${__dirname}`);
		dir = up;
	}
	return dir;
})();

/** A fresh temporary folder under the OS temp dir. */
export function makeTmp(prefix = 'sweep-test-'): string {
	return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Removes a temporary folder made by `makeTmp` (ignores a folder already gone). */
export function removeTmp(dir: string): void {
	fs.rmSync(dir, { recursive: true, force: true });
}

/** Every regular file below `dir`, relative path (with `/`) -> bytes; folders appear as `path/` -> empty. */
export function snapshot(dir: string): Map<string, Buffer> {
	const out = new Map<string, Buffer>();
	const walk = (rel: string) => {
		const entries = fs.readdirSync(path.join(dir, rel), { withFileTypes: true });
		entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
		for (const e of entries) {
			const r = rel ? `${rel}/${e.name}` : e.name;
			if (e.isDirectory()) {
				out.set(`${r}/`, Buffer.alloc(0));
				walk(r);
			} else out.set(r, fs.readFileSync(path.join(dir, r)));
		}
	};
	walk('');
	return out;
}

/** Describes how two snapshots differ ('' when they are equal). */
export function diffSnapshots(a: Map<string, Buffer>, b: Map<string, Buffer>): string {
	const problems: string[] = [];
	for (const [k, v] of a) {
		const w = b.get(k);
		if (!w) problems.push(`missing ${k}`);
		else if (!v.equals(w)) problems.push(`changed ${k}`);
	}
	for (const k of b.keys()) if (!a.has(k)) problems.push(`extra ${k}`);
	return problems.slice(0, 20).join(', ');
}

/** Siblings of `outDir` that Sweep's temporary/old folders would leave behind (`<out>.sweep-tmp-*`, `.sweep-old-*`). */
export function leftovers(outDir: string): string[] {
	const parent = path.dirname(outDir);
	if (!fs.existsSync(parent)) return [];
	const base = path.basename(outDir);
	return fs.readdirSync(parent).filter((n) => n.startsWith(`${base}.sweep-`));
}

/** True when `child` is `parent` or lies inside it (after resolving `..`). */
export function isInside(parent: string, child: string): boolean {
	const rel = path.relative(path.resolve(parent), path.resolve(child));
	return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}
