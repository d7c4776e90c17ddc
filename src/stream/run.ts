/**
 * A stream's run: it shares the map's reader, feeds each wakeup's records to
 * the pipeline, and stops at the first of its duration, the pipeline being
 * full, cancellation or the end of the session; then it reports why, how
 * long it ran and what the kernel lost meanwhile.
 */
import { type BufferKind, acquireReader } from '../kernel/reader.js';
import type { Pipeline } from './pipeline.js';

/** Why a stream stopped. */
export type StopReason = 'duration' | 'max_events' | 'max_bytes' | 'cancelled' | 'session_closed';

/** How long a stream runs and what can end it early. */
export interface RunOptions {
  mapId: number;
  kind: BufferKind;
  durationMs: number;
  /** Aborted to stop the stream at once ('cancelled'). */
  signal: AbortSignal;
  /** Registers `stop` to be called when the session ends ('session_closed'); returns its unregistration. */
  onSessionClose: (stop: () => void) => () => void;
  /** Called about once a second with the milliseconds run so far. */
  progress: (elapsedMs: number) => void;
}

/** How a run ended. */
export interface RunOutcome {
  stopped: StopReason;
  /** Wall time from opening the reader to releasing it, at least 1. */
  durationMs: number;
  /** Records the kernel dropped during the run (perf buffers); null where it cannot tell (ring buffers). */
  lost: number | null;
}

/** Streams the map's records into `pipeline` until a stop reason comes, then frees the reader. */
export async function runStream(opts: RunOptions, pipeline: Pipeline): Promise<RunOutcome> {
  const started = performance.now();
  const { reader, release } = acquireReader(opts.mapId, opts.kind);
  const lostBefore = reader.stats().lost;
  let stopped: StopReason | undefined;
  let finish: () => void = () => {};
  const done = new Promise<void>((resolve) => (finish = resolve));
  const stop = (why: StopReason) => {
    stopped ??= why;
    finish();
  };

  const unsubscribe = reader.subscribe((batch) => {
    // One clock reading per batch: its records arrived in the same wakeup.
    const at = Math.round(performance.now() - started);
    batch.forEach((off, size, cpu) => pipeline.push(batch.bytes, off, size, cpu, at));
    if (pipeline.fullAt) stop(pipeline.fullAt);
  });
  const timer = setTimeout(() => stop('duration'), opts.durationMs);
  const progress = setInterval(() => opts.progress(Math.round(performance.now() - started)), 1000);
  const onAbort = () => stop('cancelled');
  opts.signal.addEventListener('abort', onAbort);
  const untrack = opts.onSessionClose(() => stop('session_closed'));
  let lostAfter: number | null;
  try {
    reader.consume();
    await done;
  } finally {
    clearTimeout(timer);
    clearInterval(progress);
    opts.signal.removeEventListener('abort', onAbort);
    untrack();
    unsubscribe();
    lostAfter = reader.stats().lost;
    release();
  }
  return {
    stopped: stopped ?? 'duration',
    durationMs: Math.max(1, Math.round(performance.now() - started)),
    lost: lostBefore === null || lostAfter === null ? null : lostAfter - lostBefore,
  };
}
