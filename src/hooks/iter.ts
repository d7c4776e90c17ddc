/**
 * BPF iterators: a program that walks kernel objects (tasks, maps,
 * programs, ...) and writes text, the target named by its section
 * (SEC("iter/task")). Attaching runs it once and returns its output; the
 * link stays with the session like any other.
 */
import * as z from 'zod';
import { attachAuto } from '../kernel/attach.js';
import { InvalidRequest } from '../kernel/errors.js';
import { iterators } from '../kernel/features.js';
import { defineHook } from './hook.js';

/** Bytes of output returned by default, and at most (a result stays under 64 KiB). */
const DEFAULT_BYTES = 16 << 10;
const MAX_BYTES = 48 << 10;

/** `{"iter": {max_bytes}}` */
export const iter = defineHook({
  kind: 'iter',
  class: 'tracing',
  summary: 'SEC("iter/<target>"): runs once, returns its text',
  settings: z.strictObject({
    max_bytes: z.int().min(1).max(MAX_BYTES).default(DEFAULT_BYTES).describe('Output returned at most'),
  }),
  programTypes: ['tracing'],
  available: iterators,
  attach(target, s) {
    if (target.program.expectedAttachType !== 'trace_iter') {
      throw new InvalidRequest(undefined, `program ${target.program.id} attaches as ${target.program.expectedAttachType}, not as an iterator: its section must be iter/<target>`, {
        expected_attach_type: target.program.expectedAttachType,
      });
    }
    const link = attachAuto(target);
    try {
      const { data, truncated } = link.iterate(s.max_bytes);
      const output = data.toString('utf8');
      return { links: [link], point: target.program.section, iterator: { output, bytes: data.length, truncated } };
    } catch (e) {
      link.destroy();
      throw e;
    }
  },
  links: { types: ['iter'], describe: (l) => `iter/${l.name ?? 'unknown'}${l.mapId ? ` map ${l.mapId}` : ''}` },
});
