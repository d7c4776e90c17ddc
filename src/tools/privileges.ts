/**
 * What a server running without the capabilities it needs tells its caller:
 * which are missing (from /proc/self/status CapEff) and how to grant them.
 * `info` says it once; every kernel refusal with EPERM says it again in place
 * of libbpf's RLIMIT_MEMLOCK hint, which does not apply to kernels since 5.11.
 */
import { missingCapabilities } from '../kernel/host.js';

/** The needed capabilities the server lacks, and how to grant them. */
export interface PrivilegeAdvice {
  missing: string[];
  grant: string;
}

/** What the server lacks and how to grant it; undefined when it lacks nothing. */
export function privilegeAdvice(): PrivilegeAdvice | undefined {
  const missing = missingCapabilities();
  if (missing.length === 0) return undefined;
  const caps = missing.map((c) => c.toLowerCase()).join(',');
  return {
    missing,
    grant:
      `grant them to node (setcap ${caps}+ep ${process.execPath}), or start the server from a systemd unit with ` +
      `AmbientCapabilities=${missing.join(' ')}, or run it as root`,
  };
}

/** One sentence: "the server lacks CAP_BPF, ...: grant them ...". */
export function privilegeText(a: PrivilegeAdvice): string {
  return `the server lacks ${a.missing.join(', ')}: ${a.grant}`;
}
