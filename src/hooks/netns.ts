/**
 * Hooks of a whole network namespace: sk_lookup (which socket takes a new
 * connection or datagram) and flow_dissector (how the kernel parses packet
 * headers). The namespace is named under /run/netns or given as a
 * /proc/<pid>/ns/net path.
 */
import { closeSync } from 'node:fs';
import * as z from 'zod';
import { createLink } from '../kernel/attach.js';
import { hasLinkType, hasProgramType } from '../kernel/features.js';
import { netnsNames, openNetns } from '../kernel/targets.js';
import { type AnyHook, defineHook } from './hook.js';
import { path } from './settings.js';

const KINDS = {
  sk_lookup: { programType: 'sk_lookup', summary: 'Socket selection in a network namespace' },
  flow_dissector: { programType: 'flow_dissector', summary: 'Flow dissection in a network namespace' },
} as const;

function netnsHook(kind: keyof typeof KINDS): AnyHook {
  const { programType, summary } = KINDS[kind];
  return defineHook({
    kind,
    class: 'network',
    summary,
    settings: z.strictObject({
      netns: path.describe('A /run/netns name or path, or /proc/<pid>/ns/net'),
    }),
    programTypes: [programType],
    available: () =>
      hasProgramType(programType) && hasLinkType('netns')
        ? { usable: true, reason: `${programType} programs load and the kernel has netns links` }
        : { usable: false, reason: `needs ${programType} programs and netns links` },
    attach(target, s) {
      const fd = openNetns(s.netns, 'netns');
      try {
        return { links: [createLink(target, fd, kind)], point: `${kind}/netns ${s.netns}` };
      } finally {
        closeSync(fd);
      }
    },
    links: {
      types: ['netns'],
      describe(l) {
        if (l.attachType !== kind) return undefined;
        const names = l.netnsIno === undefined ? [] : netnsNames(l.netnsIno);
        return `${kind}/netns ${names[0] ?? `ino ${l.netnsIno}`}`;
      },
    },
  });
}

/** `{"sk_lookup": {netns}}` */
export const skLookup = netnsHook('sk_lookup');
/** `{"flow_dissector": {netns}}` */
export const flowDissector = netnsHook('flow_dissector');
