/**
 * A stream's run: it shares the map's reader, feeds each wakeup's records to
 * the pipeline, and stops at the first of its duration, the pipeline being
 * full, cancellation, a stop or the end of the session; then it reports why,
 * how long it ran, what the kernel lost meanwhile (a perf buffer's own count,
 * or a ring's `lost_events` counter) and a ring's backlog. A run is started
 * and read while it goes (background streams) or awaited to its end.
 */
import type { Btf } from '../btf/index.js';
import { type LostCounter, lostCounterFor } from '../kernel/lost-counter.js';
import { type BufferKind, type RecordBatch, acquireReader } from '../kernel/reader.js';
import { type Backlog, BacklogMeter } from './backlog.js';
import type { Pipeline } from './pipeline.js';
import type { RecordType } from './record-type.js';

/** Why a stream stopped ('stopped': by a call that asked it to). */
export type StopReason = 'duration' | 'max_events' | 'max_bytes' | 'cancelled' | 'session_closed' | 'stopped';

/** How long a stream runs and what can end it early. */
export interface RunOptions {
  mapId: number;
  kind: BufferKind;
  /** How long it reads; undefined: until something else stops it. */
  durationMs: number | undefined;
  /** Aborted to stop the stream at once ('cancelled'). */
  signal: AbortSignal;
  /** Registers `stop` to be called when the session ends ('session_closed'); returns its unregistration. */
  onSessionClose: (stop: () => void) => () => void;
  /** Called about once a second with the milliseconds run so far. */
  progress?: (elapsedMs: number) => void;
  /** Called after the pipeline took each wakeup's records (a background stream moves them to its queue). */
  afterBatch?: () => void;
  /** The records' BTF and type, for the age of a ring's backlog (from its timestamp field). */
  records?: { btf: Btf | undefined; recordType: RecordType };
}

/** What a run has counted so far. */
export interface RunFigures {
  /** Wall time from opening the reader (to releasing it, once ended), at least 1. */
  durationMs: number;
  /** Records the kernel dropped during the run: a perf buffer's count, a ring's lost_events counter; else null. */
  lost: number | null;
  /** Ring buffers: the records that were waiting when the stream began. */
  backlog?: Backlog;
}

/** How a run ended. */
export interface RunOutcome extends RunFigures {
  stopped: StopReason;
}

/** A run under way. */
export interface RunningStream {
  /** Settles with the outcome once the run has ended and its reader is released. */
  readonly done: Promise<RunOutcome>;
  /** Whether it still reads. */
  readonly running: boolean;
  /** The figures so far (final once ended). */
  figures(): RunFigures;
  /** Ends it with this reason (the first reason given wins). */
  stop(why: StopReason): void;
}

/** Starts streaming the map's records into `pipeline`; the reader is freed when a stop reason comes. */
export function startStream(opts: RunOptions, pipeline: Pipeline): RunningStream {
  const started = performance.now();
  const { reader, release } = acquireReader(opts.mapId, opts.kind);
  let counter: LostCounter | undefined;
  let lostBefore: number | null;
  let backlog: BacklogMeter | undefined;
  try {
    counter = opts.kind === 'ringbuf' ? lostCounterFor(opts.mapId) : undefined;
    lostBefore = counter ? (counter.read() ?? null) : reader.stats().lost;
    const at = reader.ringPositions();
    if (at && opts.records) backlog = new BacklogMeter(at, opts.records.btf, opts.records.recordType, counter ? (lostBefore ?? undefined) : undefined);
  } catch (e) {
    release();
    throw e;
  }
  /** The kernel's loss count now; null when it cannot be read any more (the counter map or the reader is gone). */
  const lostNow = (): number | null => {
    try {
      return counter ? (counter.read() ?? null) : reader.stats().lost;
    } catch {
      return null;
    }
  };
  let stopped: StopReason | undefined;
  let final: RunFigures | undefined;
  let finish: () => void = () => {};
  const ended = new Promise<void>((resolve) => (finish = resolve));
  const stop = (why: StopReason) => {
    stopped ??= why;
    finish();
  };

  const onBatch = (batch: RecordBatch): void => {
    // One clock reading per batch: its records arrived in the same wakeup.
    const at = Math.round(performance.now() - started);
    const meter = backlog?.open ? backlog : undefined;
    if (meter?.holdsAll(batch)) {
      // A batch of the backlog alone: taken whole; no program selected it (none is given while the backlog comes).
      const { received, matched } = pipeline;
      pipeline.pushBatch(batch, at);
      meter.recordAll(batch, pipeline.received - received, pipeline.matched - matched);
      meter.batchDone(batch);
    } else if (meter) {
      // The batch where the backlog ends: each record is noted with whether it matched.
      batch.forEach((off, size, cpu) => {
        const received = pipeline.received;
        const matched = pipeline.matched;
        pipeline.push(batch.bytes, off, size, cpu, at);
        if (pipeline.received > received) meter.record(batch, off, size, pipeline.matched > matched);
      });
      meter.batchDone(batch);
    } else {
      pipeline.pushBatch(batch, at);
    }
    // The backlog's records all came: from now the reader may leave out those the raw tests fail.
    if (meter && !meter.open) reader.select(onBatch, pipeline.program);
    opts.afterBatch?.();
    if (pipeline.fullAt) stop(pipeline.fullAt);
  };
  const unsubscribe = reader.subscribe(onBatch);
  if (!backlog?.open) reader.select(onBatch, pipeline.program);
  const timer = opts.durationMs === undefined ? undefined : setTimeout(() => stop('duration'), opts.durationMs);
  const progress = opts.progress && setInterval(() => opts.progress?.(Math.round(performance.now() - started)), 1000);
  const onAbort = () => stop('cancelled');
  opts.signal.addEventListener('abort', onAbort);
  const untrack = opts.onSessionClose(() => stop('session_closed'));
  const figures = (): RunFigures => {
    if (final) return final;
    const after = lostNow();
    return {
      durationMs: Math.max(1, Math.round(performance.now() - started)),
      lost: lostBefore === null || after === null ? null : after - lostBefore,
      ...(backlog ? { backlog: backlog.report() } : {}),
    };
  };

  const done = (async (): Promise<RunOutcome> => {
    try {
      reader.consume();
      await ended;
    } finally {
      clearTimeout(timer);
      clearInterval(progress);
      opts.signal.removeEventListener('abort', onAbort);
      untrack();
      unsubscribe();
      final = figures();
      release();
    }
    return { ...final, stopped: stopped ?? 'duration' };
  })();
  return {
    done,
    get running() {
      return final === undefined;
    },
    figures,
    stop,
  };
}

/** Streams the map's records into `pipeline` until a stop reason comes, then frees the reader. */
export function runStream(opts: RunOptions, pipeline: Pipeline): Promise<RunOutcome> {
  return startStream(opts, pipeline).done;
}
