/** Kernel functions through the kprobe PMU; where the kernel has none, the tracepoints that cover the same ground. */
import * as z from 'zod';
import { attachKprobe } from '../kernel/attach.js';
import { NotSupported } from '../kernel/errors.js';
import { hasPmu, hasProgramType } from '../kernel/features.js';
import { tracepointAlternatives } from '../kernel/targets.js';
import { defineHook } from './hook.js';
import { name } from './settings.js';

/** The refusal of a kprobe at `point` (in the context: for auto it is the object's section) on a kernel without the kprobe PMU, with the tracepoints that cover `fn`'s ground. */
export function noKprobes(point: string, fn: string): NotSupported {
  const alternatives = tracepointAlternatives(fn).map((t) => {
    const [category, tp] = t.split(':');
    return { kind: 'tracepoint', settings: { category, name: tp } };
  });
  return new NotSupported(
    'this kernel cannot attach kprobes (no kprobe PMU), so context.point is not possible here: attach a tracepoint or raw_tracepoint program instead',
    'kprobe',
    'CONFIG_KPROBES and CONFIG_KPROBE_EVENTS',
    alternatives,
    { point },
  );
}

/** `{"kprobe": {function, retprobe, offset}}` */
export const kprobe = defineHook({
  kind: 'kprobe',
  class: 'tracing',
  summary: 'A kernel function',
  settings: z.strictObject({
    function: name,
    retprobe: z.boolean().default(false).describe('On return'),
    offset: z.int().min(0).max(1 << 20).default(0),
  }),
  programTypes: ['kprobe'],
  available: () =>
    hasProgramType('kprobe') && hasPmu('kprobe')
      ? { usable: true, reason: 'the kprobe PMU exists' }
      : { usable: false, reason: 'this kernel has no kprobe PMU (/sys/bus/event_source/devices/kprobe): use a tracepoint or raw_tracepoint instead' },
  attach(target, s) {
    const point = `${s.retprobe ? 'kretprobe' : 'kprobe'}/${s.function}${s.offset ? `+${s.offset}` : ''}`;
    if (!hasPmu('kprobe')) throw noKprobes(point, s.function);
    return { links: [attachKprobe(target, s.function, s.offset, s.retprobe)], point };
  },
  links: {
    types: ['perf_event', 'kprobe_multi'],
    describe(l) {
      if (l.type === 'kprobe_multi') return `kprobe_multi/${l.count ?? '?'} functions`;
      if (l.perfEventType !== 'kprobe' && l.perfEventType !== 'kretprobe') return undefined;
      return `${l.perfEventType}/${l.name ?? '?'}${l.offset ? `+0x${l.offset.toString(16)}` : ''}`;
    },
  },
});
