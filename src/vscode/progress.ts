import * as vscode from 'vscode';
import type { ExtractProgress } from '../engine/types';
import { percentOf, progressMessage } from './messages';

/** Options of {@link withExtractProgress}. */
export interface ExtractProgressOptions {
	title: string;
	/** Another reason to stop (a programmatic cancel, the extension shutting down). */
	signal?: AbortSignal;
	/** Called with every progress report (the status bar follows it). */
	onProgress?: (progress: ExtractProgress) => void;
}

/**
 * Runs `task` under a cancellable progress notification: percent of bytes, rows/s, partitions so
 * far. This is the only place a CancellationToken becomes an AbortSignal: the notification's Cancel
 * button (or `options.signal`) aborts the signal handed to `task`.
 */
export function withExtractProgress<T>(
	options: ExtractProgressOptions,
	task: (signal: AbortSignal, report: (progress: ExtractProgress) => void) => Promise<T>,
): Thenable<T> {
	return vscode.window.withProgress(
		{ location: vscode.ProgressLocation.Notification, title: options.title, cancellable: true },
		async (progress, token) => {
			const { signal, dispose } = linkAbort(token, options.signal);
			let shown = 0;
			const report = (p: ExtractProgress) => {
				const percent = percentOf(p);
				progress.report({ message: progressMessage(p), increment: Math.max(0, percent - shown) });
				shown = Math.max(shown, percent);
				options.onProgress?.(p);
			};
			progress.report({ message: 'starting…' });
			try {
				return await task(signal, report);
			} finally {
				dispose();
			}
		},
	);
}

/**
 * Shows a cancellable "queued" notification until `until` settles. Resolves true when it is this
 * run's turn, false when the user (or `signal`) cancelled the wait.
 */
export function waitWithProgress(title: string, until: Promise<unknown>, signal?: AbortSignal): Thenable<boolean> {
	return vscode.window.withProgress(
		{ location: vscode.ProgressLocation.Notification, title, cancellable: true },
		async (_progress, token) => {
			const link = linkAbort(token, signal);
			try {
				const cancelled = new Promise<false>((resolve) => {
					if (link.signal.aborted) resolve(false);
					link.signal.addEventListener('abort', () => resolve(false), { once: true });
				});
				return await Promise.race([
					until.then(
						() => true,
						() => true,
					),
					cancelled,
				]);
			} finally {
				link.dispose();
			}
		},
	);
}

/** An AbortSignal that aborts when the token is cancelled or `other` aborts. */
function linkAbort(token: vscode.CancellationToken, other?: AbortSignal): { signal: AbortSignal; dispose: () => void } {
	const controller = new AbortController();
	const abort = () => controller.abort();
	if (token.isCancellationRequested || other?.aborted) abort();
	const subscription = token.onCancellationRequested(abort);
	other?.addEventListener('abort', abort, { once: true });
	return {
		signal: controller.signal,
		dispose: () => {
			subscription.dispose();
			other?.removeEventListener('abort', abort);
		},
	};
}
