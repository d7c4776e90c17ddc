/** Errno numbers by name, for the addon's errors and for probes that return an errno. */
import { errnoName as knownErrno } from '../btf/abi-names.js';

/** The symbolic name of an errno ("EPERM"), or "errno N" for a number without one. */
export function errnoName(errno: number): string {
  return knownErrno(errno) ?? `errno ${errno}`;
}
