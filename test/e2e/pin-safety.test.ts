/**
 * Pins and partial failure through the real server: a call that fails after
 * attaching or pinning leaves no link and no pin; unpin_object refuses
 * symbolic links and paths that resolve outside the prefix; detach_link
 * reports as unpinned only pins that are gone.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { bpftoolIds, bpftoolLinksOf, eventually } from '../helpers/bpftool.js';
import { connect } from '../helpers/client.js';
import { fixture } from '../helpers/fixtures.js';

const TRACEPOINT = { tracepoint: { category: 'syscalls', name: 'sys_enter_getpid' } };
const prefix = `/sys/fs/bpf/ebpf-mcp-test-pinsafety-${process.pid}`;
const outside = `/sys/fs/bpf/ebpf-mcp-test-outside-${process.pid}`;
const scratch = mkdtempSync(join(tmpdir(), 'ebpf-mcp-pinsafety-'));
after(() => {
  for (const dir of [prefix, outside, scratch]) rmSync(dir, { recursive: true, force: true });
});

const LOAD = { source: { type: 'file', path: fixture('counters') }, programs: ['tp_getpid'] };

test('a pin record that cannot be written fails attach_program and pin_object, and leaves no link and no pin', async () => {
  const notADirectory = join(scratch, 'record');
  writeFileSync(notADirectory, '');
  const c = await connect(['-t', 'stdio', '--enable-tools', 'all', '--pin-prefix', prefix], { env: { EBPF_MCP_PIN_RECORD: notADirectory } });
  try {
    const loaded = (await c.call('load_program', LOAD)).structuredContent;
    const attached = (await c.call('attach_program', { program_id: loaded.program_id, attachment: TRACEPOINT, pin_path: 'a/link' })).structuredContent;
    assert.equal(attached.success, false);
    assert.equal(attached.error.type, 'SYSTEM_ERROR');
    assert.ok(!existsSync(`${prefix}/a/link`), 'the failed call left its pin');
    assert.deepEqual(bpftoolLinksOf(loaded.program_id), [], 'the failed call left its link attached');

    const mapId = loaded.maps.find((m: { name: string }) => m.name === 'tp_counts').id;
    const pinned = (await c.call('pin_object', { kind: 'map', id: mapId, path: 'a/map' })).structuredContent;
    assert.equal(pinned.error.type, 'SYSTEM_ERROR');
    assert.ok(!existsSync(`${prefix}/a/map`), 'the failed pin_object left its pin');
  } finally {
    await c.close();
  }
});

test('unpin_object refuses a symbolic link in the prefix, one on the way down, and paths out of it', async () => {
  const out = await connect(['-t', 'stdio', '--enable-tools', 'all', '--pin-prefix', outside]);
  const c = await connect(['-t', 'stdio', '--enable-tools', 'all', '--pin-prefix', prefix]);
  try {
    const loaded = (await out.call('load_program', LOAD)).structuredContent;
    const mapId = loaded.maps.find((m: { name: string }) => m.name === 'tp_counts').id;
    assert.equal((await out.call('pin_object', { kind: 'map', id: mapId, path: 'd/m' })).structuredContent.success, true);
    const own = (await c.call('load_program', LOAD)).structuredContent;
    const ownMap = own.maps.find((m: { name: string }) => m.name === 'tp_counts').id;
    assert.equal((await c.call('pin_object', { kind: 'map', id: ownMap, path: 'mine' })).structuredContent.success, true);
    symlinkSync(`${outside}/d/m`, `${prefix}/to-pin`);
    symlinkSync(`${outside}/d`, `${prefix}/to-dir`);
    const cases: [string, RegExp][] = [
      ['to-pin', /to-pin is a symbolic link/],
      ['to-dir/m', /to-dir is a symbolic link/],
      [`${prefix}/to-pin`, /is a symbolic link/],
      ['../' + outside.slice('/sys/fs/bpf/'.length) + '/d/m', /no "\.\."/],
      [`${outside}/d/m`, /must be under the pin prefix/],
      ['nothing-here', /nothing is pinned/],
    ];
    for (const [path, message] of cases) {
      const r = (await c.call('unpin_object', { path })).structuredContent;
      assert.equal(r.error?.type, 'VALIDATION_ERROR', path);
      assert.match(r.error.message, message, path);
    }
    assert.ok(existsSync(`${outside}/d/m`), 'a pin outside the prefix was removed');
    const mine = (await c.call('unpin_object', { path: 'mine' })).structuredContent;
    assert.deepEqual([mine.kind, mine.id], ['map', ownMap]);
    assert.ok(!existsSync(`${prefix}/mine`));
  } finally {
    await c.close();
    await out.close();
  }
});

test('detach_link of a link pinned by an earlier session removes the pin and reports it', async () => {
  const a = await connect(['-t', 'stdio', '--enable-tools', 'all', '--pin-prefix', prefix]);
  let linkId = 0;
  try {
    const loaded = (await a.call('load_program', LOAD)).structuredContent;
    const attached = (await a.call('attach_program', { program_id: loaded.program_id, attachment: TRACEPOINT, pin_path: 'earlier/link' })).structuredContent;
    assert.equal(attached.success, true);
    linkId = attached.link_id;
  } finally {
    await a.close();
  }
  assert.ok(bpftoolIds('link').has(linkId), 'the pinned link outlived its session');
  const b = await connect(['-t', 'stdio', '--enable-tools', 'all', '--pin-prefix', prefix]);
  try {
    const detached = (await b.call('detach_link', { link_id: linkId })).structuredContent;
    assert.deepEqual(detached.link_ids, [linkId], JSON.stringify(detached));
    assert.deepEqual(detached.unpinned, [`${prefix}/earlier/link`]);
    assert.ok(!existsSync(`${prefix}/earlier/link`), 'detach_link reported a pin it left in place');
    assert.ok(await eventually(() => !bpftoolIds('link').has(linkId)), 'the link is still attached');
  } finally {
    await b.close();
  }
});
