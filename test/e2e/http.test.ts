/**
 * The Streamable HTTP transport (`-t http`) against the real server and
 * kernel, through the SDK's client in both protocol eras (2025-11-25
 * sessions, stateless 2026-07-28 requests): bearer tokens, and no token's
 * text in the logs; the Host, Origin and path checks; what refuses to start;
 * an operator tracing over HTTP; 50 sessions of which half vanish without
 * DELETE; a stateless client's lease; SIGTERM; TLS.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { bpftoolIds, bpftoolLinksOf, eventually } from '../helpers/bpftool.js';
import { SERVER_BIN, catalogObject, fixture } from '../helpers/fixtures.js';
import { type Era, type HttpClient, INITIALIZE, type ToolResult, fetchTrusting, httpClient, keepCalling, rawRequest, startHttp } from '../helpers/http.js';
import { addToSet, pausedWorkload } from '../helpers/kernel.js';

const ERAS: readonly Era[] = ['2025-11-25', '2026-07-28'];
const GETPID = { tracepoint: { category: 'syscalls', name: 'sys_enter_getpid' } };
const EXEC = { tracepoint: { category: 'sched', name: 'sched_process_exec' } };

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'emcp-http-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** A fresh random token (64 hex digits). */
const newToken = (): string => randomBytes(32).toString('hex');

/** Writes a token file of `name role token` lines with `mode` and returns its path. */
function tokenFile(name: string, lines: readonly (readonly [string, string, string])[], mode = 0o600): string {
  const path = join(dir, name);
  writeFileSync(path, lines.map((l) => l.join(' ')).join('\n') + '\n', { mode });
  chmodSync(path, mode);
  return path;
}

/** A policy file (0600) that lets operators load the test fixtures as well as the catalog. */
function fixturesPolicy(): string {
  const path = join(dir, 'fixtures-policy.yaml');
  writeFileSync(path, `sources:\n  allowed_dirs: [${dirname(fixture('lossy'))}]\n`, { mode: 0o600 });
  return path;
}

/** The audit log's lines, parsed. */
function auditLines(path: string): Record<string, any>[] {
  if (!existsSync(path)) return [];
  const text = readFileSync(path, 'utf8').trim();
  return text ? text.split('\n').map((l) => JSON.parse(l)) : [];
}

/** A call's structuredContent, asserting it succeeded. */
async function ok(c: HttpClient, tool: string, args: Record<string, unknown> = {}): Promise<Record<string, any>> {
  const r: ToolResult = await c.call(tool, args);
  assert.equal(r.structuredContent.success, true, `${tool}: ${JSON.stringify(r.structuredContent.error)}`);
  return r.structuredContent;
}

/** Property names of the listed input schema of `tool` at a path of properties. */
function listedFields(tools: { name: string; inputSchema: unknown }[], tool: string, path: string[] = []): string[] {
  let node = tools.find((t) => t.name === tool)?.inputSchema as Record<string, any>;
  for (const p of path) node = node.properties[p];
  return Object.keys(node.properties ?? {});
}

/** What one loaded and attached object is in the kernel: its program, map and link ids. */
interface Held {
  objectId: string;
  programs: number[];
  maps: Record<string, number>;
  links: number[];
}

/** Loads fixture `lossy` with only one_record and attaches it to getpid. */
async function loadLossy(c: HttpClient): Promise<Held> {
  const loaded = await ok(c, 'load_program', { source: { type: 'file', path: fixture('lossy') }, programs: ['one_record'] });
  const attached = await ok(c, 'attach_program', { program_id: loaded.program_id, attachment: GETPID });
  return {
    objectId: loaded.object_id,
    programs: loaded.programs.filter((p: { loaded: boolean }) => p.loaded).map((p: { id: number }) => p.id),
    maps: Object.fromEntries(loaded.maps.map((m: { name: string; id: number }) => [m.name, m.id])),
    links: [attached.link_id],
  };
}

/** The ids of every program, map and link on the host. */
type HostIds = Record<'prog' | 'map' | 'link', Set<number>>;

/** Which of `held`'s programs, maps and links are among `ids`. */
function among(held: readonly Held[], ids: HostIds): { programs: number[]; maps: number[]; links: number[] } {
  return {
    programs: held.flatMap((h) => h.programs).filter((id) => ids.prog.has(id)),
    maps: held.flatMap((h) => Object.values(h.maps)).filter((id) => ids.map.has(id)),
    links: held.flatMap((h) => h.links).filter((id) => ids.link.has(id)),
  };
}

/** Which of `held`'s programs, maps and links bpftool still sees. */
function inKernel(held: readonly Held[]): { programs: number[]; maps: number[]; links: number[] } {
  return among(held, { prog: bpftoolIds('prog'), map: bpftoolIds('map'), link: bpftoolIds('link') });
}

/** How many of `held`'s objects bpftool sees. */
function countInKernel(held: readonly Held[]): number {
  const k = inKernel(held);
  return k.programs.length + k.maps.length + k.links.length;
}

/**
 * How many of `held`'s objects bpftool sees, without blocking this process while bpftool runs (on a busy host with
 * many objects it takes a while, and clients that must keep calling share this process's event loop).
 */
async function countInKernelAsync(held: readonly Held[]): Promise<number> {
  const ids = async (kind: 'prog' | 'map' | 'link') =>
    new Set((JSON.parse((await promisify(execFile)('bpftool', ['-j', kind, 'show'], { encoding: 'utf8', maxBuffer: 64 << 20 })).stdout || '[]') as { id: number }[]).map((x) => x.id));
  const [prog, map, link] = await Promise.all([ids('prog'), ids('map'), ids('link')]);
  const k = among(held, { prog, map, link });
  return k.programs.length + k.maps.length + k.links.length;
}

/** How many objects `held` has. */
const countHeld = (held: readonly Held[]): number => held.reduce((n, h) => n + h.programs.length + Object.keys(h.maps).length + h.links.length, 0);

test('tokens: none is 401 with a Bearer realm challenge, a wrong one 401 invalid_token, and no token (nor its digest) is in stderr or the audit log', async () => {
  const [op, adm, wrong] = [newToken(), newToken(), newToken()];
  const file = tokenFile('auth.tokens', [
    ['op', 'operator', op],
    ['adm', 'admin', adm],
  ]);
  const audit = join(dir, 'auth.audit');
  const s = await startHttp(['--token-file', file, '--audit-log', audit, '--log-level', 'debug']);
  const clients: HttpClient[] = [];
  try {
    const none = await rawRequest(s.url, { body: INITIALIZE });
    assert.equal(none.status, 401);
    assert.equal(none.headers['www-authenticate'], 'Bearer realm="ebpf-mcp"');
    const bad = await rawRequest(s.url, { body: INITIALIZE, headers: { authorization: `Bearer ${wrong}` } });
    assert.equal(bad.status, 401);
    assert.equal(bad.headers['www-authenticate'], 'Bearer realm="ebpf-mcp", error="invalid_token"');
    // The right token in another scheme, or with two spaces, is no bearer token.
    for (const authorization of [`Basic ${Buffer.from(`op:${op}`).toString('base64')}`, `Bearer  ${op}`, op]) {
      const r = await rawRequest(s.url, { body: INITIALIZE, headers: { authorization } });
      assert.equal(r.status, 401, authorization.slice(0, 8));
      assert.equal(r.headers['www-authenticate'], 'Bearer realm="ebpf-mcp", error="invalid_token"');
    }
    for (const era of ERAS) await assert.rejects(httpClient(s.url, era, { token: wrong }), /401|nauthorized/, `${era}: a wrong token connected`);

    // The right tokens, in both eras, and calls that write audit lines (a load among them).
    for (const era of ERAS) {
      for (const token of [op, adm]) {
        const c = await httpClient(s.url, era, { token, name: `auth-${era}` });
        clients.push(c);
        await ok(c, 'info');
        await ok(c, 'load_program', { source: { type: 'file', path: catalogObject('exec_events') } });
      }
    }
    // A wrong token after the calls, in a request the SDK would make.
    const late = await rawRequest(s.url, { body: INITIALIZE, headers: { authorization: `Bearer ${wrong}` } });
    assert.equal(late.status, 401);
    for (const c of clients.splice(0)) await c.client.close();
    assert.equal(await s.stop(), 0);

    const lines = auditLines(audit);
    const calls = lines.filter((l) => l.event === 'call');
    assert.deepEqual(
      calls.map((l) => [l.principal.token, l.role, l.tool, l.outcome.ok]),
      ERAS.flatMap(() => [
        ['op', 'operator', 'info', true],
        ['op', 'operator', 'load_program', true],
        ['adm', 'admin', 'info', true],
        ['adm', 'admin', 'load_program', true],
      ]),
    );
    assert.deepEqual(calls.map((l) => l.principal.client?.name), ERAS.flatMap((era) => Array(4).fill(`auth-${era}`)));
    const text = readFileSync(audit, 'utf8');
    const err = s.stderr();
    assert.match(err, /session opened/, 'debug logging was on and logged the sessions');
    for (const [what, secret] of [
      ['op', op],
      ['adm', adm],
      ['wrong', wrong],
    ] as const) {
      const digest = createHash('sha256').update(secret).digest('hex');
      for (const [where, body] of [
        ['stderr', err],
        ['the audit log', text],
      ] as const) {
        assert.ok(!body.includes(secret), `the ${what} token is in ${where}`);
        assert.ok(!body.includes(digest), `the ${what} token's digest is in ${where}`);
        assert.ok(!body.includes(secret.slice(0, 16)), `a part of the ${what} token is in ${where}`);
      }
    }
  } finally {
    for (const c of clients) await c.client.close().catch(() => undefined);
    await s.stop('SIGKILL');
  }
});

test('a foreign Origin is 403 and a foreign Host is 403, before the token is looked at; another path is 404', async () => {
  const op = newToken();
  const s = await startHttp(['--token-file', tokenFile('origin.tokens', [['op', 'operator', op]])]);
  try {
    const auth = { authorization: `Bearer ${op}` };
    const local = `127.0.0.1:${s.port}`;
    // The same request with this server's own Host and Origin is accepted: what follows is refused for one header alone.
    for (const origin of [`http://${local}`, `http://localhost:${s.port}`]) {
      const r = await rawRequest(s.url, { body: INITIALIZE, headers: { ...auth, origin } });
      assert.equal(r.status, 200, `${origin}: ${r.text}`);
      assert.match(r.text, /"protocolVersion":"2025-11-25"/);
    }
    const origin = await rawRequest(s.url, { body: INITIALIZE, headers: { ...auth, origin: 'http://evil.example.com' } });
    assert.equal(origin.status, 403);
    assert.match(origin.text, /Invalid Origin: evil\.example\.com/);
    const noToken = await rawRequest(s.url, { body: INITIALIZE, headers: { origin: 'http://evil.example.com' } });
    assert.equal(noToken.status, 403, 'the Origin is checked before the token');

    for (const host of ['evil.example.com', `evil.example.com:${s.port}`, `127.0.0.2:${s.port}`]) {
      const r = await rawRequest(s.url, { body: INITIALIZE, headers: { ...auth, host } });
      assert.equal(r.status, 403, host);
      assert.match(r.text, /Invalid Host/);
    }
    for (const path of ['/', '/other', '/mcp/', '/mcpx', '/sse']) {
      const r = await rawRequest(s.url, { body: INITIALIZE, headers: auth, path });
      assert.equal(r.status, 404, path);
      assert.match(r.text, /the MCP endpoint is \/mcp/);
    }
    const query = await rawRequest(s.url, { body: INITIALIZE, headers: auth, path: '/mcp?x=1' });
    assert.equal(query.status, 200, 'a query string is not another path');
  } finally {
    await s.stop('SIGKILL');
  }
});

test('refused at start with exit 2: a non-loopback address without tokens, a token file open to others, a bad line; no message holds a token', () => {
  const start = (args: string[]) => spawnSync(SERVER_BIN, ['-t', 'http', '--port', '0', ...args], { encoding: 'utf8', timeout: 10_000 });
  const open = start(['--host', '0.0.0.0']);
  assert.equal(open.status, 2, open.stderr);
  assert.match(open.stderr, /refusing to listen on 0\.0\.0\.0 without --token-file/);

  const secret = newToken();
  const readable = tokenFile('readable.tokens', [['op', 'operator', secret]], 0o644);
  const r = start(['--token-file', readable]);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, new RegExp(`token file ${readable}: is open to group or others \\(mode 0?644\\)`));
  assert.ok(!r.stderr.includes(secret), 'the token is in the message');
  const withHost = start(['--host', '0.0.0.0', '--token-file', readable]);
  assert.equal(withHost.status, 2, 'a token file open to others is refused off loopback too');

  // Lines that are wrong in ways that would show a token if a message quoted the line or a field.
  const short = 'short-secret-1234';
  const cases: [string, string, RegExp][] = [
    ['swapped', `${secret} op operator`, /:1: unknown role/],
    ['extra', `op operator ${secret} ${secret}`, /:1: expected 3 fields/],
    ['short', `op operator ${short}`, /:1: the token is shorter than 32 characters/],
    ['badrole', `op ${secret} ${secret}x`, /:1: unknown role/],
    ['dup', `op operator ${secret}\nop2 admin ${secret}`, /:2: the same token as on line 1/],
  ];
  for (const [name, text, message] of cases) {
    const path = join(dir, `${name}.tokens`);
    writeFileSync(path, text + '\n', { mode: 0o600 });
    const bad = start(['--token-file', path]);
    assert.equal(bad.status, 2, `${name}: ${bad.stderr}`);
    assert.match(bad.stderr, message, name);
    assert.ok(!bad.stderr.includes(secret.slice(0, 16)) && !bad.stderr.includes(short), `${name}: the token is in the message: ${bad.stderr}`);
  }
});

/** A shell that waits for a line, then execs /bin/uname -r: its pid is known before either of its execs is traced. */
async function execChild(): Promise<{ pid: number; script: string; go: () => Promise<void> }> {
  const script = 'echo ready; read go; exec /bin/uname -r';
  const sh = spawn('/bin/sh', ['-c', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  await new Promise((r) => sh.stdout.once('data', r));
  const exited = new Promise((r) => sh.once('exit', r));
  return {
    pid: sh.pid as number,
    script,
    go: async () => {
      sh.stdin.end('go\n');
      await exited;
    },
  };
}

/** The two execs of an execChild, as exec_events decodes them: node's of /bin/sh, then the shell's of uname. */
function execsOf(child: { pid: number; script: string }): unknown[][] {
  return [
    [child.pid, process.pid, 'sh', '/bin/sh', `/bin/sh -c ${child.script}`],
    [child.pid, process.pid, 'uname', '/bin/uname', '/bin/uname -r'],
  ];
}

const execRow = (e: { data: Record<string, unknown> }): unknown[] => [e.data.pid, e.data.ppid, e.data.comm, e.data.filename, e.data.args];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const era of ERAS) {
  test(`${era}: an operator token traces exec_events on a tracepoint and streams a child's execs, foreground and background; xdp is not listed and refused`, async () => {
    const [op, adm] = [newToken(), newToken()];
    const file = tokenFile(`operator-${era}.tokens`, [
      ['op', 'operator', op],
      ['adm', 'admin', adm],
    ]);
    const s = await startHttp(['--token-file', file, '--policy', fixturesPolicy()]);
    const clients: HttpClient[] = [];
    try {
      const c = await httpClient(s.url, era, { token: op });
      clients.push(c);
      assert.equal(c.transport.sessionId === undefined, era === '2026-07-28', 'a session id exactly in the 2025-11-25 era');
      const tools = (await c.client.listTools()).tools;
      assert.deepEqual(tools.map((t) => t.name), ['info', 'load_program', 'attach_program', 'inspect_state', 'stream_events']);
      const kinds = listedFields(tools, 'attach_program', ['attachment']);
      assert.ok(kinds.includes('tracepoint'));
      for (const k of ['xdp', 'tc', 'cgroup']) assert.ok(!kinds.includes(k), `${k} is listed for an operator`);
      const admin = await httpClient(s.url, era, { token: adm });
      clients.push(admin);
      assert.ok(listedFields((await admin.client.listTools()).tools, 'attach_program', ['attachment']).includes('xdp'), 'the admin token lists xdp');
      assert.equal((await ok(c, 'info')).policy.role, 'operator');

      const loaded = await ok(c, 'load_program', { source: { type: 'file', path: catalogObject('exec_events') } });
      const attached = await ok(c, 'attach_program', { program_id: loaded.program_id, attachment: EXEC });
      assert.deepEqual(bpftoolLinksOf(loaded.program_id), [attached.link_id], 'bpftool sees the link the server reported');
      const source = { object_id: loaded.object_id, map: 'events' };

      const fg = await execChild();
      const pending = c.call('stream_events', { source, duration_ms: 5000, max_events: 2, filters: { pid: fg.pid } });
      await sleep(250);
      await fg.go();
      const streamed = (await pending).structuredContent;
      assert.equal(streamed.success, true, JSON.stringify(streamed.error));
      assert.equal(streamed.decoded_type, 'struct exec_event');
      assert.deepEqual(streamed.events.map(execRow), execsOf(fg));

      const bgChild = await execChild();
      const started = await ok(c, 'stream_events', { source, mode: 'background', filters: { pid: bgChild.pid }, ttl_seconds: 60 });
      assert.match(started.stream_id, /^s\d+$/);
      await bgChild.go();
      let read: Record<string, any> = {};
      for (const deadline = Date.now() + 5000; Date.now() < deadline; await sleep(100)) {
        read = await ok(c, 'stream_events', { stream_id: started.stream_id, cursor: 0 });
        if (read.events.length >= 2) break;
      }
      assert.deepEqual(read.events.map(execRow), execsOf(bgChild));
      assert.equal(read.next_cursor, 2);
      const again = await ok(c, 'stream_events', { stream_id: started.stream_id, cursor: 1 });
      assert.deepEqual(again.events.map(execRow), execsOf(bgChild).slice(1), 'read again from cursor 1');
      const stopped = await ok(c, 'stream_events', { stream_id: started.stream_id, stop: true });
      assert.equal(stopped.stopped, 'stopped');
      assert.equal(stopped.stats.events_matched, 2);

      const xdp = await ok(c, 'load_program', { source: { type: 'file', path: fixture('counters') }, programs: ['xdp_count'] });
      for (const attachment of [{ xdp: { interface: 'lo' } }, { auto: {} }]) {
        const r = (await c.call('attach_program', { program_id: xdp.program_id, attachment })).structuredContent;
        assert.equal(r.success, false, JSON.stringify(attachment));
        assert.equal(r.error.type, 'PERMISSION_DENIED');
        assert.equal(r.error.context.rule, 'attach:network');
        assert.equal(r.error.context.allowed_for, 'admin');
        if ('xdp' in attachment) assert.equal(r.error.context.field, 'attachment.xdp');
      }
      assert.deepEqual(bpftoolLinksOf(xdp.program_id), [], 'nothing was attached');
    } finally {
      for (const c of clients) await c.client.close().catch(() => undefined);
      await s.stop('SIGKILL');
    }
  });
}

/** A fetch whose every request, open streams included, `abort()` ends at once: the connections of a client that vanished. */
function abortableFetch(): { fetch: typeof fetch; abort: () => void } {
  const ac = new AbortController();
  return {
    fetch: (input, init) => fetch(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, ac.signal]) : ac.signal }),
    abort: () => ac.abort(),
  };
}

test('50 sessions at once each load, attach and stream; half vanish without DELETE and all they held goes at the idle timeout, while the rest keep working and keep theirs', async () => {
  const N = 50;
  // Short, for a quick test, yet long enough that a survivor calling every 1.5 s is never idle for it on a saturated
  // machine, where its requests can wait unread behind the others' for seconds.
  const IDLE_S = 15;
  const principals = Array.from({ length: 5 }, (_, i) => [`p${i}`, 'operator', newToken()] as const);
  const tokenOf = (i: number) => (principals[i % 5] as readonly string[])[2] as string;
  const audit = join(dir, 'many.audit');
  const s = await startHttp(['--token-file', tokenFile('many.tokens', principals), '--policy', fixturesPolicy(), '--idle-timeout', String(IDLE_S), '--audit-log', audit]);
  const fetches = Array.from({ length: N }, () => abortableFetch());
  const clients: HttpClient[] = [];
  // Every session is kept in use by a process of its own until the test means it to go idle: this one drives fifty
  // clients and runs bpftool, and on a loaded machine its event loop stalls for longer than the idle timeout (fifty
  // loads alone can take longer than it), so calls made from here would reach the server too late.
  const keeper = keepCalling(s.url);
  try {
    // Each principal has ten sessions: the cap on requests in flight is per principal. Each is pinged from the
    // moment it is open, one ping at a time, 1.5 s after the last answer: more often, the rest's inspect_state calls
    // (each a walk of every object and process on the host) are the load that keeps a busy machine's server behind.
    await Promise.all(
      fetches.map(async (f, i) => {
        const c = await httpClient(s.url, '2025-11-25', { token: tokenOf(i), fetch: f.fetch, name: `many-${i}` });
        clients[i] = c;
        keeper.add(i, c, tokenOf(i), 1500);
      }),
    );
    assert.equal(new Set(clients.map((c) => c.transport.sessionId)).size, N, 'fifty sessions');
    const held = await Promise.all(clients.map((c) => loadLossy(c)));
    assert.equal(countInKernel(held), countHeld(held), 'bpftool sees every object the sessions reported');
    const even = held.map((_, i) => i).filter((i) => i % 2 === 0);
    const odd = held.map((_, i) => i).filter((i) => i % 2 === 1);
    const gone = odd.map((i) => held[i] as Held);
    const kept = even.map((i) => held[i] as Held);
    const survivors = even.map((i) => clients[i] as HttpClient);
    // From here to the end each of the rest calls every 1.5 s, answered with exactly what it holds.
    await keeper.check(even.map((i) => ({ index: i, programs: held[i]?.programs as number[] })));

    // One workload's getpids, written into every session's ring: each stream decodes exactly them.
    const w = await pausedWorkload(['getpid', '3']);
    for (const h of held) addToSet(h.maps.targets as number, w.pid);
    await w.go();
    const streams = await Promise.all(clients.map((c, i) => ok(c, 'stream_events', { source: { object_id: held[i]?.objectId, map: 'ring' }, duration_ms: 5000, max_events: 3 })));
    for (const r of streams) assert.deepEqual(r.events.map((e: { data: { tgid: number } }) => e.data.tgid), [w.pid, w.pid, w.pid]);

    // Every session is used at once (the odd ones' pings have stopped and none is in flight); then the odd ones
    // vanish: half of them with their connections cut, half simply dropped (their event streams stay open). None
    // can be idle long enough to go before touched + the idle timeout.
    await keeper.release(odd);
    const touched = Date.now();
    await Promise.all(clients.map((c) => ok(c, 'info')));
    fetches.forEach((f, i) => i % 4 === 1 && f.abort());
    const vanished = Date.now();
    assert.equal(countInKernel(gone), countHeld(gone), 'the vanished sessions still hold everything right after they went');

    let firstGone: number | undefined;
    let allGone: number | undefined;
    for (const end = vanished + IDLE_S * 1000 + 6000; Date.now() < end; await sleep(200)) {
      const left = await countInKernelAsync(gone);
      if (left < countHeld(gone)) firstGone ??= Date.now();
      if (left === 0) {
        allGone = Date.now();
        break;
      }
    }
    assert.ok(allGone !== undefined, `${Date.now() - vanished} ms after they went bpftool still sees ${JSON.stringify(inKernel(gone))} of the vanished sessions`);
    const took = allGone - vanished;
    assert.ok((firstGone as number) - touched >= IDLE_S * 1000, `the first object went ${(firstGone as number) - touched} ms after the sessions were last used, before the ${IDLE_S} s idle timeout`);
    assert.equal(countInKernel(kept), countHeld(kept), 'the sessions that kept calling hold all of theirs');
    assert.equal(s.stderr().match(/session ended .*"why":"idle timeout"/g)?.length, N / 2);
    const ends = auditLines(audit).filter((l) => l.event === 'session_end');
    assert.deepEqual(
      ends.map((l) => l.released.programs).sort((a, b) => a[0] - b[0]),
      gone.map((h) => h.programs).sort((a, b) => (a[0] as number) - (b[0] as number)),
      'each vanished session released its own program, and no other session ended',
    );

    // The rest still stream (still calling meanwhile), and a DELETE releases a session's objects at once.
    const w2 = await pausedWorkload(['getpid', '2']);
    for (const h of kept) addToSet(h.maps.targets as number, w2.pid);
    await w2.go();
    const later = await Promise.all(survivors.map((c, i) => ok(c, 'stream_events', { source: { object_id: kept[i]?.objectId, map: 'ring' }, duration_ms: 5000, max_events: 2 })));
    for (const r of later) assert.deepEqual(r.events.map((e: { data: { tgid: number } }) => e.data.tgid), [w2.pid, w2.pid]);
    const tally = await keeper.stop();
    assert.deepEqual(tally.failures, [], 'every call of the rest was answered with exactly what the session holds');
    for (const i of even) assert.ok((tally.checks[i] ?? 0) > 0, `session ${i} was never checked`);
    await Promise.all(survivors.map((c) => c.transport.terminateSession()));
    assert.ok(await eventually(() => countInKernel(kept) === 0, 2000), `after DELETE bpftool still sees ${JSON.stringify(inKernel(kept))}`);
    const calls = even.reduce((n, i) => n + (tally.checks[i] ?? 0), 0);
    console.log(
      `50 sessions, idle timeout ${IDLE_S} s: the vanished half's first object went ${(firstGone as number) - touched} ms after their last use, the last ${took} ms after they went; ` +
        `the rest made ${calls} calls meanwhile, at most ${tally.maxGapMs} ms apart (${tally.pings} pings before, ${tally.pingFailures} failed)`,
    );
  } finally {
    await keeper.kill();
    for (const f of fetches) f.abort();
    await s.stop('SIGKILL');
  }
});

test('a session\'s open event stream is no request in flight: 40 sessions of one token all answer, and of 40 streams at once those past 32 are refused with 429', async () => {
  const N = 40;
  const op = newToken();
  const s = await startHttp(['--token-file', tokenFile('inflight.tokens', [['op', 'operator', op]]), '--policy', fixturesPolicy()]);
  const clients: HttpClient[] = [];
  try {
    // Connected one after another: each has its event stream (GET) open before the next.
    for (let i = 0; i < N; i++) clients.push(await httpClient(s.url, '2025-11-25', { token: op }));
    const held: Held[] = [];
    for (const c of clients) held.push(await loadLossy(c));
    assert.equal(countInKernel(held), countHeld(held));
    const results = await Promise.allSettled(
      clients.map((c, i) => ok(c, 'stream_events', { source: { object_id: held[i]?.objectId, map: 'ring' }, duration_ms: 1500 })),
    );
    const answered = results.filter((r) => r.status === 'fulfilled').length;
    const refused = results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as { data?: { status?: number; text?: string } }).data] : []));
    assert.ok(answered >= 32, `${answered} of ${N} answered`);
    assert.equal(answered + refused.length, N);
    for (const r of refused) {
      assert.equal(r?.status, 429);
      assert.match(String(r?.text), /32 requests of this principal are already in flight/);
    }
    // Every session still answers.
    for (const c of clients) assert.equal((await ok(c, 'inspect_state', { fields: ['programs'], filters: { owned_only: true } })).programs.length, 1);
  } finally {
    for (const c of clients) await c.client.close().catch(() => undefined);
    await s.stop('SIGKILL');
  }
});

test('stateless: a principal\'s objects go when its lease ends, and a request before the end renews it', async () => {
  const LEASE_MS = 3000;
  const op = newToken();
  const audit = join(dir, 'lease.audit');
  const s = await startHttp(['--token-file', tokenFile('lease.tokens', [['op', 'operator', op]]), '--policy', fixturesPolicy(), '--lease', String(LEASE_MS / 1000), '--audit-log', audit]);
  try {
    const c = await httpClient(s.url, '2026-07-28', { token: op });
    assert.equal(c.transport.sessionId, undefined);
    const a = await loadLossy(c);
    const loadedA = Date.now();
    assert.equal(countInKernel([a]), countHeld([a]));
    await sleep(LEASE_MS / 2);
    assert.equal(countInKernel([a]), countHeld([a]), 'halfway through the lease');
    assert.ok(await eventually(() => countInKernel([a]) === 0, LEASE_MS + 3000), `bpftool still sees ${JSON.stringify(inKernel([a]))}`);
    const tookA = Date.now() - loadedA;
    assert.ok(tookA >= LEASE_MS - 300, `released ${tookA} ms after the last request, before the lease's end`);
    assert.equal(s.stderr().match(/stateless lease ended/g)?.length, 1);

    // Another client of the same principal shares its objects; a request at half the lease renews it.
    const b = await loadLossy(c);
    const loadedB = Date.now();
    const other = await httpClient(s.url, '2026-07-28', { token: op, name: 'other-client' });
    await sleep(LEASE_MS / 2 - (Date.now() - loadedB));
    const listed = await ok(other, 'inspect_state', { fields: ['programs'], filters: { owned_only: true } });
    assert.deepEqual(listed.programs.map((p: { id: number }) => p.id), b.programs, 'the principal holds b, and a is gone');
    const renewed = Date.now();
    assert.ok(renewed - loadedB < LEASE_MS - 250, `the renewing request ended ${renewed - loadedB} ms after the load, too near the lease's end to tell`);
    await sleep(loadedB + LEASE_MS + LEASE_MS / 4 - Date.now());
    assert.equal(countInKernel([b]), countHeld([b]), `still held ${Date.now() - loadedB} ms after its load, past the first lease's end`);
    assert.ok(await eventually(() => countInKernel([b]) === 0, LEASE_MS + 3000), `bpftool still sees ${JSON.stringify(inKernel([b]))}`);
    const tookB = Date.now() - renewed;
    assert.ok(tookB >= LEASE_MS - 300, `released ${tookB} ms after the renewing request`);
    const ends = auditLines(audit).filter((l) => l.event === 'session_end');
    assert.deepEqual(ends.map((l) => l.released.programs), [a.programs, b.programs]);
    assert.deepEqual(ends.map((l) => l.released.links), [a.links, b.links]);
  } finally {
    await s.stop('SIGKILL');
  }
});

test('SIGTERM with sessions of both eras open, streams running, releases all they hold and exits within 2 s', async () => {
  const [op, adm] = [newToken(), newToken()];
  const audit = join(dir, 'sigterm.audit');
  const file = tokenFile('sigterm.tokens', [
    ['op', 'operator', op],
    ['adm', 'admin', adm],
  ]);
  const s = await startHttp(['--token-file', file, '--policy', fixturesPolicy(), '--audit-log', audit]);
  try {
    const legacy = await httpClient(s.url, '2025-11-25', { token: op });
    const stateless = await httpClient(s.url, '2026-07-28', { token: adm });
    const held = [await loadLossy(legacy), await loadLossy(legacy), await loadLossy(stateless)];
    await ok(legacy, 'stream_events', { source: { object_id: held[0]?.objectId, map: 'ring' }, mode: 'background' });
    // Streams in flight at the signal (the SDK's client, its connection gone, waits to resume them until its timeout).
    const inFlight = [legacy.client, stateless.client].map((client, i) =>
      client
        .callTool({ name: 'stream_events', arguments: { source: { object_id: held[i + 1]?.objectId, map: 'ring' }, duration_ms: 30_000 } }, { timeout: 2500 })
        .then((r) => r, (e: Error) => e),
    );
    await sleep(500);
    assert.equal(countInKernel(held), countHeld(held));
    const signalled = Date.now();
    s.proc.kill('SIGTERM');
    const code = await s.exited;
    const took = Date.now() - signalled;
    assert.equal(code, 0);
    assert.ok(took < 2000, `exited ${took} ms after SIGTERM`);
    assert.deepEqual(inKernel(held), { programs: [], maps: [], links: [] });
    const ends = auditLines(audit).filter((l) => l.event === 'session_end');
    assert.deepEqual(
      ends.map((l) => [l.principal.token, l.released.programs.sort()]).sort(),
      [
        ['adm', held[2]?.programs],
        ['op', [...(held[0]?.programs ?? []), ...(held[1]?.programs ?? [])].sort()],
      ],
      'the server released them itself (the audit log says so), not only the process exit',
    );
    assert.match(s.stderr(), /stopping \{"why":"SIGTERM"\}/);
    // Neither gets an answer: the server closes every connection once the sessions are released.
    const ended = await Promise.all(inFlight);
    assert.ok(ended.every((r) => r instanceof Error), JSON.stringify(ended).slice(0, 500));
  } finally {
    await s.stop('SIGKILL');
  }
});

test('TLS: HTTPS with a self-signed certificate; a client trusting it works in both eras, one that does not is refused', async (t) => {
  if (spawnSync('openssl', ['version']).status !== 0) return t.skip('openssl is not installed');
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-days', '1', '-keyout', key, '-out', cert], { stdio: 'pipe' });
  chmodSync(key, 0o600);
  const op = newToken();
  const s = await startHttp(['--token-file', tokenFile('tls.tokens', [['op', 'operator', op]]), '--tls-cert', cert, '--tls-key', key]);
  const clients: HttpClient[] = [];
  try {
    assert.equal(s.url.href, `https://127.0.0.1:${s.port}/mcp`);
    const ca = readFileSync(cert, 'utf8');
    for (const era of ERAS) {
      const c = await httpClient(s.url, era, { token: op, fetch: fetchTrusting(ca) });
      clients.push(c);
      assert.equal((await ok(c, 'info')).policy.role, 'operator');
      const loaded = await ok(c, 'load_program', { source: { type: 'file', path: catalogObject('exec_events') } });
      assert.ok(bpftoolIds('prog').has(loaded.program_id));
    }
    await assert.rejects(httpClient(s.url, '2025-11-25', { token: op }), (e: Error) => /self-signed certificate/.test(String((e.cause as Error | undefined)?.message)), 'the default fetch trusts no self-signed certificate');
    await assert.rejects(rawRequest(s.url, { body: INITIALIZE }), /self[- ]signed/);
    const noToken = await rawRequest(s.url, { body: INITIALIZE, ca });
    assert.equal(noToken.status, 401, 'over TLS the token is still needed');
    await assert.rejects(rawRequest(new URL(s.url.href.replace('https:', 'http:')), { body: INITIALIZE }), { code: 'ECONNRESET' }, 'plain HTTP to the TLS port is not served');
  } finally {
    for (const c of clients) await c.client.close().catch(() => undefined);
    await s.stop('SIGKILL');
  }
});
