import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { test } from 'node:test';
import { bpftoolIds, eventually } from '../helpers/bpftool.js';
import { connect } from '../helpers/client.js';
import { fixture } from '../helpers/fixtures.js';
import { mapValue, runWorkload } from '../helpers/kernel.js';

const TRACEPOINT = { tracepoint: { category: 'syscalls', name: 'sys_enter_getpid' } };

test('--enable-tools offers exactly the tools it names; unknown names are refused', async () => {
  const some = await connect(['-t', 'stdio', '--enable-tools', 'detach_link,unload_program']);
  try {
    const names = (await some.client.listTools()).tools.map((t) => t.name);
    assert.deepEqual(names, ['info', 'load_program', 'attach_program', 'inspect_state', 'stream_events', 'detach_link', 'unload_program']);
    const r = await some.client.callTool({ name: 'pin_object', arguments: {} }).catch((e: Error) => e);
    assert.ok(r instanceof Error && /Unknown tool/.test(r.message), 'a tool that is not enabled is not callable');
  } finally {
    await some.close();
  }
  await assert.rejects(connect(['-t', 'stdio', '--enable-tools', 'format_disk']));
});

test('detach_link stops the program at its hook; unload_program releases the object', async () => {
  const c = await connect(['-t', 'stdio', '--enable-tools', 'all']);
  try {
    const loaded = (await c.call('load_program', { source: { type: 'file', path: fixture('counters') }, programs: ['tp_getpid'] })).structuredContent;
    const mapId = loaded.maps.find((m: { name: string }) => m.name === 'tp_counts').id;
    const attached = (await c.call('attach_program', { program_id: loaded.program_id, attachment: TRACEPOINT })).structuredContent;
    assert.equal(mapValue(mapId, runWorkload(['getpid', '10'])), 10);

    const detached = (await c.call('detach_link', { link_handle: attached.link_handle })).structuredContent;
    assert.equal(detached.success, true);
    assert.deepEqual(detached.link_ids, [attached.link_id]);
    assert.ok(!bpftoolIds('link').has(attached.link_id));
    assert.equal(mapValue(mapId, runWorkload(['getpid', '10'])), undefined, 'the detached program still counted');

    const again = (await c.call('detach_link', { link_id: attached.link_id })).structuredContent;
    assert.equal(again.error.type, 'PERMISSION_DENIED');

    const unloaded = (await c.call('unload_program', { program_id: loaded.program_id })).structuredContent;
    assert.equal(unloaded.object_id, loaded.object_id);
    assert.ok(!bpftoolIds('prog').has(loaded.program_id));
    // The kernel frees a program's maps after an RCU grace period.
    assert.ok(await eventually(() => !bpftoolIds('map').has(mapId)), 'the map outlived its unloaded object');
    const gone = (await c.call('unload_program', { object_id: loaded.object_id })).structuredContent;
    assert.equal(gone.error.type, 'PROGRAM_NOT_FOUND');
  } finally {
    await c.close();
  }
});

test('pin_object keeps a map after the session; unpin_object lets it go', async () => {
  const prefix = `/sys/fs/bpf/ebpf-mcp-test-pins-${process.pid}`;
  const c = await connect(['-t', 'stdio', '--enable-tools', 'all', '--pin-prefix', prefix]);
  let mapId = 0;
  try {
    const loaded = (await c.call('load_program', { source: { type: 'file', path: fixture('counters') }, programs: ['tp_getpid'] })).structuredContent;
    mapId = loaded.maps.find((m: { name: string }) => m.name === 'tp_counts').id;
    const foreign = (await c.call('pin_object', { kind: 'map', id: 1, path: 'x' })).structuredContent;
    assert.equal(foreign.error.type, 'PERMISSION_DENIED');
    const pinned = (await c.call('pin_object', { kind: 'map', id: mapId, path: 'app/counts' })).structuredContent;
    assert.equal(pinned.path, `${prefix}/app/counts`);
    await c.close();
    assert.ok(await eventually(() => !bpftoolIds('prog').has(loaded.program_id)), 'the program is released with the session');
    assert.ok(bpftoolIds('map').has(mapId), 'the pinned map outlived the session');

    const d = await connect(['-t', 'stdio', '--enable-tools', 'unpin_object', '--pin-prefix', prefix]);
    try {
      const escape = (await d.call('unpin_object', { path: '../../etc' })).structuredContent;
      assert.equal(escape.error.type, 'VALIDATION_ERROR');
      const unpinned = (await d.call('unpin_object', { path: 'app/counts' })).structuredContent;
      assert.deepEqual([unpinned.kind, unpinned.id], ['map', mapId]);
      assert.ok(!existsSync(`${prefix}/app/counts`));
      assert.ok(await eventually(() => !bpftoolIds('map').has(mapId)), 'the unpinned map was not released');
    } finally {
      await d.close();
    }
  } finally {
    await c.close();
    rmSync(prefix, { recursive: true, force: true });
  }
});
