/** Errno numbers by name, for the addon's errors and for probes that return an errno. */
import { constants } from 'node:os';

/** ENOTSUPP, the kernel-internal "not supported" (524) that leaks to user space; os.constants.errno lacks it. */
const ENOTSUPP = 524;

const NAMES = new Map<number, string>([...Object.entries(constants.errno).map(([name, n]) => [n, name] as const), [ENOTSUPP, 'ENOTSUPP']]);

/** The symbolic name of an errno ("EPERM"), from os.constants.errno. */
export function errnoName(errno: number): string {
  return NAMES.get(errno) ?? `errno ${errno}`;
}
