import type { SerializedError } from './coordinatorProtocol';
import { SweepError } from './errors';

export function serializeError(e: unknown): SerializedError {
	if (e instanceof SweepError) {
		const { cause, ...details } = e.details;
		return {
			sweep: true,
			code: e.code,
			message: e.message,
			stack: e.stack,
			details: cause === undefined ? details : { ...details, cause: String((cause as Error)?.stack ?? cause) },
		};
	}
	const err = e as Error;
	return { sweep: false, message: String(err?.message ?? e), stack: err?.stack };
}

export function deserializeError(s: SerializedError): Error {
	if (s.sweep && s.code) {
		const e = new SweepError(s.code, s.message, s.details ?? {});
		if (s.stack) e.stack = s.stack;
		return e;
	}
	const e = new Error(s.message);
	if (s.stack) e.stack = s.stack;
	return e;
}
