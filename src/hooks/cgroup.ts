/** cgroup v2 hooks: packets, sockets, sysctls and devices of the processes in one cgroup. */
import * as z from 'zod';
import { attachTypeValue, createLinkOnPath } from '../kernel/attach.js';
import { InvalidRequest } from '../kernel/errors.js';
import { type Availability, hasProgramType } from '../kernel/features.js';
import { mountPointOf } from '../kernel/host.js';
import { cgroupDirectory } from '../kernel/targets.js';
import { attachTypeNames } from '../kernel/types.js';
import { defineHook } from './hook.js';
import { path } from './settings.js';

/** Whether programs of `programType` load and cgroup2 is mounted: what every kind on a cgroup needs. */
export function cgroupAvailability(programType: string): Availability {
  const root = mountPointOf('cgroup2');
  return hasProgramType(programType) && root
    ? { usable: true, reason: `${programType} programs load and cgroup2 is mounted at ${root}` }
    : { usable: false, reason: `needs ${programType} programs and a cgroup2 mount` };
}

/** `{"cgroup": {path, attach_type?}}` */
export const cgroup = defineHook({
  kind: 'cgroup',
  class: 'cgroup',
  summary: 'A cgroup v2 hook',
  settings: z.strictObject({
    path: path.describe('cgroup2 directory'),
    attach_type: z.string().min(1).max(64).optional().describe('e.g. "cgroup_inet_egress" (default: the section\'s)'),
  }),
  programTypes: ['cgroup_skb', 'cgroup_sock', 'cgroup_sock_addr', 'cgroup_sockopt', 'cgroup_sysctl', 'cgroup_device', 'sock_ops'],
  available: () => cgroupAvailability('cgroup_skb'),
  attach(target, s) {
    const dir = cgroupDirectory(s.path);
    const type = s.attach_type ?? target.program.expectedAttachType;
    if (attachTypeValue(type) === undefined) {
      throw new InvalidRequest('attach_type', `unknown attach type ${type}`, { known: attachTypeNames().filter((n) => n.startsWith('cgroup_')) });
    }
    return { links: [createLinkOnPath(target, dir, type, {}, true)], point: `cgroup/${dir} ${type}` };
  },
  links: { types: ['cgroup'], describe: (l) => `cgroup/id ${l.cgroupId} ${l.attachType}` },
});
