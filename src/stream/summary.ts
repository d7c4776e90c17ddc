/**
 * A stream's summary: its records or largest groups, how they were decoded,
 * the counts (received, matched, returned, dropped, lost in the kernel), why
 * it stopped and whether anything was left out; and the same in a line of
 * text with numbers only (record contents are traced data, never prose).
 */
import type { EventBuffer } from './buffer.js';
import type { Pipeline } from './pipeline.js';
import type { RecordType } from './record-type.js';
import type { RunOutcome } from './run.js';

/** The result of a finished stream, `top` groups at most when aggregating. */
export function streamSummary(buffer: EventBuffer, recordType: RecordType, pipeline: Pipeline, run: RunOutcome, top: number) {
  const { groups, received, matched, filtered } = pipeline;
  const kept = groups?.top(top);
  const returned = groups ? 0 : pipeline.returned;
  const data = {
    map_id: buffer.mapId,
    buffer: buffer.kind,
    decoded_type: recordType.decodedType,
    ...recordType.undecoded,
    schema: pipeline.schema(),
    ...(groups ? { groups: kept } : pipeline.table ? { table: pipeline.table } : { events: pipeline.events }),
    stats: {
      events_received: received,
      events_matched: matched,
      events_returned: returned,
      events_dropped: filtered + (groups ? 0 : matched - returned),
      lost: run.lost,
      duration_ms: run.durationMs,
      events_per_second: Math.round((received / run.durationMs) * 1000 * 10) / 10,
      ...(groups ? { groups: groups.size } : {}),
      ...(run.backlog ? { backlog: run.backlog } : {}),
    },
    truncated: groups ? groups.size > (kept?.length ?? 0) || groups.overflow > 0 : matched > returned || run.stopped === 'max_events' || run.stopped === 'max_bytes',
    stopped: run.stopped,
  };
  const summary =
    `Read ${received} record(s) from ${buffer.kind} map ${buffer.mapId} in ${run.durationMs} ms (stopped: ${run.stopped}); ${matched} matched the filters, ` +
    (groups ? `in ${groups.size} group(s), largest ${kept?.length ?? 0} returned.` : `${returned} returned.`) +
    (received === 0 ? ` Nothing arrived in ${run.durationMs} ms.` : '') +
    (run.lost ? ` The kernel lost ${run.lost} record(s) (buffer full).` : '') +
    (run.lost === null ? ' Loss in the kernel is not known for this ring (its object has no lost_events counter).' : '') +
    (run.backlog?.records ? ` ${run.backlog.records} record(s) (${run.backlog.matched} matching) were already waiting when it began.` : '') +
    (run.backlog?.ring_full ? ' The ring was full when it began: see stats.backlog.note.' : '') +
    (recordType.decoder ? ' Decoded from BTF (the type is in decoded_type).' : ' Not decoded: see decode_note.');
  return { data, summary };
}
