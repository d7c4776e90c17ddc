/**
 * Facts about this host that decide what eBPF can do here, each read from
 * the kernel or probed, never assumed: kernel, BTF, filesystems, capabilities,
 * the program and map types that load.
 */
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { machine } from 'node:os';
import { kernelFailure } from './errors.js';
import { VMLINUX_BTF } from './kernel-btf.js';
import { TRACEFS, type TypeSupport, mapTypes, programTypes } from './features.js';
import { addonFile, native } from './native.js';

/** Where bpffs is mounted by convention. */
export const BPFFS = '/sys/fs/bpf';

/** A mounted filesystem as /proc/self/mounts lists it. */
interface MountEntry {
  source: string;
  target: string;
  fstype: string;
}

function mounts(): MountEntry[] {
  return readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [source = '', target = '', fstype = ''] = line.split(' ');
      return { source, target: target.replace(/\\040/g, ' '), fstype };
    });
}

/** Mount point of the first filesystem of a type, if any. */
export function mountPointOf(fstype: string): string | undefined {
  return mounts().find((m) => m.fstype === fstype)?.target;
}

/** Whether a filesystem of `fstype` is mounted exactly at `target`. */
function isMountedAt(fstype: string, target: string): boolean {
  return mounts().some((m) => m.fstype === fstype && m.target === target);
}

/** What ensureMounts found and did. */
export interface MountReport {
  bpffs: { path: string; mounted: boolean; mounted_by_server: boolean; error?: string };
  tracefs: { path: string; mounted: boolean; mounted_by_server: boolean; error?: string };
}

/**
 * Mounts bpffs and tracefs where they are missing, as bpftool does: pins and
 * tracepoint attachment need them. Failures are reported, not thrown.
 */
export function ensureMounts(): MountReport {
  const one = (fstype: string, path: string) => {
    if (isMountedAt(fstype, path)) return { path, mounted: true, mounted_by_server: false };
    try {
      native.mount(fstype, path, fstype);
      return { path, mounted: true, mounted_by_server: true };
    } catch (e) {
      return { path, mounted: false, mounted_by_server: false, error: kernelFailure(e, `mounting ${fstype}`).message };
    }
  };
  return { bpffs: one('bpf', BPFFS), tracefs: one('tracefs', TRACEFS) };
}

/** Linux capability numbers to names, for the ones that matter to BPF. */
const CAPABILITIES: Record<number, string> = {
  0: 'CAP_CHOWN',
  1: 'CAP_DAC_OVERRIDE',
  2: 'CAP_DAC_READ_SEARCH',
  12: 'CAP_NET_ADMIN',
  13: 'CAP_NET_RAW',
  19: 'CAP_SYS_PTRACE',
  21: 'CAP_SYS_ADMIN',
  24: 'CAP_SYS_RESOURCE',
  38: 'CAP_PERFMON',
  39: 'CAP_BPF',
};

/** The BPF-relevant capabilities in this process's effective set. */
export function effectiveCapabilities(): string[] {
  const line = readFileSync('/proc/self/status', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('CapEff:'));
  const eff = BigInt('0x' + (line?.split(/\s+/)[1] ?? '0'));
  return Object.entries(CAPABILITIES)
    .filter(([bit]) => (eff >> BigInt(bit)) & 1n)
    .map(([, name]) => name);
}

/** What the server needs to do everything it offers: load and create (CAP_BPF), trace (CAP_PERFMON), hook networking (CAP_NET_ADMIN), list every object and mount (CAP_SYS_ADMIN). */
export const REQUIRED_CAPABILITIES = ['CAP_BPF', 'CAP_PERFMON', 'CAP_NET_ADMIN', 'CAP_SYS_ADMIN'] as const;

/** A tracepoint's id in tracefs, there on every kernel: attaching a tracepoint program reads such a file. */
const TRACEPOINT_ID = `${TRACEFS}/events/sched/sched_process_exec/id`;

/** Whether this process may read tracepoint ids: tracefs is often root's alone (mode 0700), whatever the capabilities. True when tracefs is not there to tell. */
function tracepointIdsReadable(): boolean {
  try {
    closeSync(openSync(TRACEPOINT_ID, 'r'));
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'EACCES';
  }
}

/**
 * The required capabilities this process lacks in its effective set (CAP_SYS_ADMIN stands in for CAP_BPF and
 * CAP_PERFMON, as the kernel takes it), and CAP_DAC_READ_SEARCH when it may not read tracepoint ids (a user other
 * than root, as a systemd unit with a dedicated user runs it).
 */
export function missingCapabilities(): string[] {
  const held = new Set(effectiveCapabilities());
  if (held.has('CAP_SYS_ADMIN')) held.add('CAP_BPF').add('CAP_PERFMON');
  const missing: string[] = REQUIRED_CAPABILITIES.filter((c) => !held.has(c));
  return tracepointIdsReadable() ? missing : [...missing, 'CAP_DAC_READ_SEARCH'];
}

function readTrimmed(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** The libbpf this server runs on, and how it is linked. */
export interface LibbpfFacts {
  version: string;
  /** `static` when libbpf's code is inside the addon itself (no host libbpf involved). */
  linked: 'static' | 'shared';
}

function libbpfFacts(): LibbpfFacts {
  const v = native.libbpfVersion();
  return { version: v.version, linked: v.file === addonFile() ? 'static' : 'shared' };
}

/** Everything `info` reports about the host. */
export interface HostFacts {
  kernel_release: string;
  arch: string;
  btf: { vmlinux: boolean; path: string };
  mounts: MountReport;
  cgroup2_mount: string | null;
  capabilities: string[];
  unprivileged_bpf_disabled: number | null;
  bpf_stats_enabled: boolean;
  program_types: TypeSupport;
  map_types: TypeSupport;
  libbpf: LibbpfFacts;
}

/** Probes the host. Takes a few milliseconds per type; callers cache it. */
export function probeHost(mountReport: MountReport): HostFacts {
  const unpriv = readTrimmed('/proc/sys/kernel/unprivileged_bpf_disabled');
  return {
    kernel_release: readTrimmed('/proc/sys/kernel/osrelease') ?? 'unknown',
    arch: machine(),
    btf: { vmlinux: existsSync(VMLINUX_BTF), path: VMLINUX_BTF },
    mounts: mountReport,
    cgroup2_mount: mountPointOf('cgroup2') ?? null,
    capabilities: effectiveCapabilities(),
    unprivileged_bpf_disabled: unpriv === undefined ? null : Number(unpriv),
    bpf_stats_enabled: readTrimmed('/proc/sys/kernel/bpf_stats_enabled') === '1',
    program_types: programTypes(),
    map_types: mapTypes(),
    libbpf: libbpfFacts(),
  };
}

/** The host as a server sees it: filesystems mounted once at start, facts probed once on first use. */
export class HostState {
  private cached: HostFacts | undefined;

  constructor(
    /** What mounting bpffs and tracefs found and did. */
    readonly mounts: MountReport = ensureMounts(),
  ) {}

  /** The probed facts (probing takes tens of milliseconds, so it is done once). */
  facts(): HostFacts {
    this.cached ??= probeHost(this.mounts);
    return this.cached;
  }
}
