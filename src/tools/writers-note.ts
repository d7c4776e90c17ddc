/**
 * What a model is told when a map's users do not run: a ring buffer that no
 * attached program writes reads empty, a histogram whose writer is not
 * attached never fills. One wording for stream_events and inspect_state.
 */
import { type MapWriters, type ProgramRef, mapWriters } from '../kernel/map-writers.js';
import type { Session } from '../session/session.js';

/** Programs this session attached, some without a kernel link or perf event (a netlink tc filter) that would show they run. */
export function attachedBySession(session: Session): (programId: number) => boolean {
  const held = new Set(session.heldLinks().map((l) => l.programId));
  return (id) => held.has(id);
}

/**
 * One sentence when no program that uses map `mapId` is attached, with the ids of those that are not (their
 * names, data from the kernel, are in the result's list of them) and how to attach them (`objectId`: the
 * session's object that holds them); undefined when one runs.
 */
export function writersNote(mapId: number, w: MapWriters, objectId?: string): string | undefined {
  if (w.attached.length > 0) return undefined;
  if (w.writers.length === 0) return `No loaded program uses map ${mapId}, so nothing writes it.`;
  const how = objectId ? `attach_program {object_id: "${objectId}", attachment: {auto: {}}}` : 'attach_program';
  const ids = w.unattached.map((p) => p.id);
  return `No attached program writes map ${mapId}: program${ids.length > 1 ? 's' : ''} ${ids.join(', ')} use${ids.length > 1 ? '' : 's'} it but ${ids.length > 1 ? 'are' : 'is'} not attached. Attach with ${how}.`;
}

/** stream_events' answer on who writes the buffer: the fields for its result and the sentence for its summary, empty when a writer runs. */
export function streamWriters(mapId: number, session: Session): { fields: { writers_note?: string; unattached_writers?: ProgramRef[] }; note: string } {
  const w = mapWriters(mapId, attachedBySession(session));
  const note = writersNote(mapId, w, session.objectOfMap(mapId)?.id);
  return { fields: { ...(note ? { writers_note: note } : {}), ...(w.unattached.length ? { unattached_writers: w.unattached } : {}) }, note: note ?? '' };
}
