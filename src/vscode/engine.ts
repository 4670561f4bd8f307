import type * as Engine from '../engine';

let engine: typeof Engine | undefined;

/**
 * The engine, loaded on first use. It brings in `worker_threads`, the pool and the chunk reader, which
 * activation does not need: the bundle wraps a `require`d module so its code runs only when called.
 */
export function loadEngine(): typeof Engine {
	engine ??= require('../engine') as typeof Engine;
	return engine;
}
