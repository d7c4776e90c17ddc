import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { mapMemoryBytes } from '../../src/kernel/map-memory.js';
import { maxInlineObjectChars } from '../../src/policy/limits.js';
import { bpftoolPrograms } from '../helpers/bpftool.js';
import { connect } from '../helpers/client.js';
import { catalogObject, fixture } from '../helpers/fixtures.js';

/** A JSON Schema node, read loosely. */
type JsonObject = Record<string, unknown>;

test('btf_path supplies the kernel BTF for CO-RE relocations; a missing one is refused', async () => {
  const c = await connect();
  try {
    const ok = (await c.call('load_program', { source: { type: 'file', path: catalogObject('exec_events') }, btf_path: '/sys/kernel/btf/vmlinux' })).structuredContent;
    assert.equal(ok.success, true, JSON.stringify(ok.error));
    assert.equal(ok.programs[0].name, 'handle_exec');
    const bad = (await c.call('load_program', { source: { type: 'file', path: catalogObject('exec_events') }, btf_path: '/nonexistent/vmlinux' })).structuredContent;
    assert.equal(bad.error.type, 'VALIDATION_ERROR');
    assert.equal(bad.error.context.field, 'btf_path');
  } finally {
    await c.close();
  }
});

test('section selects programs and program_type overrides the type the kernel loads', async () => {
  const c = await connect();
  try {
    const xdp = (await c.call('load_program', { source: { type: 'file', path: fixture('multi') }, section: 'xdp' })).structuredContent;
    assert.deepEqual(
      xdp.programs.map((p: { name: string; loaded: boolean }) => [p.name, p.loaded]),
      [
        ['count_getpid', false],
        ['count_syscalls', false],
        ['xdp_count', true],
      ],
    );
    assert.equal(xdp.program_id, xdp.programs[2].id);
    // A socket filter may run an XDP program's code as long as it verifies: load it as socket_filter.
    const retyped = (await c.call('load_program', { source: { type: 'file', path: fixture('counters') }, programs: ['tc_count'], program_type: 'SOCKET_FILTER' })).structuredContent;
    assert.equal(retyped.success, true, JSON.stringify(retyped.error));
    const seen = bpftoolPrograms().find((p) => p.id === retyped.program_id);
    assert.equal(seen?.type, 'socket_filter');
  } finally {
    await c.close();
  }
});

test('a program attaches once per hook; the 65th attachment of a session is RESOURCE_LIMIT_EXCEEDED', async () => {
  const c = await connect();
  try {
    const loaded = (await c.call('load_program', { source: { type: 'file', path: fixture('counters') }, programs: ['tp_getpid'] })).structuredContent;
    const attach = (name: string) => c.call('attach_program', { program_id: loaded.program_id, attachment: { tracepoint: { category: 'syscalls', name } } });
    const names = readdirSync('/sys/kernel/tracing/events/syscalls').filter((n) => n.startsWith('sys_enter_')).slice(0, 65);
    for (const name of names.slice(0, 64)) assert.equal((await attach(name)).structuredContent.success, true, name);
    const twice = (await attach(names[0] as string)).structuredContent;
    assert.equal(twice.error.type, 'RESOURCE_LIMIT_EXCEEDED', 'the quota is checked before the kernel is asked');
    assert.deepEqual(twice.error.context, { resource: 'links', current_usage: { links: 64 }, limit: 64 });
    await c.close();

    const d = await connect();
    const again = (await d.call('load_program', { source: { type: 'file', path: fixture('counters') }, programs: ['tp_getpid'] })).structuredContent;
    const tp = { tracepoint: { category: 'syscalls', name: 'sys_enter_getpid' } };
    assert.equal((await d.call('attach_program', { program_id: again.program_id, attachment: tp })).structuredContent.success, true);
    const dup = (await d.call('attach_program', { program_id: again.program_id, attachment: tp })).structuredContent;
    assert.equal(dup.error.type, 'ATTACHMENT_FAILED');
    assert.match(dup.error.context.hint, /already attached/);
    await d.close();
  } finally {
    await c.close();
  }
});

test('--max-object-mb shows in load_program\'s description and full schema, and an object over it is refused naming the limit', async () => {
  const c = await connect(['-t', 'stdio', '--max-object-mb', '4']);
  const dir = mkdtempSync(join(tmpdir(), 'ebpf-mcp-limit-'));
  try {
    const tool = (await c.client.listTools()).tools.find((t) => t.name === 'load_program');
    assert.match(tool?.description ?? '', /4 MiB per object/);
    const source = (tool?.inputSchema.properties as Record<string, { anyOf?: JsonObject[]; oneOf?: JsonObject[] }>).source;
    const blob = (source?.anyOf ?? source?.oneOf ?? []).map((v) => (v.properties as Record<string, JsonObject>).blob).find(Boolean);
    assert.match(String(blob?.description), /at most 4 MiB once decoded/);
    // The full schema (tools/list leaves string lengths to the server) bounds the base64 text by the same limit.
    const full = (await c.call('inspect_state', { fields: ['tools'] })).structuredContent.tools.find((t: { name: string }) => t.name === 'load_program');
    const fullBlob = full.input_schema.properties.source.oneOf.map((v: JsonObject) => (v.properties as Record<string, JsonObject>).blob).find(Boolean);
    assert.equal(fullBlob.maxLength, maxInlineObjectChars(4 << 20));

    const big = join(dir, 'big.bpf.o');
    writeFileSync(big, Buffer.alloc((4 << 20) + 1));
    const fromFile = (await c.call('load_program', { source: { type: 'file', path: big } })).structuredContent;
    assert.equal(fromFile.error.type, 'RESOURCE_LIMIT_EXCEEDED');
    assert.equal(fromFile.error.context.limit, 4 << 20);
    assert.match(fromFile.error.message, /4194304-byte limit/);
    const inline = (await c.call('load_program', { source: { type: 'data', blob: Buffer.alloc(5 << 20).toString('base64') } })).structuredContent;
    assert.equal(inline.error.type, 'RESOURCE_LIMIT_EXCEEDED');
    assert.equal(inline.error.context.limit, 4 << 20);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await c.close();
  }
});

test('a map the kernel would allocate whole past the session\'s map memory is refused before it is created; the quota sums what the session holds', async () => {
  const huge = (): number => (JSON.parse(execFileSync('bpftool', ['-j', 'map', 'show'], { encoding: 'utf8' })) as { name?: string }[]).filter((m) => m.name === 'huge_values').length;
  const c = await connect();
  try {
    for (const verify_only of [false, true]) {
      const r = (await c.call('load_program', { source: { type: 'file', path: fixture('huge_map') }, constraints: { verify_only } })).structuredContent;
      assert.equal(r.error?.type, 'RESOURCE_LIMIT_EXCEEDED', JSON.stringify(r));
      assert.equal(r.error.context.resource, 'map_bytes');
      assert.equal(r.error.context.limit, 512 << 20);
      assert.equal(r.error.context.current_usage.map_bytes, 0);
      assert.ok(r.error.context.requested >= 1 << 30, JSON.stringify(r.error.context));
    }
    assert.equal(huge(), 0, 'the kernel never created the map');
  } finally {
    await c.close();
  }

  const small = await connect(['-t', 'stdio', '--max-map-mb', '1']);
  try {
    const first = (await small.call('load_program', { source: { type: 'file', path: fixture('events') } })).structuredContent;
    assert.equal(first.success, true, JSON.stringify(first.error));
    const each = first.maps.reduce(
      (n: number, m: { type: string; key_size: number; value_size: number; max_entries: number }) =>
        n + mapMemoryBytes({ typeName: m.type, keySize: m.key_size, valueSize: m.value_size, maxEntries: m.max_entries }),
      0,
    );
    assert.ok(each > 256 << 10 && each < 1 << 20, `events' maps take ${each} bytes`);
    let held = 1;
    let refused;
    while (!refused) {
      const r = (await small.call('load_program', { source: { type: 'file', path: fixture('events') } })).structuredContent;
      if (r.success) held++;
      else refused = r.error;
    }
    assert.equal(held, Math.floor((1 << 20) / each));
    assert.equal(refused.type, 'RESOURCE_LIMIT_EXCEEDED');
    assert.equal(refused.context.current_usage.map_bytes, held * each);
    assert.match((await small.client.listTools()).tools.find((t) => t.name === 'load_program')?.description ?? '', /1 MiB of map memory/);
  } finally {
    await small.close();
  }
});
