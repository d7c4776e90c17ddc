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
import { type Field, type FieldKind, fieldAt, fieldsOf } from './fields.js';
import { type Decoded, type EventFilters, type RecordFilter, compileFilter } from './filter.js';
import { projectSchema, projector } from './project.js';
import type { RecordType } from './record-type.js';
import { type CompiledTest, type DecodedTest, type RawTest, anyOf, compileClause, compileWhere } from './where.js';

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
  /** Tests on raw bytes, all of which a record passes before it is decoded. */
  private readonly raw: RawTest | undefined;
  /** Bytes a record needs for the raw tests to read; shorter records fail them. */
  private readonly rawEnd: number;
  /** Tests on decoded values (bitfields, floats; pid and comm when the type is chosen only from a record). */
  private readonly decodedTests: DecodedTest[];
  private readonly cpus: ReadonlySet<number> | undefined;
  private readonly legacy: RecordFilter | undefined;
  /** The record type's fields by path; undefined when it is chosen only from a record. */
  readonly fields: ReadonlyMap<string, Field> | undefined;
  /** Cuts a decoded record to the fields asked for. */
  readonly project: ((data: Record<string, unknown>) => Record<string, unknown>) | undefined;
  private view: DataView | undefined;
  /** The bytes `view` is of. */
  private viewOf: Uint8Array | undefined;

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
      this.raw = undefined;
      this.rawEnd = 0;
      this.decodedTests = [];
      this.project = undefined;
      this.fields = undefined;
      return;
    }
    const fields = fieldsOf(plan);
    this.fields = fields;
    const tests: CompiledTest[] = [...shorthands(fields, filters), ...compileWhere(fields, filters.where ?? [])];
    const raw = tests.flatMap((t) => ('raw' in t ? [t.raw] : []));
    this.raw = raw.length === 0 ? undefined : raw.length === 1 ? raw[0] : (b, v, o) => raw.every((t) => t(b, v, o));
    this.rawEnd = Math.max(0, ...tests.map((t) => ('end' in t ? t.end : 0)));
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
    return !this.raw || (size >= this.rawEnd && this.raw(bytes, this.viewFor(bytes), offset));
  }

  /**
   * The records of a batch that pass the tests made before decoding, as {@link before} tests each:
   * their numbers in the batch go to `into` (at least `batch.count` long), in order; returns how many.
   */
  select(batch: RecordBatch, into: Uint32Array): number {
    const { bytes, index, count } = batch;
    const { raw, rawEnd, cpus } = this;
    const view = raw && this.viewFor(bytes);
    let picked = 0;
    // Apart from before(), with the tests in locals: this loop runs for every record a stream reads.
    for (let r = 0; r < count; r++) {
      if (cpus) {
        const cpu = batch.cpuOf(index[2 * r] as number);
        if (cpu === null || !cpus.has(cpu)) continue;
      }
      if (raw && ((index[2 * r + 1] as number) < rawEnd || !raw(bytes, view as DataView, index[2 * r] as number))) continue;
      into[picked++] = r;
    }
    return picked;
  }

  /** A view of `bytes` (the same one while the bytes stay the same). */
  private viewFor(bytes: Uint8Array): DataView {
    if (bytes !== this.viewOf) {
      this.viewOf = bytes;
      this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    }
    return this.view as DataView;
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
    if (raw.length === each.length) out.push({ raw: anyOf(raw.map((t) => t.raw)), end: Math.max(...raw.map((t) => t.end)) });
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
