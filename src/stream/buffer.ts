/**
 * The buffer a stream reads: which kind of event buffer a map is, and the
 * BTF that describes its records (the map's own, else that of a program
 * writing to it; ring and perf buffers carry no value type).
 */
import type { Btf } from '../btf/index.js';
import { ToolError } from '../errors.js';
import { listIds, mapInfo, programInfo } from '../kernel/inventory.js';
import { btfById } from '../kernel/kernel-btf.js';
import type { BufferKind } from '../kernel/reader.js';

/** An event buffer map, ready to stream. */
export interface EventBuffer {
  mapId: number;
  kind: BufferKind;
  /** The BTF its records are decoded with; undefined when none is found (records stay raw). */
  btf: Btf | undefined;
}

/** The BTF describing the map's records: the map's own, else that of a program writing to it. */
function btfForMap(mapId: number, btfId: number): Btf | undefined {
  if (btfId) return btfById(btfId);
  for (const id of listIds('program')) {
    const p = programInfo(id);
    if (p?.btfId && p.mapIds.includes(mapId)) return btfById(p.btfId);
  }
  return undefined;
}

/** The event buffer with kernel id `mapId`; MAP_ACCESS_ERROR when it is gone or not a ring or perf buffer. */
export function eventBuffer(mapId: number): EventBuffer {
  const info = mapInfo(mapId);
  if (!info) throw new ToolError('MAP_ACCESS_ERROR', `no map ${mapId} exists`, { map_id: mapId });
  const kind: BufferKind | undefined = info.type === 'ringbuf' ? 'ringbuf' : info.type === 'perf_event_array' ? 'perfbuf' : undefined;
  if (!kind) {
    throw new ToolError('MAP_ACCESS_ERROR', `map ${mapId} is a ${info.type}, not a ring or perf buffer: read its entries with inspect_state`, { map_id: mapId, map_type: info.type });
  }
  return { mapId, kind, btf: btfForMap(mapId, info.btfId) };
}
