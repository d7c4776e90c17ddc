/** sock_ops: TCP events (connection established, RTO, state changes...) of the sockets of one cgroup. */
import * as z from 'zod';
import { createLinkOnPath } from '../kernel/attach.js';
import { cgroupDirectory } from '../kernel/targets.js';
import { cgroupAvailability } from './cgroup.js';
import { defineHook } from './hook.js';
import { path } from './settings.js';

/** `{"sockops": {cgroup}}` */
export const sockops = defineHook({
  kind: 'sockops',
  class: 'cgroup',
  summary: 'TCP socket events in a cgroup',
  settings: z.strictObject({ cgroup: path.describe('cgroup2 directory') }),
  programTypes: ['sock_ops'],
  available: () => cgroupAvailability('sock_ops'),
  attach(target, s) {
    const dir = cgroupDirectory(s.cgroup, 'cgroup');
    return { links: [createLinkOnPath(target, dir, 'cgroup_sock_ops', {}, true)], point: `sockops/${dir}` };
  },
  links: { types: ['cgroup'], describe: (l) => (l.attachType === 'cgroup_sock_ops' ? `sockops/cgroup id ${l.cgroupId}` : undefined) },
});
