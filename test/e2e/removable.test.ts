import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { test } from 'node:test';
import { bpftoolIds, eventually } from '../helpers/bpftool.js';
import { type Connected, connect } from '../helpers/client.js';
import { fixture } from '../helpers/fixtures.js';

const GETPID = { tracepoint: { category: 'syscalls', name: 'sys_enter_getpid' } };
const prefixFor = (tag: string) => `/sys/fs/bpf/ebpf-mcp-test-${process.pid}-${tag}`;

async function loadGetpid(c: Connected): Promise<{ programId: number; mapId: number }> {
  const s = (await c.call('load_program', { source: { type: 'file', path: fixture('counters') }, programs: ['tp_getpid'] })).structuredContent;
  assert.equal(s.success, true, JSON.stringify(s.error));
  return { programId: s.program_id, mapId: s.maps.find((m: { name: string }) => m.name === 'tp_counts').id };
}

const ownedLinks = async (c: Connected) => (await c.call('inspect_state', { fields: ['links'], filters: { owned_only: true } })).structuredContent.links;

test('pin_path and pin_object are refused with PERMISSION_DENIED naming the flag unless unpin_object is offered', async () => {
  const prefix = prefixFor('nounpin');
  const c = await connect(['-t', 'stdio', '--enable-tools', 'pin_object', '--pin-prefix', prefix]);
  try {
    const { programId, mapId } = await loadGetpid(c);
    const r = await c.call('attach_program', { program_id: programId, attachment: GETPID, pin_path: 'kept/link' });
    const e = r.structuredContent.error;
    assert.equal(e.type, 'PERMISSION_DENIED', JSON.stringify(r.structuredContent));
    assert.equal(
      e.message,
      'pin_path: a pin outlives the session and this server offers no unpin_object to remove it; start the server with --enable-tools unpin_object (or all) to pin',
    );
    assert.deepEqual(e.context, { field: 'pin_path', enable_with: '--enable-tools unpin_object' });
    assert.deepEqual(await ownedLinks(c), [], 'the refused attach left a link');
    assert.equal(existsSync(`${prefix}/kept/link`), false);

    const p = (await c.call('pin_object', { kind: 'map', id: mapId, path: 'kept/map' })).structuredContent.error;
    assert.equal(p.type, 'PERMISSION_DENIED');
    assert.equal(p.context.field, 'path');
    assert.equal(p.context.enable_with, '--enable-tools unpin_object');
    assert.equal(existsSync(`${prefix}/kept/map`), false);
  } finally {
    await c.close();
    rmSync(prefix, { recursive: true, force: true });
  }
});

test('summaries say what the attachment outlives: session only, lease, pin, pin with lease', async () => {
  const prefix = prefixFor('summaries');
  const c = await connect(['-t', 'stdio', '--enable-tools', 'unpin_object,detach_link', '--pin-prefix', prefix]);
  try {
    const { programId } = await loadGetpid(c);
    const attach = async (extra: Record<string, unknown>) => {
      const r = await c.call('attach_program', { program_id: programId, attachment: GETPID, ...extra });
      assert.equal(r.isError, undefined, JSON.stringify(r.structuredContent));
      const s = r.structuredContent;
      const text = (r.content[0] as { text: string }).text.split('\n')[0];
      const head = `Attached program ${programId} (1 link, link id ${s.link_id}, handle ${s.link_handle}). `;
      return { s, tail: text?.startsWith(head) ? text.slice(head.length) : text };
    };
    const detach = async (s: Record<string, any>) => assert.equal((await c.call('detach_link', { link_handle: s.link_handle })).structuredContent.success, true);
    const plain = await attach({});
    assert.equal(plain.tail, 'It runs until this session ends.');
    await detach(plain.s);
    const leased = await attach({ ttl_seconds: 600 });
    assert.equal(leased.tail, `The lease detaches it at ${leased.s.expires_at}, or when this session ends if sooner.`);
    await detach(leased.s);
    const pinned = await attach({ pin_path: 'p/one' });
    assert.equal(pinned.tail, `Pinned at ${prefix}/p/one, so it outlives this session until unpin_object removes the pin.`);
    assert.equal((await c.call('unpin_object', { path: 'p/one' })).structuredContent.success, true);
    assert.equal(existsSync(`${prefix}/p/one`), false);
    await detach(pinned.s);
    const both = await attach({ pin_path: 'p/two', ttl_seconds: 600 });
    assert.equal(both.tail, `Pinned at ${prefix}/p/two; the lease detaches and unpins it at ${both.s.expires_at}, or when this session ends if sooner.`);
  } finally {
    await c.close();
    rmSync(prefix, { recursive: true, force: true });
  }
});

test('a leased pinned link is unpinned and detached when its session ends before the lease', async () => {
  const prefix = prefixFor('leaseclose');
  const c = await connect(['-t', 'stdio', '--enable-tools', 'unpin_object', '--pin-prefix', prefix]);
  let linkId = 0;
  let kept = '';
  try {
    const { programId } = await loadGetpid(c);
    const s = (await c.call('attach_program', { program_id: programId, attachment: GETPID, pin_path: 'leased', ttl_seconds: 3600 })).structuredContent;
    assert.equal(s.success, true, JSON.stringify(s.error));
    linkId = s.link_id;
    kept = s.pin_path;
    assert.ok(existsSync(kept));
  } finally {
    await c.close();
  }
  try {
    assert.ok(await eventually(() => !existsSync(kept), 2000), 'the pin of a leased link outlived its session');
    assert.ok(await eventually(() => !bpftoolIds('link').has(linkId), 2000), `leased link ${linkId} still attached after its session ended`);
  } finally {
    rmSync(prefix, { recursive: true, force: true });
  }
});
