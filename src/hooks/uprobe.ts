/** User-space functions or file offsets, through the uprobe PMU. */
import * as z from 'zod';
import { attachUprobe } from '../kernel/attach.js';
import { InvalidRequest } from '../kernel/errors.js';
import { hasPmu, hasProgramType } from '../kernel/features.js';
import { checkBinary } from '../kernel/targets.js';
import { defineHook } from './hook.js';
import { name, path, pid } from './settings.js';

/** `{"uprobe": {binary, function?, offset, pid?, retprobe}}` */
export const uprobe = defineHook({
  kind: 'uprobe',
  class: 'tracing',
  summary: 'A user-space function',
  settings: z.strictObject({
    binary: path.describe('Executable or library, absolute'),
    function: name.optional().describe('ELF symbol'),
    offset: z.int().min(0).max(2 ** 31 - 1).default(0).describe('Into the function, or the file'),
    pid,
    retprobe: z.boolean().default(false),
  }),
  programTypes: ['kprobe'],
  available: () =>
    hasProgramType('kprobe') && hasPmu('uprobe') ? { usable: true, reason: 'the uprobe PMU exists' } : { usable: false, reason: 'this kernel has no uprobe PMU' },
  attach(target, s) {
    if (s.function === undefined && s.offset === 0) throw new InvalidRequest('function', 'give a function or an offset');
    checkBinary(s.binary, s.function);
    const where = `${s.binary}:${s.function ?? ''}${s.offset ? `+0x${s.offset.toString(16)}` : ''}`;
    const point = `${s.retprobe ? 'uretprobe' : 'uprobe'}/${where}${s.pid ? ` pid ${s.pid}` : ''}`;
    return { links: [attachUprobe(target, s.binary, s.function ?? null, s.offset, s.pid ?? -1, s.retprobe)], point };
  },
  links: {
    types: ['perf_event'],
    describe: (l) =>
      l.perfEventType === 'uprobe' || l.perfEventType === 'uretprobe'
        ? `${l.perfEventType}/${l.name ?? '?'}${l.offset ? `+0x${l.offset.toString(16)}` : ''}`
        : undefined,
  },
});
