import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { deserializeError, serializeError } from './coordinatorErrors';
import type { CoordinatorOptions, FromCoordinator, ToCoordinator } from './coordinatorProtocol';
import { abortedError, SweepError } from './errors';
import { compileInBackground } from './threadStop';
import type { ExtractHooks, ExtractOptions, Manifest } from './types';

/**
 * Extracts the partitions of a CSV file (see extract.ts for what that means) on a coordinator thread of its own:
 * the calling thread — VS Code's extension host, the CLI's main thread — only relays progress, the settled
 * configuration and a cancel, so its event loop stays free while the run reads, orders and writes.
 * Resolves to the manifest; rejects with the same SweepError the run raised.
 */
export function extract(options: ExtractOptions, hooks: ExtractHooks = {}): Promise<Manifest> {
	const { signal, onProgress, onCommitted } = hooks;
	if (signal?.aborted) return Promise.reject(abortedError());
	const { pendingConfig, ...plain } = options;
	const data: CoordinatorOptions = pendingConfig ? { ...plain, pendingConfig: true } : plain;
	compileInBackground();
	return new Promise<Manifest>((resolve, reject) => {
		// coordinator.js sits beside this module both in dist/ (bundles) and in out/src/engine/ (compiled tests).
		const worker = new Worker(path.join(__dirname, 'coordinator.js'), { workerData: data });
		// The outcome arrives as a message; the promise settles only once the thread has exited, so no thread of the
		// run (coordinator or worker) outlives it.
		let outcome: { ok: true; manifest: Manifest } | { ok: false; error: Error } | null = null;
		let exited = false;
		const send = (msg: ToCoordinator) => {
			if (!exited) worker.postMessage(msg);
		};
		const onAbort = () => send({ type: 'abort' });
		signal?.addEventListener('abort', onAbort, { once: true });
		pendingConfig?.then(
			(config) => send({ type: 'config', config }),
			(e) => send({ type: 'config-failed', error: serializeError(e) }),
		);
		worker.on('message', (msg: FromCoordinator) => {
			if (msg.type === 'progress') onProgress?.(msg.progress);
			else if (msg.type === 'committed') onCommitted?.();
			else if (outcome === null)
				outcome =
					msg.type === 'done'
						? { ok: true, manifest: msg.manifest }
						: { ok: false, error: deserializeError(msg.error) };
		});
		worker.on('error', (e: Error & { code?: string }) => {
			const why = e.code === 'ERR_WORKER_OUT_OF_MEMORY' ? 'ran out of memory' : `failed: ${e.message}`;
			outcome ??= { ok: false, error: new SweepError('worker-failed', `The coordinator thread ${why}.`, { cause: e }) };
		});
		worker.on('exit', (code) => {
			exited = true;
			signal?.removeEventListener('abort', onAbort);
			const o = outcome ?? {
				ok: false,
				error: new SweepError('worker-failed', `The coordinator thread exited unexpectedly (code ${code}).`),
			};
			if (o.ok) resolve(o.manifest);
			else reject(o.error);
		});
	});
}
