/** USDT probes compiled into a binary: libbpf attaches every call site (one uprobe_multi link where the kernel has them). */
import * as z from 'zod';
import { attachUsdt } from '../kernel/attach.js';
import { hasPmu, hasProgramType } from '../kernel/features.js';
import { checkBinary } from '../kernel/targets.js';
import { defineHook } from './hook.js';
import { name, path, pid } from './settings.js';

/** `{"usdt": {binary, provider, name, pid?}}` */
export const usdt = defineHook({
  kind: 'usdt',
  class: 'tracing',
  summary: 'A USDT probe in a binary',
  settings: z.strictObject({ binary: path, provider: name, name, pid }),
  programTypes: ['kprobe'],
  available: () =>
    hasProgramType('kprobe') && hasPmu('uprobe') ? { usable: true, reason: 'USDT notes attach through uprobes' } : { usable: false, reason: 'needs uprobes' },
  attach(target, s) {
    checkBinary(s.binary, undefined);
    return {
      links: [attachUsdt(target, s.binary, s.provider, s.name, s.pid ?? -1)],
      point: `usdt/${s.binary}:${s.provider}:${s.name}${s.pid ? ` pid ${s.pid}` : ''}`,
      note: 'libbpf holds a USDT attachment as one composite link over its call sites, so there is no single kernel link id to return or pin',
    };
  },
  links: { types: ['uprobe_multi'], describe: (l) => `uprobe_multi/${l.name ?? '?'} (${l.count ?? '?'} sites${l.pid ? `, pid ${l.pid}` : ''})` },
});
