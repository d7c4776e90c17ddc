/** Sampling on a perf event (a software clock by default), one link per CPU. */
import * as z from 'zod';
import { attachPerfEvent } from '../kernel/attach.js';
import { onlineCpus } from '../kernel/cpus.js';
import { NotSupported, isNativeError } from '../kernel/errors.js';
import { hasPmu, hasProgramType } from '../kernel/features.js';
import type { BpfLink } from '../kernel/link.js';
import { defineHook } from './hook.js';
import { pid } from './settings.js';

/** perf events by name: [perf type, config]. Software events work in VMs; hardware ones need a PMU. */
const PERF_EVENTS = {
  'cpu-clock': [1, 0],
  'task-clock': [1, 1],
  'page-faults': [1, 2],
  'context-switches': [1, 3],
  'cpu-migrations': [1, 4],
  'cpu-cycles': [0, 0],
  instructions: [0, 1],
  'cache-references': [0, 2],
  'cache-misses': [0, 3],
  'branch-instructions': [0, 4],
  'branch-misses': [0, 5],
} as const satisfies Record<string, readonly [number, number]>;

type PerfEventName = keyof typeof PERF_EVENTS;
const PERF_TYPE_HARDWARE = 0;

/** `{"perf_event": {event, frequency? | period?, cpu, pid?}}` */
export const perfEvent = defineHook({
  kind: 'perf_event',
  class: 'tracing',
  summary: 'Sampling, one link per CPU',
  settings: z
    .strictObject({
      event: z.enum(Object.keys(PERF_EVENTS) as [PerfEventName, ...PerfEventName[]]).default('cpu-clock'),
      frequency: z.int().min(1).max(100_000).optional().describe('Samples per second (default 99)'),
      period: z.int().min(1).optional().describe('Instead of frequency: every this many events'),
      cpu: z.union([z.int().min(0).max(4095), z.literal('all')]).default('all'),
      pid,
    })
    .refine((p) => p.frequency === undefined || p.period === undefined, { message: 'give frequency or period, not both' }),
  programTypes: ['perf_event'],
  available: () =>
    hasProgramType('perf_event') && hasPmu('software')
      ? { usable: true, reason: 'perf_event programs load and the software PMU exists' }
      : { usable: false, reason: 'needs perf_event programs' },
  attach(target, s) {
    const [type, config] = PERF_EVENTS[s.event];
    const useFreq = s.period === undefined;
    const sample = s.period ?? s.frequency ?? 99;
    const cpus = s.cpu === 'all' ? onlineCpus() : [s.cpu];
    const point = `perf_event/${s.event} ${useFreq ? `${sample} Hz` : `every ${sample}`} on cpu ${s.cpu}${s.pid ? ` pid ${s.pid}` : ''}`;
    const links: BpfLink[] = [];
    try {
      for (const cpu of cpus) links.push(attachPerfEvent(target, type, config, sample, useFreq, s.pid ?? -1, cpu));
    } catch (e) {
      for (const l of links) l.destroy();
      if (type === PERF_TYPE_HARDWARE && isNativeError(e) && (e.code === 'ENOENT' || e.code === 'ENODEV')) {
        throw new NotSupported(`this machine has no hardware PMU for ${s.event}`, s.event, 'a hardware PMU', [
          { kind: 'perf_event', settings: { event: 'cpu-clock' } },
          { kind: 'perf_event', settings: { event: 'task-clock' } },
        ]);
      }
      throw e;
    }
    return { links, point };
  },
  links: {
    types: ['perf_event'],
    describe: (l) => (l.perfEventType === 'event' ? `perf_event/type ${l.eventType} config ${l.config}` : undefined),
  },
});
