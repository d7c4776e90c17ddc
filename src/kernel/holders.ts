/**
 * Which processes hold which BPF programs, maps and links, and which programs
 * run behind perf events: one run of a task_file iterator
 * (bpf/internal/holders.bpf.c) listing every such fd with its object's id
 * (loaded once per process and kept, so a run is a new iterator on its
 * link; its program and link are this process's own, held like any other),
 * or where that cannot run (no privilege for it, a nested pid namespace, caps
 * asked for), one bounded walk of /proc/<pid>/fd reading each BPF fd's fdinfo
 * (prog_id, map_id, link_id); then the kernel is asked (BPF_TASK_FD_QUERY, as
 * `bpftool perf` does) what each perf-event fd runs and where. Processes and
 * fds that vanish mid-walk are skipped; a comm is data from the traced
 * system, kept as it is.
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { BPF_OBJECT_DIR } from '../paths.js';
import { attachAuto } from './attach.js';
import { isNativeError } from './errors.js';
import type { BpfLink } from './link.js';
import { native } from './native.js';
import { BpfObject } from './object.js';

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

/** Each kind's fdinfo line naming its object, compiled once. */
const ID_LINES = { programs: /^prog_id:\s*(\d+)$/m, maps: /^map_id:\s*(\d+)$/m, links: /^link_id:\s*(\d+)$/m } as const;

/** The id an fdinfo gives for the object of `kind`, or undefined. */
function fdinfoId(text: string, kind: keyof typeof ID_LINES): number | undefined {
  const m = ID_LINES[kind].exec(text);
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

/** The iterator's object, as `make build` puts it. */
const ITERATOR_OBJECT = join(BPF_OBJECT_DIR, 'internal', 'holders.bpf.o');

/** Bytes of one iterator record (struct holder_record), and most bytes read from one run (then the walk is used). */
const RECORD_BYTES = 32;
const ITERATOR_MAX_BYTES = 4 << 20;

/** The record kinds of bpf/internal/holders.bpf.c, by value. */
const RECORD_KINDS = [undefined, 'programs', 'maps', 'links', 'perf'] as const;

/** Set once the iterator failed to load or run in this process: the walk is used from then on. */
let iteratorFailed = false;

/** Whether this process sees pids as the kernel's iterator reports them (it is not in a nested pid namespace). */
function initialPidNamespace(): boolean {
  const nspid = /^NSpid:\s*(.*)$/m.exec(readOrGone(() => readFileSync('/proc/self/status', 'utf8')) ?? '');
  return nspid !== null && nspid[1]?.trim().split(/\s+/).length === 1;
}

/** The iterator as loaded: its object and its link, on which each scan creates a new iterator to read. */
interface LoadedIterator {
  object: BpfObject;
  link: BpfLink;
  programId: number;
}

/**
 * The iterator, loaded and verified on the first scan that needs it and kept for the life of the process
 * (loading costs tens of milliseconds, a run a few): its program and link are then the process's own, on the host.
 */
let loaded: LoadedIterator | undefined;

/** The loaded iterator, loading it on first use; throws when it cannot load here. */
function holdersIterator(): LoadedIterator {
  if (loaded) return loaded;
  if (!initialPidNamespace()) throw new Error('a nested pid namespace');
  const object = BpfObject.open(readFileSync(ITERATOR_OBJECT), 'ebpf_mcp_holders');
  try {
    object.load();
    const program = object.programs()[0];
    if (!program) throw new Error('no program');
    loaded = { object, link: attachAuto({ object, program }), programId: program.id };
    return loaded;
  } catch (e) {
    object.close();
    throw e;
  }
}

/** The program and link of this process's own holders iterator, once loaded: listed on the host like any other, and marked as the server's. */
export function ownIterator(): { programId: number; linkId: number } | undefined {
  return loaded && { programId: loaded.programId, linkId: loaded.link.id ?? 0 };
}

/** One run of the iterator: its records; undefined when it cannot run here (or its output passed the bound). */
function iterateHolders(): Buffer | undefined {
  if (iteratorFailed) return undefined;
  try {
    const { data, truncated } = holdersIterator().link.iterate(ITERATOR_MAX_BYTES);
    return truncated ? undefined : data;
  } catch {
    iteratorFailed = true;
    loaded?.link.destroy();
    loaded?.object.close();
    loaded = undefined;
    return undefined;
  }
}

/** The scan from the iterator's records. */
function scanOfRecords(data: Buffer): HolderScan {
  const processes = readdirSync('/proc').filter((d) => /^\d+$/.test(d)).length;
  const scan: HolderScan = { programs: new Map(), maps: new Map(), links: new Map(), perf: [], extent: { processes, skippedProcesses: 0, skippedFds: 0 } };
  const holders = new Map<number, Holder>();
  for (let at = 0; at + RECORD_BYTES <= data.length; at += RECORD_BYTES) {
    const pid = data.readUInt32LE(at);
    const kind = RECORD_KINDS[data.readUInt32LE(at + 8)];
    const id = data.readUInt32LE(at + 12);
    if (!kind) continue;
    let holder = holders.get(pid);
    if (!holder) {
      const comm = data.subarray(at + 16, at + 32);
      const nul = comm.indexOf(0);
      holder = { pid, comm: comm.subarray(0, nul < 0 ? comm.length : nul).toString('utf8') };
      holders.set(pid, holder);
    }
    if (kind === 'perf') {
      const found = queryPerfFd(pid, data.readUInt32LE(at + 4), holder);
      if (found) scan.perf.push(found);
    } else add(scan[kind], id, holder);
  }
  return scan;
}

/** How a scan finds the fds: the iterator (the walk where it cannot run), or the walk. */
export type ScanMethod = 'iterator' | 'walk';

/**
 * Every process's BPF fds and perf-event attachments: from the iterator, which leaves nothing out, unless `limits`
 * are given, the walk is asked for (`method`), or the iterator cannot run here; else walking /proc once within the limits.
 */
export function scanHolders(limits?: ScanLimits, method: ScanMethod = 'iterator'): HolderScan {
  const records = limits === undefined && method === 'iterator' ? iterateHolders() : undefined;
  return records ? scanOfRecords(records) : walkProc(limits ?? DEFAULT_SCAN_LIMITS);
}

/** Walks /proc once: every process's BPF fds and perf-event attachments, within `limits`. */
function walkProc(limits: ScanLimits): HolderScan {
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
      const id = info === undefined ? undefined : fdinfoId(info, kind);
      if (id !== undefined) add(scan[kind], id, holder);
    }
  }
  return scan;
}
