/** Netfilter: a BPF program as a netfilter hook of one protocol family, in the server's network namespace. */
import * as z from 'zod';
import { createLink } from '../kernel/attach.js';
import { hasLinkType, hasProgramType } from '../kernel/features.js';
import { defineHook } from './hook.js';

/** Protocol families by name: NFPROTO_*. */
const FAMILIES = { ipv4: 2, ipv6: 10 } as const;

/** Hooks by name: NF_INET_*. */
const HOOKNUMS = { prerouting: 0, local_in: 1, forward: 2, local_out: 3, postrouting: 4 } as const;

/** BPF_F_NETFILTER_IP_DEFRAG: packets reach the program defragmented. */
const IP_DEFRAG = 1;

const familyOf = (pf: number | undefined) => Object.entries(FAMILIES).find(([, v]) => v === pf)?.[0] ?? `pf ${pf}`;
const hookOf = (n: number | undefined) => Object.entries(HOOKNUMS).find(([, v]) => v === n)?.[0] ?? `hook ${n}`;
const where = (family: string, hook: string, priority: number | undefined, flags: number | undefined) =>
  `netfilter/${family} ${hook} priority ${priority}${(flags ?? 0) & IP_DEFRAG ? ' defrag' : ''}`;

/** `{"netfilter": {family, hook, priority, defrag}}` */
export const netfilter = defineHook({
  kind: 'netfilter',
  class: 'network',
  summary: "In the server's network namespace",
  settings: z.strictObject({
    family: z.enum(['ipv4', 'ipv6']),
    hook: z.enum(['prerouting', 'local_in', 'forward', 'local_out', 'postrouting']),
    priority: z
      .int()
      .min(-2147483647)
      .max(2147483646)
      .describe('Order among hooks, lowest first'),
    defrag: z.boolean().default(false).describe('Reassemble fragments first (priority > -400)'),
  }),
  programTypes: ['netfilter'],
  available: () =>
    hasProgramType('netfilter') && hasLinkType('netfilter')
      ? { usable: true, reason: 'netfilter programs load and the kernel has netfilter links' }
      : { usable: false, reason: 'needs netfilter programs and links (CONFIG_NETFILTER_BPF_LINK, Linux 6.4+)' },
  attach(target, s) {
    const flags = s.defrag ? IP_DEFRAG : 0;
    const link = createLink(target, 0, 'netfilter', { netfilter: { pf: FAMILIES[s.family], hooknum: HOOKNUMS[s.hook], priority: s.priority, flags } });
    return { links: [link], point: where(s.family, s.hook, s.priority, flags) };
  },
  links: { types: ['netfilter'], describe: (l) => where(familyOf(l.pf), hookOf(l.hooknum), l.priority, l.flags) },
});
