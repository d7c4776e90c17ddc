/**
 * The bundled catalog in tests: entries loaded by name with their typed
 * parameters and attached as their sections say, and the maps they count into
 * read back through inspect_state.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { Connected } from './client.js';

/** load_program's result, with `attachments`: each program's attachment from attach_program {object_id, auto}. */
export type LoadedCatalog = Record<string, any> & { attachments: { attachment_point: string; program_id: number; link_id: number | null }[] };

/** Loads catalog entry `name` (as info lists it) with its `parameters` and attaches all its programs (all or none), asserting both succeed. */
export async function loadCatalog(c: Connected, name: string, parameters: Record<string, unknown> = {}): Promise<LoadedCatalog> {
  const loaded = (await c.call('load_program', { source: { type: 'catalog', name, parameters } })).structuredContent;
  assert.equal(loaded.success, true, JSON.stringify(loaded.error));
  const attached = (await c.call('attach_program', { object_id: loaded.object_id, attachment: { auto: {} } })).structuredContent;
  assert.equal(attached.success, true, JSON.stringify(attached.error));
  return { ...loaded, attachments: attached.attachments };
}

/** The id of the map `name` of a loaded object. */
export function mapIdOf(loaded: Record<string, any>, name: string): number {
  const map = (loaded.maps as { name: string; id: number }[]).find((m) => m.name === name);
  assert.ok(map, `no map ${name} in ${JSON.stringify(loaded.maps)}`);
  return map.id;
}

/** Every entry of a map through inspect_state, page by page. */
export async function mapEntries(c: Connected, mapId: number): Promise<Record<string, any>[]> {
  const entries: Record<string, any>[] = [];
  let cursor: string | null = null;
  do {
    const maps: Record<string, unknown> = { id: mapId, limit: 1000, ...(cursor ? { cursor } : {}) };
    const s = (await c.call('inspect_state', { fields: ['maps'], filters: { map_id: mapId }, maps })).structuredContent;
    assert.equal(s.success, true, JSON.stringify(s.error));
    entries.push(...s.map_entries.entries);
    cursor = s.map_entries.next_cursor;
  } while (cursor);
  return entries;
}

/** The result of streaming a loaded object's ring `events` for 1.5 s (at most 100 records), asserting it succeeded. */
export async function streamEvents(c: Connected, loaded: Record<string, any>): Promise<Record<string, any>> {
  const s = (await c.call('stream_events', { source: { object_id: loaded.object_id, map: 'events' }, duration_ms: 1500, max_events: 100 })).structuredContent;
  assert.equal(s.success, true, JSON.stringify(s.error));
  return s;
}

/** Streams each object's ring while `act` runs (begun 250 ms after the streams), then returns their results in order. */
export async function streamsDuring<T extends Record<string, any>[]>(c: Connected, loaded: [...T], act: () => Promise<void>): Promise<{ [K in keyof T]: Record<string, any> }> {
  const pending = Promise.all(loaded.map((l) => streamEvents(c, l))) as Promise<{ [K in keyof T]: Record<string, any> }>;
  await new Promise((r) => setTimeout(r, 250));
  await act();
  return pending;
}

/**
 * Runs `file` with `args` while streaming execsnoop's ring of the loaded object `objectId` (records of that command
 * name, for 1.5 s); returns the child's pid and the decoded records, the stream asserted successful.
 */
export async function execsSeen(c: Connected, objectId: string, file: string, args: string[]): Promise<{ pid: number; records: Record<string, unknown>[] }> {
  const comm = file.slice(file.lastIndexOf('/') + 1);
  const pending = c.call('stream_events', { source: { object_id: objectId, map: 'events' }, duration_ms: 1500, max_events: 20, filters: { comm } });
  await new Promise((r) => setTimeout(r, 250));
  const child = spawn(file, args, { stdio: 'ignore' });
  await new Promise((r) => child.once('exit', r));
  const s = (await pending).structuredContent;
  assert.equal(s.success, true, JSON.stringify(s.error));
  return { pid: child.pid as number, records: s.events.map((e: { data: Record<string, unknown> }) => e.data) };
}
