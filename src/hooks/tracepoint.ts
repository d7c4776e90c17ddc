/** Static kernel tracepoints (tracefs events/<category>/<name>), attached through a perf event link. */
import * as z from 'zod';
import { attachTracepoint } from '../kernel/attach.js';
import { hasProgramType, hasTracefs } from '../kernel/features.js';
import { checkTracepoint } from '../kernel/targets.js';
import { defineHook } from './hook.js';
import { name } from './settings.js';

/** `{"tracepoint": {category, name}}` */
export const tracepoint = defineHook({
  kind: 'tracepoint',
  class: 'tracing',
  summary: 'tracefs events/<category>/<name>',
  settings: z.strictObject({ category: name.describe('e.g. "syscalls"'), name: name.describe('e.g. "sys_enter_openat"') }),
  programTypes: ['tracepoint'],
  available: () =>
    hasProgramType('tracepoint') && hasTracefs()
      ? { usable: true, reason: 'tracepoint programs load and tracefs is mounted' }
      : { usable: false, reason: 'needs the tracepoint program type and tracefs' },
  attach(target, s) {
    checkTracepoint(s.category, s.name);
    return { links: [attachTracepoint(target, s.category, s.name)], point: `tracepoint/${s.category}/${s.name}` };
  },
  links: {
    types: ['perf_event'],
    describe: (l) => (l.perfEventType === 'tracepoint' ? `tracepoint/${l.name ?? '?'}` : undefined),
  },
});
