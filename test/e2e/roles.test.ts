/**
 * Roles and the policy, through the SDK client over stdio: what each role
 * lists and may call, every denial naming its rule and the role that would
 * allow it, a denied helper refused before the kernel sees the object,
 * sources held to the allowed directories (symbolic links resolved first),
 * the policy in `info` and as a resource, a bad policy file refused at start
 * with its line, and the audit log's line for every call.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { after, before, test } from 'node:test';
import { bpftoolPrograms, eventually } from '../helpers/bpftool.js';
import { type Connected, connect } from '../helpers/client.js';
import { SERVER_BIN, catalogObject, fixture } from '../helpers/fixtures.js';
import { addToSet, mapValue, pausedWorkload, runWorkload, scratchNetns } from '../helpers/kernel.js';

const GETPID = { tracepoint: { category: 'syscalls', name: 'sys_enter_getpid' } };

let dir: string;
let allowed: string;
let outside: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'emcp-roles-'));
  allowed = join(dir, 'allowed');
  outside = join(dir, 'outside');
  mkdirSync(allowed);
  mkdirSync(outside);
  for (const name of ['counters', 'write_user']) copyFileSync(fixture(name), join(allowed, `${name}.bpf.o`));
  copyFileSync(fixture('counters'), join(outside, 'counters.bpf.o'));
  symlinkSync(join(outside, 'counters.bpf.o'), join(allowed, 'link.bpf.o'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Writes a policy file (0600) and returns its path. */
function policyFile(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text, { mode: 0o600 });
  return path;
}

/** The error of a failed call, asserting it failed with `type`. */
async function refused(c: Connected, tool: string, args: Record<string, unknown>, type = 'PERMISSION_DENIED'): Promise<Record<string, any>> {
  const r = await c.call(tool, args);
  assert.equal(r.isError, true, `${tool} ${JSON.stringify(args).slice(0, 200)} was not refused`);
  assert.equal(r.structuredContent.error.type, type, JSON.stringify(r.structuredContent.error));
  return r.structuredContent.error;
}

/** The audit log's lines, parsed. */
function auditLines(path: string): Record<string, any>[] {
  return readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
}

/** Property names of the listed input schema of `tool` at a dotted path of properties. */
function listedFields(tools: { name: string; inputSchema: unknown }[], tool: string, path: string[] = []): string[] {
  let node = tools.find((t) => t.name === tool)?.inputSchema as Record<string, any>;
  for (const p of path) node = node.properties[p];
  return Object.keys(node.properties ?? {});
}

test('observer: lists only info, inspect_state and stream_events; a load is refused naming the rule; inspect and streams of existing buffers work', async () => {
  const audit = join(dir, 'observer.audit');
  const admin = await connect(['-t', 'stdio']);
  const c = await connect(['-t', 'stdio', '--role', 'observer', '--enable-tools', 'all', '--audit-log', audit]);
  try {
    const tools = (await c.client.listTools()).tools;
    assert.deepEqual(tools.map((t) => t.name), ['info', 'inspect_state', 'stream_events']);

    const load = await refused(c, 'load_program', { source: { type: 'file', path: catalogObject('exec_events') } });
    assert.equal(load.context.rule, 'load');
    assert.equal(load.context.role, 'observer');
    assert.equal(load.context.allowed_for, 'operator');
    assert.match(load.message, /role observer lacks grant load .* which role operator has/);
    assert.equal((await refused(c, 'pin_object', { kind: 'map', id: 1, path: 'x' })).context.allowed_for, 'admin');

    // Another session's ring buffer: the observer reads it.
    const loaded = (await admin.call('load_program', { source: { type: 'file', path: fixture('events') }, programs: ['emit_ring'] })).structuredContent;
    assert.equal(loaded.success, true, JSON.stringify(loaded.error));
    const maps = Object.fromEntries(loaded.maps.map((m: { name: string; id: number }) => [m.name, m.id]));
    assert.equal((await admin.call('attach_program', { program_id: loaded.program_id, attachment: GETPID })).structuredContent.success, true);
    const listed = (await c.call('inspect_state', { fields: ['programs'], filters: { program_id: loaded.program_id } })).structuredContent;
    assert.equal(listed.programs.length, 1);
    assert.equal(listed.programs[0].owned, false);
    const w = await pausedWorkload(['getpid', '5']);
    addToSet(maps.targets, w.pid);
    const pending = c.call('stream_events', { source: { map_id: maps.ring_events }, duration_ms: 5000, max_events: 5, filters: { pid: w.pid } });
    await new Promise((r) => setTimeout(r, 250));
    await w.go();
    const s = (await pending).structuredContent;
    assert.equal(s.success, true, JSON.stringify(s.error));
    assert.deepEqual(s.events.map((e: { data: { pid: number; seq: number } }) => [e.data.pid, e.data.seq]), [1, 2, 3, 4, 5].map((seq) => [w.pid, seq]));

    const lines = auditLines(audit);
    assert.deepEqual(lines.map((l) => [l.tool, l.outcome.ok]), [
      ['load_program', false],
      ['pin_object', false],
      ['inspect_state', true],
      ['stream_events', true],
    ]);
    const denied = lines[0] as Record<string, any>;
    assert.deepEqual(denied.outcome, { ok: false, error: 'PERMISSION_DENIED', rule: 'load' });
    assert.equal(denied.role, 'observer');
    assert.equal(denied.principal.uid, process.getuid?.());
    assert.equal(denied.principal.client.name, 'ebpf-mcp-test');
    assert.equal(statSync(audit).mode & 0o777, 0o600);
  } finally {
    await c.close();
    await admin.close();
  }
});

test('operator: traces with a tracepoint; xdp, pins, denied helpers, inline objects and files outside the allowed directories are refused, each naming its rule', async () => {
  const audit = join(dir, 'operator.audit');
  const policy = policyFile('operator.yaml', `role: operator\nsources:\n  allowed_dirs: [${allowed}]\n  allow_inline: false\n`);
  const c = await connect(['-t', 'stdio', '--policy', policy, '--enable-tools', 'all', '--audit-log', audit]);
  try {
    const tools = (await c.client.listTools()).tools;
    assert.deepEqual(tools.map((t) => t.name), ['info', 'load_program', 'attach_program', 'inspect_state', 'stream_events', 'detach_link', 'unload_program']);
    const kinds = listedFields(tools, 'attach_program', ['attachment']);
    for (const k of ['tracepoint', 'raw_tracepoint', 'uprobe', 'usdt', 'perf_event', 'kprobe', 'auto']) assert.ok(kinds.includes(k), `${k} is listed`);
    for (const k of ['xdp', 'tc', 'cgroup', 'netfilter', 'sockops', 'sk_lookup']) assert.ok(!kinds.includes(k), `${k} is not listed`);
    assert.ok(!listedFields(tools, 'attach_program').includes('pin_path'));
    assert.ok(!listedFields(tools, 'load_program', ['constraints']).includes('permit_helpers'));
    const source = (tools.find((t) => t.name === 'load_program')?.inputSchema as Record<string, any>).properties.source;
    assert.deepEqual(source.oneOf.map((b: Record<string, any>) => b.properties.type.const), ['file', 'catalog'], 'no inline source is listed');
    assert.match(JSON.stringify(source), new RegExp(`Absolute path under [^"]*${allowed}`));

    const info = (await c.call('info')).structuredContent.policy;
    assert.equal(info.role, 'operator');
    assert.equal(info.sources.inline, false);
    assert.ok(info.sources.allowed_dirs.includes(allowed));
    assert.deepEqual(info.not_granted.map((g: { grant: string }) => g.grant), ['attach:network', 'attach:cgroup', 'inline', 'any_source', 'pin', 'map_write', 'foreign', 'lift_helpers']);
    const resource = await c.client.readResource({ uri: 'ebpf://policy' });
    assert.deepEqual(JSON.parse((resource.contents[0] as { text: string }).text), info);

    const loaded = (await c.call('load_program', { source: { type: 'file', path: join(allowed, 'counters.bpf.o') }, programs: ['tp_getpid', 'xdp_count'] })).structuredContent;
    assert.equal(loaded.success, true, JSON.stringify(loaded.error));
    const ids = Object.fromEntries(loaded.programs.map((p: { name: string; id: number }) => [p.name, p.id]));
    const attached = (await c.call('attach_program', { program_id: ids.tp_getpid, attachment: GETPID })).structuredContent;
    assert.equal(attached.success, true, JSON.stringify(attached.error));
    const counts = loaded.maps.find((m: { name: string }) => m.name === 'tp_counts').id;
    assert.equal(mapValue(counts, runWorkload(['getpid', '200'])), 200);

    const xdp = await refused(c, 'attach_program', { program_id: ids.xdp_count, attachment: { xdp: { interface: 'lo' } } });
    assert.equal(xdp.context.rule, 'attach:network');
    assert.equal(xdp.context.field, 'attachment.xdp');
    assert.equal(xdp.context.allowed_for, 'admin');
    const auto = await refused(c, 'attach_program', { program_id: ids.xdp_count, attachment: { auto: {} } });
    assert.equal(auto.context.rule, 'attach:network');
    assert.match(auto.message, /attaching program \d+ \(type xdp\) to a network hook is denied/);
    assert.equal((await refused(c, 'attach_program', { program_id: ids.tp_getpid, attachment: GETPID, pin_path: 'x' })).context.rule, 'pin');

    const before = new Set(bpftoolPrograms().map((p) => p.id));
    const helper = await refused(c, 'load_program', { source: { type: 'file', path: join(allowed, 'write_user.bpf.o') } });
    assert.equal(helper.context.rule, 'policy.denied_helpers');
    assert.equal(helper.context.helper, 'bpf_probe_write_user');
    assert.equal(helper.context.program, 'write_user');
    assert.equal(typeof helper.context.instruction_offset, 'number');
    assert.match(helper.message, /a program \(context\.program\) calling bpf_probe_write_user \(instruction \d+\) is denied/);
    assert.deepEqual(bpftoolPrograms().filter((p) => !before.has(p.id) && p.name === 'write_user'), [], 'the kernel saw the object');
    assert.equal(
      (await refused(c, 'load_program', { source: { type: 'file', path: join(allowed, 'write_user.bpf.o') }, constraints: { permit_helpers: ['bpf_probe_write_user'] } })).context.rule,
      'lift_helpers',
    );

    const out = await refused(c, 'load_program', { source: { type: 'file', path: join(outside, 'counters.bpf.o') } });
    assert.equal(out.context.rule, 'policy.sources.allowed_dirs');
    const link = await refused(c, 'load_program', { source: { type: 'file', path: join(allowed, 'link.bpf.o') } });
    assert.equal(link.context.rule, 'policy.sources.allowed_dirs');
    assert.equal(link.context.path, join(outside, 'counters.bpf.o'), 'the symbolic link was resolved before the check');
    const blob = readFileSync(fixture('counters')).toString('base64');
    const inline = await refused(c, 'load_program', { source: { type: 'data', blob } });
    assert.equal(inline.context.rule, 'policy.sources.allow_inline');
    const catalog = (await c.call('load_program', { source: { type: 'file', path: catalogObject('exec_events') } })).structuredContent;
    assert.equal(catalog.success, true, 'the catalog is always allowed');

    const lines = auditLines(audit);
    assert.deepEqual(lines.map((l) => [l.tool, l.outcome.ok ? 'ok' : l.outcome.rule]), [
      ['info', 'ok'],
      ['load_program', 'ok'],
      ['attach_program', 'ok'],
      ['attach_program', 'attach:network'],
      ['attach_program', 'attach:network'],
      ['attach_program', 'pin'],
      ['load_program', 'policy.denied_helpers'],
      ['load_program', 'lift_helpers'],
      ['load_program', 'policy.sources.allowed_dirs'],
      ['load_program', 'policy.sources.allowed_dirs'],
      ['load_program', 'policy.sources.allow_inline'],
      ['load_program', 'ok'],
    ]);
    const [, load, attach] = lines as Record<string, any>[];
    assert.deepEqual(load?.created.programs.sort(), [ids.tp_getpid, ids.xdp_count].sort());
    assert.deepEqual(load?.created.maps.sort(), loaded.maps.map((m: { id: number }) => m.id).sort());
    assert.deepEqual(attach?.created.links, [attached.link_id]);
    const hashed = (lines[10] as Record<string, any>).arguments.source;
    assert.equal(hashed.blob, undefined, 'the blob itself is not logged');
    assert.equal(hashed.blob_sha256, createHash('sha256').update(readFileSync(fixture('counters'))).digest('hex'));
    assert.ok(lines.every((l) => l.role === 'operator' && typeof l.duration_ms === 'number' && !Number.isNaN(Date.parse(l.time))));
  } finally {
    await c.close();
  }
  const released = auditLines(audit).at(-1) as Record<string, any>;
  assert.equal(released.event, 'session_end');
  assert.equal(released.released.links.length, 1);
});

test('admin: attaches xdp, loads inline, from any path, and lifts a denied helper for one load', async () => {
  const net = scratchNetns('roles');
  const c = await connect(['-t', 'stdio', '--enable-tools', 'all'], { netns: net.ns });
  try {
    const tools = (await c.client.listTools()).tools;
    assert.ok(listedFields(tools, 'attach_program', ['attachment']).includes('xdp'));
    assert.ok(listedFields(tools, 'load_program', ['constraints']).includes('permit_helpers'));
    const blob = readFileSync(fixture('counters')).toString('base64');
    const loaded = (await c.call('load_program', { source: { type: 'data', blob }, programs: ['xdp_count'] })).structuredContent;
    assert.equal(loaded.success, true, JSON.stringify(loaded.error));
    const xdp = (await c.call('attach_program', { program_id: loaded.program_id, attachment: { xdp: { interface: 'lo', mode: 'generic' } } })).structuredContent;
    assert.equal(xdp.success, true, JSON.stringify(xdp.error));
    assert.equal(typeof xdp.link_id, 'number');

    const denied = await refused(c, 'load_program', { source: { type: 'file', path: fixture('write_user') } });
    assert.match(denied.message, /To load it anyway, name the helper in constraints\.permit_helpers/);
    const lifted = (await c.call('load_program', {
      source: { type: 'file', path: fixture('write_user') },
      constraints: { verify_only: true, permit_helpers: ['bpf_probe_write_user'] },
    })).structuredContent;
    assert.equal(lifted.success, true, JSON.stringify(lifted.error));
    assert.deepEqual(lifted.programs[0].helpers, ['bpf_probe_write_user']);
    assert.equal((await c.call('info')).structuredContent.policy.not_granted.length, 0);
  } finally {
    await c.close();
    net.cleanup();
  }
});

test("the policy's rules: allowed digests (the catalog exempt), allowed program types, calls per second, and a lease's end in the audit log", async () => {
  const audit = join(dir, 'rules.audit');
  const counters = createHash('sha256').update(readFileSync(fixture('counters'))).digest('hex');
  const policy = policyFile(
    'rules.json',
    JSON.stringify({ role: 'operator', sources: { allowed_dirs: [allowed], allowed_sha256: [counters] }, allowed_program_types: ['tracepoint'], rate_limits: { calls_per_second: 5 } }),
  );
  const c = await connect(['-t', 'stdio', '--policy', policy, '--audit-log', audit]);
  try {
    const digest = await refused(c, 'load_program', { source: { type: 'file', path: join(allowed, 'write_user.bpf.o') } });
    assert.equal(digest.context.rule, 'policy.sources.allowed_sha256');
    const type = await refused(c, 'load_program', { source: { type: 'file', path: join(allowed, 'counters.bpf.o') }, programs: ['xdp_count'] });
    assert.equal(type.context.rule, 'policy.allowed_program_types');
    assert.equal(type.context.program_type, 'xdp');
    const loaded = (await c.call('load_program', { source: { type: 'file', path: join(allowed, 'counters.bpf.o') }, programs: ['tp_getpid'] })).structuredContent;
    assert.equal(loaded.success, true, JSON.stringify(loaded.error));
    assert.equal(loaded.sha256, counters);
    const held = (await c.call('inspect_state', { fields: ['programs'], filters: { owned_only: true } })).structuredContent;
    assert.deepEqual(held.programs.map((p: { id: number; object_sha256: string }) => [p.id, p.object_sha256]), [[loaded.program_id, counters]]);
    const leased = (await c.call('attach_program', { program_id: loaded.program_id, attachment: GETPID, ttl_seconds: 1 })).structuredContent;
    assert.equal(leased.success, true, JSON.stringify(leased.error));

    const catalog = (await c.call('load_program', { source: { type: 'file', path: catalogObject('exec_events') } })).structuredContent;
    assert.equal(catalog.success, true, `the catalog is exempt from allowed_sha256: ${JSON.stringify(catalog.error)}`);

    // A burst of ten calls passes (six are spent above), then five a second: of a flood of 30 at once, at least ten are refused, saying when to call again.
    const flood = await Promise.all(Array.from({ length: 30 }, () => c.call('inspect_state', { fields: ['system'] })));
    const limited = flood.filter((r) => r.isError).map((r) => r.structuredContent.error);
    assert.ok(limited.length >= 10 && limited.length <= 29, `${limited.length} of 30 refused`);
    for (const e of limited) {
      assert.equal(e.type, 'RESOURCE_LIMIT_EXCEEDED');
      assert.equal(e.context.resource, 'calls_per_second');
      assert.ok(e.context.retry_after_ms > 0 && e.context.retry_after_ms <= 200);
    }
    assert.ok(await eventually(() => auditLines(audit).some((l) => l.event === 'lease_expired'), 3000), 'no lease_expired line');
    const lease = auditLines(audit).find((l) => l.event === 'lease_expired') as Record<string, any>;
    assert.deepEqual(lease.released.links, [leased.link_id]);
    assert.equal(lease.tool, undefined);
  } finally {
    await c.close();
  }
});

test('a policy file with an error is refused at start, naming the file and the line', () => {
  const bad = policyFile('bad.yaml', 'role: operator\nsources:\n  alowed_dirs: [/tmp]\n');
  const r = spawnSync(SERVER_BIN, ['-t', 'stdio', '--policy', bad], { input: '', encoding: 'utf8', timeout: 10_000 });
  assert.equal(r.status, 2);
  assert.match(r.stderr, new RegExp(`${bad}:3: sources\\.alowed_dirs`));
  assert.match(r.stderr, /allowed_dirs/);
  const role = spawnSync(SERVER_BIN, ['-t', 'stdio', '--role', 'root'], { input: '', encoding: 'utf8', timeout: 10_000 });
  assert.equal(role.status, 2);
  assert.match(role.stderr, /--role must be observer, operator, admin/);
});
