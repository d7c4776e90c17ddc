/**
 * What a stream keeps of its records, checked against the record type's
 * fields when the call is made and compiled once: tests on the raw bytes
 * (where clauses on fixed fields, and the pid and comm shorthands), tests on
 * decoded values (the rest), the projection of `fields`, and the group-by and
 * value fields of an aggregate. A name the record type lacks is refused with
 * the fields it has and the closest one. Pure: no kernel.
 */
import { InvalidRequest } from '../kernel/errors.js';
import type { RecordBatch } from '../kernel/reader.js';
import { RecordProgram } from '../kernel/record-scan.js';
import { type Field, type FieldKind, fieldAt, fieldsOf } from './fields.js';
import { type Decoded, type EventFilters, type RecordFilter, compileFilter } from './filter.js';
import { projectSchema, projector } from './project.js';
import type { RecordType } from './record-type.js';
import { type CompiledTest, type DecodedTest, type RawCheck, anyOf, compileClause, compileWhere } from './where.js';

/** Field kinds a value statistic can be taken of. */
const NUMERIC: readonly FieldKind[] = ['int', 'float'];

/** The fields a stream narrows by, as the caller gave them. */
export interface NarrowOptions {
  filters: EventFilters;
  /** Fields to keep in each event's data. */
  fields?: readonly string[] | undefined;
  /** Group-by fields ("cpu": the perf buffer's) and the value field of an aggregate. */
  groupBy?: readonly string[] | undefined;
  value?: string | undefined;
  /** Whether records carry the cpu that wrote them (perf buffers), so "cpu" can be grouped by without a cpu field. */
  bufferCpu: boolean;
}

/** A stream's compiled narrowing. */
export class Narrowing {
  /** The raw tests the addon runs, all of which a record passes before it is decoded (shorter records than they read fail). */
  readonly program: RecordProgram | undefined;
  /** The raw tests run in JavaScript on the records the program passed. */
  private readonly checks: RawCheck[];
  /** Tests on decoded values (bitfields, floats; pid and comm when the type is chosen only from a record). */
  private readonly decodedTests: DecodedTest[];
  private readonly cpus: ReadonlySet<number> | undefined;
  private readonly legacy: RecordFilter | undefined;
  /** The record type's fields by path; undefined when it is chosen only from a record. */
  readonly fields: ReadonlyMap<string, Field> | undefined;
  /** Cuts a decoded record to the fields asked for. */
  readonly project: ((data: Record<string, unknown>) => Record<string, unknown>) | undefined;
  /** The index of the one record {@link before} tests, and its outcome. */
  private readonly one = new Uint32Array(2);
  private readonly oneOut = new Uint32Array(1);

  constructor(
    private readonly recordType: RecordType,
    private readonly opts: NarrowOptions,
  ) {
    const { filters } = opts;
    this.cpus = filters.cpu && new Set(filters.cpu);
    const plan = recordType.plan();
    const named = [...(filters.where?.length ? ['filters.where'] : []), ...(opts.fields ? ['fields'] : []), ...(opts.value ? ['aggregate.value'] : [])];
    if (!plan) {
      if (named.length) throw noFields(recordType, named[0] as string);
      const decodedFields = [
        ...(filters.pid !== undefined ? ['filters.pid'] : []),
        ...(filters.comm !== undefined ? ['filters.comm'] : []),
        ...(opts.groupBy?.some((f) => f !== 'cpu') ? ['aggregate.group_by'] : []),
      ];
      if (!recordType.hasBtf && decodedFields.length) throw noFields(recordType, decodedFields[0] as string);
      // Without a type known now, pid and comm are read from each record once it is decoded, as the type found allows.
      this.legacy = compileFilter({ pid: filters.pid, comm: filters.comm });
      this.program = undefined;
      this.checks = [];
      this.decodedTests = [];
      this.project = undefined;
      this.fields = undefined;
      return;
    }
    const fields = fieldsOf(plan);
    this.fields = fields;
    const tests: CompiledTest[] = [...shorthands(fields, filters), ...compileWhere(fields, filters.where ?? [])];
    const raw = tests.flatMap((t) => ('raw' in t ? [t] : []));
    const end = Math.max(0, ...raw.map((t) => t.end));
    this.program = raw.length ? new RecordProgram(raw.flatMap((t) => (t.raw.length ? [t.raw] : [])), end) : undefined;
    this.checks = raw.flatMap((t) => (t.check ? [t.check] : []));
    this.decodedTests = tests.flatMap((t) => ('decoded' in t ? [t.decoded] : []));
    this.legacy = undefined;
    opts.fields?.forEach((f, i) => fieldAt(fields, f, `fields[${i}]`));
    opts.groupBy?.forEach((f, i) => (f === 'cpu' && opts.bufferCpu) || fieldAt(fields, f, `aggregate.group_by[${i}]`));
    if (opts.value) fieldAt(fields, opts.value, 'aggregate.value', NUMERIC);
    this.project = opts.fields ? projector(opts.fields) : undefined;
  }

  /** Whether the record needs decoding to be tested. */
  get testsDecoded(): boolean {
    return this.decodedTests.length > 0 || this.legacy !== undefined;
  }

  /** The tests a record can pass before decoding: its cpu and the raw tests on its `size` bytes at `offset`. */
  before(bytes: Uint8Array, offset: number, size: number, cpu: number | null): boolean {
    if (this.cpus && (cpu === null || !this.cpus.has(cpu))) return false;
    if (this.program) {
      this.one[0] = offset;
      this.one[1] = size;
      if (this.program.select({ bytes, index: this.one, count: 1 }, this.oneOut) === 0) return false;
    }
    return this.checks.every((c) => c(bytes, offset));
  }

  /**
   * The records of a batch that pass the tests made before decoding, as {@link before} tests each:
   * their numbers in the batch go to `into` (at least `batch.count` long), in order; returns how many.
   */
  select(batch: RecordBatch, into: Uint32Array): number {
    // Everything read before the loops: code after a loop that V8 compiled while in it has no feedback yet.
    const { bytes, index, count } = batch;
    const { program, checks, cpus } = this;
    let picked = count;
    // A reader that selected the batch with this program left out the records that fail it.
    if (program && batch.selectedBy !== program) picked = program.select(batch, into);
    else for (let r = 0; r < count; r++) into[r] = r;
    if (checks.length === 0 && !cpus) return picked;
    let kept = 0;
    for (let j = 0; j < picked; j++) {
      const r = into[j] as number;
      const offset = index[2 * r] as number;
      if (cpus) {
        const cpu = batch.cpuOf(offset);
        if (cpu === null || !cpus.has(cpu)) continue;
      }
      if (checks.every((c) => c(bytes, offset))) into[kept++] = r;
    }
    return kept;
  }

  /** The tests on the decoded record. */
  after(data: Decoded, cpu: number | null): boolean {
    if (this.legacy && !this.legacy(data, cpu)) return false;
    for (const t of this.decodedTests) if (!t(data)) return false;
    return true;
  }

  /** JSON Schema of an event's data: the record type's, cut to `fields` when given. */
  schema(): Record<string, unknown> | null {
    const full = this.recordType.schema();
    return full && this.opts.fields ? projectSchema(full, this.opts.fields) : full;
  }
}

/** The pid and comm shorthands as tests: pid or tgid equal, comm exact or a glob. */
function shorthands(fields: ReadonlyMap<string, Field>, f: EventFilters): CompiledTest[] {
  const out: CompiledTest[] = [];
  if (f.pid !== undefined) {
    const ids = ['pid', 'tgid'].flatMap((k) => (fields.get(k)?.kind === 'int' ? [fields.get(k) as Field] : []));
    if (ids.length === 0) fieldAt(fields, 'pid', 'filters.pid', ['int']);
    const each = ids.map((id) => compileClause(id, 'eq', f.pid, 'filters.pid'));
    const raw = each.flatMap((t) => ('raw' in t ? [t] : []));
    if (raw.length === each.length) out.push({ raw: raw.flatMap((t) => t.raw), end: Math.max(...raw.map((t) => t.end)) });
    else out.push({ decoded: anyOf(ids.map((id) => compileClause(id, 'eq', f.pid, 'filters.pid', 'decoded')).map((t) => (t as { decoded: DecodedTest }).decoded)) });
  }
  if (f.comm !== undefined) {
    out.push(compileClause(fieldAt(fields, 'comm', 'filters.comm', ['chars']), /[*?]/.test(f.comm) ? 'glob' : 'eq', f.comm, 'filters.comm'));
  }
  return out;
}

/** Why fields cannot be named for this stream: its records are raw, or their type is chosen only from a record. */
function noFields(recordType: RecordType, field: string): InvalidRequest {
  const candidates = recordType.choice.candidates ?? [];
  return new InvalidRequest(
    field,
    recordType.choice.how === 'none' && candidates.length
      ? 'the record type is not known before records arrive: pass decode.type_name'
      : 'the records have no BTF type to name fields of (they stream raw)',
    candidates.length ? { candidates: candidates.slice(0, 20) } : {},
  );
}
