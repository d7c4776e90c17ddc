/** Traffic control on an interface: a tcx link where the kernel has tcx (6.6+), else a netlink tc filter. */
import * as z from 'zod';
import { attachTcFilter, createLink } from '../kernel/attach.js';
import { hasLinkType, hasProgramType } from '../kernel/features.js';
import { interfaceIndex } from '../kernel/targets.js';
import { defineHook } from './hook.js';
import { name } from './settings.js';

/** `{"tc": {interface, direction, priority}}` */
export const tc = defineHook({
  kind: 'tc',
  class: 'network',
  summary: 'Traffic control on an interface',
  settings: z.strictObject({
    interface: name,
    direction: z.enum(['ingress', 'egress']).default('ingress'),
    priority: z.int().min(1).max(65535).default(1).describe('netlink tc only'),
  }),
  programTypes: ['sched_cls', 'sched_act'],
  available: () =>
    hasProgramType('sched_cls')
      ? { usable: true, reason: hasLinkType('tcx') ? 'sched_cls programs load; attached as tcx links' : 'sched_cls programs load; attached as netlink tc filters' }
      : { usable: false, reason: 'sched_cls programs do not load' },
  attach(target, s) {
    const ifindex = interfaceIndex(s.interface);
    if (hasLinkType('tcx')) {
      return {
        links: [createLink(target, ifindex, `tcx_${s.direction}`)],
        point: `tcx/${s.interface} ${s.direction}`,
        note: 'attached with tcx (a BPF link); priority applies only to netlink tc on kernels without tcx',
      };
    }
    return {
      links: [attachTcFilter(target, ifindex, s.direction === 'egress', s.priority)],
      point: `tc/${s.interface} ${s.direction} priority ${s.priority}`,
      note: 'attached as a netlink tc filter: this kernel has no tcx, so there is no kernel link id',
    };
  },
  links: { types: ['tcx', 'netkit'], describe: (l) => `${l.type}/${l.interface} ${l.attachType}` },
});
