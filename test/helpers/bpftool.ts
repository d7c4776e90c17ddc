/**
 * The kernel's view through bpftool, an independent witness: tests check
 * what the server reports against what bpftool sees.
 */
import { execFileSync } from 'node:child_process';

/** A program as `bpftool prog show -j` lists it. */
export interface BpftoolProg {
  id: number;
  type: string;
  name?: string;
  tag: string;
  map_ids?: number[];
}

/** Every program bpftool sees. */
export function bpftoolPrograms(): BpftoolProg[] {
  return JSON.parse(execFileSync('bpftool', ['-j', 'prog', 'show'], { encoding: 'utf8' })) as BpftoolProg[];
}

/** Programs named `names` that bpftool sees now but not in `before`: what a test's own loads left, whatever else runs. */
export function newProgramsNamed(before: Set<number>, names: readonly string[]): number[] {
  return bpftoolPrograms()
    .filter((p) => p.name !== undefined && names.includes(p.name) && !before.has(p.id))
    .map((p) => p.id);
}

/** Ids of every program, map or link bpftool sees. */
export function bpftoolIds(kind: 'prog' | 'map' | 'link'): Set<number> {
  const list = JSON.parse(execFileSync('bpftool', ['-j', kind, 'show'], { encoding: 'utf8' }) || '[]') as { id: number }[];
  return new Set(list.map((x) => x.id));
}

/** The programs bpftool sees attached through perf events (bpftrace, BCC, perf), by the pid of the process holding them. */
export function bpftoolPerfPrograms(): Map<number, number[]> {
  const list = JSON.parse(execFileSync('bpftool', ['-j', 'perf', 'show'], { encoding: 'utf8' }) || '[]') as { pid: number; prog_id: number }[];
  const byPid = new Map<number, number[]>();
  for (const p of list) byPid.set(p.pid, [...(byPid.get(p.pid) ?? []), p.prog_id]);
  return byPid;
}

/** Ids of the links bpftool sees for program `progId`. */
export function bpftoolLinksOf(progId: number): number[] {
  const list = JSON.parse(execFileSync('bpftool', ['-j', 'link', 'show'], { encoding: 'utf8' }) || '[]') as { id: number; prog_id: number }[];
  return list.filter((l) => l.prog_id === progId).map((l) => l.id);
}

/** Waits until `check` holds, polling every 20 ms, up to `ms`; returns whether it held. */
export async function eventually(check: () => boolean, ms = 1000): Promise<boolean> {
  const end = Date.now() + ms;
  for (;;) {
    if (check()) return true;
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
}
