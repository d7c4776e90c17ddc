/**
 * A ring's backlog: the records already waiting when a stream began, told
 * apart from those written after it (by the producer position read at
 * start), with the age of the oldest when records carry a
 * bpf_ktime_get_ns timestamp, and whether the ring was full, so a model
 * knows stale or missing records for what they are.
 */
import { endianness } from 'node:os';
import { type Btf, BtfError } from '../btf/index.js';
import type { RecordBatch, RingPositions } from '../kernel/reader.js';
import type { RecordType } from './record-type.js';

/** Names of a record's CLOCK_MONOTONIC nanosecond timestamp (bpf_ktime_get_ns), first match wins. */
const TIMESTAMP_FIELDS = ['ts', 'ts_ns', 'timestamp', 'timestamp_ns'];
const LITTLE = endianness() === 'LE';

/** What a stream says of the records written before it began. */
export interface Backlog {
  /** Records read that were in the ring when the stream began. */
  records: number;
  /** Of those, how many passed the filters. */
  matched: number;
  /** Age of the oldest of them when the stream began, from its timestamp field; null without one. */
  oldest_age_ms: number | null;
  /** The ring had less free space than one record when the stream began: writes were failing. */
  ring_full: boolean;
  /** Failed writes counted by the object's lost_events map before the stream began. */
  lost_before?: number;
  /** What to do about a full ring. */
  note?: string;
}

/** The advice given with a full ring. */
export const RING_FULL_NOTE =
  'the ring was full when the stream began: writes failed until it was read, and the first records are stale. ' +
  'Start the stream before the activity (or use mode "background"), filter at the source, or give the ring more max_entries.';

/** Byte offset of an 8-byte unsigned timestamp member of struct `typeId`, or undefined. */
export function timestampOffset(btf: Btf, typeId: number): number | undefined {
  let t;
  try {
    t = btf.resolve(typeId);
  } catch (e) {
    if (e instanceof BtfError) return undefined;
    throw e;
  }
  if (t.kind !== 'struct') return undefined;
  for (const name of TIMESTAMP_FIELDS) {
    const m = t.members.find((x) => x.name === name);
    if (!m || m.bitfieldSize !== 0 || m.bitOffset % 64 !== 0) continue;
    const mt = btf.resolve(m.type);
    if (mt.kind === 'int' && mt.size === 8) return m.bitOffset / 8;
  }
  return undefined;
}

/** Counts the backlog of one stream, record by record, in the order the ring hands records over. */
export class BacklogMeter {
  /** Ring bytes taken since the stream began. */
  private taken = 0;
  private readonly pending: number;
  private readonly startNs = process.hrtime.bigint();
  /** The same as two 32-bit halves, compared with each record's timestamp without a bigint per record. */
  private readonly startHi = Number(this.startNs >> 32n);
  private readonly startLo = Number(this.startNs & 0xffffffffn);
  /** The oldest timestamp so far as halves; oldestHi < 0 while there is none. */
  private oldestHi = -1;
  private oldestLo = 0;
  /** A view of the batch bytes (the same one while the reader hands over the same bytes). */
  private view: DataView | undefined;
  private viewOf: Uint8Array | undefined;
  private records = 0;
  private matched = 0;
  private firstSize: number | undefined;
  /** Offset of the timestamp in a record: undefined until looked up, null when there is none. */
  private tsOffset: number | null | undefined;

  constructor(
    private readonly at: RingPositions,
    private readonly btf: Btf | undefined,
    private readonly recordType: RecordType,
    private readonly lostBefore: number | undefined,
  ) {
    this.pending = at.producer - at.consumer;
  }

  /** Whether records of the backlog may still come. */
  get open(): boolean {
    return this.taken < this.pending;
  }

  /** Notes one record the stream took: its data at `offset` of the batch, and whether it matched. */
  record(batch: RecordBatch, offset: number, size: number, matched: boolean): void {
    if (this.taken + (offset - 8 - batch.start) >= this.pending) return;
    this.records++;
    if (matched) this.matched++;
    this.noteAge(batch.bytes, offset, size);
  }

  /** Whether every record of `batch` was in the ring when the stream began. */
  holdsAll(batch: RecordBatch): boolean {
    return this.taken + batch.length <= this.pending;
  }

  /** Notes the first `taken` records of a batch it {@link holdsAll} (the stream took those), of which `matched` matched. */
  recordAll(batch: RecordBatch, taken: number, matched: number): void {
    this.records += taken;
    this.matched += matched;
    for (let r = 0; r < taken; r++) this.noteAge(batch.bytes, batch.index[2 * r] as number, batch.index[2 * r + 1] as number);
  }

  /** Keeps the record's timestamp when it is the oldest so far. */
  private noteAge(b: Uint8Array, offset: number, size: number): void {
    this.firstSize ??= size;
    if (this.tsOffset === undefined) {
      // The type as the pipeline chose it; a raw stream that left the choice open has no ages.
      const typeId = this.recordType.choice.typeId;
      this.tsOffset = (this.btf && typeId !== undefined ? timestampOffset(this.btf, typeId) : undefined) ?? null;
    }
    if (this.tsOffset === null || this.tsOffset + 8 > size) return;
    if (b !== this.viewOf) {
      this.viewOf = b;
      this.view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    }
    const view = this.view as DataView;
    const p = offset + this.tsOffset;
    const hi = view.getUint32(LITTLE ? p + 4 : p, LITTLE);
    const lo = view.getUint32(LITTLE ? p : p + 4, LITTLE);
    const positive = hi > 0 || lo > 0;
    const notAfterStart = hi < this.startHi || (hi === this.startHi && lo <= this.startLo);
    const older = this.oldestHi < 0 || hi < this.oldestHi || (hi === this.oldestHi && lo < this.oldestLo);
    if (positive && notAfterStart && older) {
      this.oldestHi = hi;
      this.oldestLo = lo;
    }
  }

  /** Notes that the stream took the whole of `batch`. */
  batchDone(batch: RecordBatch): void {
    this.taken += batch.length;
  }

  /** The figures so far. */
  report(): Backlog {
    const recordBytes = (((this.firstSize ?? 8) + 8 + 7) & ~7) as number;
    const ringFull = this.pending > 0 && this.at.size - this.pending < recordBytes;
    return {
      records: this.records,
      matched: this.matched,
      oldest_age_ms: this.oldestHi < 0 ? null : Math.round(Number(this.startNs - ((BigInt(this.oldestHi) << 32n) | BigInt(this.oldestLo))) / 1e5) / 10,
      ring_full: ringFull,
      ...(this.lostBefore === undefined ? {} : { lost_before: this.lostBefore }),
      ...(ringFull ? { note: RING_FULL_NOTE } : {}),
    };
  }
}
