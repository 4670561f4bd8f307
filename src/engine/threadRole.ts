import { appendFileSync, readlinkSync } from 'node:fs';

/**
 * A diagnostic for `bench/threads.cjs`, which reports each thread's CPU by role: with `SWEEP_THREAD_ROLES` set to a
 * file, each thread of a run appends `<tid> <role>` to it when it starts (Linux: the thread id of
 * `/proc/thread-self`). Unset (always, outside that script), it does nothing.
 */
export function announceThread(role: 'coordinator' | 'worker' | 'source' | 'hasher'): void {
	const file = process.env.SWEEP_THREAD_ROLES;
	if (!file) return;
	try {
		const tid = readlinkSync('/proc/thread-self').split('/').pop();
		appendFileSync(file, `${tid} ${role}\n`);
	} catch {
		// not Linux, or the file cannot be written: no roles, the script labels threads as "other"
	}
}

/** The same, as code for a thread evaluated from a string (hasher.ts). */
export const ANNOUNCE_THREAD_SOURCE = (role: string) => `
if (process.env.SWEEP_THREAD_ROLES) {
	try {
		const tid = require('node:fs').readlinkSync('/proc/thread-self').split('/').pop();
		require('node:fs').appendFileSync(process.env.SWEEP_THREAD_ROLES, tid + ' ${role}\\n');
	} catch {}
}
`;
