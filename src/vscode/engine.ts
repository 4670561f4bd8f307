import type * as Engine from '../engine';

/** Sweep's own file names in an output folder (the engine's `MANIFEST` / `REJECTS`). */
export const MANIFEST_FILE = '_manifest.json';
export const REJECTS_FILE = '_rejects.csv';

let engine: typeof Engine | undefined;

/**
 * The engine, loaded on first use. It brings in `worker_threads`, the pool and the chunk reader, which
 * activation does not need: the bundle wraps a `require`d module so its code runs only when called.
 */
export function loadEngine(): typeof Engine {
	engine ??= require('../engine') as typeof Engine;
	return engine;
}
