/**
 * The server's bounds on what a client can make it hold: calls in flight,
 * the size of one result, and how fast it ends (releasing its kernel
 * objects) on SIGTERM or stdin EOF with calls still running.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Client } from '@modelcontextprotocol/client';
import { InMemoryTransport } from '@modelcontextprotocol/server';
import { HostState } from '../../src/kernel/host.js';
import { DEFAULT_LIMITS } from '../../src/policy/limits.js';
import { ServedSession, createServer, serverTools, stdioPrincipal } from '../../src/server/server.js';
import { Session } from '../../src/session/session.js';
import { Access } from '../../src/policy/access.js';
import { defaultPolicy } from '../../src/policy/policy.js';
import { bpftoolIds, eventually } from '../helpers/bpftool.js';
import { fixture } from '../helpers/fixtures.js';
import { type RawServer, rawServer, toolCall } from '../helpers/raw.js';

/** Loads events.bpf.o over a raw server; returns its program and map ids and the ring buffer's id. */
async function loadEvents(s: RawServer): Promise<{ progs: number[]; maps: number[]; ring: number }> {
  await s.send(toolCall('load', 'load_program', { source: { type: 'file', path: fixture('events') } }));
  const r = (await s.answer('load')).result?.structuredContent;
  assert.equal(r?.success, true, JSON.stringify(r?.error));
  const maps = r?.maps as { id: number; name: string }[];
  return { progs: (r?.programs as { id: number }[]).map((p) => p.id), maps: maps.map((m) => m.id), ring: maps.find((m) => m.name === 'ring_events')?.id as number };
}

test('calls past the in-flight cap are refused at once with RESOURCE_LIMIT_EXCEEDED requests_in_flight', async () => {
  // Streams enough that the session's stream quota is not what refuses them.
  const dir = mkdtempSync(join(tmpdir(), 'emcp-bounds-'));
  const policy = join(dir, 'policy.yaml');
  writeFileSync(policy, 'rate_limits: { concurrent_streams: 200 }\n', { mode: 0o600 });
  const s = await rawServer(['-t', 'stdio', '--policy', policy]);
  rmSync(dir, { recursive: true, force: true });
  try {
    const { ring } = await loadEvents(s);
    const n = 100;
    const cap = DEFAULT_LIMITS.maxRequestsInFlight;
    const batch = Array.from({ length: n }, (_, i) => JSON.stringify({ jsonrpc: '2.0', ...toolCall(i, 'stream_events', { source: { map_id: ring }, duration_ms: 1500 }) })).join('\n');
    await s.line(batch);
    const arrived: number[] = [];
    const answers = await Promise.all(Array.from({ length: n }, (_, i) => s.answer(i).then((a) => (arrived.push(i), a))));
    const refused = answers.filter((a) => a.result?.structuredContent.error?.context.resource === 'requests_in_flight');
    assert.equal(refused.length, n - cap);
    const first = refused[0]?.result?.structuredContent.error;
    assert.equal(first.type, 'RESOURCE_LIMIT_EXCEEDED');
    assert.equal(first.context.limit, cap);
    assert.equal(first.context.current_usage.requests_in_flight, cap + 1);
    assert.deepEqual(refused.map((a) => a.id), Array.from({ length: n - cap }, (_, i) => i + cap), 'the calls past the cap are the ones refused');
    // At once: every refusal is answered before any of the streams it would have waited for.
    const refusedIds = new Set(refused.map((a) => a.id));
    const firstServed = arrived.findIndex((id) => !refusedIds.has(id));
    assert.ok(arrived.slice(firstServed).every((id) => !refusedIds.has(id)), `answers in the order ${arrived.join(' ')}`);
    await s.send(toolCall('after', 'info', {}));
    assert.equal((await s.answer('after')).result?.structuredContent.success, true);
  } finally {
    s.proc.stdin.end();
    await s.exited;
  }
});

test('a result over the byte cap becomes RESOURCE_LIMIT_EXCEEDED result_bytes, saying how to ask for less; lists stop early to fit instead', async () => {
  const policy = { ...defaultPolicy(), limits: { ...DEFAULT_LIMITS, maxResultBytes: 4096 } };
  const session = new Session();
  const opts = { policy, optionalTools: [] };
  const access = new Access('admin', policy);
  const core = serverTools(opts, access);
  const server = createServer(new ServedSession(opts, session, new HostState(), access, stdioPrincipal()));
  const [a, b] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: 'bounds', version: '0' });
  await Promise.all([server.connect(a), client.connect(b)]);
  try {
    const big = await client.callTool({ name: 'info', arguments: {} });
    const err = (big.structuredContent as Record<string, any>).error;
    assert.equal(big.isError, true);
    assert.equal(err.type, 'RESOURCE_LIMIT_EXCEEDED');
    assert.equal(err.context.resource, 'result_bytes');
    assert.equal(err.context.limit, 4096);
    assert.ok(err.context.current_usage.result_bytes > 4096);
    assert.match(err.message, /over the 4096-byte limit on one result: ask for less \(a lower limit, filters, fewer fields, a map read page by page with maps\.cursor\)$/);
    const tools = await client.callTool({ name: 'inspect_state', arguments: { fields: ['tools'] } });
    const s = tools.structuredContent as Record<string, any>;
    assert.equal(s.success, true, JSON.stringify(s.error));
    assert.ok(Buffer.byteLength(JSON.stringify(tools)) <= 4096);
    assert.equal(s.counts.tools.total, core.length);
    assert.equal(s.counts.tools.returned, s.tools.length);
    assert.ok(s.tools.length < core.length);
    assert.equal(s.counts.tools.cut_by, 'max_bytes');
    assert.equal(s.truncated, true);
    assert.ok((tools.content as { text: string }[])[0]?.text.startsWith(`${core.length} tools (showing ${s.tools.length}); raise \`max_bytes\` or filter to see the rest.`));
  } finally {
    await client.close();
    session.close();
  }
});

for (const how of ['SIGTERM', 'stdin EOF'] as const) {
  test(`${how} with a long stream_events and a map read in flight ends the server within 2 s, releasing its objects`, async () => {
    const s = await rawServer();
    const { progs, maps, ring } = await loadEvents(s);
    await s.send(toolCall('attach', 'attach_program', { program_id: progs[0], attachment: { tracepoint: { category: 'syscalls', name: 'sys_enter_getpid' } } }));
    const attached = (await s.answer('attach')).result?.structuredContent;
    assert.equal(attached?.success, true, JSON.stringify(attached?.error));
    const links = attached?.link_ids as number[];
    await s.send(toolCall('stream', 'stream_events', { source: { map_id: ring }, duration_ms: 60_000 }));
    await s.send(toolCall('read', 'inspect_state', { fields: ['maps'], maps: { id: maps[2] } }));
    await new Promise((r) => setTimeout(r, 200));
    const started = Date.now();
    if (how === 'SIGTERM') s.proc.kill('SIGTERM');
    else s.proc.stdin.end();
    const code = await s.exited;
    const took = Date.now() - started;
    assert.equal(code, 0);
    assert.ok(took < 2000, `exited after ${took} ms`);
    assert.ok(await eventually(() => progs.every((id) => !bpftoolIds('prog').has(id)), 1000), 'programs outlived the server');
    assert.ok(await eventually(() => maps.every((id) => !bpftoolIds('map').has(id)), 1000), 'maps outlived the server');
    assert.ok(await eventually(() => links.every((id) => !bpftoolIds('link').has(id)), 1000), 'links outlived the server');
  });
}
