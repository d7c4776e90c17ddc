/**
 * The policy a server runs under: the stdio role, where operators may load
 * objects from, which helpers no program may call, which program types may
 * load, the quotas and rate limits, the longest lease and the pin prefix.
 * Built from defaults, a policy file (--policy) and flags, in that order.
 */
import { DEFAULT_LIMITS, type Limits } from './limits.js';
import type { Role } from './roles.js';

/** Helpers that write to user memory, change a function's return or signal a process: refused unless lifted per call by an admin. */
export const DEFAULT_DENIED_HELPERS = ['bpf_probe_write_user', 'bpf_override_return', 'bpf_send_signal', 'bpf_send_signal_thread'] as const;

/** Where operators may load objects from (admins may load any). */
export interface SourceRules {
  /** Directories (resolved, no symbolic links) whose files operators may load; the catalog is always allowed. */
  allowedDirs: string[];
  /** Whether operators may load inline (base64) objects. */
  allowInline: boolean;
  /** When set, operators may load only objects with one of these sha256 digests (lowercase hex); catalog objects are exempt. */
  allowedSha256: string[] | null;
}

/** A server's policy. */
export interface Policy {
  /** The role of a stdio client (the local user, already root: admin unless set). */
  role: Role;
  sources: SourceRules;
  /** Helpers no program may call unless an admin lifts them for one load. */
  deniedHelpers: string[];
  /** Program types (libbpf names) that may load; null: any. */
  allowedProgramTypes: string[] | null;
  /** Tool calls one session may make per second (a burst of twice as many is allowed); 0: no limit. */
  callsPerSecond: number;
  /** Sizes, quotas and the longest lease. */
  limits: Limits;
  /** The bpffs directory pins go under. */
  pinPrefix: string;
  /** Where every call is recorded (--audit-log), if anywhere. */
  auditLog: string | null;
  /** The file it was read from, if any. */
  file: string | null;
}

/** The policy without a file or flags. */
export function defaultPolicy(): Policy {
  return {
    role: 'admin',
    sources: { allowedDirs: [], allowInline: true, allowedSha256: null },
    deniedHelpers: [...DEFAULT_DENIED_HELPERS],
    allowedProgramTypes: null,
    callsPerSecond: 0,
    limits: { ...DEFAULT_LIMITS },
    pinPrefix: '/sys/fs/bpf/ebpf-mcp',
    auditLog: null,
    file: null,
  };
}
