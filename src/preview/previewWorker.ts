/**
 * Worker thread entry of the preview's profile (bundled as dist/previewWorker.js). Gets `{ file, options }` as
 * workerData, posts `{ type: 'profile', snapshot }` as the profile fills in, then `{ type: 'done' }`, or
 * `{ type: 'error', message, problem? }`. The extension cancels it by terminating the thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { profileFile, type SampleOptions } from './sampler';
import { SourceProblem } from './source';

const { file, options } = workerData as { file: string; options: SampleOptions };
profileFile(file, options, (snapshot) => parentPort!.postMessage({ type: 'profile', snapshot })).then(
	() => parentPort!.postMessage({ type: 'done' }),
	(e: unknown) => {
		const problem = e instanceof SourceProblem ? e.problem : undefined;
		parentPort!.postMessage({ type: 'error', message: e instanceof Error ? e.message : String(e), problem });
	},
);
