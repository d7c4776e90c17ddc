/**
 * Map contents through a real MCP client: inspect_state's `maps` option
 * returns a map's entries decoded from BTF, bounded and marked truncated,
 * and a libbpf-tools histogram as buckets plus a drawing in the summary.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Connected, connect, textParts } from '../helpers/client.js';
import { fixture } from '../helpers/fixtures.js';
import { WORKLOAD, pausedWorkload, runWorkload } from '../helpers/kernel.js';

/** The summary of a result's text: what comes before the rendered data. */
/** Loads a fixture through the client; returns program and map ids by name. */
async function load(c: Connected, name: string, programs?: string[]): Promise<{ progs: Record<string, number>; maps: Record<string, number> }> {
  const s = (await c.call('load_program', { source: { type: 'file', path: fixture(name) }, ...(programs ? { programs } : {}) })).structuredContent;
  assert.equal(s.success, true, JSON.stringify(s.error));
  return {
    progs: Object.fromEntries((s.programs as { name: string; id: number | null }[]).map((p) => [p.name, p.id as number])),
    maps: Object.fromEntries((s.maps as { name: string; id: number }[]).map((m) => [m.name, m.id])),
  };
}

async function attach(c: Connected, programId: number, attachment: Record<string, unknown>): Promise<void> {
  const s = (await c.call('attach_program', { program_id: programId, attachment })).structuredContent;
  assert.equal(s.success, true, JSON.stringify(s.error));
}

test('a hash map read through inspect_state: {key: pid, value: 200}, bounded by maps.limit, typed errors', async () => {
  const c = await connect();
  try {
    const { progs, maps } = await load(c, 'counters', ['tp_getpid']);
    await attach(c, progs.tp_getpid as number, { tracepoint: { category: 'syscalls', name: 'sys_enter_getpid' } });
    const pid = runWorkload(['getpid', '200']);
    runWorkload(['getpid', '3']);
    const id = maps.tp_counts as number;

    // Every process that calls getpid adds a key: read as many as a page may hold, so none is cut on a busy machine.
    const r = await c.call('inspect_state', { fields: ['maps'], filters: { map_id: id }, maps: { id, limit: 10_000 } });
    const s = r.structuredContent;
    assert.equal(s.success, true, JSON.stringify(s.error));
    assert.deepEqual(s.maps.map((m: { id: number }) => m.id), [id]);
    const me = s.map_entries;
    assert.equal(me.map_id, id);
    assert.equal(me.name, 'tp_counts');
    assert.equal(me.type, 'hash');
    assert.equal(me.key_type, '__u32');
    assert.equal(me.value_type, '__u64');
    assert.equal(me.per_cpu, false);
    assert.deepEqual(me.entries.find((e: { key: number }) => e.key === pid), { key: pid, value: 200 });
    assert.ok(me.count >= 2);
    assert.equal(me.count, me.entries.length);
    assert.equal(me.truncated, false);
    const text = (r.content[0] as { text: string }).text;
    assert.match(text, new RegExp(`Map ${id} \\(hash\\): ${me.count} entries\\.`));
    assert.ok(!textParts(r).prose.includes('tp_counts'), 'a map name reached the summary');

    const one = (await c.call('inspect_state', { fields: ['maps'], filters: { map_id: id }, maps: { id, limit: 1 } })).structuredContent.map_entries;
    assert.equal(one.count, 1);
    assert.equal(one.entries.length, 1);
    assert.equal(one.truncated, true);
    assert.equal(one.truncated_at, 'limit');
    // Other processes' getpid calls add keys meanwhile (one per pid): the next page, as large as a page may be, holds at
    // least the rest, never the first again, and is the last.
    const rest = (await c.call('inspect_state', { fields: ['maps'], filters: { map_id: id }, maps: { id, cursor: one.next_cursor, limit: 10_000 } })).structuredContent
      .map_entries;
    assert.ok(rest.count >= me.count - 1, `${rest.count} entries after the first of ${me.count}`);
    assert.ok(!rest.entries.some((e: { key: number }) => e.key === one.entries[0].key), 'the next page repeats the first');
    assert.equal(rest.next_cursor, null);

    const typesOnly = (await c.call('inspect_state', { fields: ['maps'], filters: { map_id: id }, maps: { id, entries: false } })).structuredContent.map_entries;
    assert.deepEqual([typesOnly.count, typesOnly.entries, typesOnly.truncated, typesOnly.value_type], [0, [], true, '__u64']);

    const missing = await c.call('inspect_state', { fields: ['maps'], maps: { id: 0x7ffffff0 } });
    assert.equal(missing.isError, true);
    assert.equal(missing.structuredContent.error.type, 'MAP_ACCESS_ERROR');
    assert.equal(missing.structuredContent.error.context.map_id, 0x7ffffff0);

    const tooMany = await c.call('inspect_state', { maps: { id, limit: 20000 } });
    assert.equal(tooMany.structuredContent.error.type, 'VALIDATION_ERROR');
    assert.match(tooMany.structuredContent.error.message, /maps\.limit/);

    assert.equal((await c.call('inspect_state', { fields: ['system'] })).structuredContent.success, true, 'the server answers after the errors');
  } finally {
    await c.close();
  }
});

test('a libbpf-tools histogram through MCP: buckets in map_entries, the drawing in the summary', async () => {
  const c = await connect();
  try {
    const { progs, maps } = await load(c, 'hist');
    const w = await pausedWorkload(['call', '200']);
    await attach(c, progs.hist_arg as number, { uprobe: { binary: WORKLOAD, function: 'ebpf_mcp_probe_target', pid: w.pid } });
    await w.go();
    const r = await c.call('inspect_state', { fields: ['maps'], filters: { map_id: maps.hists }, maps: { id: maps.hists } });
    const me = r.structuredContent.map_entries;
    assert.equal(me.value_type, 'struct hist');
    const h = me.entries[0].histogram;
    assert.equal(h.total, 200);
    assert.deepEqual(
      h.buckets.map((b: { count: number }) => b.count),
      [2, 2, 4, 8, 16, 32, 64, 72],
    );
    assert.deepEqual(h.buckets.at(-1), { low: 128, high: 255, count: 72 });
    const text = (r.content[0] as { text: string }).text;
    assert.equal(me.entries[0].key, 0);
    assert.ok(text.includes(`Histogram at key 0 (total 200):\n${h.drawing}`), text);
    assert.equal(h.drawing.split('\n').filter((l: string) => l.includes(' -> ')).length, 8);
    assert.ok(!textParts(r).prose.includes('hists'), 'a map name reached the summary');
  } finally {
    await c.close();
  }
});

test('a map larger than one answer comes page by page: a byte cap, next_cursor, every entry once, each answer far under 10 MiB', async () => {
  const c = await connect();
  try {
    const { maps } = await load(c, 'pages');
    const id = maps.wide as number;
    const keys: number[] = [];
    let cursor: string | undefined;
    let pages = 0;
    let largest = 0;
    do {
      const r = await c.call('inspect_state', { fields: ['maps'], filters: { map_id: id }, maps: { id, limit: 10_000, ...(cursor ? { cursor } : {}) }, max_bytes: 1 << 20 });
      const me = r.structuredContent.map_entries;
      assert.equal(r.structuredContent.success, true, JSON.stringify(r.structuredContent.error));
      largest = Math.max(largest, Buffer.byteLength(JSON.stringify(r)));
      keys.push(...me.entries.map((e: { key: number }) => e.key));
      if (me.next_cursor !== null) {
        assert.equal(me.truncated_at, 'bytes');
        assert.match((r.content[0] as { text: string }).text, /the page reached its byte cap\): call again with maps\.cursor set to next_cursor/);
      }
      cursor = me.next_cursor ?? undefined;
      pages++;
    } while (cursor !== undefined);
    assert.equal(pages, 2);
    assert.deepEqual(keys, Array.from({ length: 4096 }, (_, i) => i));
    assert.ok(largest < 300 << 10, `a page of ${largest} bytes`);
    const bad = await c.call('inspect_state', { maps: { id, cursor: 'xyz' } });
    assert.equal(bad.structuredContent.error.type, 'VALIDATION_ERROR');
    assert.equal(bad.structuredContent.error.context.field, 'maps.cursor');
  } finally {
    await c.close();
  }
});
