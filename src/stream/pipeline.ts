/**
 * A stream's pipeline, record by record: decode with the stream's record
 * type, filter, then either count into groups or keep the record in the
 * requested format, until max_events are kept. It is fed bytes, so it is
 * tested without a kernel (the addon runs its raw tests and key table).
 */
import { BtfError } from '../btf/index.js';
import type { RecordBatch } from '../kernel/reader.js';
import { type IndexedRecords, KeyTable, NO_KEY_ID, type RecordProgram } from '../kernel/record-scan.js';
import { Aggregator, type GroupHandle, type ValueAggregate } from './aggregate.js';
import type { Decoded, EventFilters } from './filter.js';
import { Narrowing } from './narrow.js';
import type { RecordType } from './record-type.js';
import { type EventTable, TableBuilder } from './table.js';

/** How kept records are returned: decoded fields (readable, or as decoded: json-raw; an object each, or columns and rows: table), hex or base64 of the raw bytes. */
export type EventFormat = 'json' | 'json-raw' | 'table' | 'raw' | 'base64';

/** The formats that return decoded fields (the ones `fields` applies to). */
export const DECODED_FORMATS: ReadonlySet<EventFormat> = new Set(['json', 'json-raw', 'table']);

/** One record as a stream returns it. */
export interface StreamEvent {
  /** CPU that wrote it (perf buffers). */
  cpu?: number;
  data?: unknown;
  raw?: string;
  base64?: string;
  decode_error?: string;
}

/** What a pipeline does with records. */
export interface PipelineOptions {
  recordType: RecordType;
  filters: EventFilters;
  format: EventFormat;
  /** Most records kept; a list stops there, an aggregation counts on. */
  maxEvents: number;
  /** Most bytes of kept records (as JSON); a list stops before the record that would pass it. */
  maxBytes?: number;
  /** Whether records carry the cpu that wrote them (perf buffers; default true): group_by "cpu" needs it. */
  bufferCpu?: boolean | undefined;
  /** Fields (dotted paths) kept in each event's data; all when undefined. */
  fields?: readonly string[] | undefined;
  /** Count records per group instead of keeping them, with statistics of one value field. */
  aggregate?: { groupBy: string[]; maxGroups: number; value?: ValueAggregate | undefined } | undefined;
}

/** The stages one stream's records go through, and what they counted. */
export class Pipeline {
  /** Records kept, in arrival order (empty when aggregating). */
  readonly events: StreamEvent[] = [];
  /** The groups, when aggregating. */
  readonly groups: Aggregator | undefined;
  /** Records taken in, that passed the filters, that did not, and that were decoded. */
  received = 0;
  matched = 0;
  filtered = 0;
  decoded = 0;
  /** Bytes of the kept records as JSON. */
  keptBytes = 0;
  /** Which bound ended the list: max_events, or max_bytes (a record that did not fit was left out). */
  fullAt: 'max_events' | 'max_bytes' | undefined;
  private readonly narrowing: Narrowing;
  private readonly needsDecode: boolean;
  private tableBuilder: TableBuilder | undefined;
  /** Keys of the raw bytes of the one group-by field, when they alone decide the group (see keyTableFor). */
  private readonly keys: KeyTable | undefined;
  /** The group of each key id the table counts (null: past the group limit). */
  private readonly groupOfId: (GroupHandle | null)[] = [];
  /** The size of the records counted by key (the first record's): others go the slow way. */
  private keyRecordSize = -1;
  /** The numbers of a batch's records that passed the raw tests (reused, grown to the largest batch). */
  private picked = new Uint32Array(0);
  /** What the key table hands back for a batch: two words a record. */
  private keyOut = new Uint32Array(0);
  /** The index of the one record {@link push} takes. */
  private readonly one = new Uint32Array(2);

  /** Checks the filter, projection and aggregate fields against the record type: InvalidRequest when one is wrong. */
  constructor(private readonly opts: PipelineOptions) {
    this.narrowing = new Narrowing(opts.recordType, {
      filters: opts.filters,
      fields: opts.fields,
      groupBy: opts.aggregate?.groupBy,
      bufferCpu: opts.bufferCpu ?? true,
      value: opts.aggregate?.value?.field,
    });
    this.needsDecode = DECODED_FORMATS.has(opts.format) || this.narrowing.testsDecoded || opts.aggregate !== undefined;
    this.groups = opts.aggregate ? new Aggregator(opts.aggregate.groupBy, opts.aggregate.maxGroups, opts.aggregate.value) : undefined;
    this.keys = this.keyTableFor();
  }

  /**
   * A table of the group-by field's raw bytes, when one field with fixed bytes that the
   * renderer leaves alone is grouped by, no value is aggregated and no test needs the decoded
   * record: then the group depends on those bytes only, and a record whose bytes were seen is
   * counted without being decoded (its group's key is decoded once, from the first record of it).
   */
  private keyTableFor(): KeyTable | undefined {
    const agg = this.opts.aggregate;
    if (!agg || agg.groupBy.length !== 1 || agg.value || this.narrowing.testsDecoded) return undefined;
    const path = agg.groupBy[0] as string;
    const field = this.narrowing.fields?.get(path);
    if (!field?.raw || rendered(this.opts.recordType.schema(), path)) return undefined;
    return new KeyTable(field.raw.byte, field.raw.size, 4 * agg.maxGroups);
  }

  /** The kept records as columns and rows, with `format: "table"` (laid out at the first record kept). */
  get table(): EventTable | undefined {
    if (this.opts.format !== 'table') return undefined;
    return (this.tableBuilder ?? new TableBuilder(this.schema(), null)).table;
  }

  /** The raw tests a reader may run for this pipeline as it walks the records (see EventReader.select). */
  get program(): RecordProgram | undefined {
    return this.narrowing.program;
  }

  /** Records returned: events or table rows. */
  get returned(): number {
    return this.tableBuilder ? this.tableBuilder.table.rows.length : this.events.length;
  }

  /** JSON Schema of an event's data (cut to `fields` when given), or null for raw records. */
  schema(): Record<string, unknown> | null {
    return this.narrowing.schema();
  }

  /** True once a list holds max_events or its bytes; it then takes no more records. An aggregation is never full. */
  get full(): boolean {
    return this.fullAt !== undefined;
  }

  /** Takes one record: its bytes at `offset` of `bytes`, the cpu that wrote it (null for rings), when it arrived. */
  push(bytes: Uint8Array, offset: number, size: number, cpu: number | null, atMs: number): void {
    if (this.fullAt !== undefined) return;
    this.received++;
    if (!this.narrowing.before(bytes, offset, size, cpu)) {
      this.filtered++;
      return;
    }
    if (!this.keys) {
      this.take(bytes, offset, size, cpu, atMs);
      return;
    }
    this.one[0] = offset;
    this.one[1] = size;
    this.countByKey({ bytes, index: this.one, count: 1, cpuOf: () => cpu }, null, 1, atMs);
  }

  /**
   * Takes every record of a reader's batch, in order, all arrived at `atMs`, as {@link push} takes
   * each: the raw tests run over the whole batch first, then the rest on the records that passed.
   */
  pushBatch(batch: RecordBatch, atMs: number): void {
    if (this.fullAt !== undefined) return;
    const { bytes, index, count } = batch;
    if (this.picked.length < count) this.picked = new Uint32Array(count);
    const picked = this.picked;
    const passing = this.narrowing.select(batch, picked);
    if (this.keys) this.countByKey(batch, picked, passing, atMs);
    else {
      for (let j = 0; j < passing; j++) {
        const r = picked[j] as number;
        const offset = index[2 * r] as number;
        this.take(bytes, offset, index[2 * r + 1] as number, batch.cpuOf(offset), atMs);
        if (this.fullAt !== undefined) {
          // The list ended at record r: the records taken after it were not taken in here.
          const at = batch.takenAt(r);
          this.received += at + 1;
          this.filtered += at - j;
          return;
        }
      }
    }
    this.received += batch.taken;
    this.filtered += batch.taken - passing;
  }

  /**
   * Counts the first `n` records numbered in `picked` (null: the first n) by their key (an
   * aggregation: never full): the table counts those of keys whose group is known; the others are
   * decoded and counted here, and a key's group, once found, is made known to the table.
   */
  private countByKey(records: IndexedRecords & Pick<RecordBatch, 'cpuOf'>, picked: Uint32Array | null, n: number, atMs: number): void {
    if (n === 0) return;
    const keys = this.keys as KeyTable;
    const groups = this.groups as Aggregator;
    const { bytes, index } = records;
    const numberOf = (j: number): number => (picked ? (picked[j] as number) : j);
    if (this.keyRecordSize < 0) this.keyRecordSize = index[2 * numberOf(0) + 1] as number;
    if (this.keyOut.length < 2 * n) this.keyOut = new Uint32Array(2 * Math.max(n, this.picked.length));
    const out = this.keyOut;
    const { left, counted } = keys.count(records, picked, n, this.keyRecordSize, out);
    for (let i = left; i < left + counted; i++) {
      const many = out[2 * i + 1] as number;
      groups.again(this.groupOfId[out[2 * i] as number] as GroupHandle | null, atMs, many);
      this.matched += many;
    }
    for (let i = 0; i < left; i++) {
      const id = out[2 * i + 1] as number;
      const r = numberOf(out[2 * i] as number);
      const offset = index[2 * r] as number;
      // A key whose group a record before this one in the batch found.
      const known = id === NO_KEY_ID ? undefined : this.groupOfId[id];
      if (known !== undefined) {
        this.matched++;
        groups.again(known, atMs);
        continue;
      }
      const group = this.take(bytes, offset, index[2 * r + 1] as number, records.cpuOf(offset), atMs);
      if (group !== undefined && id !== NO_KEY_ID) {
        this.groupOfId[id] = group;
        keys.know(id);
      }
    }
  }

  /**
   * A record that passed the raw tests (counted in `received`), decoded: tested, then counted or kept.
   * Returns the group it was counted in (null: none, past the limit) when it was decoded without error.
   */
  private take(bytes: Uint8Array, offset: number, size: number, cpu: number | null, atMs: number): GroupHandle | null | undefined {
    const decoder = this.needsDecode ? this.opts.recordType.decoderFor(size) : undefined;
    let data: Decoded;
    let decodeError: string | undefined;
    if (decoder) {
      this.decoded++;
      try {
        data = decoder(bytes, offset) as Decoded;
      } catch (e) {
        decodeError = e instanceof BtfError ? e.message : String(e);
      }
    }
    if (!this.narrowing.after(data, cpu)) {
      this.filtered++;
      return undefined;
    }
    this.matched++;
    const render = this.opts.recordType.render;
    // Rendered after the filters (they compare decoded values), for the groups or the json events that show it.
    if (render && data !== undefined && (this.groups || this.opts.format === 'json' || this.opts.format === 'table')) data = render(data, bytes, offset) as Decoded;
    if (this.groups) {
      const g = this.groups.add(data, cpu, atMs);
      return decodeError === undefined && data !== undefined ? g : undefined;
    }
    if (data !== undefined && this.narrowing.project) data = this.narrowing.project(data);
    const raw = () => Buffer.from(bytes.buffer, bytes.byteOffset + offset, size);
    if (this.opts.format === 'table') {
      const hex = () => raw().toString('hex');
      const builder = (this.tableBuilder ??= new TableBuilder(this.schema(), cpu));
      const row = builder.row(data, cpu, hex);
      if (!this.fits(row)) return undefined;
      builder.push(row, hex, decodeError);
    } else {
      const event: StreamEvent = cpu === null ? {} : { cpu };
      if (DECODED_FORMATS.has(this.opts.format) && data !== undefined) event.data = data;
      else if (this.opts.format === 'base64') event.base64 = raw().toString('base64');
      else event.raw = raw().toString('hex');
      if (decodeError) event.decode_error = decodeError;
      if (!this.fits(event)) return undefined;
      this.events.push(event);
    }
    if (this.matched >= this.opts.maxEvents) this.fullAt = 'max_events';
    return undefined;
  }

  /** Whether one more kept item (event or row) fits the byte cap; when not, the list ends at max_bytes. */
  private fits(item: unknown): boolean {
    if (this.opts.maxBytes === undefined) return true;
    const itemBytes = Buffer.byteLength(JSON.stringify(item)) + 1;
    if (this.keptBytes + itemBytes > this.opts.maxBytes) {
      this.fullAt = 'max_bytes';
      return false;
    }
    this.keptBytes += itemBytes;
    return true;
  }
}

/** Whether the renderer changes the field at `path` (its rendered schema says how, in `x-render`). */
function rendered(schema: Record<string, unknown> | null, path: string): boolean {
  let s: Record<string, unknown> | undefined = schema ?? undefined;
  for (const key of path.split('.')) s = (s?.properties as Record<string, Record<string, unknown>> | undefined)?.[key];
  return s === undefined || 'x-render' in s;
}
