/**
 * Every program, map and link the kernel has, on the whole host, read from
 * the kernel by id (bpf_*_get_next_id, then info by fd). Objects that vanish
 * between listing and reading are skipped, not reported as errors.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { kernelError } from './errno.js';
import { kernelBtf } from './kernel-btf.js';
import { type NativeLinkInfo, ObjKind, native } from './native.js';
import { withObjectFd } from './object-fd.js';
import { attachTypeName, linkTypeName, mapTypeName, progTypeName } from './types.js';

/** A loaded program as the kernel describes it. */
export interface ProgramInfo {
  id: number;
  name: string;
  type: string;
  tag: string;
  /** Wall-clock load time, ISO 8601. */
  loadedAt: string;
  uid: number;
  mapIds: number[];
  btfId: number;
  /** Instructions after the verifier's rewrites. */
  xlatedInsns: number;
  jitedBytes: number;
  verifiedInsns: number;
  gplCompatible: boolean;
  /** Runs and run time; both stay 0 unless kernel.bpf_stats_enabled is set. */
  runCount: number;
  runTimeNs: number;
}

/** A map as the kernel describes it. */
export interface MapInfo {
  id: number;
  name: string;
  type: string;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  btfId: number;
  btfKeyTypeId: number;
  btfValueTypeId: number;
}

/** A link as the kernel describes it, with its target spelled out. */
export interface LinkInfo {
  id: number;
  type: string;
  programId: number;
  /** What it is attached to, e.g. `tracepoint/sys_enter_getpid` or `xdp/veth0`. */
  target: string;
}

/** Ids of every object of a kind, ascending. */
export function listIds(kind: ObjKind): number[] {
  const ids: number[] = [];
  try {
    for (let id = native.nextId(kind, 0); id !== 0; id = native.nextId(kind, id)) ids.push(id);
  } catch (e) {
    throw kernelError(e, 'listing kernel objects');
  }
  return ids;
}

let bootEpochMs: number | undefined;

/** Wall-clock time of boot, from CLOCK_BOOTTIME (the clock of prog load_time). */
function bootTimeMs(): number {
  bootEpochMs ??= Date.now() - Number(native.clockBoottimeNs() / 1_000_000n);
  return bootEpochMs;
}

/** One program's info, or undefined when it is gone. */
export function programInfo(id: number): ProgramInfo | undefined {
  return withObjectFd(ObjKind.Prog, id, (fd) => {
    const p = native.progInfo(fd);
    return {
      id: p.id,
      name: p.name,
      type: progTypeName(p.type),
      tag: p.tag,
      loadedAt: new Date(bootTimeMs() + Number(p.loadTimeNs / 1_000_000n)).toISOString(),
      uid: p.createdByUid,
      mapIds: p.mapIds,
      btfId: p.btfId,
      xlatedInsns: p.xlatedLen / 8,
      jitedBytes: p.jitedLen,
      verifiedInsns: p.verifiedInsns,
      gplCompatible: p.gplCompatible,
      runCount: Number(p.runCnt),
      runTimeNs: Number(p.runTimeNs),
    };
  });
}

/** One map's info, or undefined when it is gone. */
export function mapInfo(id: number): MapInfo | undefined {
  return withObjectFd(ObjKind.Map, id, (fd) => {
    const m = native.mapInfo(fd);
    return {
      id: m.id,
      name: m.name,
      type: mapTypeName(m.type),
      keySize: m.keySize,
      valueSize: m.valueSize,
      maxEntries: m.maxEntries,
      flags: m.flags,
      btfId: m.btfId,
      btfKeyTypeId: m.btfKeyTypeId,
      btfValueTypeId: m.btfValueTypeId,
    };
  });
}

/** Network interface names by ifindex, in this network namespace. */
export function interfacesByIndex(): Map<number, string> {
  const out = new Map<number, string>();
  for (const name of readdirSync('/sys/class/net')) {
    try {
      out.set(Number(readFileSync(join('/sys/class/net', name, 'ifindex'), 'utf8')), name);
    } catch {
      // interface went away while listing
    }
  }
  return out;
}

const PERF_EVENT_KINDS: Record<number, string> = {
  1: 'uprobe',
  2: 'uretprobe',
  3: 'kprobe',
  4: 'kretprobe',
  5: 'tracepoint',
  6: 'perf_event',
};

/** A link's target in one line: `<kind>/<what>[+offset]`. */
function linkTarget(l: NativeLinkInfo, ifnames: () => Map<number, string>): string {
  const ifname = (i: number) => ifnames().get(i) ?? `ifindex ${i}`;
  const type = linkTypeName(l.type);
  switch (type) {
    case 'raw_tracepoint':
      return `raw_tracepoint/${l.tracepoint ?? '?'}`;
    case 'perf_event': {
      const kind = PERF_EVENT_KINDS[l.perfEventType ?? 0] ?? 'perf_event';
      if (kind === 'tracepoint') return `tracepoint/${l.tracepoint ?? '?'}`;
      if (kind === 'perf_event') return `perf_event/type ${l.eventType} config ${l.config}`;
      const where = l.file ?? l.function ?? '?';
      return `${kind}/${where}${l.offset ? `+0x${l.offset.toString(16)}` : ''}`;
    }
    case 'xdp':
      return `xdp/${ifname(l.ifindex ?? 0)}`;
    case 'tcx':
    case 'netkit':
      return `${type}/${ifname(l.ifindex ?? 0)} ${attachTypeName(l.attachType ?? 0)}`;
    case 'cgroup':
      return `cgroup/id ${l.cgroupId} ${attachTypeName(l.attachType ?? 0)}`;
    case 'tracing': {
      const fn = l.targetObjId && l.targetBtfId ? tracingTarget(l.targetObjId, l.targetBtfId) : undefined;
      return `${attachTypeName(l.attachType ?? 0)}/${fn ?? `btf ${l.targetObjId}:${l.targetBtfId}`}`;
    }
    case 'netns':
      return `netns/ino ${l.netnsIno} ${attachTypeName(l.attachType ?? 0)}`;
    case 'struct_ops':
      return `struct_ops/map ${l.mapId}`;
    case 'netfilter':
      return `netfilter/pf ${l.pf} hook ${l.hooknum} prio ${l.priority}`;
    default:
      return type;
  }
}

/** The kernel function a tracing link targets, when the target is in vmlinux BTF. */
function tracingTarget(btfObjId: number, typeId: number): string | undefined {
  const isVmlinux = withObjectFd(ObjKind.Btf, btfObjId, (fd) => native.btfInfo(fd).name === 'vmlinux');
  return isVmlinux ? kernelBtf()?.name(typeId) : undefined;
}

/** One link's info, or undefined when it is gone. */
export function linkInfo(id: number, ifnames: () => Map<number, string> = interfacesByIndex): LinkInfo | undefined {
  return withObjectFd(ObjKind.Link, id, (fd) => {
    const l = native.linkInfo(fd);
    return { id: l.id, type: linkTypeName(l.type), programId: l.progId, target: linkTarget(l, ifnames) };
  });
}
