/**
 * A stream's pipeline, record by record: decode with the stream's record
 * type, filter, then either count into groups or keep the record in the
 * requested format, until max_events are kept. Pure: it is fed bytes, so it
 * is tested without a kernel.
 */
import { BtfError } from '../btf/index.js';
import { Aggregator } from './aggregate.js';
import { type Decoded, type EventFilters, type RecordFilter, compileFilter, filterFields } from './filter.js';
import type { RecordType } from './record-type.js';

/** How kept records are returned: decoded fields (readable, or as decoded: json-raw), hex or base64 of the raw bytes. */
export type EventFormat = 'json' | 'json-raw' | 'raw' | 'base64';

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
  /** Count records per group instead of keeping them. */
  aggregate?: { groupBy: string[]; maxGroups: number } | undefined;
}

/** The stages one stream's records go through, and what they counted. */
export class Pipeline {
  /** Records kept, in arrival order (empty when aggregating). */
  readonly events: StreamEvent[] = [];
  /** The groups, when aggregating. */
  readonly groups: Aggregator | undefined;
  /** Records taken in, that passed the filters, and that did not. */
  received = 0;
  matched = 0;
  filtered = 0;
  /** Bytes of the kept records as JSON. */
  keptBytes = 0;
  /** Which bound ended the list: max_events, or max_bytes (a record that did not fit was left out). */
  fullAt: 'max_events' | 'max_bytes' | undefined;
  private readonly filter: RecordFilter | undefined;
  private readonly needsDecode: boolean;

  constructor(private readonly opts: PipelineOptions) {
    this.filter = compileFilter(opts.filters);
    const needsFields = this.filter !== undefined && filterFields(opts.filters).length > 0;
    this.needsDecode = opts.format === 'json' || opts.format === 'json-raw' || needsFields || opts.aggregate !== undefined;
    this.groups = opts.aggregate ? new Aggregator(opts.aggregate.groupBy, opts.aggregate.maxGroups) : undefined;
  }

  /** True once a list holds max_events or its bytes; it then takes no more records. An aggregation is never full. */
  get full(): boolean {
    return this.fullAt !== undefined;
  }

  /** Takes one record: its bytes at `offset` of `bytes`, the cpu that wrote it (null for rings), when it arrived. */
  push(bytes: Uint8Array, offset: number, size: number, cpu: number | null, atMs: number): void {
    if (this.full) return;
    this.received++;
    const decoder = this.needsDecode ? this.opts.recordType.decoderFor(size) : undefined;
    let data: Decoded;
    let decodeError: string | undefined;
    if (decoder) {
      try {
        data = decoder(bytes, offset) as Decoded;
      } catch (e) {
        decodeError = e instanceof BtfError ? e.message : String(e);
      }
    }
    if (this.filter && !this.filter(data, cpu)) {
      this.filtered++;
      return;
    }
    this.matched++;
    const render = this.opts.recordType.render;
    // Rendered after the filters (they compare decoded values), for the groups or the json events that show it.
    if (render && data !== undefined && (this.groups || this.opts.format === 'json')) data = render(data, bytes, offset) as Decoded;
    if (this.groups) return this.groups.add(data, cpu, atMs);
    const event: StreamEvent = cpu === null ? {} : { cpu };
    const raw = () => Buffer.from(bytes.buffer, bytes.byteOffset + offset, size);
    if ((this.opts.format === 'json' || this.opts.format === 'json-raw') && data !== undefined) event.data = data;
    else if (this.opts.format === 'base64') event.base64 = raw().toString('base64');
    else event.raw = raw().toString('hex');
    if (decodeError) event.decode_error = decodeError;
    const eventBytes = this.opts.maxBytes === undefined ? 0 : Buffer.byteLength(JSON.stringify(event)) + 1;
    if (this.keptBytes + eventBytes > (this.opts.maxBytes ?? Infinity)) {
      this.fullAt = 'max_bytes';
      return;
    }
    this.keptBytes += eventBytes;
    this.events.push(event);
    if (this.matched >= this.opts.maxEvents) this.fullAt = 'max_events';
  }
}
