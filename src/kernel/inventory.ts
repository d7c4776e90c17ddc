/**
 * Every program, map and link the kernel has, on the whole host, read from
 * the kernel by id (bpf_*_get_next_id, then info by fd). Objects that vanish
 * between listing and reading are skipped, not reported as errors.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { kernelFailure } from './errors.js';
import { type NativeMapInfo, type NativeProgInfo, ObjKind, native } from './native.js';
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

/** A program's info as this project reports it, from what the kernel says of it. */
function describeProgram(p: NativeProgInfo): ProgramInfo {
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
}

/** A map's info as this project reports it: its type by name, and not where it is offloaded to. */
function describeMap({ type, ifindex: _offloadedTo, ...m }: NativeMapInfo): MapInfo {
  return { ...m, type: mapTypeName(type) };
}

/** One program's info, or undefined when it is gone. */
export function programInfo(id: number): ProgramInfo | undefined {
  return withObjectFd(ObjKind.Prog, id, (fd) => describeProgram(native.progInfo(fd)));
}

/** One map's info, or undefined when it is gone. */
export function mapInfo(id: number): MapInfo | undefined {
  return withObjectFd(ObjKind.Map, id, (fd) => describeMap(native.mapInfo(fd)));
}

/** Every program on the host, in id order: one walk in the addon rather than four calls a program. */
export function allPrograms(): ProgramInfo[] {
  const c = walked(() => native.infoAll(ObjKind.Prog));
  return Array.from(c.id, (id, i) =>
    describeProgram({
      id,
      type: c.type[i] as number,
      name: c.name[i] as string,
      tag: c.tag[i] as string,
      loadTimeNs: c.loadTimeNs[i] as bigint,
      createdByUid: c.createdByUid[i] as number,
      btfId: c.btfId[i] as number,
      xlatedLen: c.xlatedLen[i] as number,
      jitedLen: c.jitedLen[i] as number,
      verifiedInsns: c.verifiedInsns[i] as number,
      gplCompatible: c.gplCompatible[i] === 1,
      runTimeNs: c.runTimeNs[i] as bigint,
      runCnt: c.runCnt[i] as bigint,
      ifindex: c.ifindex[i] as number,
      mapIds: Array.from(c.mapIds.subarray(c.mapIdsStart[i], c.mapIdsStart[i + 1])),
    }),
  );
}

/** Every map on the host, in id order, read in one walk. */
export function allMaps(): MapInfo[] {
  const c = walked(() => native.infoAll(ObjKind.Map));
  return Array.from(c.id, (id, i) =>
    describeMap({
      id,
      type: c.type[i] as number,
      name: c.name[i] as string,
      keySize: c.keySize[i] as number,
      valueSize: c.valueSize[i] as number,
      maxEntries: c.maxEntries[i] as number,
      flags: c.flags[i] as number,
      btfId: c.btfId[i] as number,
      btfKeyTypeId: c.btfKeyTypeId[i] as number,
      btfValueTypeId: c.btfValueTypeId[i] as number,
      ifindex: c.ifindex[i] as number,
    }),
  );
}

/** The addon's walk over every object of a kind, its failure as a KernelError. */
function walked<T>(walk: () => T): T {
  try {
    return walk();
  } catch (e) {
    throw kernelFailure(e, 'reading kernel objects');
  }
}

/** The other maps used by the programs that use map `mapId` (a ring's lost counter, a counts map's stack traces), each once. */
export function mapsBeside(mapId: number): MapInfo[] {
  const ids = new Set<number>();
  for (const p of allPrograms()) if (p.mapIds.includes(mapId)) for (const m of p.mapIds) if (m !== mapId) ids.add(m);
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
