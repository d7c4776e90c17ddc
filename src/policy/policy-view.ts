/**
 * The policy as a principal reads it (info's `policy`, the ebpf://policy
 * resource): its role, what that role may and may not do, and the rules and
 * limits every call is held to.
 */
import type { Access } from './access.js';
import { GRANTS, type Grant, type Role, lowestRoleWith } from './roles.js';
import { allowedSourceDirs } from './source-rules.js';

/** The policy in force for one principal, as plain JSON. */
export interface PolicyView {
  role: Role;
  file: string | null;
  grants: { grant: string; allows: string }[];
  not_granted: { grant: string; allows: string; role: string }[];
  sources: { any: boolean; allowed_dirs: string[]; inline: boolean; allowed_sha256: string[] | null };
  denied_helpers: string[];
  allowed_program_types: string[] | null;
  quotas: { objects: number; programs: number; maps: number; map_mb: number; links: number; object_mb: number };
  rate_limits: { calls_per_second: number; concurrent_streams: number; requests_in_flight: number };
  max_lease_seconds: number;
  pin_prefix: string;
  audit_log: string | null;
}

/** What `access` may do, and the rules in force. */
export function policyView(access: Access): PolicyView {
  const { policy } = access;
  const all = Object.keys(GRANTS) as Grant[];
  const l = policy.limits;
  return {
    role: access.role,
    file: policy.file,
    grants: all.filter((g) => access.has(g)).map((g) => ({ grant: g, allows: GRANTS[g] })),
    not_granted: all.filter((g) => !access.has(g)).map((g) => ({ grant: g, allows: GRANTS[g], role: lowestRoleWith(g) })),
    sources: {
      any: access.has('any_source'),
      allowed_dirs: access.has('any_source') ? [] : allowedSourceDirs(access),
      inline: access.has('inline'),
      allowed_sha256: access.has('any_source') ? null : policy.sources.allowedSha256,
    },
    denied_helpers: policy.deniedHelpers,
    allowed_program_types: policy.allowedProgramTypes,
    quotas: {
      objects: l.maxObjectsPerSession,
      programs: l.maxProgramsPerSession,
      maps: l.maxMapsPerSession,
      map_mb: l.maxMapBytesPerSession / (1 << 20),
      links: l.maxLinksPerSession,
      object_mb: l.maxObjectBytes / (1 << 20),
    },
    rate_limits: { calls_per_second: policy.callsPerSecond, concurrent_streams: l.maxReadersPerSession, requests_in_flight: l.maxRequestsInFlight },
    max_lease_seconds: l.maxLeaseSeconds,
    pin_prefix: policy.pinPrefix,
    audit_log: policy.auditLog,
  };
}

/** The policy in one line for a summary: the role and what it may not do. */
export function policyLine(view: PolicyView): string {
  const denied = view.not_granted.map((g) => g.grant);
  return `Role ${view.role}${view.file ? ` (policy ${view.file})` : ''}: ${denied.length ? `not granted ${denied.join(', ')}` : 'every grant'}; denied helpers: ${view.denied_helpers.join(', ') || 'none'}.`;
}
