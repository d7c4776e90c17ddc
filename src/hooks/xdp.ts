/** XDP: every packet arriving on a network interface, before the stack sees it. */
import * as z from 'zod';
import { createLink } from '../kernel/attach.js';
import { hasProgramType } from '../kernel/features.js';
import { interfaceIndex } from '../kernel/targets.js';
import { defineHook } from './hook.js';
import { name } from './settings.js';

const MODE_FLAGS = { generic: 1 << 1, native: 1 << 2, offload: 1 << 3 } as const;

/** `{"xdp": {interface, mode}}` */
export const xdp = defineHook({
  kind: 'xdp',
  class: 'network',
  summary: 'Packets arriving on an interface',
  settings: z.strictObject({ interface: name, mode: z.enum(['native', 'generic', 'offload']).default('native') }),
  programTypes: ['xdp'],
  available: () => (hasProgramType('xdp') ? { usable: true, reason: 'xdp programs load' } : { usable: false, reason: 'xdp programs do not load' }),
  attach(target, s) {
    const ifindex = interfaceIndex(s.interface);
    return { links: [createLink(target, ifindex, 'xdp', { flags: MODE_FLAGS[s.mode] })], point: `xdp/${s.interface} (${s.mode})` };
  },
  links: { types: ['xdp'], describe: (l) => `xdp/${l.interface}` },
});
