/**
 * Issue 3's lifecycle through a real MCP client: attach, count, inspect,
 * disconnect; pins that outlive the session; pin path refusals; leases;
 * attach errors; and 50 load-attach-SIGKILL cycles that must leak nothing.
 */
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { test } from 'node:test';
import { bpftoolIds, eventually, newProgramsNamed } from '../helpers/bpftool.js';
import { type Connected, connect } from '../helpers/client.js';
import { gatedOn } from '../helpers/features.js';
import { fixture } from '../helpers/fixtures.js';
import { mapValue, runWorkload } from '../helpers/kernel.js';

const GETPID = { tracepoint: { category: 'syscalls', name: 'sys_enter_getpid' } };

/** A fresh pin prefix for one test, under /sys/fs/bpf/ebpf-mcp-test-*. */
const pinPrefix = (tag: string) => `/sys/fs/bpf/ebpf-mcp-test-${process.pid}-${tag}`;

interface Loaded {
  /** Kernel program ids by name. */
  progs: Record<string, number>;
  mapIds: number[];
  /** Kernel id of the tp_counts map. */
  counts: number;
}

/** Loads the counters fixture (only `programs`) through the client. */
async function loadCounters(c: Connected, programs = ['tp_getpid']): Promise<Loaded> {
  const s = (await c.call('load_program', { source: { type: 'file', path: fixture('counters') }, programs })).structuredContent;
  assert.equal(s.success, true, JSON.stringify(s.error));
  const maps = s.maps as { name: string; id: number }[];
  const counts = maps.find((m) => m.name === 'tp_counts')?.id;
  assert.ok(counts, 'load_program returned no tp_counts map');
  return {
    progs: Object.fromEntries((s.programs as { name: string; id: number }[]).map((p) => [p.name, p.id])),
    mapIds: maps.map((m) => m.id),
    counts,
  };
}

/** Attaches a program to the getpid tracepoint (plus `extra` options) and returns the result. */
async function attachGetpid(c: Connected, programId: number, extra: Record<string, unknown> = {}): Promise<Record<string, any>> {
  const s = (await c.call('attach_program', { program_id: programId, attachment: GETPID, ...extra })).structuredContent;
  assert.equal(s.success, true, JSON.stringify(s.error));
  assert.equal(typeof s.link_id, 'number');
  return s;
}

/** Calls attach_program expecting a typed error; checks the connection still answers; returns the error. */
async function refused(c: Connected, args: Record<string, unknown>, type: string, field?: string): Promise<Record<string, any>> {
  const r = await c.call('attach_program', args);
  const what = JSON.stringify(args);
  assert.equal(r.isError, true, `${what}: expected an error, got ${JSON.stringify(r.structuredContent)}`);
  const e = r.structuredContent.error;
  assert.equal(r.structuredContent.success, false, what);
  assert.equal(e.type, type, `${what}: ${JSON.stringify(e)}`);
  if (field !== undefined) assert.equal(e.context.field, field, `${what}: ${JSON.stringify(e)}`);
  const next = await c.call('inspect_state', { fields: ['system'] });
  assert.equal(next.structuredContent.success, true, `the server did not answer after ${what}`);
  return e;
}

/** inspect_state's `fields` list, optionally owned_only. */
async function inspect(c: Connected, field: 'links' | 'pins', ownedOnly = false): Promise<Record<string, any>[]> {
  const s = (await c.call('inspect_state', { fields: [field], filters: { owned_only: ownedOnly } })).structuredContent;
  assert.equal(s.success, true, JSON.stringify(s.error));
  return s[field];
}

const gone = (kind: 'prog' | 'map' | 'link', ids: number[]) => () => {
  const now = bpftoolIds(kind);
  return ids.every((id) => !now.has(id));
};

test('done when: a tracepoint attached through MCP counts 200 getpids, inspect lists the link, disconnect removes link, program and maps', async () => {
  const c = await connect();
  let loaded: Loaded | undefined;
  let linkId = 0;
  let closedAt = 0;
  try {
    loaded = await loadCounters(c);
    const progId = loaded.progs.tp_getpid as number;
    const a = await attachGetpid(c, progId);
    linkId = a.link_id;
    assert.equal(a.program_id, progId);
    assert.equal(a.attachment_point, 'tracepoint/syscalls/sys_enter_getpid');
    assert.equal(a.pin_path, null);
    assert.equal(a.expires_at, null);
    assert.ok(bpftoolIds('link').has(linkId), `bpftool does not show link ${linkId}`);

    const pid = runWorkload(['getpid', '200']);
    assert.equal(mapValue(loaded.counts, pid), 200);

    const links = await inspect(c, 'links', true);
    assert.equal(links.length, 1, JSON.stringify(links));
    const l = links[0] as Record<string, any>;
    assert.equal(l.id, linkId);
    assert.equal(l.target, 'tracepoint/sys_enter_getpid');
    assert.equal(l.owned, true);
    assert.equal(l.link_handle, a.link_handle);
    assert.equal(l.program_id, progId);
  } finally {
    closedAt = Date.now();
    await c.close();
  }
  const ids = loaded as Loaded;
  assert.ok(await eventually(gone('link', [linkId]), 1000), `link ${linkId} outlived the client`);
  assert.ok(await eventually(gone('prog', Object.values(ids.progs)), 1000), 'the program outlived the client');
  assert.ok(await eventually(gone('map', ids.mapIds), 1000), 'maps outlived the client');
  assert.ok(Date.now() - closedAt <= 1000, `release took ${Date.now() - closedAt} ms after disconnect`);
});

test('a pinned link outlives its session, keeps counting, is shown to the next session, and goes with its pin', async () => {
  const prefix = pinPrefix('pins');
  const args = ['-t', 'stdio', '--enable-tools', 'unpin_object', '--pin-prefix', prefix];
  const a = await connect(args);
  let b: Connected | undefined;
  let linkId = 0;
  let progId = 0;
  try {
    const loaded = await loadCounters(a);
    progId = loaded.progs.tp_getpid as number;
    const before = Date.now();
    const r = await attachGetpid(a, progId, { pin_path: 'demo/getpid' });
    linkId = r.link_id;
    assert.equal(r.pin_path, `${prefix}/demo/getpid`);
    assert.ok(existsSync(r.pin_path));

    const pins = await inspect(a, 'pins');
    assert.equal(pins.length, 1, JSON.stringify(pins));
    const p = pins[0] as Record<string, any>;
    assert.equal(p.path, r.pin_path);
    assert.equal(p.kind, 'link');
    assert.equal(p.id, linkId);
    assert.equal(p.this_session, true);
    assert.equal(typeof p.pinned_by_session, 'string');
    assert.ok(p.pinned_by_session.length > 0);
    const pinnedAt = Date.parse(p.pinned_at);
    assert.ok(pinnedAt >= before - 1000 && pinnedAt <= Date.now() + 1000, `pinned_at ${p.pinned_at}`);

    await a.close();
    assert.ok(bpftoolIds('link').has(linkId), 'the pinned link went with its session');
    const pid = runWorkload(['getpid', '75']);
    assert.equal(mapValue(loaded.counts, pid), 75, 'the pinned link stopped counting after disconnect');

    b = await connect(args);
    const seen = await inspect(b, 'pins');
    assert.deepEqual(
      seen.map((x) => [x.path, x.kind, x.id, x.this_session, x.pinned_by_session, x.pinned_at]),
      [[r.pin_path, 'link', linkId, false, p.pinned_by_session, p.pinned_at]],
    );
  } finally {
    await a.close();
    await b?.close();
    rmSync(prefix, { recursive: true, force: true });
  }
  assert.ok(await eventually(gone('link', [linkId]), 1000), `link ${linkId} outlived its pin`);
  assert.ok(await eventually(gone('prog', [progId]), 1000), `program ${progId} outlived its pinned link`);
});

test('pin paths outside the prefix, with "..", empty, or already taken are refused as VALIDATION_ERROR on pin_path', async () => {
  const prefix = pinPrefix('refuse');
  const c = await connect(['-t', 'stdio', '--enable-tools', 'unpin_object', '--pin-prefix', prefix]);
  let linkId = 0;
  try {
    const progId = (await loadCounters(c)).progs.tp_getpid as number;
    linkId = (await attachGetpid(c, progId, { pin_path: 'taken' })).link_id;
    for (const name of ['../escape', '/sys/fs/bpf/elsewhere', 'a/../../b', '', 'taken']) {
      await refused(c, { program_id: progId, attachment: GETPID, pin_path: name }, 'VALIDATION_ERROR', 'pin_path');
    }
    assert.ok(!existsSync('/sys/fs/bpf/escape') && !existsSync('/sys/fs/bpf/elsewhere') && !existsSync('/sys/fs/bpf/b'));
    const links = await inspect(c, 'links', true);
    assert.deepEqual(
      links.map((l) => l.id),
      [linkId],
      'a refused attach left a link behind',
    );
  } finally {
    await c.close();
    rmSync(prefix, { recursive: true, force: true });
  }
  assert.ok(await eventually(gone('link', [linkId]), 1000), `link ${linkId} outlived its pin`);
});

test('a lease detaches its link when it runs out, and removes its pin', async () => {
  const prefix = pinPrefix('lease');
  const c = await connect(['-t', 'stdio', '--enable-tools', 'unpin_object', '--pin-prefix', prefix]);
  const made: number[] = [];
  try {
    const loaded = await loadCounters(c);
    const progId = loaded.progs.tp_getpid as number;
    const before = Date.now();
    const r = await attachGetpid(c, progId, { ttl_seconds: 1 });
    const after = Date.now();
    made.push(r.link_id);
    const expires = Date.parse(r.expires_at);
    assert.ok(expires >= before + 1000 - 50 && expires <= after + 1000 + 50, `expires_at ${r.expires_at} is not ~1 s ahead`);
    assert.ok(bpftoolIds('link').has(r.link_id));
    const listed = await inspect(c, 'links', true);
    assert.deepEqual(
      listed.map((l) => [l.id, l.expires_at]),
      [[r.link_id, r.expires_at]],
    );

    assert.ok(await eventually(gone('link', [r.link_id]), 3000), `leased link ${r.link_id} still attached after 3 s`);
    assert.ok(bpftoolIds('prog').has(progId), 'the lease took the session’s program with it');
    assert.deepEqual(await inspect(c, 'links', true), [], 'inspect_state still lists the expired link');
    const pid = runWorkload(['getpid', '20']);
    assert.equal(mapValue(loaded.counts, pid), undefined, 'the program still counts after its lease ran out');

    const pinned = await attachGetpid(c, progId, { ttl_seconds: 1, pin_path: 'lease/getpid' });
    made.push(pinned.link_id);
    assert.equal(pinned.pin_path, `${prefix}/lease/getpid`);
    assert.ok(existsSync(pinned.pin_path));
    assert.ok(await eventually(() => !existsSync(pinned.pin_path), 3000), 'the pin outlived its lease');
    assert.ok(await eventually(gone('link', [pinned.link_id]), 1000), `leased pinned link ${pinned.link_id} still attached`);
    assert.deepEqual(await inspect(c, 'pins'), []);
  } finally {
    await c.close();
    rmSync(prefix, { recursive: true, force: true });
  }
  assert.ok(await eventually(gone('link', made), 1000));
});

test('attach errors through MCP are typed, and the connection keeps answering', async (t) => {
  const c = await connect();
  const other = await connect();
  try {
    const mine = await loadCounters(c, ['tp_getpid', 'kprobe_hit']);
    const theirs = await loadCounters(other);
    const theirProg = theirs.progs.tp_getpid as number;
    const tp = mine.progs.tp_getpid as number;

    await t.test('a program another client loaded: PERMISSION_DENIED', async () => {
      const e = await refused(c, { program_id: theirProg, attachment: GETPID }, 'PERMISSION_DENIED');
      assert.equal(e.context.program_id, theirProg);
    });
    await t.test('a program id that does not exist: PROGRAM_NOT_FOUND', async () => {
      await refused(c, { program_id: 2147483000, attachment: GETPID }, 'PROGRAM_NOT_FOUND');
    });
    await t.test('two attachment kinds: VALIDATION_ERROR on attachment', async () => {
      await refused(c, { program_id: tp, attachment: { ...GETPID, raw_tracepoint: { name: 'sys_enter' } } }, 'VALIDATION_ERROR', 'attachment');
    });
    await t.test('no attachment kind: VALIDATION_ERROR on attachment', async () => {
      await refused(c, { program_id: tp, attachment: {} }, 'VALIDATION_ERROR', 'attachment');
    });
    await t.test('kprobe without a kprobe PMU: UNSUPPORTED_BPF_FEATURE naming the getpid tracepoint', async (st) => {
      const attachment = { kprobe: { function: '__x64_sys_getpid' } };
      const attach = { program_id: mine.progs.kprobe_hit, attachment };
      await gatedOn(
        st,
        'kprobe',
        async () => {
          const k = await connect();
          try {
            const own = await loadCounters(k, ['kprobe_hit']);
            const r = await k.call('attach_program', { program_id: own.progs.kprobe_hit, attachment });
            assert.equal(r.isError, undefined, JSON.stringify(r.structuredContent));
          } finally {
            await k.close();
          }
        },
        async () => {
          const e = await refused(c, attach, 'UNSUPPORTED_BPF_FEATURE');
          assert.equal(e.context.field, 'attachment.kprobe');
          assert.ok(
            e.context.alternatives.some(
              (a: { kind: string; settings?: { category: string; name: string } }) =>
                a.kind === 'tracepoint' && a.settings?.category === 'syscalls' && a.settings.name === 'sys_enter_getpid',
            ),
            JSON.stringify(e.context.alternatives),
          );
        },
      );
    });
    assert.deepEqual(await inspect(c, 'links', true), [], 'a refused attach left a link behind');
    assert.deepEqual(await inspect(other, 'links', true), [], 'another client attached the program it loaded');
  } finally {
    await c.close();
    await other.close();
  }
});

test('50 load-attach-SIGKILL cycles leave no program, map or link behind', async (t) => {
  const CYCLES = 50;
  const kinds = ['prog', 'map', 'link'] as const;
  const before = { prog: bpftoolIds('prog') };
  const made: Record<(typeof kinds)[number], number[]> = { prog: [], map: [], link: [] };
  const started = Date.now();
  for (let i = 0; i < CYCLES; i++) {
    const c = await connect();
    try {
      const loaded = await loadCounters(c);
      const progId = loaded.progs.tp_getpid as number;
      made.prog.push(progId);
      made.map.push(...loaded.mapIds);
      const linkId: number = (await attachGetpid(c, progId)).link_id;
      made.link.push(linkId);
      assert.ok(bpftoolIds('link').has(linkId), `cycle ${i}: link ${linkId} is not in the kernel`);
    } catch (e) {
      throw new Error(`cycle ${i}: ${e instanceof Error ? e.message : String(e)}\nserver stderr:\n${c.stderr().slice(-2000)}`, { cause: e });
    } finally {
      try {
        process.kill(c.pid, 'SIGKILL');
      } catch {
        // already exited
      }
      await c.close().catch(() => {});
    }
  }
  const perCycle = (Date.now() - started) / CYCLES;
  t.diagnostic(`${CYCLES} cycles, ${perCycle.toFixed(0)} ms per cycle`);

  // A leak is an object these sessions made that is still there: every id they reported, and any program of the
  // fixture's that appeared during the cycles (one the server made but did not report). Others' objects do not count.
  const ours = () => newProgramsNamed(before.prog, ['tp_getpid']);
  const gone = () => kinds.every((k) => made[k].every((id) => !bpftoolIds(k).has(id))) && ours().length === 0;
  await eventually(gone, 2000);
  for (const k of kinds) {
    const now = bpftoolIds(k);
    assert.deepEqual(
      made[k].filter((id) => now.has(id)),
      [],
      `${k} ids made by the killed sessions are still in the kernel`,
    );
  }
  assert.deepEqual(ours(), [], 'tp_getpid programs appeared during the cycles and stayed');
});
