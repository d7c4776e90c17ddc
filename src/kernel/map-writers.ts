/**
 * Which programs use a map, and which of those run: a program uses a map when
 * the map's id is in its bpf_prog_info map_ids; it runs when a link holds it,
 * a perf event runs it (BPF_TASK_FD_QUERY, src/kernel/holders.ts), or the
 * caller knows of an attachment the kernel lists neither way (a netlink tc
 * filter). A buffer that no running program uses stays empty: callers say so.
 */
import { scanHolders } from './holders.js';
import { type ProgramInfo, allPrograms, readAll } from './inventory.js';
import { ObjKind, native } from './native.js';
import { withObjectFd } from './object-fd.js';

/** A program by id and name. */
export interface ProgramRef {
  id: number;
  name: string;
}

/** The programs that use a map, split by whether they run. */
export interface MapWriters {
  writers: ProgramRef[];
  attached: ProgramRef[];
  unattached: ProgramRef[];
}

/** The programs using each map, by map id, in the order of `programs`: built once for many {@link classifyWriters} calls. */
export function usersByMap(programs: readonly ProgramInfo[]): Map<number, ProgramRef[]> {
  const byMap = new Map<number, ProgramRef[]>();
  for (const p of programs) {
    for (const id of new Set(p.mapIds)) {
      const list = byMap.get(id);
      if (list) list.push({ id: p.id, name: p.name });
      else byMap.set(id, [{ id: p.id, name: p.name }]);
    }
  }
  return byMap;
}

/** Splits the programs using `mapId` (from `users`, {@link usersByMap} of every program) by `isAttached`. */
export function classifyWriters(mapId: number, users: ReadonlyMap<number, readonly ProgramRef[]>, isAttached: (programId: number) => boolean): MapWriters {
  const writers = (users.get(mapId) ?? []).map((p) => ({ ...p }));
  const attached = writers.filter((p) => isAttached(p.id));
  return { writers, attached, unattached: writers.filter((p) => !attached.includes(p)) };
}

/**
 * The programs using `mapId`, read from the kernel now; `alsoAttached` names programs attached
 * without a link or perf event (the caller's own netlink tc filters). /proc is walked only when
 * some user has no link.
 */
export function mapWriters(mapId: number, alsoAttached: (programId: number) => boolean = () => false): MapWriters {
  const programs = allPrograms();
  const linked = new Set(readAll('link', (id) => withObjectFd(ObjKind.Link, id, (fd) => native.linkInfo(fd).progId)));
  const isLinked = (id: number) => linked.has(id) || alsoAttached(id);
  let perf: Set<number> | undefined;
  return classifyWriters(mapId, usersByMap(programs), (id) => isLinked(id) || (perf ??= new Set(scanHolders().perf.map((a) => a.programId))).has(id));
}
