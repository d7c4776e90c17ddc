/** Settings that several attach kinds share, so each is spelled and bounded once. */
import * as z from 'zod';

/** A name from the kernel or a binary: a tracepoint, function, interface, provider. */
export const name = z.string().min(1).max(256);

/** An absolute path the server opens (a binary, a cgroup, a network namespace). */
export const path = z.string().min(1).max(4096);

/** A process filter: only this pid (default: every process). */
export const pid = z.int().positive().optional().describe('Only this process');
