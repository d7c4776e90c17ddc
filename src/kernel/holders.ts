/**
 * Which processes hold which BPF programs, maps and links, and which programs
 * run behind perf events: one bounded walk of /proc/<pid>/fd, reading each
 * BPF fd's fdinfo (prog_id, map_id, link_id) as bpftool does, and asking the
 * kernel (BPF_TASK_FD_QUERY, as `bpftool perf` does) what each perf-event fd
 * runs and where. Processes and fds that vanish mid-walk are skipped; a comm
 * is data from the traced system, kept as it is.
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { isNativeError } from './errors.js';
import { native } from './native.js';

/** A process holding a BPF object's fd. */
export interface Holder {
  pid: number;
  /** /proc/<pid>/comm: data from the traced system. */
  comm: string;
}

/** A program attached through a perf event (or a raw tracepoint fd) that a process holds, as BPF_TASK_FD_QUERY reports it. */
export interface PerfAttachment {
  programId: number;
  /** tracepoint, raw_tracepoint, kprobe, kretprobe, uprobe or uretprobe. */
  kind: string;
  /** The tracepoint, kprobe function or uprobe file ("" for a kprobe by address). */
  name: string;
  offset: number;
  addr: bigint;
  holder: Holder;
}

/** How far the walk went, and what it left out. */
export interface ScanExtent {
  processes: number;
  /** Processes past the cap, or whose fds could not be read (processes that exited mid-walk are not counted). */
  skippedProcesses: number;
  /** Fds past the cap. */
  skippedFds: number;
}

/** One walk's answer: holders of each kind by object id, and the perf-event attachments found. */
export interface HolderScan {
  programs: Map<number, Holder[]>;
  maps: Map<number, Holder[]>;
  links: Map<number, Holder[]>;
  perf: PerfAttachment[];
  extent: ScanExtent;
}

/** Bounds of one walk. */
export interface ScanLimits {
  /** Most processes walked. */
  maxProcesses: number;
  /** Most fds looked at over all processes. */
  maxFds: number;
}

/** Defaults that keep a walk to a few tens of milliseconds on a busy host. */
export const DEFAULT_SCAN_LIMITS: ScanLimits = { maxProcesses: 4096, maxFds: 65536 };

/** bpf_task_fd_type, by value. */
const TASK_FD_KINDS = ['raw_tracepoint', 'tracepoint', 'kprobe', 'kretprobe', 'uprobe', 'uretprobe'];

/** What an fd's /proc link says it is, for the kinds the walk reads. */
const FD_KINDS: Record<string, 'programs' | 'maps' | 'links' | 'perf'> = {
  'anon_inode:bpf-prog': 'programs',
  'anon_inode:bpf-map': 'maps',
  'anon_inode:bpf_link': 'links',
  'anon_inode:[perf_event]': 'perf',
};

/** The fdinfo key that names the object behind an fd of each kind. */
const ID_KEYS = { programs: 'prog_id', maps: 'map_id', links: 'link_id' } as const;

/** The id an fdinfo gives for `key`, or undefined. */
function fdinfoId(text: string, key: string): number | undefined {
  const m = new RegExp(`^${key}:\\s*(\\d+)$`, 'm').exec(text);
  return m?.[1] === undefined ? undefined : Number(m[1]);
}

/** Reads a file or undefined when the process or fd went away (or is not ours to read). */
function readOrGone<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}

function add(index: Map<number, Holder[]>, id: number, holder: Holder): void {
  const list = index.get(id);
  if (!list) index.set(id, [holder]);
  else if (!list.some((h) => h.pid === holder.pid)) list.push(holder);
}

/** What a perf-event fd runs, or undefined when it runs no program the kernel will describe (no program, a perf_event program, gone). */
function queryPerfFd(pid: number, fd: number, holder: Holder): PerfAttachment | undefined {
  try {
    const q = native.taskFdQuery(pid, fd);
    return { programId: q.progId, kind: TASK_FD_KINDS[q.fdType] ?? `fd_type_${q.fdType}`, name: q.name, offset: Number(q.probeOffset), addr: q.probeAddr, holder };
  } catch (e) {
    if (isNativeError(e)) return undefined;
    throw e;
  }
}

/** Walks /proc once: every process's BPF fds and perf-event attachments, within `limits`. */
export function scanHolders(limits: ScanLimits = DEFAULT_SCAN_LIMITS): HolderScan {
  const scan: HolderScan = { programs: new Map(), maps: new Map(), links: new Map(), perf: [], extent: { processes: 0, skippedProcesses: 0, skippedFds: 0 } };
  const pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number);
  let fdsSeen = 0;
  for (const [i, pid] of pids.entries()) {
    if (i >= limits.maxProcesses) {
      scan.extent.skippedProcesses += pids.length - i;
      break;
    }
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') scan.extent.skippedProcesses++;
      continue;
    }
    scan.extent.processes++;
    const room = Math.max(0, limits.maxFds - fdsSeen);
    if (fds.length > room) scan.extent.skippedFds += fds.length - room;
    fdsSeen += Math.min(fds.length, room);
    let holder: Holder | undefined;
    for (const fd of fds.slice(0, room)) {
      const kind = FD_KINDS[readOrGone(() => readlinkSync(`/proc/${pid}/fd/${fd}`)) ?? ''];
      if (!kind) continue;
      holder ??= { pid, comm: readOrGone(() => readFileSync(`/proc/${pid}/comm`, 'utf8').replace(/\n$/, '')) ?? '' };
      if (kind === 'perf') {
        const found = queryPerfFd(pid, Number(fd), holder);
        if (found) scan.perf.push(found);
        continue;
      }
      const info = readOrGone(() => readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'));
      const id = info === undefined ? undefined : fdinfoId(info, ID_KEYS[kind]);
      if (id !== undefined) add(scan[kind], id, holder);
    }
  }
  return scan;
}
