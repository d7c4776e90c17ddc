/**
 * The catalog by name: its manifests as resources (readable before anything
 * is loaded) and in inspect_state, execsnoop loaded by name with a pid and
 * attached, parameters checked against the entry's schema, and an operator
 * loading by name under a digest list (the catalog is exempt).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type Connected, connect } from '../helpers/client.js';

const NAMES = ['execsnoop', 'opensnoop', 'tcpstates', 'tcplife', 'tcpconnect', 'exitsnoop', 'sigsnoop', 'oomkill', 'syscount', 'syscall_latency', 'runqlat', 'biolatency', 'biosnoop', 'profile', 'offcputime'];

let c: Connected;
const dir = mkdtempSync(join(tmpdir(), 'ebpf-mcp-manifest-'));
before(async () => {
  c = await connect();
});
after(async () => {
  await c.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A resource's JSON. */
async function resource(conn: Connected, uri: string): Promise<any> {
  const r = await conn.client.readResource({ uri });
  return JSON.parse((r.contents[0] as { text: string }).text);
}

test('ebpf://catalog and ebpf://catalog/<name> read before any load, listed, and the same as info and inspect_state say', async () => {
  const fresh = await connect();
  try {
    const list = await resource(fresh, 'ebpf://catalog');
    assert.deepEqual(list.map((e: { name: string }) => e.name), NAMES);
    for (const e of list) assert.ok(typeof e.question === 'string' && e.question.length > 20, JSON.stringify(e));
    const manifests = await Promise.all(NAMES.map((n) => resource(fresh, `ebpf://catalog/${n}`)));
    const uris = (await fresh.client.listResources()).resources.map((r) => r.uri);
    assert.deepEqual(uris, ['ebpf://policy', 'ebpf://catalog', ...NAMES.map((n) => `ebpf://catalog/${n}`)]);
    assert.deepEqual((await fresh.call('info')).structuredContent.catalog, list);
    const s = (await fresh.call('inspect_state', { fields: ['catalog'] })).structuredContent;
    assert.equal(s.success, true, JSON.stringify(s.error));
    assert.deepEqual(s.catalog, manifests);
    const exec = manifests[0];
    assert.equal(exec.object, 'exec_events.bpf.o');
    assert.deepEqual(exec.read, { buffer: 'events' });
    assert.equal(exec.attach, 'auto');
    assert.equal(exec.parameters.type, 'object');
    assert.equal(exec.parameters.additionalProperties, false);
    assert.equal(exec.parameters.properties.pid.type, 'integer');
    const named = (n: string) => manifests[NAMES.indexOf(n)];
    assert.deepEqual(named('biolatency').read, { map: 'latency_us', shape: 'histogram' });
    assert.deepEqual(Object.keys(named('sigsnoop').parameters.properties), ['pid', 'signal', 'failed_only']);
  } finally {
    await fresh.close();
  }
});

test('execsnoop by name with {pid}: only that process\'s execs, and the result says how to read them', async () => {
  // A shell that waits, then execs uname in place: its pid is known before the exec, and the exec keeps it.
  const sh = spawn('/bin/sh', ['-c', 'echo ready; read go; exec /bin/uname -r'], { stdio: ['pipe', 'pipe', 'inherit'] });
  await new Promise((r) => sh.stdout.once('data', r));
  const exited = new Promise((r) => sh.once('exit', r));
  const loaded = (await c.call('load_program', { source: { type: 'catalog', name: 'execsnoop', parameters: { pid: sh.pid } } })).structuredContent;
  assert.equal(loaded.success, true, JSON.stringify(loaded.error));
  assert.equal(loaded.object_name, 'exec_events');
  assert.deepEqual(loaded.catalog.read, { buffer: 'events' });
  assert.equal(loaded.catalog.name, 'execsnoop');
  assert.deepEqual(loaded.parameters, [{ name: 'target_tgid', type: '__u32', value: sh.pid }]);
  const attached = (await c.call('attach_program', { object_id: loaded.object_id, attachment: { auto: {} } })).structuredContent;
  assert.equal(attached.success, true, JSON.stringify(attached.error));
  // Other execs run meanwhile (this one's /bin/true): the program drops them, so no stream filter is needed.
  const pending = c.call('stream_events', { source: { object_id: loaded.object_id, map: 'events' }, duration_ms: 1500, max_events: 50 });
  await new Promise((r) => setTimeout(r, 250));
  spawn('/bin/true').once('error', () => undefined);
  sh.stdin.end('go\n');
  await exited;
  const s = (await pending).structuredContent;
  assert.equal(s.success, true, JSON.stringify(s.error));
  assert.deepEqual(s.events.map((e: { data: Record<string, unknown> }) => [e.data.pid, e.data.filename]), [[sh.pid, '/bin/uname']]);
});

test('opensnoop by name with {pid}: only that process\'s opens', async () => {
  // The shell opens the file itself (a redirection), while its child cat opens it too under another pid.
  const target = join(dir, 'opened');
  writeFileSync(target, 'x');
  const sh = spawn('/bin/sh', ['-c', `echo ready; read go; : < ${target}; cat ${target} > /dev/null`], { stdio: ['pipe', 'pipe', 'inherit'] });
  await new Promise((r) => sh.stdout.once('data', r));
  const exited = new Promise((r) => sh.once('exit', r));
  const loaded = (await c.call('load_program', { source: { type: 'catalog', name: 'opensnoop', parameters: { pid: sh.pid } } })).structuredContent;
  assert.equal(loaded.success, true, JSON.stringify(loaded.error));
  const attached = (await c.call('attach_program', { object_id: loaded.object_id, attachment: { auto: {} } })).structuredContent;
  assert.equal(attached.success, true, JSON.stringify(attached.error));
  const pending = c.call('stream_events', { source: { object_id: loaded.object_id, map: 'events' }, duration_ms: 1500, max_events: 50 });
  await new Promise((r) => setTimeout(r, 250));
  sh.stdin.end('go\n');
  await exited;
  const s = (await pending).structuredContent;
  assert.equal(s.success, true, JSON.stringify(s.error));
  const opens = s.events.map((e: { data: Record<string, unknown> }) => [e.data.pid, e.data.filename]);
  assert.ok(opens.every(([pid]: [number]) => pid === sh.pid), JSON.stringify(opens));
  assert.equal(opens.filter(([, f]: [number, string]) => f === target).length, 1, JSON.stringify(opens));
});

test('source.parameters is checked against the entry: an unknown name or a wrong type is VALIDATION_ERROR at source.parameters.<field>, listing the entry\'s', async () => {
  for (const [parameters, field] of [
    [{ x: 1 }, 'source.parameters.x'],
    [{ pid: 'one' }, 'source.parameters.pid'],
    [{ pid: -1 }, 'source.parameters.pid'],
  ] as const) {
    const r = await c.call('load_program', { source: { type: 'catalog', name: 'execsnoop', parameters } });
    assert.equal(r.isError, true);
    const e = r.structuredContent.error;
    assert.equal(e.type, 'VALIDATION_ERROR');
    assert.equal(e.context.field, field, JSON.stringify(e));
    assert.deepEqual(e.context.parameters.map((p: { name: string }) => p.name), ['pid']);
  }
  const sig = (await c.call('load_program', { source: { type: 'catalog', name: 'sigsnoop', parameters: { signal: 'SIGNOPE' } } })).structuredContent.error;
  assert.equal(sig.context.field, 'source.parameters.signal');
  const name = (await c.call('load_program', { source: { type: 'catalog', name: 'nosuch' } })).structuredContent.error;
  assert.equal(name.type, 'VALIDATION_ERROR');
  assert.match(name.context.field, /^source/);
  const both = (await c.call('load_program', { source: { type: 'catalog', name: 'syscount' }, parameters: { target_tgid: 1 } })).structuredContent.error;
  assert.equal(both.context.field, 'parameters');
});

test('an operator under a digest list loads by name (the catalog is exempt), with friendly parameters set as globals', async () => {
  const policy = join(dir, 'operator.json');
  writeFileSync(policy, JSON.stringify({ role: 'operator', sources: { allowed_sha256: ['0'.repeat(64)] } }), { mode: 0o600 });
  const op = await connect(['-t', 'stdio', '--policy', policy]);
  try {
    assert.equal((await op.call('info')).structuredContent.policy.role, 'operator');
    const loaded = (await op.call('load_program', { source: { type: 'catalog', name: 'sigsnoop', parameters: { signal: 'SIGUSR1', failed_only: true } } })).structuredContent;
    assert.equal(loaded.success, true, JSON.stringify(loaded.error));
    const values = Object.fromEntries(loaded.parameters.map((p: { name: string; value: unknown }) => [p.name, p.value]));
    assert.deepEqual(values, { target_tgid: 0, target_signal: 10, failed_only: true });
    const attached = (await op.call('attach_program', { object_id: loaded.object_id, attachment: { auto: {} } })).structuredContent;
    assert.equal(attached.success, true, JSON.stringify(attached.error));
    const bio = (await op.call('load_program', { source: { type: 'catalog', name: 'biolatency', parameters: { disk: '7:0', per_disk: true } } })).structuredContent;
    assert.equal(bio.success, true, JSON.stringify(bio.error));
    const dev = bio.parameters.find((p: { name: string }) => p.name === 'target_dev');
    assert.equal(dev.value, 7 * 2 ** 20);
  } finally {
    await op.close();
  }
});
