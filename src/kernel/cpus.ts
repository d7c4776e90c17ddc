/** The CPUs the kernel lists in sysfs ("0-3,8-11" lists). */
import { readFileSync } from 'node:fs';

function cpuList(which: 'online' | 'possible'): number[] {
  const cpus: number[] = [];
  for (const range of readFileSync(`/sys/devices/system/cpu/${which}`, 'utf8').trim().split(',')) {
    const [lo = 0, hi = lo] = range.split('-').map(Number);
    for (let c = lo; c <= hi; c++) cpus.push(c);
  }
  return cpus;
}

/** CPUs running now: where perf events can be opened. */
export const onlineCpus = (): number[] => cpuList('online');

/** CPUs that may ever exist: per-CPU map values hold one slot for each. */
export const possibleCpus = (): number[] => cpuList('possible');
