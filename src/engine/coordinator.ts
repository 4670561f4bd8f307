/**
 * Coordinator thread entry (bundled as dist/coordinator.js, started by offThread.ts): runs one extraction with the
 * options in `workerData`, so that the thread which called `extract()` only relays messages.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { deserializeError, serializeError } from './coordinatorErrors';
import type { CoordinatorOptions, FromCoordinator, SettledConfig, ToCoordinator } from './coordinatorProtocol';
import { extract } from './extract';
import { announceThread } from './threadRole';
import { compileOnOwnThread, endWhenQuiet } from './threadStop';

if (parentPort) {
	announceThread('coordinator');
	// This thread compiles in the background (offThread.ts); the threads it starts compile on themselves.
	compileOnOwnThread();
	const port = parentPort;
	const post = (msg: FromCoordinator) => port.postMessage(msg);
	const { pendingConfig: pending, ...rest } = workerData as CoordinatorOptions;
	const abort = new AbortController();
	let settle: { resolve: (c: SettledConfig) => void; reject: (e: unknown) => void } | undefined;
	const pendingConfig = pending
		? new Promise<SettledConfig>((resolve, reject) => {
				settle = { resolve, reject };
			})
		: undefined;
	port.on('message', (msg: ToCoordinator) => {
		if (msg.type === 'abort') abort.abort();
		else if (msg.type === 'config') settle?.resolve(msg.config);
		else settle?.reject(deserializeError(msg.error));
	});
	// While extract() waits for the workers and the other threads to end, this thread is idle: that counts towards
	// its own quiet time (threadStop.ts), which then mostly overlaps theirs.
	let idleSince: number | undefined;
	extract(
		{ ...rest, pendingConfig },
		{
			signal: abort.signal,
			onProgress: (progress) => post({ type: 'progress', progress }),
			onCommitted: () => post({ type: 'committed' }),
			onWorkDone: () => {
				idleSince = performance.now();
			},
		},
	)
		.then((manifest) => post({ type: 'done', manifest }))
		.catch((e) => post({ type: 'failed', error: serializeError(e) }))
		.finally(() => endWhenQuiet(port, idleSince));
}
