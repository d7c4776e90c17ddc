/** Raw tracepoints: the tracepoint's arguments as the kernel passes them, without the perf layer. */
import * as z from 'zod';
import { attachRawTracepoint } from '../kernel/attach.js';
import { hasProgramType } from '../kernel/features.js';
import { checkRawTracepoint } from '../kernel/targets.js';
import { defineHook } from './hook.js';
import { name } from './settings.js';

/** `{"raw_tracepoint": {name}}` */
export const rawTracepoint = defineHook({
  kind: 'raw_tracepoint',
  class: 'tracing',
  summary: 'A raw tracepoint',
  settings: z.strictObject({ name: name.describe('e.g. "sys_enter"') }),
  programTypes: ['raw_tracepoint', 'raw_tracepoint_writable'],
  available: () =>
    hasProgramType('raw_tracepoint')
      ? { usable: true, reason: 'raw_tracepoint programs load' }
      : { usable: false, reason: 'raw_tracepoint programs do not load' },
  attach(target, s) {
    checkRawTracepoint(s.name);
    return { links: [attachRawTracepoint(target, s.name)], point: `raw_tracepoint/${s.name}` };
  },
  links: { types: ['raw_tracepoint'], describe: (l) => `raw_tracepoint/${l.name ?? '?'}` },
});
