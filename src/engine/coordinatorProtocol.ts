/**
 * Messages between `extract()` on the calling thread and the coordinator thread that runs the extraction
 * (coordinator.ts). The calling thread (VS Code's extension host, the CLI's main thread) only forwards
 * progress, the settled configuration and a cancel; reading, ordering and writing happen on the coordinator.
 */
import type { SweepErrorCode, SweepErrorDetails } from './errors';
import type { ConfigSources, ExtractOptions, ExtractProgress, Manifest } from './types';

/** The options as plain data: `pendingConfig` travels as a later `config` message. */
export type CoordinatorOptions = Omit<ExtractOptions, 'pendingConfig'> & { pendingConfig?: true };

export interface SettledConfig {
	workers: number;
	chunkSize: number;
	configSources?: ConfigSources;
	conversions?: number;
}

export type ToCoordinator =
	| { type: 'config'; config: SettledConfig }
	| { type: 'config-failed'; error: SerializedError }
	| { type: 'abort' };

export type FromCoordinator =
	| { type: 'progress'; progress: ExtractProgress }
	/** The output is committed (ExtractHooks.onCommitted); the outcome follows. */
	| { type: 'committed' }
	| { type: 'done'; manifest: Manifest }
	| { type: 'failed'; error: SerializedError };

/** An error as plain data; a SweepError keeps its code and details (its `cause` as text). */
export interface SerializedError {
	sweep: boolean;
	code?: SweepErrorCode;
	message: string;
	stack?: string;
	details?: Omit<SweepErrorDetails, 'cause'> & { cause?: string };
}
