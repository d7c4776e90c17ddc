/**
 * A background stream: a run that keeps reading after the call that started
 * it returned, its kept records moved to a bounded queue after each wakeup
 * and numbered, so later calls read "what arrived since cursor N". When the
 * caller falls behind, the oldest queued records are dropped and counted. An
 * aggregating stream keeps no queue: each read returns the running groups.
 */
import { log } from '../log.js';
import type { EventBuffer } from './buffer.js';
import type { Pipeline, StreamEvent } from './pipeline.js';
import type { RecordType } from './record-type.js';
import { type RunFigures, type RunOutcome, type RunningStream, type StopReason, startStream } from './run.js';

/** How many records and bytes (as JSON) a background stream keeps queued for its reader. */
export interface QueueBounds {
  events: number;
  bytes: number;
}

/** One read of a background stream. */
export interface BackgroundRead {
  /** Records from the cursor on, in arrival order (none when aggregating). */
  events: StreamEvent[];
  /** The cursor to pass next: one past the last record returned. */
  nextCursor: number;
  /** Records still queued past next_cursor (the read stopped at its bounds). */
  more: number;
  /** What cut the read short, if anything. */
  cutAt: 'max_events' | 'max_bytes' | undefined;
}

/** A queued record and its size as JSON. */
interface Queued {
  event: StreamEvent;
  bytes: number;
}

/** A stream reading in the background into a queue, read by cursor. */
export class BackgroundStream {
  /** When it started. */
  readonly startedAt = new Date();
  /** Records dropped from the queue because it was full (the reader fell behind). */
  droppedBacklog = 0;
  private readonly queue: Queued[] = [];
  /** Cursor of queue[0]. */
  private firstCursor = 0;
  private queuedBytes = 0;
  /** Where the last read ended: the default cursor of the next. */
  private readCursor = 0;
  private readonly run: RunningStream;
  /** The outcome, once the run ended (by its duration, a stop, or the session's end). */
  outcome: RunOutcome | undefined;
  /** Settles (never rejects) with the outcome once the run ended and its reader is released. */
  private readonly finished: Promise<RunOutcome>;

  /**
   * Starts reading `buffer` at once, for `durationMs` (undefined: until stopped); `top` is how many groups
   * a read returns when the pipeline aggregates. The pipeline should not bound its list: the queue does.
   */
  constructor(
    readonly buffer: EventBuffer,
    readonly recordType: RecordType,
    readonly pipeline: Pipeline,
    durationMs: number | undefined,
    readonly top: number,
    private readonly bounds: QueueBounds,
  ) {
    this.run = startStream(
      {
        mapId: buffer.mapId,
        kind: buffer.kind,
        durationMs,
        // Never aborted: a background stream ends through stop().
        signal: new AbortController().signal,
        // The session stops its background streams itself (BackgroundStreams.closeAll).
        onSessionClose: () => () => {},
        afterBatch: () => this.take(),
        records: { btf: buffer.btf, recordType },
      },
      pipeline,
    );
    this.finished = this.run.done.then(
      (o) => (this.outcome = o),
      (e: unknown) => {
        // Nobody awaits a background run: its failure is logged and it reads as ended.
        log.error('background stream failed', { map: buffer.mapId, error: String(e) });
        return (this.outcome = { ...this.run.figures(), stopped: 'cancelled' });
      },
    );
  }

  /** Moves the pipeline's kept records to the queue, dropping the oldest past the bounds. */
  private take(): void {
    const events = this.pipeline.events;
    if (events.length === 0) return;
    for (const event of events) {
      const bytes = Buffer.byteLength(JSON.stringify(event)) + 1;
      this.queue.push({ event, bytes });
      this.queuedBytes += bytes;
    }
    events.length = 0;
    let drop = 0;
    while (drop < this.queue.length && (this.queue.length - drop > this.bounds.events || this.queuedBytes > this.bounds.bytes)) {
      this.queuedBytes -= (this.queue[drop] as Queued).bytes;
      drop++;
    }
    if (drop === 0) return;
    this.queue.splice(0, drop);
    this.firstCursor += drop;
    this.droppedBacklog += drop;
  }

  /** Whether it still reads. */
  get running(): boolean {
    return this.run.running;
  }

  /** Records waiting in the queue. */
  get queued(): number {
    return this.queue.length;
  }

  /** The run's figures so far. */
  figures(): RunFigures {
    return this.run.figures();
  }

  /**
   * The records from `cursor` on (default: where the last read ended), at most `maxEvents` and `maxBytes`.
   * Records before the cursor are taken as read and freed.
   */
  read(cursor: number | undefined, maxEvents: number, maxBytes: number): BackgroundRead {
    const from = Math.max(cursor ?? this.readCursor, this.firstCursor);
    const free = Math.min(from - this.firstCursor, this.queue.length);
    for (let i = 0; i < free; i++) this.queuedBytes -= (this.queue[i] as Queued).bytes;
    this.queue.splice(0, free);
    this.firstCursor += free;
    const events: StreamEvent[] = [];
    let bytes = 0;
    let cutAt: BackgroundRead['cutAt'];
    for (const q of this.queue) {
      if (events.length >= maxEvents) {
        cutAt = 'max_events';
        break;
      }
      if (bytes + q.bytes > maxBytes) {
        cutAt = 'max_bytes';
        break;
      }
      bytes += q.bytes;
      events.push(q.event);
    }
    const nextCursor = this.firstCursor + events.length;
    this.readCursor = nextCursor;
    return { events, nextCursor, more: this.queue.length - events.length, cutAt };
  }

  /** Ends the run (if it still reads) and waits until its reader is released. */
  async stop(why: StopReason = 'stopped'): Promise<RunOutcome> {
    this.run.stop(why);
    return this.finished;
  }
}
