import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { type Connected, connect } from '../helpers/client.js';
import { fixture } from '../helpers/fixtures.js';

let c: Connected;
let maps: Record<string, number>;
let cpus: number;

/** A call that succeeded, its structured result. */
async function op(args: Record<string, unknown>): Promise<Record<string, any>> {
  const r = await c.call('map_batch_op', args);
  assert.notEqual(r.isError, true, JSON.stringify(r.structuredContent));
  return r.structuredContent;
}

/** A call that failed with `type`, its error. */
async function refused(args: Record<string, unknown>, type: string): Promise<Record<string, any>> {
  const r = await c.call('map_batch_op', args);
  assert.equal(r.isError, true, JSON.stringify(r.structuredContent));
  assert.equal(r.structuredContent.error.type, type, JSON.stringify(r.structuredContent.error));
  return r.structuredContent.error;
}

/** Loads `name` and returns its maps by name. */
async function load(name: string, programs: string[]): Promise<Record<string, number>> {
  const loaded = (await c.call('load_program', { source: { type: 'file', path: fixture(name) }, programs })).structuredContent;
  return Object.fromEntries(loaded.maps.map((m: { name: string; id: number }) => [m.name, m.id]));
}

before(async () => {
  c = await connect(['-t', 'stdio', '--enable-tools', 'map_batch_op']);
  maps = { ...(await load('map_ops', ['read_maps'])), ...(await load('multi', ['count_getpid'])) };
  cpus = Number(execFileSync('getconf', ['_NPROCESSORS_CONF'], { encoding: 'utf8' }));
});

after(async () => {
  await c.close();
});

test('struct-keyed hash: update then lookup round-trips exact values; bpftool reads the same bytes', async () => {
  const key = { pid: 4242, port: 443, proto: 6, comm: 'curl' };
  const value = { packets: 7, bytes: '18446744073709551615', tag: 'web' };
  const up = await op({ map_id: maps.flows, op: 'update', entries: [{ key, value }] });
  assert.deepEqual([up.succeeded, up.failed, up.encoding], [1, 0, { key: 'btf', value: 'btf' }]);
  const got = await op({ map_id: maps.flows, op: 'lookup', entries: [{ key }] });
  assert.deepEqual(got.results, [{ key, ok: true, value }]);

  // Independent witness: bpftool looks the key up by its raw bytes (u32 pid, u16 port, u8 proto, char comm[9]).
  const raw = Buffer.alloc(16);
  raw.writeUInt32LE(4242, 0);
  raw.writeUInt16LE(443, 4);
  raw.writeUInt8(6, 6);
  raw.write('curl', 7);
  const seen = JSON.parse(execFileSync('bpftool', ['-j', 'map', 'lookup', 'id', String(maps.flows), 'key', ...[...raw].map(String)], { encoding: 'utf8' }));
  const bytes = Buffer.alloc(24);
  bytes.writeBigUInt64LE(7n, 0);
  bytes.writeBigUInt64LE(2n ** 64n - 1n, 8);
  bytes.write('web', 16);
  assert.deepEqual(seen.value.map((b: string) => Number(b)), [...bytes]);
});

test('hash: a batch of updates, then delete says missing per entry on lookup and on a second delete', async () => {
  const entries = [1, 2, 3].map((k) => ({ key: k, value: k * 100 }));
  const up = await op({ map_id: maps.calls_by_tgid, op: 'update', entries });
  assert.equal(up.succeeded, 3);
  const del = await op({ map_id: maps.calls_by_tgid, op: 'delete', entries: [{ key: 2 }] });
  assert.equal(del.results[0].ok, true);
  const got = await op({ map_id: maps.calls_by_tgid, op: 'lookup', entries: [1, 2, 3].map((k) => ({ key: k })) });
  assert.deepEqual(
    got.results.map((r: Record<string, any>) => (r.ok ? r.value : r.error.errno_name)),
    [100, 'ENOENT', 300],
  );
  assert.equal(got.results[1].error.type, 'MAP_ACCESS_ERROR');
  const again = await op({ map_id: maps.calls_by_tgid, op: 'delete', entries: [{ key: 2 }] });
  assert.equal(again.results[0].error.errno_name, 'ENOENT');
});

test('flags noexist on an existing key fails that entry with EEXIST; the other entry is added', async () => {
  const r = await op({ map_id: maps.calls_by_tgid, op: 'update', flags: 'noexist', entries: [{ key: 1, value: 5 }, { key: 9, value: 9 }] });
  assert.deepEqual([r.results[0].ok, r.results[0].error?.errno_name, r.results[1].ok], [false, 'EEXIST', true]);
  const got = await op({ map_id: maps.calls_by_tgid, op: 'lookup', entries: [{ key: 1 }, { key: 9 }] });
  assert.deepEqual(got.results.map((x: Record<string, any>) => x.value), [100, 9], 'noexist overwrote the existing key');
});

test('array: update then lookup by index; delete is refused', async () => {
  await op({ map_id: maps.getpid_calls, op: 'update', entries: [{ key: 0, value: '9007199254740993' }] });
  const got = await op({ map_id: maps.getpid_calls, op: 'lookup', entries: [{ key: 0 }] });
  assert.equal(got.results[0].value, '9007199254740993');
  await refused({ map_id: maps.getpid_calls, op: 'delete', entries: [{ key: 0 }] }, 'MAP_ACCESS_ERROR');
});

test('per-CPU array and hash: distinct values per CPU read back exactly', async () => {
  const values = Array.from({ length: cpus }, (_, i) => 1000 + i);
  for (const map of [maps.xdp_packets, maps.per_cpu_totals]) {
    const up = await op({ map_id: map, op: 'update', entries: [{ key: 3, value: values }] });
    assert.equal(up.succeeded, 1, JSON.stringify(up.results));
    const got = await op({ map_id: map, op: 'lookup', entries: [{ key: 3 }] });
    assert.deepEqual(got.results[0].values, values);
    assert.equal(got.per_cpu, true);
  }
  const short = await refused({ map_id: maps.xdp_packets, op: 'update', entries: [{ key: 0, value: [1] }] }, 'VALIDATION_ERROR');
  assert.equal(short.context.field, 'entries[0].value');
});

test('a full hash refuses the next new key with RESOURCE_LIMIT_EXCEEDED naming max_entries', async () => {
  const r = await op({ map_id: maps.two_slots, op: 'update', entries: [1, 2, 3].map((k) => ({ key: k, value: k })) });
  assert.deepEqual(r.results.map((x: Record<string, any>) => x.ok), [true, true, false]);
  assert.deepEqual([r.results[2].error.type, r.results[2].error.errno_name, r.results[2].error.max_entries], ['RESOURCE_LIMIT_EXCEEDED', 'E2BIG', 2]);
});

test('wrong shapes are VALIDATION_ERROR naming the field', async () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ map_id: maps.flows, op: 'update', entries: [{ key: { pid: 1, nope: 2 }, value: {} }] }, 'entries[0].key.nope'],
    [{ map_id: maps.flows, op: 'update', entries: [{ key: { pid: 1 }, value: { packets: -1 } }] }, 'entries[0].value.packets'],
    [{ map_id: maps.flows, op: 'update', entries: [{ key: { comm: 'much too long' }, value: {} }] }, 'entries[0].key.comm'],
    [{ map_id: maps.calls_by_tgid, op: 'update', entries: [{ key: 1 }] }, 'entries[0].value'],
    [{ map_id: maps.calls_by_tgid, op: 'lookup', flags: 'exist', entries: [{ key: 1 }] }, 'flags'],
    [{ map_id: maps.calls_by_tgid, op: 'delete', entries: [{ key: 1 }, { key: 2, value: 2 }] }, 'entries[1].value'],
    [{ map_id: maps.calls_by_tgid, op: 'lookup', entries: [{ key: 'x' }] }, 'entries[0].key'],
  ];
  for (const [args, field] of cases) {
    const e = await refused(args, 'VALIDATION_ERROR');
    assert.equal(e.context.field, field, JSON.stringify(e));
  }
  await refused({ map_id: maps.flows, op: 'lookup', entries: [] }, 'VALIDATION_ERROR');
});

test('a frozen map (by bpftool, or .rodata by libbpf) refuses update with MAP_ACCESS_ERROR saying it is frozen; lookup still works', async () => {
  await op({ map_id: maps.per_cpu_totals, op: 'update', entries: [{ key: 1, value: Array(cpus).fill(1) }] });
  execFileSync('bpftool', ['map', 'freeze', 'id', String(maps.per_cpu_totals)]);
  const e = await refused({ map_id: maps.per_cpu_totals, op: 'update', entries: [{ key: 1, value: Array(cpus).fill(2) }] }, 'MAP_ACCESS_ERROR');
  assert.match(e.message, /frozen/);
  const got = await op({ map_id: maps.per_cpu_totals, op: 'lookup', entries: [{ key: 1 }] });
  assert.deepEqual(got.results[0].values, Array(cpus).fill(1));
  const rodata = Object.entries(maps).find(([name]) => name.endsWith('.rodata'));
  assert.ok(rodata, `no .rodata map in ${Object.keys(maps).join(', ')}`);
  const frozenByLibbpf = await refused({ map_id: rodata[1], op: 'update', entries: [{ key: 0, value: {} }] }, 'MAP_ACCESS_ERROR');
  assert.match(frozenByLibbpf.message, /frozen/);
});

test('a map without BTF takes and gives hex of exactly its key and value size; BPF_F_RDONLY binds only its creator', async () => {
  const pin = `/sys/fs/bpf/ebpf-mcp-test-nobtf-${process.pid}`;
  execFileSync('bpftool', ['map', 'create', pin, 'type', 'hash', 'key', '4', 'value', '8', 'entries', '4', 'name', 'nobtf', 'flags', '8']);
  try {
    const id = JSON.parse(execFileSync('bpftool', ['-j', 'map', 'show', 'pinned', pin], { encoding: 'utf8' })).id;
    const up = await op({ map_id: id, op: 'update', entries: [{ key: '01000000', value: '0200000000000000' }] });
    assert.deepEqual([up.succeeded, up.encoding], [1, { key: 'hex', value: 'hex' }]);
    const got = await op({ map_id: id, op: 'lookup', entries: [{ key: '01000000' }] });
    assert.equal(got.results[0].value, '0200000000000000');
    assert.match(execFileSync('bpftool', ['map', 'dump', 'id', String(id)], { encoding: 'utf8' }), /key: 01 00 00 00\s+value: 02 00 00 00 00 00 00 00/);
    const e = await refused({ map_id: id, op: 'update', entries: [{ key: '0100', value: '00' }] }, 'VALIDATION_ERROR');
    assert.equal(e.context.field, 'entries[0].key');
  } finally {
    rmSync(pin, { force: true });
  }
});

test("admin: another session's map is read and written through the foreign grant", async () => {
  const other = await connect(['-t', 'stdio', '--enable-tools', 'map_batch_op']);
  try {
    const r = await other.call('map_batch_op', { map_id: maps.calls_by_tgid, op: 'lookup', entries: [{ key: 1 }] });
    assert.equal(r.structuredContent.results[0].value, 100, JSON.stringify(r.structuredContent));
  } finally {
    await other.close();
  }
});

test('operator: map_batch_op is not listed, and a call is PERMISSION_DENIED; without --enable-tools it is not offered', async () => {
  const operator = await connect(['-t', 'stdio', '--role', 'operator', '--enable-tools', 'all']);
  try {
    const names = (await operator.client.listTools()).tools.map((t) => t.name);
    assert.ok(!names.includes('map_batch_op'), names.join(','));
    const r = await operator.call('map_batch_op', { map_id: maps.flows, op: 'lookup', entries: [{ key: {} }] });
    assert.equal(r.structuredContent.error.type, 'PERMISSION_DENIED');
    assert.match(r.structuredContent.error.message, /map_write/);
  } finally {
    await operator.close();
  }
  const plain = await connect(['-t', 'stdio']);
  try {
    assert.ok(!(await plain.client.listTools()).tools.some((t) => t.name === 'map_batch_op'));
  } finally {
    await plain.close();
  }
});
