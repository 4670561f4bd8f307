/**
 * Worker thread entry (bundled as dist/worker.js). Gets its WorkerInit as workerData, then answers each
 * ChunkTask with exactly one ChunkDone or ChunkFailed, transferring the result buffers back.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ChunkDataError, ChunkProcessor } from './chunkProcessor';
import type { ChunkFailed, ChunkTask, WorkerInit } from './protocol';

if (parentPort) {
	const port = parentPort;
	const processor = new ChunkProcessor(workerData as WorkerInit);
	port.on('message', (task: ChunkTask) => {
		try {
			for (const b of task.spare) processor.spare.give(b);
			const done = processor.process(task.seq, task.bytes, task.offset, task.length, 0, task.isLast);
			const transfer = [done.input, done.data, done.rejectData];
			if (done.recordEnds) transfer.push(done.recordEnds);
			port.postMessage(done, transfer);
		} catch (e) {
			const failed: ChunkFailed =
				e instanceof ChunkDataError
					? { type: 'failed', seq: task.seq, code: e.code, message: e.message, line: e.line }
					: { type: 'failed', seq: task.seq, message: String((e as Error)?.message ?? e), stack: (e as Error)?.stack };
			port.postMessage(failed);
		}
	});
}
