/**
 * Reading a ring buffer or perf buffer map as records arrive. For a ring the
 * addon hands over a span of the ring's own memory (no copy); for a perf
 * buffer, a batch it copied into one shared buffer. A RecordBatch walks either
 * in place, so decoding reads the bytes where they lie. One reader per map,
 * shared by every subscriber. A subscriber alone on its reader can have the
 * addon pass on only the records a program of tests passes, tested as the
 * addon walks them.
 */
import { KernelError, kernelFailure } from './errors.js';
import { ObjKind, type ReaderHandle, native } from './native.js';
import type { RecordProgram } from './record-scan.js';

/** The cpu word of a record that has none. */
const NO_CPU = 0xffffffff;

/**
 * The records of one wakeup, valid only during the callback that receives them. The addon walked
 * the kernel's headers once and indexed the records, so they are read here without parsing headers.
 */
export class RecordBatch {
  constructor(
    /** The bytes holding the records: the ring's memory, or the shared perf batch buffer. */
    readonly bytes: Uint8Array,
    /** Per record, two words: the offset of its data in `bytes`, and its size. */
    readonly index: Uint32Array,
    /** Number of records. */
    readonly count: number,
    /** Where the span starts in `bytes`, and its length (for a ring: the bytes the consumer moves past, headers included). */
    readonly start: number,
    readonly length: number,
    /** `bytes` as native-order words, for a perf record's cpu (the word before its data); undefined for a ring. */
    private readonly cpuWords: Uint32Array | undefined,
    /** Records taken from the buffer for this batch: `count`, and those `selectedBy` left out. */
    readonly taken: number = count,
    /** The program every record of the batch passed, when the reader selected them (see {@link EventReader.select}). */
    readonly selectedBy: RecordProgram | undefined = undefined,
    /** Per record, its number among the `taken` (when selected). */
    private readonly ordinals: Uint32Array = new Uint32Array(0),
  ) {}

  /** The number of record `r` among the records taken for the batch: r itself unless the reader selected. */
  takenAt(r: number): number {
    return this.selectedBy ? (this.ordinals[r] as number) : r;
  }

  /** The cpu that wrote the record whose data starts at `offset`; null for ring buffers. */
  cpuOf(offset: number): number | null {
    if (!this.cpuWords) return null;
    const cpu = this.cpuWords[(offset >> 2) - 1] as number;
    return cpu === NO_CPU ? null : cpu;
  }

  /** Calls `fn` for each record: its data starts at `offset` of `bytes`; cpu is null for ring buffers. */
  forEach(fn: (offset: number, size: number, cpu: number | null) => void): void {
    const index = this.index;
    for (let i = 0, n = 2 * this.count; i < n; i += 2) {
      const offset = index[i] as number;
      fn(offset, index[i + 1] as number, this.cpuOf(offset));
    }
  }
}

/** What a reader has seen since it opened. */
export interface ReaderStats {
  records: number;
  /** Records the kernel reports it dropped (perf buffers); null where it cannot tell (ring buffers). */
  lost: number | null;
  wakeups: number;
}

/** Where a ring's reader and writers are, in bytes since it was made, and the size of its data area. */
export interface RingPositions {
  consumer: number;
  producer: number;
  size: number;
}

/** Ring or perf buffer. */
export type BufferKind = 'ringbuf' | 'perfbuf';

/** Tuning of a reader. */
export interface ReaderOptions {
  /** Bytes of the perf batch buffer. */
  batchBytes?: number;
  /** Most records handed over at once (per wakeup of a ring, per perf batch), so one wakeup cannot starve the event loop. */
  maxPerWakeup?: number;
  /** Pages per CPU of a perf buffer (a power of two). */
  perfPages?: number;
}

/** What a reader uses where its options are silent. */
const READER_DEFAULTS: Required<ReaderOptions> = { batchBytes: 1 << 20, maxPerWakeup: 65_536, perfPages: 64 };

/** A live reader of one map. */
export class EventReader {
  private handle: ReaderHandle | null;
  /** Each subscriber, with the program of the records it needs (undefined: all). */
  private readonly subscribers = new Map<(batch: RecordBatch) => void, RecordProgram | undefined>();
  /** The program the addon passes records through: the only subscriber's. */
  private selecting: RecordProgram | undefined;

  private constructor(
    /** The map read. */
    readonly mapId: number,
    readonly kind: BufferKind,
    private readonly fd: number,
    opts: ReaderOptions,
  ) {
    let shared: { bytes: Uint8Array; words: Uint32Array | undefined; index: Uint32Array; ordinals: Uint32Array } | undefined;
    const ring = kind === 'ringbuf';
    const options = { ...READER_DEFAULTS, ...opts };
    const opened = native.readerOpen(fd, !ring, options, (count, length, start, alone, taken) => {
      const at = shared as NonNullable<typeof shared>;
      const { selecting } = this;
      const batch = alone
        ? new RecordBatch(new Uint8Array(alone), at.index, count, start, length, new Uint32Array(alone), taken, selecting, at.ordinals)
        : new RecordBatch(at.bytes, at.index, count, start, length, at.words, taken, selecting, at.ordinals);
      for (const fn of this.subscribers.keys()) {
        try {
          fn(batch);
        } catch {
          // A subscriber's failure must not stop the others or reach libuv.
        }
      }
    });
    const perIndex = options.maxPerWakeup;
    shared = {
      bytes: new Uint8Array(opened.batch),
      words: ring ? undefined : new Uint32Array(opened.batch),
      index: new Uint32Array(opened.index, 0, 2 * perIndex),
      ordinals: new Uint32Array(opened.index, 8 * perIndex, perIndex),
    };
    this.handle = opened.reader;
  }

  /** Opens a reader on the map with this kernel id (its own fd, closed with the reader). */
  static open(mapId: number, kind: BufferKind, opts: ReaderOptions = {}): EventReader {
    let fd: number;
    try {
      fd = native.fdById(ObjKind.Map, mapId);
    } catch (e) {
      throw kernelFailure(e, `opening map ${mapId}`, { map_id: mapId }, 'map_access');
    }
    try {
      return new EventReader(mapId, kind, fd, opts);
    } catch (e) {
      native.closeFd(fd);
      throw kernelFailure(e, `reading map ${mapId} as a ${kind}`, { map_id: mapId }, 'map_access');
    }
  }

  private get h(): ReaderHandle {
    if (!this.handle) throw new KernelError(`the reader of map ${this.mapId} is closed`, 'released');
    return this.handle;
  }

  /** Adds a batch callback; returns the function that removes it. */
  subscribe(fn: (batch: RecordBatch) => void): () => void {
    this.subscribers.set(fn, undefined);
    this.choose();
    return () => {
      this.subscribers.delete(fn);
      this.choose();
    };
  }

  /**
   * Says that subscriber `fn` needs only the records `program` passes (undefined: all). While it is
   * the only subscriber the addon tests each record as it walks them and hands over only those;
   * its batches then carry the program as `selectedBy`.
   */
  select(fn: (batch: RecordBatch) => void, program: RecordProgram | undefined): void {
    if (!this.subscribers.has(fn)) return;
    this.subscribers.set(fn, program);
    this.choose();
  }

  /** Gives the addon the only subscriber's program, or none. */
  private choose(): void {
    const only = this.subscribers.size === 1 ? this.subscribers.values().next().value : undefined;
    if (only === this.selecting || !this.handle) return;
    native.readerSelect(this.handle, only?.words ?? null);
    this.selecting = only;
  }

  /** Takes what the buffer holds now, synchronously; returns the number of records. */
  consume(): number {
    return native.readerConsume(this.h);
  }

  /** Counters since open. */
  stats(): ReaderStats {
    const s = native.readerStats(this.h);
    return { records: Number(s.records), lost: this.kind === 'perfbuf' ? Number(s.lost) : null, wakeups: Number(s.wakeups) };
  }

  /**
   * A ring's consumer and producer positions (bytes written since the ring was made) and its data size;
   * undefined for a perf buffer. Producer minus consumer is what waits to be read.
   */
  ringPositions(): RingPositions | undefined {
    if (this.kind !== 'ringbuf') return undefined;
    const s = native.readerStats(this.h);
    return { consumer: Number(s.consumerPos), producer: Number(s.producerPos), size: Number(s.ringBytes) };
  }

  /** Stops reading and releases the buffers. Idempotent. */
  close(): void {
    if (!this.handle) return;
    native.readerClose(this.handle);
    native.closeFd(this.fd);
    this.handle = null;
    this.subscribers.clear();
  }
}

const shared = new Map<number, { reader: EventReader; users: number }>();

/**
 * The reader of a map, shared: a second stream on the same map gets the same
 * reader (records go to both), so the ring's consumer position has one owner.
 * `release` closes it when the last user lets go.
 */
export function acquireReader(mapId: number, kind: BufferKind, opts: ReaderOptions = {}): { reader: EventReader; release: () => void } {
  let entry = shared.get(mapId);
  if (entry && entry.reader.kind !== kind) throw new KernelError(`map ${mapId} is already being read as a ${entry.reader.kind}`, 'map_access');
  if (!entry) {
    entry = { reader: EventReader.open(mapId, kind, opts), users: 0 };
    shared.set(mapId, entry);
  }
  const held = entry;
  held.users++;
  let released = false;
  return {
    reader: held.reader,
    release: () => {
      if (released) return;
      released = true;
      if (--held.users > 0) return;
      shared.delete(mapId);
      held.reader.close();
    },
  };
}
