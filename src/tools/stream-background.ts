/**
 * `stream_events` in the background: starting a stream that keeps reading
 * in the server (mode "background"), reading what arrived since a cursor
 * ({stream_id, cursor}), and stopping it ({stream_id, stop: true}), with the
 * results those calls return. The session owns the streams and their leases.
 */
import * as z from 'zod';
import { invalid } from '../errors.js';
import type { Limits } from '../policy/limits.js';
import type { HeldStream } from '../session/background-streams.js';
import type { Session } from '../session/session.js';
import { BackgroundStream } from '../stream/background.js';
import type { EventBuffer } from '../stream/buffer.js';
import type { Pipeline, StreamEvent } from '../stream/pipeline.js';
import type { RecordType } from '../stream/record-type.js';
import type { RunFigures } from '../stream/run.js';

/** Default lease of a background stream, in seconds. */
export const DEFAULT_STREAM_TTL_SECONDS = 300;

/** What a background stream is started with. */
export interface BackgroundStart {
  buffer: EventBuffer;
  recordType: RecordType;
  pipeline: Pipeline;
  durationMs: number | undefined;
  ttlSeconds: number;
  /** Largest groups returned by each read, when aggregating. */
  top: number;
}

/** What a read or stop asks for. */
export interface BackgroundCall {
  streamId: string;
  cursor: number | undefined;
  stop: boolean;
  maxEvents: number;
  /** Most bytes of events (as JSON) this read returns. */
  maxBytes: number;
}

/** The session's stream with this id; a VALIDATION_ERROR saying why when there is none. */
function heldStream(session: Session, id: string): HeldStream {
  const held = session.backgroundStreams.get(id);
  if (held) return held;
  const why = session.backgroundStreams.whyGone(id);
  throw invalid('stream_id', why ? `stream ${id} has ended: ${why}` : `this session has no background stream ${id}`, {
    streams: session.backgroundStreams.list().map((h) => h.id),
  });
}

/** Starts a background stream owned by the session (the caller checked the session's stream quota). */
export function startBackground(start: BackgroundStart, session: Session, limits: Limits) {
  const stream = new BackgroundStream(start.buffer, start.recordType, start.pipeline, start.durationMs, start.top, {
    events: limits.streamQueueEvents,
    bytes: limits.streamQueueBytes,
  });
  const held = session.backgroundStreams.add(start.buffer.mapId, stream, start.ttlSeconds);
  const data = { ...shape(held, stream.figures(), [], 0), truncated: false };
  const summary =
    `Started background stream ${held.id} on ${start.buffer.kind} map ${start.buffer.mapId}` +
    (start.durationMs === undefined ? '' : ` for ${start.durationMs} ms`) +
    `. Read it with {stream_id: "${held.id}", cursor: 0}, end it with {stream_id: "${held.id}", stop: true}; ` +
    `its lease ends ${held.expiresAt.toISOString()} unless read.`;
  return { data, summary };
}

/** Reads a background stream from the cursor (renewing its lease), or stops it and returns the final figures. */
export async function callBackground(call: BackgroundCall, session: Session) {
  const held = heldStream(session, call.streamId);
  const stream = held.stream;
  if (call.stop) await session.backgroundStreams.release(held.id, 'it was stopped');
  else session.backgroundStreams.renew(held);
  const read = stream.read(call.cursor, call.maxEvents, call.maxBytes);
  const figures = stream.outcome ?? stream.figures();
  const groups = stream.pipeline.groups;
  const data = {
    ...shape(held, figures, read.events, read.more),
    next_cursor: read.nextCursor,
    truncated: groups ? groups.size > stream.top || groups.overflow > 0 : read.more > 0,
    ...(stream.outcome ? { stopped: stream.outcome.stopped } : {}),
  };
  const stats = data.stats;
  const summary =
    `Stream ${held.id} (${stream.buffer.kind} map ${stream.buffer.mapId}, ${stream.running ? 'reading' : `ended: ${stream.outcome?.stopped}`}): ` +
    `${stats.events_received} record(s) read in ${figures.durationMs} ms, ${stats.events_matched} matched; ` +
    (groups ? `${groups.size} group(s) so far.` : `${read.events.length} returned from cursor ${read.nextCursor - read.events.length}, ${read.more} more queued; next_cursor ${read.nextCursor}.`) +
    (stream.droppedBacklog ? ` ${stream.droppedBacklog} dropped because the queue was full: read more often.` : '') +
    (figures.lost ? ` The kernel lost ${figures.lost} record(s) (buffer full).` : '') +
    (figures.backlog?.records ? ` ${figures.backlog.records} record(s) were already waiting when it began.` : '') +
    (figures.backlog?.ring_full ? ' The ring was full when it began: see stats.backlog.note.' : '') +
    (call.stop ? ' Stopped; its reader is released.' : ` Lease renewed to ${held.expiresAt.toISOString()}.`);
  return { data, summary };
}

/** The fields every background result has, `events` being those of this read. */
function shape(held: HeldStream, figures: RunFigures, events: StreamEvent[], queued: number) {
  const { buffer, recordType, pipeline } = held.stream;
  const groups = pipeline.groups;
  return {
    map_id: buffer.mapId,
    buffer: buffer.kind,
    stream_id: held.id,
    lease_expires_at: held.expiresAt.toISOString(),
    running: held.stream.running,
    decoded_type: recordType.decodedType,
    ...recordType.undecoded,
    schema: recordType.schema(),
    ...(groups ? { groups: groups.top(held.stream.top) } : { events }),
    stats: {
      events_received: pipeline.received,
      events_matched: pipeline.matched,
      events_returned: events.length,
      events_dropped: pipeline.filtered,
      dropped_backlog: held.stream.droppedBacklog,
      queued,
      lost: figures.lost,
      duration_ms: figures.durationMs,
      events_per_second: Math.round((pipeline.received / figures.durationMs) * 1000 * 10) / 10,
      ...(groups ? { groups: groups.size } : {}),
      ...(figures.backlog ? { backlog: figures.backlog } : {}),
    },
  };
}

/** inspect_state's `streams`: this session's background streams. */
export const streamListSchema = z
  .array(
    z.strictObject({
      stream_id: z.string(),
      map_id: z.int(),
      started_at: z.string(),
      running: z.boolean(),
      queued: z.int().describe('Records waiting to be read'),
      lease_expires_at: z.string(),
    }),
  )
  .describe("This session's background streams (stream_events mode \"background\")");

/** The session's background streams, as inspect_state lists them. */
export function streamList(session: Session): z.input<typeof streamListSchema> {
  return session.backgroundStreams.list().map((h) => ({
    stream_id: h.id,
    map_id: h.mapId,
    started_at: h.stream.startedAt.toISOString(),
    running: h.stream.running,
    queued: h.stream.queued,
    lease_expires_at: h.expiresAt.toISOString(),
  }));
}
