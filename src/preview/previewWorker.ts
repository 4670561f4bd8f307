/**
 * Worker thread entry of the preview's profile (bundled as dist/previewWorker.js). Gets `{ file, options }` as
 * workerData, posts `{ type: 'profile', snapshot }` as the profile fills in, then `{ type: 'done' }`, or
 * `{ type: 'error', message, problem? }`. The extension stops it with the stop message (threadStop.ts): the profile
 * stops at its next block and the thread ends once idle.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { endWhenQuiet, isStop } from '../engine/threadStop';
import { profileFile, type SampleOptions } from './sampler';
import { SourceProblem } from './source';

const { file, options } = workerData as { file: string; options: SampleOptions };
const port = parentPort!;
const stop = new AbortController();
port.on('message', (m: unknown) => {
	if (!isStop(m)) return;
	stop.abort();
	endWhenQuiet(port);
});
profileFile(file, options, (snapshot) => port.postMessage({ type: 'profile', snapshot }), stop.signal).then(
	() => port.postMessage({ type: 'done' }),
	(e: unknown) => {
		const problem = e instanceof SourceProblem ? e.problem : undefined;
		port.postMessage({ type: 'error', message: e instanceof Error ? e.message : String(e), problem });
	},
);
