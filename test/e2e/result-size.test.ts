import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connect } from '../helpers/client.js';
import { fixture } from '../helpers/fixtures.js';
import { addToSet, pausedWorkload } from '../helpers/kernel.js';

const GETPID = { tracepoint: { category: 'syscalls', name: 'sys_enter_getpid' } };

test('stream_events fits max_bytes: it stops early, says so and how to get more; the text holds the events as a table', async () => {
  const c = await connect();
  try {
    const loaded = (await c.call('load_program', { source: { type: 'file', path: fixture('events') }, programs: ['emit_ring'] })).structuredContent;
    assert.equal(loaded.success, true, JSON.stringify(loaded.error));
    const maps = Object.fromEntries(loaded.maps.map((m: { name: string; id: number }) => [m.name, m.id]));
    assert.equal((await c.call('attach_program', { program_id: loaded.program_id, attachment: GETPID })).structuredContent.success, true);
    const stream = async (maxBytes?: number) => {
      const w = await pausedWorkload(['getpid', '300']);
      addToSet(maps.targets as number, w.pid);
      const pending = c.call('stream_events', {
        source: { object_id: loaded.object_id, map: 'ring_events' },
        duration_ms: 4000,
        max_events: 300,
        filters: { pid: w.pid },
        ...(maxBytes ? { max_bytes: maxBytes } : {}),
      });
      await new Promise((r) => setTimeout(r, 250));
      await w.go();
      const r = await pending;
      assert.equal(r.structuredContent.success, true, JSON.stringify(r.structuredContent.error));
      return { r, s: r.structuredContent, pid: w.pid, text: (r.content[0] as { text: string }).text, bytes: Buffer.byteLength(JSON.stringify(r)) };
    };

    const small = await stream(16384);
    assert.equal(small.s.stopped, 'max_bytes');
    assert.equal(small.s.truncated, true);
    assert.ok(small.s.events.length >= 1 && small.s.events.length < 300, `${small.s.events.length} events`);
    assert.equal(small.s.stats.events_returned, small.s.events.length);
    assert.ok(small.bytes <= 16384, `${small.bytes} bytes`);
    assert.ok(small.text.split('\n')[0]?.endsWith('The events reached max_bytes (16384): filter, aggregate, or raise max_bytes (up to 1048576) for more.'), small.text);
    const lines = small.text.split('\n');
    const head = lines.indexOf(`events (${small.s.events.length}):`);
    assert.ok(head > 0, small.text);
    const columns = lines[head + 1]?.split(' | ') ?? [];
    const pidColumn = columns.indexOf('data.pid');
    assert.ok(pidColumn >= 0, lines[head + 1]);
    assert.equal(lines[head + 2]?.split(' | ')[pidColumn], String(small.pid), 'the first row is the workload\'s first record');

    const byDefault = await stream();
    assert.ok(byDefault.bytes <= 65536, `${byDefault.bytes} bytes by default`);
    assert.ok(byDefault.s.events.length > small.s.events.length);
  } finally {
    await c.close();
  }
});

test('inspect_state fits max_bytes: its lists stop early, say it in counts and the summary; every result stays within 64 KiB by default', async () => {
  const c = await connect();
  try {
    for (let i = 0; i < 6; i++) {
      const s = (await c.call('load_program', { source: { type: 'file', path: fixture('counters') }, programs: ['tp_getpid'] })).structuredContent;
      assert.equal(s.success, true, JSON.stringify(s.error));
    }
    const r = await c.call('inspect_state', { fields: ['programs'], filters: { owned_only: true }, max_bytes: 4096 });
    const s = r.structuredContent;
    assert.equal(s.success, true, JSON.stringify(s.error));
    assert.ok(Buffer.byteLength(JSON.stringify(r)) <= 4096);
    assert.equal(s.counts.programs.total, 6);
    assert.ok(s.programs.length >= 1 && s.programs.length < 6, `${s.programs.length} programs`);
    assert.deepEqual(s.counts.programs, { total: 6, returned: s.programs.length, truncated: true, cut_by: 'max_bytes' });
    const text = (r.content[0] as { text: string }).text;
    assert.ok(text.startsWith(`6 programs (showing ${s.programs.length}); raise \`max_bytes\` or filter to see the rest.`), text);

    const all = await c.call('inspect_state', { fields: ['programs', 'maps', 'links', 'pins', 'system', 'tools'], limit: 1000 });
    assert.equal(all.structuredContent.success, true, JSON.stringify(all.structuredContent.error));
    assert.ok(Buffer.byteLength(JSON.stringify(all)) <= 65536, `${Buffer.byteLength(JSON.stringify(all))} bytes by default`);
    const raised = await c.call('inspect_state', { fields: ['programs'], filters: { owned_only: true }, max_bytes: 1 << 20 });
    assert.equal(raised.structuredContent.programs.length, 6);
    assert.equal(raised.structuredContent.truncated, false);
  } finally {
    await c.close();
  }
});
