/**
 * Background streams, backlog and loss through the SDK client: a stream that
 * reads on in the server and is read by cursor, its lease and quota, the
 * foreground limit that points to it, the records waiting before a stream
 * began, and a ring's exact loss from its lost_events counter. Every record
 * comes from the lossy fixture, which writes only for the test's own
 * workloads (its `targets` map).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import { DEFAULT_LIMITS } from '../../src/policy/limits.js';
import { eventually } from '../helpers/bpftool.js';
import { type Connected, connect } from '../helpers/client.js';
import { catalogObject, fixture } from '../helpers/fixtures.js';
import { mapFdsOf, targetedGetpids } from '../helpers/kernel.js';

const GETPID = { tracepoint: { category: 'syscalls', name: 'sys_enter_getpid' } };
/** What one burst_records call writes into the empty one-page ring, and what it loses (lossy.bpf.c). */
const RING_HOLDS = 85;
const BURST_LOST = 1000 - (RING_HOLDS - 1);
let c: Connected;

before(async () => {
  c = await connect();
});
after(async () => {
  await c.close();
});

/** Loads the lossy fixture with only `program`, attached to getpid; returns its handle and map ids. */
async function lossy(program: 'one_record' | 'burst_records'): Promise<{ objectId: string; ring: number; targets: number; lost: number }> {
  const loaded = (await c.call('load_program', { source: { type: 'file', path: fixture('lossy') }, programs: [program] })).structuredContent;
  assert.equal(loaded.success, true, JSON.stringify(loaded.error));
  const a = (await c.call('attach_program', { program_id: loaded.program_id, attachment: GETPID })).structuredContent;
  assert.equal(a.success, true, JSON.stringify(a.error));
  const maps = Object.fromEntries(loaded.maps.map((m: { name: string; id: number }) => [m.name, m.id]));
  return { objectId: loaded.object_id, ring: maps.ring, targets: maps.targets, lost: maps.lost_events };
}

/** The lost_events counter, summed over CPUs, read by bpftool (an independent witness). */
function counted(mapId: number): number {
  const [entry] = JSON.parse(execFileSync('bpftool', ['-j', 'map', 'dump', 'id', String(mapId)], { encoding: 'utf8' })) as {
    formatted: { values: { value: number }[] };
  }[];
  return (entry?.formatted.values ?? []).reduce((s, v) => s + v.value, 0);
}

async function ok(args: Record<string, unknown>): Promise<Record<string, any>> {
  const r = (await c.call('stream_events', args)).structuredContent;
  assert.equal(r.success, true, JSON.stringify(r.error));
  return r;
}

/** Reads the stream from `cursor` until `n` events are there (the reader takes them a moment after they are written). */
async function readUntil(streamId: string, cursor: number, n: number): Promise<Record<string, any>> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const r = await ok({ stream_id: streamId, cursor });
    if ((r.events?.length ?? 0) >= n || Date.now() > deadline) return r;
    await new Promise((res) => setTimeout(res, 50));
  }
}

test('background: starts at once, read twice by cursor with exact counts of its own getpids, stopped, its reader gone', async () => {
  const { objectId, ring, targets } = await lossy('one_record');
  const idle = mapFdsOf(c.pid, ring);
  const started = await ok({ source: { object_id: objectId, map: 'ring' }, mode: 'background', ttl_seconds: 60 });
  const id = started.stream_id as string;
  assert.match(id, /^s\d+$/);
  assert.equal(started.running, true);
  assert.equal(started.stats.events_received, 0);
  assert.equal(mapFdsOf(c.pid, ring), idle + 2, 'the reader holds the map (its fd and the ring mapping)');
  const listed = (await c.call('inspect_state', { fields: ['streams'] })).structuredContent.streams;
  assert.deepEqual(
    listed.map((s: Record<string, unknown>) => [s.stream_id, s.map_id, s.running, s.queued]),
    [[id, ring, true, 0]],
  );

  const first = await targetedGetpids(targets, 7);
  const r1 = await readUntil(id, 0, 7);
  assert.deepEqual(r1.events.map((e: { data: { tgid: number } }) => e.data.tgid), Array(7).fill(first));
  assert.equal(r1.next_cursor, 7);
  assert.equal(r1.stats.events_received, 7);
  assert.equal(r1.stats.queued, 0);

  const second = await targetedGetpids(targets, 5);
  const r2 = await readUntil(id, 7, 5);
  assert.deepEqual(r2.events.map((e: { data: { tgid: number } }) => e.data.tgid), Array(5).fill(second));
  assert.equal(r2.next_cursor, 12);
  assert.equal(r2.stats.events_received, 12);
  assert.equal(r2.stats.dropped_backlog, 0);

  const stopped = await ok({ stream_id: id, stop: true });
  assert.equal(stopped.stopped, 'stopped');
  assert.equal(stopped.running, false);
  assert.equal(stopped.stats.events_received, 12);
  assert.equal(stopped.stats.events_matched, 12);
  assert.equal(stopped.stats.lost, 0, 'the fixture has a lost_events counter: its loss is known, and none');
  assert.deepEqual(stopped.events, [], 'read to its end already');
  assert.ok(await eventually(() => mapFdsOf(c.pid, ring) === idle), 'its reader is released (its ring fd closes on the next loop turn)');
  assert.deepEqual((await c.call('inspect_state', { fields: ['streams'] })).structuredContent.streams, []);
  const late = (await c.call('stream_events', { stream_id: id })).structuredContent;
  assert.equal(late.error.type, 'VALIDATION_ERROR');
  assert.match(late.error.message, /has ended: it was stopped/);
});

test('background aggregate: each read returns the running groups', async () => {
  const { objectId, targets } = await lossy('one_record');
  const { stream_id: id } = await ok({ source: { object_id: objectId, map: 'ring' }, mode: 'background', aggregate: { group_by: ['tgid'] } });
  try {
    const a = await targetedGetpids(targets, 4);
    const b = await targetedGetpids(targets, 2);
    let r: Record<string, any> = {};
    for (const deadline = Date.now() + 5000; Date.now() < deadline; await new Promise((res) => setTimeout(res, 50))) {
      r = await ok({ stream_id: id });
      if (r.stats.events_matched >= 6) break;
    }
    assert.deepEqual(
      r.groups.map((g: { key: { tgid: number }; count: number }) => [g.key.tgid, g.count]),
      [
        [a, 4],
        [b, 2],
      ],
    );
  } finally {
    await ok({ stream_id: id, stop: true });
  }
});

test('background lease: renewed by each read, then the stream ends and its reader goes', async () => {
  const { objectId, ring } = await lossy('one_record');
  const idle = mapFdsOf(c.pid, ring);
  const { stream_id: id } = await ok({ source: { object_id: objectId, map: 'ring' }, mode: 'background', ttl_seconds: 2 });
  for (let i = 0; i < 2; i++) {
    await new Promise((res) => setTimeout(res, 1300));
    const r = await ok({ stream_id: id });
    assert.equal(r.running, true, `alive at ${(i + 1) * 1.3} s: the read before renewed its 2 s lease`);
  }
  await new Promise((res) => setTimeout(res, 2500));
  const gone = (await c.call('stream_events', { stream_id: id })).structuredContent;
  assert.equal(gone.error.type, 'VALIDATION_ERROR');
  assert.match(gone.error.message, /lease expired/);
  assert.ok(await eventually(() => mapFdsOf(c.pid, ring) === idle));
});

test('background streams count in the session quota, and a stop frees a place', async () => {
  const { objectId } = await lossy('one_record');
  const source = { object_id: objectId, map: 'ring' };
  const ids: string[] = [];
  try {
    for (let i = 0; i < DEFAULT_LIMITS.maxReadersPerSession; i++) ids.push((await ok({ source, mode: 'background' })).stream_id);
    const over = (await c.call('stream_events', { source, mode: 'background' })).structuredContent;
    assert.equal(over.error.type, 'RESOURCE_LIMIT_EXCEEDED');
    assert.equal(over.error.context.limit, DEFAULT_LIMITS.maxReadersPerSession);
    const foreground = (await c.call('stream_events', { source, duration_ms: 100 })).structuredContent;
    assert.equal(foreground.error.type, 'RESOURCE_LIMIT_EXCEEDED');
    await ok({ stream_id: ids.shift(), stop: true });
    ids.push((await ok({ source, mode: 'background' })).stream_id);
  } finally {
    for (const id of ids) await ok({ stream_id: id, stop: true });
  }
});

test('a foreground stream over 55 s is refused, naming background mode; in the background it runs', async () => {
  const { objectId, ring } = await lossy('one_record');
  const idle = mapFdsOf(c.pid, ring);
  const r = (await c.call('stream_events', { source: { object_id: objectId, map: 'ring' }, duration_ms: 56_000 })).structuredContent;
  assert.equal(r.error.type, 'VALIDATION_ERROR');
  assert.equal(r.error.context.field, 'duration_ms');
  assert.match(r.error.message, /mode: "background"/);
  assert.equal(mapFdsOf(c.pid, ring), idle, 'no reader was opened');
  const bg = await ok({ source: { object_id: objectId, map: 'ring' }, duration_ms: 56_000, mode: 'background' });
  assert.equal(bg.running, true);
  assert.equal((await ok({ stream_id: bg.stream_id, stop: true })).stopped, 'stopped');
  const mixed = (await c.call('stream_events', { stream_id: bg.stream_id, source: { map_id: ring } })).structuredContent;
  assert.equal(mixed.error.context.field, 'source');
});

test('backlog: records written before the stream are counted apart, with the age of the oldest', async () => {
  const { objectId, targets } = await lossy('one_record');
  const early = await targetedGetpids(targets, 20);
  await new Promise((res) => setTimeout(res, 300));
  const pending = ok({ source: { object_id: objectId, map: 'ring' }, duration_ms: 1500, filters: { pid: early } });
  await new Promise((res) => setTimeout(res, 300));
  const late = await targetedGetpids(targets, 3);
  const s = await pending;
  assert.equal(s.stats.events_received, 23);
  assert.equal(s.stats.events_matched, 20);
  assert.equal(s.stats.backlog.records, 20);
  assert.equal(s.stats.backlog.matched, 20);
  assert.ok(s.stats.backlog.oldest_age_ms >= 300, `oldest ${s.stats.backlog.oldest_age_ms} ms, written 300 ms before`);
  assert.ok(s.stats.backlog.oldest_age_ms < 60_000);
  assert.equal(s.stats.backlog.ring_full, false);
  assert.equal(s.stats.backlog.lost_before, 0);
  assert.equal(s.stats.lost, 0);
  assert.notEqual(late, early);
});

test('a ring full before the stream began says so, with what was lost before and what to do', async () => {
  const { objectId, targets, lost } = await lossy('burst_records');
  await targetedGetpids(targets, 1);
  await new Promise((res) => setTimeout(res, 200));
  const r = await c.call('stream_events', { source: { object_id: objectId, map: 'ring' }, duration_ms: 800 });
  const s = r.structuredContent;
  assert.equal(s.success, true, JSON.stringify(s.error));
  assert.equal(s.stats.events_received, RING_HOLDS);
  assert.equal(s.stats.backlog.records, RING_HOLDS);
  assert.equal(s.stats.backlog.ring_full, true);
  assert.equal(s.stats.backlog.lost_before, BURST_LOST);
  assert.equal(counted(lost), BURST_LOST);
  assert.ok(s.stats.backlog.oldest_age_ms >= 200);
  assert.match(s.stats.backlog.note, /full.*background.*max_entries/s);
  assert.equal(s.stats.lost, 0, 'nothing lost while it read');
  assert.match((r.content[0] as { text: string }).text, /ring was full/);
});

test('loss during a stream is exact: the ring lost_events counter, read at start and end', async () => {
  const { objectId, targets, lost } = await lossy('burst_records');
  const pending = ok({ source: { object_id: objectId, map: 'ring' }, duration_ms: 1500, max_events: 1000 });
  await new Promise((res) => setTimeout(res, 300));
  const pid = await targetedGetpids(targets, 1);
  const s = await pending;
  assert.equal(s.stats.events_received, RING_HOLDS);
  assert.equal(s.stats.lost, BURST_LOST);
  assert.equal(counted(lost), BURST_LOST, 'bpftool reads the same count');
  assert.equal(s.stats.backlog.records, 0);
  assert.ok(s.events.every((e: { data: { tgid: number } }) => e.data.tgid === pid));
});

test('catalog rings report loss as a number from their lost_events counter, not null', async () => {
  const loaded = (await c.call('load_program', { source: { type: 'file', path: catalogObject('exec_events') } })).structuredContent;
  assert.equal(loaded.success, true, JSON.stringify(loaded.error));
  assert.ok(loaded.maps.some((m: { name: string; type: string }) => m.name === 'lost_events' && m.type === 'percpu_array'));
  const a = (await c.call('attach_program', { program_id: loaded.program_id, attachment: { auto: {} } })).structuredContent;
  assert.equal(a.success, true, JSON.stringify(a.error));
  const s = await ok({ source: { object_id: loaded.object_id, map: 'events' }, duration_ms: 300, filters: { pid: process.pid } });
  assert.equal(s.stats.lost, 0);
});
