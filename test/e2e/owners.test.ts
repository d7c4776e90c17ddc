/**
 * Owners and attachments, through the SDK client: who holds each program, map
 * and link (pid and comm), what a perf event that bpftrace opened runs, which
 * programs of a load still need attaching, attaching a whole object at once
 * (all or none), and buffers whose writer is not attached saying so.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { bpftoolLinksOf, eventually } from '../helpers/bpftool.js';
import { type Connected, connect } from '../helpers/client.js';
import { catalogObject, fixture } from '../helpers/fixtures.js';
import { addToSet, pausedWorkload } from '../helpers/kernel.js';

const GETPID = { tracepoint: { category: 'syscalls', name: 'sys_enter_getpid' } };

/** Runs `body` with a server of its own, closed (and so everything it loaded released) at the end. */
async function withServer(body: (c: Connected) => Promise<void>): Promise<void> {
  const c = await connect();
  try {
    await body(c);
  } finally {
    await c.close();
  }
}

async function load(c: Connected, path: string): Promise<Record<string, any>> {
  const loaded = await c.call('load_program', { source: { type: 'file', path } });
  assert.equal(loaded.structuredContent.success, true, JSON.stringify(loaded.structuredContent.error));
  return { ...loaded.structuredContent, text: (loaded.content as { text: string }[])[0]?.text ?? '' };
}

const ids = (loaded: Record<string, any>): Record<string, number> =>
  Object.fromEntries([...loaded.programs, ...loaded.maps].map((x: { name: string; id: number }) => [x.name, x.id]));

/** One program as inspect_state lists it. */
async function programRow(c: Connected, id: number): Promise<Record<string, any>> {
  const s = (await c.call('inspect_state', { fields: ['programs'], filters: { program_id: id } })).structuredContent;
  assert.equal(s.success, true, JSON.stringify(s.error));
  assert.equal(s.programs.length, 1);
  return s.programs[0];
}

const commOf = (pid: number) => readFileSync(`/proc/${pid}/comm`, 'utf8').trim();

test("inspect_state: the test's own program, map and link are held by the server's pid; a tracepoint link is listed once", async () => {
  await withServer(async (c) => {
    const loaded = await load(c, fixture('pair'));
    const id = ids(loaded);
    const a = (await c.call('attach_program', { program_id: id.pair_enter, attachment: GETPID })).structuredContent;
    assert.equal(a.success, true, JSON.stringify(a.error));
    const server = [{ pid: c.pid, comm: commOf(c.pid) }];

    const p = await programRow(c, id.pair_enter as number);
    assert.deepEqual(p.holders, server);
    // The link's perf event is the server's too: it is the link's attachment, not a second one.
    assert.deepEqual(p.attached_to, ['tracepoint/sys_enter_getpid']);
    assert.equal(p.perf_attachments, undefined);
    assert.equal(p.owned, true);

    const s = (await c.call('inspect_state', { fields: ['maps', 'links'], filters: { program_id: id.pair_enter } })).structuredContent;
    assert.deepEqual(s.links.map((l: Record<string, unknown>) => [l.id, l.program_id, l.holders]), [[a.link_id, id.pair_enter, server]]);
    const targets = s.maps.find((m: { name: string }) => m.name === 'pair_targets');
    assert.deepEqual(targets.holders, server);
  });
});

test('inspect_state: a program bpftrace attached through a perf event, with its tracepoint and bpftrace as holder', async (t) => {
  const bpftrace = (() => {
    try {
      return execFileSync('which', ['bpftrace'], { encoding: 'utf8' }).trim();
    } catch {
      return '';
    }
  })();
  if (!bpftrace) return t.skip('bpftrace is not installed');
  const bt = spawn(bpftrace, ['-e', 'tracepoint:syscalls:sys_enter_getppid { @c = count(); }'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise((r) => bt.once('exit', r));
  try {
    await new Promise((r) => bt.stdout.once('data', r)); // "Attaching 1 probe..."
    const pid = bt.pid as number;
    // bpftool perf, the independent witness: the program bpftrace's perf event runs.
    let progId: number | undefined;
    assert.ok(
      await eventually(() => {
        const perf = JSON.parse(execFileSync('bpftool', ['-j', 'perf'], { encoding: 'utf8' }) || '[]') as { pid: number; prog_id: number; tracepoint?: string }[];
        progId = perf.find((e) => e.pid === pid && e.tracepoint === 'sys_enter_getppid')?.prog_id;
        return progId !== undefined;
      }, 5000),
      'bpftool perf never showed bpftrace attached',
    );
    await withServer(async (c) => {
      const p = await programRow(c, progId as number);
      const holder = { pid, comm: 'bpftrace' };
      assert.deepEqual(p.perf_attachments, [{ kind: 'tracepoint', target: 'tracepoint/sys_enter_getppid', holder }]);
      assert.deepEqual(p.attached_to, ['tracepoint/sys_enter_getppid']);
      assert.ok(p.holders.some((h: { pid: number; comm: string }) => h.pid === pid && h.comm === 'bpftrace'), JSON.stringify(p.holders));
      assert.equal(p.owned, false);
    });
  } finally {
    bt.kill('SIGINT');
    await exited;
  }
});

test('load_program lists every program as unattached, with the call that attaches them all', async () => {
  await withServer(async (c) => {
    const loaded = await load(c, catalogObject('syscall_latency'));
    const id = ids(loaded);
    assert.deepEqual(loaded.unattached, [
      { id: id.syscall_enter, name: 'syscall_enter', section: 'raw_tracepoint/sys_enter' },
      { id: id.syscall_exit, name: 'syscall_exit', section: 'raw_tracepoint/sys_exit' },
    ]);
    assert.ok(loaded.text.includes(`attach_program {object_id: "${loaded.object_id}", attachment: {auto: {}}}`), loaded.text);

    // Attaching only program_id leaves the histogram's writer out, and inspect_state says so.
    const one = (await c.call('attach_program', { program_id: loaded.program_id, attachment: { auto: {} } })).structuredContent;
    assert.equal(one.success, true, JSON.stringify(one.error));
    const read = await c.call('inspect_state', { fields: ['maps'], filters: { map_id: id.latency_us }, maps: { id: id.latency_us } });
    const row = read.structuredContent.maps[0];
    assert.deepEqual(row.unattached_users, [{ id: id.syscall_exit, name: 'syscall_exit' }]);
    assert.match(row.note, new RegExp(`: program ${id.syscall_exit} uses it but is not attached\\.`));
    assert.equal(read.structuredContent.map_entries.note, row.note);
    assert.ok((read.content as { text: string }[])[0]?.text.includes(row.note));
  });
});

test("attach_program {object_id, auto} attaches both programs; the histogram counts exactly the workload's getpids", async () => {
  await withServer(async (c) => {
    const loaded = await load(c, fixture('pair'));
    const id = ids(loaded);
    assert.deepEqual(
      loaded.unattached.map((p: { name: string }) => p.name),
      ['pair_enter', 'pair_exit'],
    );
    const a = (await c.call('attach_program', { object_id: loaded.object_id, attachment: { auto: {} } })).structuredContent;
    assert.equal(a.success, true, JSON.stringify(a.error));
    assert.deepEqual(
      a.attachments.map((x: Record<string, unknown>) => [x.name, x.program_id, x.attachment_point]),
      [
        ['pair_enter', id.pair_enter, 'tracepoint/syscalls/sys_enter_getpid'],
        ['pair_exit', id.pair_exit, 'tracepoint/syscalls/sys_exit_getpid'],
      ],
    );
    // bpftool sees exactly the links the result lists, one per program.
    for (const x of a.attachments) assert.deepEqual(bpftoolLinksOf(x.program_id), [x.link_id]);

    const w = await pausedWorkload(['getpid', '250']);
    addToSet(id.pair_targets as number, w.pid);
    await w.go();
    const entries = (await c.call('inspect_state', { fields: ['maps'], filters: { map_id: id.pair_latency }, maps: { id: id.pair_latency } })).structuredContent;
    assert.equal(entries.maps[0].note, undefined);
    assert.equal(entries.map_entries.entries[0].histogram.total, 250);
  });
});

test('attach_program {object_id, auto} is all or nothing: the failing program is named and no link is left', async () => {
  await withServer(async (c) => {
    const loaded = await load(c, fixture('half'));
    const id = ids(loaded);
    const r = (await c.call('attach_program', { object_id: loaded.object_id, attachment: { auto: {} } })).structuredContent;
    assert.equal(r.success, false);
    assert.equal(r.error.context.program, 'half_missing');
    assert.equal(r.error.context.program_id, id.half_missing);
    assert.equal(r.error.context.section, 'tracepoint/syscalls/sys_enter_no_such_call');
    assert.equal(r.error.context.detached_link_ids.length, 1);
    assert.ok(r.error.message.startsWith(`program ${id.half_missing} did not attach: `), 'named by id: its name and section are in the context');
    // The first program attached, then was detached again: bpftool sees no link of either.
    assert.deepEqual(bpftoolLinksOf(id.half_ok as number), []);
    assert.deepEqual(bpftoolLinksOf(id.half_missing as number), []);
    const s = (await c.call('inspect_state', { fields: ['links'], filters: { owned_only: true } })).structuredContent;
    assert.deepEqual(s.links, []);
  });
});

test('stream_events on a ring whose writer is not attached says so and names the program', async () => {
  await withServer(async (c) => {
    const loaded = await load(c, fixture('pair'));
    const id = ids(loaded);
    const stream = async () => {
      const r = await c.call('stream_events', { source: { object_id: loaded.object_id, map: 'pair_events' }, duration_ms: 200 });
      assert.equal(r.structuredContent.success, true, JSON.stringify(r.structuredContent.error));
      return { s: r.structuredContent, text: (r.content as { text: string }[])[0]?.text ?? '' };
    };
    const before = await stream();
    assert.deepEqual(before.s.events, []);
    assert.deepEqual(before.s.unattached_writers, [{ id: id.pair_exit, name: 'pair_exit' }]);
    assert.equal(
      before.s.writers_note,
      `No attached program writes map ${id.pair_events}: program ${id.pair_exit} uses it but is not attached. ` +
        `Attach with attach_program {object_id: "${loaded.object_id}", attachment: {auto: {}}}.`,
    );
    assert.ok(before.text.startsWith(before.s.writers_note), before.text);

    // The first program alone (load_program's program_id) does not write the ring: still said.
    const a = (await c.call('attach_program', { program_id: loaded.program_id, attachment: { auto: {} } })).structuredContent;
    assert.equal(a.success, true, JSON.stringify(a.error));
    assert.equal(a.program_id, id.pair_enter);
    const still = await stream();
    assert.equal(still.s.writers_note, before.s.writers_note);

    const b = (await c.call('attach_program', { program_id: id.pair_exit, attachment: { auto: {} } })).structuredContent;
    assert.equal(b.success, true, JSON.stringify(b.error));
    const writing = await stream();
    assert.equal(writing.s.writers_note, undefined);
    assert.equal(writing.s.unattached_writers, undefined);
  });
});

test('attach_program takes program_id or object_id, and object_id only with auto and without a pin', async () => {
  await withServer(async (c) => {
    const loaded = await load(c, fixture('pair'));
    const refused = async (args: Record<string, unknown>) => {
      const r = (await c.call('attach_program', args)).structuredContent;
      assert.equal(r.success, false);
      assert.equal(r.error.type, 'VALIDATION_ERROR');
      return r.error.context.field;
    };
    assert.equal(await refused({ attachment: { auto: {} } }), 'program_id');
    assert.equal(await refused({ program_id: loaded.program_id, object_id: loaded.object_id, attachment: { auto: {} } }), 'program_id');
    assert.equal(await refused({ object_id: loaded.object_id, attachment: GETPID }), 'attachment');
    assert.equal(await refused({ object_id: loaded.object_id, attachment: { auto: {} }, pin_path: 'owners/x' }), 'pin_path');
    assert.equal(await refused({ object_id: 'obj-99', attachment: { auto: {} } }), 'object_id');
    const s = (await c.call('inspect_state', { fields: ['links'], filters: { owned_only: true } })).structuredContent;
    assert.deepEqual(s.links, []);
  });
});
