/**
 * Roles and what each grants. A grant is one named rule: a denial names it
 * and the lowest role that holds it, and `info` lists a role's grants, so a
 * model reads what it may do instead of finding out by refusal.
 */

/** The roles, from the least to the most powerful; each holds every grant of the one before. */
export const ROLES = ['observer', 'operator', 'admin'] as const;

/** A role a principal acts in. */
export type Role = (typeof ROLES)[number];

/** The rules a role may be granted, each with what it allows, in one line a model reads. */
export const GRANTS = {
  load: 'load_program: catalog objects, files under the allowed directories, inline objects when the policy allows them',
  'attach:tracing': 'attach_program to tracing hooks (tracepoint, raw_tracepoint, tp_btf, kprobe, uprobe, usdt, perf_event, iter)',
  'attach:network': 'attach_program to network hooks (xdp, tc, netfilter, sk_lookup, flow_dissector, sk_msg, sk_skb)',
  'attach:cgroup': 'attach_program to cgroup hooks (cgroup, sockops)',
  unload: "unload_program and detach_link on this session's own objects",
  inline: 'load_program of inline (base64) objects; an operator has it when the policy allows inline objects',
  any_source: 'load_program from any path and of any sha256',
  pin: 'pin_path, pin_object and unpin_object: pins that outlive the session',
  map_write: 'map_batch_op: look up, update and delete map entries by key',
  foreign: 'act on objects other sessions or processes own (detach a link pinned by an earlier session)',
  lift_helpers: "load programs that call the policy's denied helpers, each named in the call's constraints.permit_helpers",
} as const;

/** One grant's name. */
export type Grant = keyof typeof GRANTS;

const OPERATOR: readonly Grant[] = ['load', 'attach:tracing', 'unload'];

/** What each role holds. */
const BY_ROLE: Record<Role, readonly Grant[]> = {
  observer: [],
  operator: OPERATOR,
  admin: Object.keys(GRANTS) as Grant[],
};

/** The grants of `role`. */
export function grantsOf(role: Role): ReadonlySet<Grant> {
  return new Set(BY_ROLE[role]);
}

/** The least powerful role holding `grant`. */
export function lowestRoleWith(grant: Grant): Role {
  return ROLES.find((r) => BY_ROLE[r].includes(grant)) ?? 'admin';
}

/** Whether `name` is a role. */
export function isRole(name: string): name is Role {
  return (ROLES as readonly string[]).includes(name);
}
