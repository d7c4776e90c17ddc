import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { bpftoolIds, eventually, newProgramsNamed } from '../helpers/bpftool.js';
import { MODERN, connect } from '../helpers/client.js';
import { rawServer, toolCall } from '../helpers/raw.js';
import { SERVER_BIN, fixture } from '../helpers/fixtures.js';
import { HOOKS } from '../../src/hooks/index.js';
import { NATIVE_ADDON, PACKAGE_ROOT } from '../../src/paths.js';

const scratch = mkdtempSync(join(tmpdir(), 'ebpf-mcp-e2e-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

test('tools/list shows the default tools with input and output schemas, and no optional ones', async () => {
  const c = await connect();
  try {
    const { tools } = await c.client.listTools();
    assert.deepEqual(
      tools.map((t) => t.name),
      ['info', 'load_program', 'attach_program', 'inspect_state', 'stream_events'],
    );
    for (const t of tools) {
      assert.equal(t.inputSchema.type, 'object');
      assert.equal(t.outputSchema?.type, 'object');
      assert.ok((t.description ?? '').length > 100);
    }
    assert.equal(tools.find((t) => t.name === 'info')?.annotations?.readOnlyHint, true);
    // Hints at MCP's defaults are left out: load_program is not read-only (the default), and not destructive.
    assert.deepEqual(tools.find((t) => t.name === 'load_program')?.annotations, { destructiveHint: false, openWorldHint: false });
    const bytes = Buffer.byteLength(JSON.stringify({ tools }));
    console.log(`tools/list: ${bytes} bytes`);
    assert.ok(bytes <= 16 * 1024, `tools/list is ${bytes} bytes`);
  } finally {
    await c.close();
  }
});

test('info reports this kernel as probed', async () => {
  const c = await connect();
  try {
    const r = await c.call('info');
    assert.equal(r.isError, undefined);
    const s = r.structuredContent;
    assert.equal(s.success, true);
    assert.equal(s.tool_version, '1.0.0');
    assert.equal(s.kernel.release, readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim());
    assert.equal(s.btf.vmlinux, true);
    assert.equal(s.mounts.bpffs.mounted, true);
    assert.equal(s.mounts.tracefs.mounted, true);
    assert.ok(s.program_types.supported.includes('xdp'));
    assert.ok(s.program_types.supported.includes('tracepoint'));
    assert.ok(s.map_types.supported.includes('ringbuf'));
    assert.ok(s.capabilities.includes('CAP_BPF'));
    const pc = readFileSync(join(PACKAGE_ROOT, '.deps/libbpf/lib/pkgconfig/libbpf.pc'), 'utf8');
    assert.equal(s.server.libbpf_version, /^Version: (\d+\.\d+)/m.exec(pc)?.[1]);
    assert.equal(s.server.libbpf_version, '1.5');
    assert.equal(s.server.libbpf_linked, 'static');
    assert.doesNotMatch(execFileSync('ldd', [NATIVE_ADDON], { encoding: 'utf8' }), /libbpf/);
    const kprobe = s.attach_kinds.find((k: { kind: string }) => k.kind === 'kprobe');
    assert.deepEqual(
      s.attach_kinds.map((k: { kind: string }) => k.kind),
      HOOKS.map((h) => h.kind),
    );
    assert.equal(kprobe.usable, HOOKS.find((h) => h.kind === 'kprobe')?.available().usable);
    assert.equal(kprobe.class, 'tracing');
    assert.deepEqual(kprobe.program_types, ['kprobe']);
    if (!kprobe.usable) assert.match(kprobe.reason, /tracepoint/);
    assert.ok(s.catalog.some((o: { name: string }) => o.name === 'execsnoop'));
  } finally {
    await c.close();
  }
});

for (const era of ['legacy', 'modern'] as const) test(`a multi-program object loads, stays loaded across calls, and is gone within a second of disconnect (${era === 'modern' ? 'stateless 2026-07-28' : '2025-11-25 with initialize'})`, async () => {
  const c = await connect(['-t', 'stdio'], { era });
  assert.equal(c.client.getNegotiatedProtocolVersion(), era === 'modern' ? MODERN : '2025-11-25');
  let ids: number[] = [];
  let mapIds: number[] = [];
  try {
    const r = await c.call('load_program', { source: { type: 'file', path: fixture('multi') } });
    const s = r.structuredContent;
    assert.equal(s.success, true, JSON.stringify(s.error));
    assert.equal(s.object_id, 'obj-1');
    assert.equal(s.programs.length, 3);
    ids = s.programs.map((p: { id: number }) => p.id);
    mapIds = s.maps.map((m: { id: number }) => m.id);
    assert.equal(s.program_id, ids[0]);
    assert.deepEqual(
      s.programs.map((p: { name: string; type: string; loaded: boolean }) => [p.name, p.type, p.loaded]),
      [
        ['count_getpid', 'tracepoint', true],
        ['count_syscalls', 'raw_tracepoint', true],
        ['xdp_count', 'xdp', true],
      ],
    );
    const visible = bpftoolIds('prog');
    for (const id of ids) assert.ok(visible.has(id), `bpftool does not show program ${id}`);

    const again = await c.call('inspect_state', { fields: ['programs', 'maps'], filters: { owned_only: true } });
    assert.deepEqual(
      again.structuredContent.programs.map((p: { id: number }) => p.id),
      ids,
    );
    assert.ok(again.structuredContent.programs.every((p: { owned: boolean; object_id: string }) => p.owned && p.object_id === 'obj-1'));
    assert.deepEqual(
      again.structuredContent.maps.map((m: { id: number }) => m.id).sort(),
      [...mapIds].sort(),
    );
    for (const id of ids) assert.ok(bpftoolIds('prog').has(id), `program ${id} vanished between calls`);
  } finally {
    await c.close();
  }
  assert.ok(await eventually(() => ids.every((id) => !bpftoolIds('prog').has(id)), 1000), 'programs outlived the client by more than a second');
  assert.ok(await eventually(() => mapIds.every((id) => !bpftoolIds('map').has(id)), 1000), 'maps outlived the client');
});

test('inspect_state sees the whole host, filters, and bounds its lists', async () => {
  const a = await connect();
  const b = await connect();
  try {
    const loadedByB = (await b.call('load_program', { source: { type: 'file', path: fixture('multi') } })).structuredContent;
    const bIds: number[] = loadedByB.programs.map((p: { id: number }) => p.id);
    const all = (await a.call('inspect_state', { fields: ['programs', 'links', 'system'], limit: 1000, max_bytes: 1 << 20 })).structuredContent;
    const theirs = all.programs.filter((p: { id: number }) => bIds.includes(p.id));
    assert.equal(theirs.length, 3, 'another session’s programs are visible');
    assert.ok(theirs.every((p: { owned: boolean }) => !p.owned));
    assert.equal(all.system.total_programs, all.counts.programs.total);

    const one = (await a.call('inspect_state', { fields: ['programs', 'maps'], filters: { program_id: bIds[1] } })).structuredContent;
    assert.deepEqual(one.programs.map((p: { id: number }) => p.id), [bIds[1]]);
    assert.deepEqual(one.maps.map((m: { id: number }) => m.id).sort(), [...one.programs[0].map_ids].sort());

    const xdp = (await a.call('inspect_state', { fields: ['programs'], filters: { program_type: 'XDP', name_pattern: 'xdp_*' } })).structuredContent;
    assert.ok(xdp.programs.some((p: { id: number }) => p.id === bIds[2]));
    assert.ok(xdp.programs.every((p: { type: string; name: string }) => p.type === 'xdp' && p.name.startsWith('xdp_')));

    const capped = (await a.call('inspect_state', { fields: ['programs'], limit: 1 })).structuredContent;
    assert.equal(capped.programs.length, 1);
    assert.equal(capped.truncated, true);
    assert.equal(capped.counts.programs.returned, 1);
    assert.ok(capped.counts.programs.total >= 3);

    const tools = (await a.call('inspect_state', { fields: ['tools'], max_bytes: 1 << 20 })).structuredContent;
    assert.deepEqual(tools.tools.map((t: { name: string }) => t.name), ['info', 'load_program', 'attach_program', 'inspect_state', 'stream_events']);
    assert.equal(tools.tools[1].input_schema.additionalProperties, false);
  } finally {
    await a.close();
    await b.close();
  }
});

test('every bad input gets its typed error and the same connection answers the next call', async () => {
  const c = await connect();
  const fifo = join(scratch, 'fifo.o');
  execFileSync('mkfifo', [fifo]);
  const text = join(scratch, 'text.o');
  writeFileSync(text, 'not an object');
  const multi = readFileSync(fixture('multi'));
  const truncated = join(scratch, 'truncated.o');
  writeFileSync(truncated, multi.subarray(0, 700));
  const cases: [string, string, Record<string, unknown>, string, RegExp][] = [
    ['missing file', 'load_program', { source: { type: 'file', path: join(scratch, 'none.o') } }, 'VALIDATION_ERROR', /no such file/],
    ['directory', 'load_program', { source: { type: 'file', path: scratch } }, 'VALIDATION_ERROR', /directory/],
    ['FIFO', 'load_program', { source: { type: 'file', path: fifo } }, 'VALIDATION_ERROR', /not a regular file/],
    ['non-ELF file', 'load_program', { source: { type: 'file', path: text } }, 'VALIDATION_ERROR', /not an ELF/],
    ['truncated ELF', 'load_program', { source: { type: 'file', path: truncated } }, 'VALIDATION_ERROR', /not a loadable BPF object/],
    ['invalid base64', 'load_program', { source: { type: 'data', blob: '@@@@' } }, 'VALIDATION_ERROR', /base64/],
    ['over the size limit', 'load_program', { source: { type: 'data', blob: Buffer.alloc(17 << 20).toString('base64') } }, 'RESOURCE_LIMIT_EXCEEDED', /limit/],
    ['verifier rejection', 'load_program', { source: { type: 'file', path: fixture('rejected') } }, 'VERIFIER_ERROR', /^the verifier rejected program context\.program: see context\.reason/],
    ['helper not allowed', 'load_program', { source: { type: 'file', path: fixture('multi') }, constraints: { allowed_helpers: ['bpf_map_lookup_elem'] } }, 'PERMISSION_DENIED', /bpf_get_current_pid_tgid/],
    ['too many instructions', 'load_program', { source: { type: 'file', path: fixture('multi') }, constraints: { max_instructions: 5 } }, 'RESOURCE_LIMIT_EXCEEDED', /max_instructions 5/],
    ['unknown program', 'load_program', { source: { type: 'file', path: fixture('multi') }, programs: ['nope'] }, 'VALIDATION_ERROR', /no program "nope"/],
    ['unknown program type', 'load_program', { source: { type: 'file', path: fixture('multi') }, program_type: 'warp_drive' }, 'VALIDATION_ERROR', /unknown program type/],
    ['unknown top-level field', 'load_program', { source: { type: 'file', path: fixture('multi') }, bogus: 1 }, 'VALIDATION_ERROR', /bogus/],
    ['unknown nested field', 'load_program', { source: { type: 'file', path: fixture('multi'), extra: true } }, 'VALIDATION_ERROR', /extra/],
    ['wrong type', 'load_program', { source: { type: 'file', path: 42 } }, 'VALIDATION_ERROR', /source\.path/],
    ['missing source', 'load_program', {}, 'VALIDATION_ERROR', /source/],
    ['bad source type', 'load_program', { source: { type: 'url', url: 'x' } }, 'VALIDATION_ERROR', /source/],
    ['bad checksum form', 'load_program', { source: { type: 'file', path: fixture('multi'), checksum: 'md5:1' } }, 'VALIDATION_ERROR', /checksum/],
    ['limit out of range', 'inspect_state', { limit: 100000 }, 'VALIDATION_ERROR', /limit/],
    ['unknown inspect field', 'inspect_state', { fields: ['everything'] }, 'VALIDATION_ERROR', /fields/],
    ['negative id', 'inspect_state', { filters: { program_id: -1 } }, 'VALIDATION_ERROR', /filters\.program_id/],
    ['info takes no arguments', 'info', { verbose: true }, 'VALIDATION_ERROR', /verbose/],
  ];
  try {
    for (const [what, tool, args, type, pattern] of cases) {
      const started = Date.now();
      const r = await c.call(tool, args);
      assert.equal(r.isError, true, `${what}: expected an error`);
      const s = r.structuredContent;
      assert.equal(s.success, false, what);
      assert.equal(s.error.type, type, `${what}: ${JSON.stringify(s.error)}`);
      assert.match(s.error.message, pattern, what);
      assert.equal(typeof s.error.context, 'object', what);
      assert.ok(Date.now() - started < 30_000, `${what} hung`);
      const next = await c.call('inspect_state', { fields: ['system'] });
      assert.equal(next.structuredContent.success, true, `the server did not answer after ${what}`);
    }
    const rejected = (await c.call('load_program', { source: { type: 'file', path: fixture('rejected') } })).structuredContent;
    assert.equal(rejected.error.context.instruction_offset, 7);
    assert.match(rejected.error.context.reason, /map_value_or_null/);
    assert.match(rejected.error.context.verifier_log, /R0 invalid mem access/);
    const owned = (await c.call('inspect_state', { fields: ['programs'], filters: { owned_only: true } })).structuredContent;
    assert.equal(owned.programs.length, 0, 'a failed load left programs behind');
  } finally {
    await c.close();
  }
});

test('verify_only runs the verifier and unloads; verifier_log returns the log', async () => {
  const c = await connect();
  try {
    const before = bpftoolIds('prog');
    const r = (await c.call('load_program', { source: { type: 'data', blob: readFileSync(fixture('multi')).toString('base64') }, constraints: { verify_only: true }, verifier_log: true })).structuredContent;
    assert.equal(r.success, true);
    assert.equal(r.object_id, null);
    assert.equal(r.program_id, null);
    assert.ok(r.programs.every((p: { loaded: boolean; id: null }) => !p.loaded && p.id === null));
    assert.match(r.verifier_log, /== count_getpid ==[\s\S]*processed \d+ insns/);
    assert.deepEqual(newProgramsNamed(before, r.programs.map((p: { name: string }) => p.name)), [], 'a verify_only load left programs behind');
  } finally {
    await c.close();
  }
});

test('SIGTERM releases everything; --help and --version answer; stdout carries only protocol', async () => {
  const c = await connect();
  const r = (await c.call('load_program', { source: { type: 'file', path: fixture('multi') } })).structuredContent;
  const ids: number[] = r.programs.map((p: { id: number }) => p.id);
  process.kill(c.pid, 'SIGTERM');
  assert.ok(await eventually(() => ids.every((id) => !bpftoolIds('prog').has(id)), 2000));
  await c.close();
  assert.match(execFileSync(SERVER_BIN, ['--help'], { encoding: 'utf8' }), /Usage: ebpf-mcp-server/);
  assert.match(execFileSync(SERVER_BIN, ['--version'], { encoding: 'utf8' }), /^ebpf-mcp-server \d+\.\d+\.\d+\n$/);
  const bad = spawn(SERVER_BIN, ['-t', 'carrier-pigeon']);
  const code = await new Promise((resolve) => bad.on('exit', resolve));
  assert.equal(code, 2);
  // A raw session: every stdout line must be a JSON-RPC message.
  const raw = spawn(SERVER_BIN, ['-t', 'stdio', '--log-level', 'debug']);
  let out = '';
  raw.stdout.on('data', (d: Buffer) => (out += d));
  raw.stdin.write(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '0' } } }) + '\n');
  raw.stdin.write(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) + '\n');
  raw.stdin.write(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'info', arguments: {} } }) + '\n');
  await eventually(() => out.includes('"id":2'), 5000);
  raw.stdin.end();
  const exit = await new Promise((resolve) => raw.on('exit', resolve));
  assert.equal(exit, 0, 'the server exits cleanly when stdin closes');
  for (const line of out.split('\n').filter(Boolean)) assert.equal(JSON.parse(line).jsonrpc, '2.0');
});

test('malformed requests on raw stdio: typed VALIDATION_ERROR for non-object arguments, clean protocol errors, no zod dump', async () => {
  const s = await rawServer();
  try {
    for (const [id, args, got] of [['null', null, 'null'], ['num', 5, 'a number'], ['str', 's', 'a string'], ['arr', [1], 'an array']] as const) {
      await s.send(toolCall(id, 'info', args));
      const a = await s.answer(id);
      assert.equal(a.result?.isError, true, id);
      assert.equal(a.result?.structuredContent.error.type, 'VALIDATION_ERROR', id);
      assert.equal(a.result?.structuredContent.error.message, `invalid input at (input): arguments must be an object, got ${got}`);
      assert.equal(a.result?.structuredContent.error.context.field, '(input)');
    }
    await s.send(toolCall('absent', 'info'));
    assert.equal((await s.answer('absent')).result?.structuredContent.success, true, 'absent arguments mean {}');
    await s.send(toolCall('unknown', 'nope', {}));
    assert.deepEqual((await s.answer('unknown')).error, {
      code: -32602,
      message: 'MCP error -32602: Unknown tool "nope"; available: info, load_program, attach_program, inspect_state, stream_events',
    });
    await s.send({ id: 'noparams', method: 'tools/call' });
    await s.send({ id: 'numname', method: 'tools/call', params: { name: 5 } });
    for (const id of ['noparams', 'numname']) {
      assert.deepEqual((await s.answer(id)).error, { code: -32602, message: 'MCP error -32602: tools/call needs params with a string `name` (and an `arguments` object)' });
    }
    await s.line('junk{');
    await s.line('{"id":"badrpc","method":5}');
    assert.equal((await s.answer('badrpc')).error?.code, -32600);
    await s.send({ id: 'nomethod', method: 'bogus/method' });
    assert.deepEqual((await s.answer('nomethod')).error, { code: -32601, message: 'MCP error -32601: Method not found: bogus/method' });
    await s.send(toolCall('after', 'inspect_state', { fields: ['system'] }));
    assert.equal((await s.answer('after')).result?.structuredContent.success, true);
    for (const a of s.answers) assert.doesNotMatch(JSON.stringify(a), /invalid_type|"expected"|\bat [\w.]+ \(/, 'a zod dump or a stack trace reached the client');
  } finally {
    s.proc.stdin.end();
    assert.equal(await s.exited, 0);
  }
});
