/**
 * A process's file mappings, from /proc/PID/maps: which file, at which file
 * offset, backs a user address. Paths are data from the traced system.
 */
import { readProcFile } from './proc-file.js';

/** The most bytes of one maps file read (a process with ~100k mappings). */
const MAX_MAPS_BYTES = 16 << 20;

/** One mapping of a file into a process. */
export interface Mapping {
  start: number;
  end: number;
  /** The file offset mapped at `start`. */
  offset: number;
  /** The file as the process sees it; a pseudo name ("[vdso]") or "" for anonymous memory. */
  path: string;
  /** The `start-end` of /proc/PID/map_files. */
  range: string;
}

/** The mappings of process `pid` in address order; undefined when the process is gone. */
export function processMaps(pid: number): Mapping[] | undefined {
  let text: string;
  try {
    text = readProcFile(`/proc/${pid}/maps`, MAX_MAPS_BYTES);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ESRCH') return undefined;
    throw e;
  }
  const maps: Mapping[] = [];
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) \S+ ([0-9a-f]+) \S+ \d+ *(.*)$/.exec(line);
    if (!m) continue;
    maps.push({ start: parseInt(m[1] as string, 16), end: parseInt(m[2] as string, 16), offset: parseInt(m[3] as string, 16), path: (m[4] as string).replace(/ \(deleted\)$/, ''), range: `${m[1]}-${m[2]}` });
  }
  return maps;
}

/** The mapping holding `address`, if any. */
export function mappingAt(maps: readonly Mapping[], address: number): Mapping | undefined {
  let lo = 0;
  let hi = maps.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const m = maps[mid] as Mapping;
    if (address < m.start) hi = mid - 1;
    else if (address >= m.end) lo = mid + 1;
    else return m;
  }
  return undefined;
}
