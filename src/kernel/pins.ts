/**
 * Objects pinned on bpffs: what kind each is and its kernel id, read from
 * the fd's /proc fdinfo (the kernel writes prog_id / map_id / link_id there).
 */
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isNativeError } from './errno.js';
import { native } from './native.js';

/** A pinned object. */
export interface PinnedObject {
  path: string;
  kind: 'program' | 'map' | 'link';
  id: number;
}

function fdinfoField(text: string, key: string): number | undefined {
  const m = new RegExp(`^${key}:\\s*(\\d+)`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

/** Kind and id of the object pinned at `path`, or undefined when it is not a BPF object. */
export function identifyPin(path: string): PinnedObject | undefined {
  let fd: number;
  try {
    fd = native.objGet(path);
  } catch (e) {
    if (isNativeError(e)) return undefined;
    throw e;
  }
  try {
    const text = readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8');
    const linkId = fdinfoField(text, 'link_id');
    if (linkId !== undefined) return { path, kind: 'link', id: linkId };
    const mapId = fdinfoField(text, 'map_id');
    if (mapId !== undefined) return { path, kind: 'map', id: mapId };
    const progId = fdinfoField(text, 'prog_id');
    return progId === undefined ? undefined : { path, kind: 'program', id: progId };
  } finally {
    native.closeFd(fd);
  }
}

/** Every object pinned under `prefix` (recursively, at most `max` entries). */
export function listPinned(prefix: string, max = 10_000): { pins: PinnedObject[]; truncated: boolean } {
  const pins: PinnedObject[] = [];
  const dirs = [prefix];
  let seen = 0;
  while (dirs.length) {
    const dir = dirs.pop() as string;
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names.sort()) {
      if (++seen > max) return { pins, truncated: true };
      const path = join(dir, name);
      const st = lstatSync(path, { throwIfNoEntry: false });
      if (!st || st.isSymbolicLink()) continue;
      if (st.isDirectory()) dirs.push(path);
      else {
        const pin = identifyPin(path);
        if (pin) pins.push(pin);
      }
    }
  }
  return { pins, truncated: false };
}

/** Pins the object behind `fd` at `path` on bpffs: it then outlives this process. */
export function pinFd(fd: number, path: string): void {
  native.objPin(fd, path);
}
