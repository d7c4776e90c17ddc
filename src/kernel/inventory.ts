/**
 * Every program, map and link the kernel has, on the whole host, read from
 * the kernel by id (bpf_*_get_next_id, then info by fd). Objects that vanish
 * between listing and reading are skipped, not reported as errors.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { kernelFailure } from './errors.js';
import { type NativeMapInfo, ObjKind, native } from './native.js';
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

/** A map as the kernel describes it, its type by name. */
export type MapInfo = Omit<NativeMapInfo, 'type' | 'ifindex'> & { type: string };

/** A link as the kernel describes it: the members of its kind, named (src/hooks/ says what it is attached to). */
export interface KernelLink {
  id: number;
  /** Link type, e.g. "perf_event", "xdp", "tcx", "netfilter". */
  type: string;
  programId: number;
  attachType?: string;
  /** Perf links: what the event is (uprobe, uretprobe, kprobe, kretprobe, tracepoint, event). */
  perfEventType?: string;
  /** The tracepoint, function, iterator target or file. */
  name?: string;
  offset?: number;
  addr?: bigint;
  count?: number;
  pid?: number;
  flags?: number;
  /** The interface of XDP, tcx and netkit links, by name where this namespace has it. */
  interface?: string;
  cgroupId?: bigint;
  netnsIno?: number;
  mapId?: number;
  pf?: number;
  hooknum?: number;
  priority?: number;
  config?: bigint;
  eventType?: number;
  targetObjId?: number;
  targetBtfId?: number;
}

/** The kinds of kernel object the listings walk. */
export type ObjectKind = 'program' | 'map' | 'link';

const KINDS: Record<ObjectKind, ObjKind> = { program: ObjKind.Prog, map: ObjKind.Map, link: ObjKind.Link };

/** Ids of every object of a kind, ascending. */
export function listIds(kind: ObjectKind): number[] {
  const ids: number[] = [];
  try {
    for (let id = native.nextId(KINDS[kind], 0); id !== 0; id = native.nextId(KINDS[kind], id)) ids.push(id);
  } catch (e) {
    throw kernelFailure(e, 'listing kernel objects');
  }
  return ids;
}

/** Reads every object of a kind; ones that vanish while reading are skipped. */
export function readAll<T>(kind: ObjectKind, read: (id: number) => T | undefined): T[] {
  return listIds(kind)
    .map(read)
    .filter((x): x is T => x !== undefined);
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
    const { type, ifindex: _offloadedTo, ...m } = native.mapInfo(fd);
    return { ...m, type: mapTypeName(type) };
  });
}

/** The other maps used by the programs that use map `mapId` (a ring's lost counter, a counts map's stack traces), each once. */
export function mapsBeside(mapId: number): MapInfo[] {
  const ids = new Set<number>();
  for (const id of listIds('program')) {
    const p = programInfo(id);
    if (p?.mapIds.includes(mapId)) for (const m of p.mapIds) if (m !== mapId) ids.add(m);
  }
  return [...ids].flatMap((id) => mapInfo(id) ?? []);
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

const PERF_EVENT_TYPES: Record<number, string> = {
  1: 'uprobe',
  2: 'uretprobe',
  3: 'kprobe',
  4: 'kretprobe',
  5: 'tracepoint',
  6: 'event',
};

/** One link's info, or undefined when it is gone. `ifnames` names interfaces (read once per listing). */
export function linkInfo(id: number, ifnames: () => Map<number, string> = interfacesByIndex): KernelLink | undefined {
  return withObjectFd(ObjKind.Link, id, (fd) => {
    const { id: linkId, type, progId, attachType, perfEventType, ifindex, ...members } = native.linkInfo(fd);
    const link: KernelLink = { id: linkId, type: linkTypeName(type), programId: progId, ...members };
    if (attachType !== undefined) link.attachType = attachTypeName(attachType);
    if (perfEventType !== undefined) link.perfEventType = PERF_EVENT_TYPES[perfEventType] ?? `type_${perfEventType}`;
    if (ifindex !== undefined) link.interface = ifnames().get(ifindex) ?? `ifindex ${ifindex}`;
    return link;
  });
}
