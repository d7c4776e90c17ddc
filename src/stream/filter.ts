/**
 * The filter stage of a stream: which records it keeps, by pid or tgid, comm
 * (exact or glob) and cpu, tested on decoded fields. Pure: no kernel.
 */
import { globToRegExp } from '../glob.js';
import type { WhereClause } from './where.js';

/** The filters a caller can give. */
export interface EventFilters {
  pid?: number | undefined;
  comm?: string | undefined;
  cpu?: number[] | undefined;
  /** Comparisons on any field of the record type (see where.ts). */
  where?: readonly WhereClause[] | undefined;
}

/** A decoded record, or undefined for raw records. */
export type Decoded = Record<string, unknown> | undefined;

/** Whether a record is kept, from its decoded fields and the cpu that wrote it (null for rings). */
export type RecordFilter = (data: Decoded, cpu: number | null) => boolean;

/** The filters as one predicate; undefined when no filter is set. */
export function compileFilter(f: EventFilters): RecordFilter | undefined {
  const checks: RecordFilter[] = [];
  if (f.pid !== undefined) {
    const pid = f.pid;
    checks.push((d) => d !== undefined && (d.pid === pid || d.tgid === pid));
  }
  if (f.comm !== undefined) {
    const re = /[*?]/.test(f.comm) ? globToRegExp(f.comm) : undefined;
    const comm = f.comm;
    checks.push((d) => typeof d?.comm === 'string' && (re ? re.test(d.comm) : d.comm === comm));
  }
  if (f.cpu !== undefined) {
    const cpus = new Set(f.cpu);
    checks.push((_d, cpu) => cpu !== null && cpus.has(cpu));
  }
  if (checks.length === 0) return undefined;
  return (d, cpu) => checks.every((c) => c(d, cpu));
}
