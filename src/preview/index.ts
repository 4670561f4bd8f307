/**
 * The preview's reading side, for the extension host (bundled as dist/preview.js and loaded when a preview first
 * opens): the bounded head read, more rows on scroll, and the profile in a worker thread. No `vscode`.
 */
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { compileOnOwnThread, stopThread } from '../engine/threadStop';
import type { SampleOptions } from './sampler';
import type { PreviewProblem, ProfileSnapshot } from './types';

export { HEAD_BYTES, MAX_ROW_BYTES, PAGE_ROWS, readPreviewHead, readRows, TABLE_ROW_CAP } from './head';
export { SourceProblem } from './source';
export type * from './types';

/** A profile running in its worker thread. */
export interface ProfileRun {
	/** Stops the worker (it ends by itself, see threadStop.ts; the last snapshot posted stays valid). */
	cancel(): void;
	/** Settles when the worker is gone: 'done', 'cancelled' or 'failed'. */
	readonly finished: Promise<'done' | 'cancelled' | 'failed'>;
}

/**
 * Starts the profile of `file` in a worker thread. `onSnapshot` gets each snapshot as it comes, `onError` one
 * sentence (and the problem, when the file is not one Sweep can read).
 */
export function startProfile(
	file: string,
	options: SampleOptions,
	onSnapshot: (s: ProfileSnapshot) => void,
	onError: (message: string, problem?: PreviewProblem) => void,
	script = path.join(__dirname, 'previewWorker.js'),
): ProfileRun {
	compileOnOwnThread();
	const worker = new Worker(script, { workerData: { file, options } });
	let state: 'running' | 'done' | 'cancelled' | 'failed' = 'running';
	const finished = new Promise<'done' | 'cancelled' | 'failed'>((resolve) => {
		worker.on(
			'message',
			(m: { type: string; snapshot?: ProfileSnapshot; message?: string; problem?: PreviewProblem }) => {
				if (state !== 'running') return;
				if (m.type === 'profile' && m.snapshot) onSnapshot(m.snapshot);
				else if (m.type === 'done') {
					state = 'done';
					void stopThread(worker);
				} else if (m.type === 'error') {
					state = 'failed';
					onError(m.message ?? 'the profile failed', m.problem);
					void stopThread(worker);
				}
			},
		);
		worker.on('error', (e) => {
			if (state === 'running') {
				state = 'failed';
				onError(`the profile's worker failed: ${e.message}`);
			}
		});
		worker.on('exit', () => {
			if (state === 'running') {
				state = 'failed';
				onError('the profile stopped unexpectedly');
			}
			// (state is never 'running' here)
			resolve(state);
		});
	});
	return {
		cancel: () => {
			if (state === 'running') state = 'cancelled';
			void stopThread(worker);
		},
		finished,
	};
}
