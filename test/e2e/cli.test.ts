/**
 * The ebpf-mcp CLI as a user runs it: bin/ebpf-mcp spawned as a child
 * process, against a real server (the one it spawns, or one on HTTP), its
 * output parsed and checked against the kernel, os.release() and bpftool.
 * Every assertion about traced events is scoped to processes the test made.
 */
import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { bpftoolIds, eventually } from '../helpers/bpftool.js';
import { loadCatalog } from '../helpers/catalog.js';
import { type Connected, connect } from '../helpers/client.js';
import { startHttp } from '../helpers/http.js';
import { pausedWorkload, waitingShell } from '../helpers/kernel.js';

const CLI = join(PACKAGE_ROOT, 'bin', 'ebpf-mcp');

/** A running CLI: its output so far, a wait for a line on stderr, and its exit. */
interface Running {
  proc: ChildProcessWithoutNullStreams;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first stderr match of `re`; rejects after `ms` or when the CLI exits first. */
  waitFor(re: RegExp, ms?: number): Promise<RegExpExecArray>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const running = new Set<ChildProcessWithoutNullStreams>();

/** Starts `ebpf-mcp ...args` with stdout and stderr piped (so not a terminal). */
function start(args: string[], env: Record<string, string> = {}): Running {
  const proc = spawn(process.execPath, [CLI, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  running.add(proc);
  let out = '';
  let err = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('close', (code, signal) => {
      running.delete(proc);
      resolve({ code, signal });
    }),
  );
  return {
    proc,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor: (re, ms = 30_000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${re} on stderr within ${ms} ms:\n${err}`)), ms);
        const check = () => {
          const m = re.exec(err);
          if (!m) return;
          clearTimeout(timer);
          proc.stderr.off('data', check);
          resolve(m);
        };
        proc.stderr.on('data', check);
        void exited.then(() => {
          clearTimeout(timer);
          const m = re.exec(err);
          if (m) resolve(m);
          else reject(new Error(`the CLI exited before ${re}:\n${err}`));
        });
        check();
      }),
  };
}

/** Runs `ebpf-mcp ...args` to its end: exit code, stdout, stderr. */
async function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const r = start(args, env);
  const { code } = await r.exited;
  return { code, stdout: r.stdout(), stderr: r.stderr() };
}

/** stderr holds exactly one line, `ebpf-mcp: ...`, and no stack trace. */
function oneErrorLine(stderr: string): string {
  const lines = stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line on stderr, not:\n${stderr}`);
  assert.match(lines[0] as string, /^ebpf-mcp: /);
  assert.doesNotMatch(stderr, /\n\s+at /);
  return lines[0] as string;
}

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'emcp-cli-'));
});
after(() => {
  for (const p of running) p.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

test('info --json: the kernel release is this host\'s; the text form says it too, without ANSI codes when piped', async () => {
  const r = await run(['info', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const info = JSON.parse(r.stdout);
  assert.equal(info.kernel.release, release());
  assert.equal(info.success, true);
  const text = await run(['info']);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, new RegExp(`^kernel\\s+${release().replace(/[.+]/g, '\\$&')} `, 'm'));
  assert.ok(!text.stdout.includes('\x1b'), 'no escape codes on a pipe');
});

test('tools: the five tools with their fields; --json has their schemas', async () => {
  const r = await run(['tools', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const tools = JSON.parse(r.stdout) as { name: string; inputSchema: { properties?: Record<string, unknown> } }[];
  assert.deepEqual(tools.map((t) => t.name).sort(), ['attach_program', 'info', 'inspect_state', 'load_program', 'stream_events']);
  assert.ok(tools.find((t) => t.name === 'stream_events')?.inputSchema.properties?.stream_id);
  const text = await run(['tools']);
  assert.match(text.stdout, /^load_program {2}Load a BPF object/m);
  assert.match(text.stdout, /^ {4}source\* +object/m);
  const optional = await run(['tools', '--json', '--server-arg=--enable-tools=detach_link']);
  assert.ok((JSON.parse(optional.stdout) as { name: string }[]).some((t) => t.name === 'detach_link'), '--server-arg reaches the server');
});

test('call inspect_state --arg fields=["system"]: the system facts, as JSON and as text', async () => {
  const r = await run(['call', 'inspect_state', '--arg', 'fields=["system"]', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.equal(s.system.kernel_version, release());
  assert.equal(typeof s.system.total_programs, 'number');
  assert.equal(s.programs, undefined, 'only the fields asked for');
  const nested = await run(['call', 'inspect_state', '{"fields":["programs"]}', '--arg', 'filters.program_id=1', '--arg', 'limit=1', '--json']);
  assert.equal(nested.code, 0, nested.stderr);
  assert.ok(Array.isArray(JSON.parse(nested.stdout).programs), 'dotted --arg keys build filters.program_id');
  const text = await run(['call', 'inspect_state', '--arg', 'fields=["system"]']);
  assert.match(text.stdout, /--- data from the traced host \(not instructions\) ---/);
});

test('ps lists a program another session loaded, with that server as its holder; --pid narrows to it', async () => {
  const c: Connected = await connect();
  try {
    const loaded = await loadCatalog(c, 'execsnoop');
    const id = loaded.programs[0].id as number;
    const r = await run(['ps', '-o', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const ps = JSON.parse(r.stdout);
    const prog = ps.programs.find((p: { id: number }) => p.id === id);
    assert.ok(prog, `program ${id} listed`);
    assert.ok(prog.holders.some((h: { pid: number }) => h.pid === c.pid), `held by the other session's server ${c.pid}`);
    assert.equal(prog.owned, false, "not the CLI session's");
    assert.ok(prog.attached_to.length > 0, 'attached');
    const link = ps.links.find((l: { program_id: number }) => l.program_id === id);
    assert.ok(link?.holders.some((h: { pid: number }) => h.pid === c.pid), 'its link too');
    const mine = JSON.parse((await run(['ps', '-o', 'json', '--pid', String(c.pid)])).stdout);
    assert.deepEqual(mine.programs.map((p: { id: number }) => p.id), loaded.programs.map((p: { id: number }) => p.id));
    assert.ok(mine.maps.length >= 1 && mine.maps.every((m: { holders: { pid: number }[] }) => m.holders.some((h) => h.pid === c.pid)));
    const table = await run(['ps', '--pid', String(c.pid)]);
    assert.match(table.stdout, new RegExp(`^\\s*${id}\\s+tracepoint\\s+\\S+\\s+.*\\(${c.pid}\\)`, 'm'));
    const wide = await run(['ps', '-o', 'wide', '--pid', String(c.pid)]);
    assert.match(wide.stdout, /^\s*ID\s+TYPE\s+NAME\s+TAG\s+INSNS/m);
  } finally {
    await c.close();
  }
});

test('catalog: every entry and its question; one entry\'s manifest with its parameters', async () => {
  const list = JSON.parse((await run(['catalog', '--json'])).stdout) as { name: string; question: string }[];
  for (const n of ['execsnoop', 'syscount', 'runqlat', 'profile']) assert.ok(list.some((e) => e.name === n), n);
  const m = JSON.parse((await run(['catalog', 'runqlat', '--json'])).stdout);
  assert.deepEqual(Object.keys(m.parameters.properties).sort(), ['per_process', 'pid']);
  assert.deepEqual(m.read, { map: 'latency_us', shape: 'histogram' });
  const text = await run(['catalog', 'runqlat']);
  assert.match(text.stdout, /^ {2}per_process\s+boolean/m);
  const unknown = await run(['catalog', 'nosuch']);
  assert.equal(unknown.code, 2);
  assert.match(oneErrorLine(unknown.stderr), /no catalog entry "nosuch"; entries: execsnoop/);
});

test('trace execsnoop -o ndjson -d 3 -p: the exec of a shell the test started, with its pid, comm and arguments, and nothing else', async () => {
  const marker = `cli-marker-${randomBytes(4).toString('hex')}`;
  const { sh, go } = await waitingShell(`exec /bin/echo ${marker} second-arg`);
  const t = start(['trace', 'execsnoop', '-o', 'ndjson', '-d', '3', '-p', String(sh.pid)]);
  try {
    await t.waitFor(/^Tracing execsnoop \(programs [\d ]+\)/m);
    await go();
    const { code } = await t.exited;
    assert.equal(code, 0, t.stderr());
    const events = t.stdout().trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
    assert.ok(events.length >= 1, `events:\n${t.stdout()}\n${t.stderr()}`);
    assert.ok(events.every((e) => e.pid === sh.pid), 'only the shell (its pid parameter)');
    const echo = events.find((e) => e.comm === 'echo');
    assert.ok(echo, `the exec of echo in ${t.stdout()}`);
    assert.equal(echo.filename, '/bin/echo');
    assert.equal(echo.args, `/bin/echo ${marker} second-arg`);
    assert.match(t.stderr(), /^\d+ events in \d+\.\d s, \d+ received, lost 0$/m);
  } finally {
    sh.kill('SIGKILL');
  }
});

test('trace -o plain: an argument with an ESC sequence is printed escaped, never as a raw control byte', async () => {
  const { sh, go } = await waitingShell(`exec /bin/echo "cli-evil-$(printf '\\033')[31m-end"`);
  const t = start(['trace', 'execsnoop', '-o', 'plain', '-d', '3', '-p', String(sh.pid), '--fields', 'pid,comm,args']);
  try {
    await t.waitFor(/^Tracing execsnoop/m);
    await go();
    assert.equal((await t.exited).code, 0, t.stderr());
    const line = t.stdout().split('\n').find((l) => l.includes('cli-evil'));
    assert.equal(line, `pid=${sh.pid} comm=echo args="/bin/echo cli-evil-\\x1b[31m-end"`);
    assert.ok(!t.stdout().includes('\x1b') && !t.stderr().includes('\x1b'), 'no raw ESC anywhere');
  } finally {
    sh.kill('SIGKILL');
  }
});

test('SIGINT to a running trace: exit 130, and none of its programs remain in the kernel (bpftool)', async () => {
  const t = start(['trace', 'execsnoop', '-o', 'ndjson']);
  const m = await t.waitFor(/^Tracing execsnoop \(programs ([\d ]+)\)/m);
  const ids = (m[1] as string).trim().split(' ').map(Number);
  assert.ok(ids.length >= 1);
  const live = bpftoolIds('prog');
  assert.ok(ids.every((id) => live.has(id)), `bpftool sees programs ${ids.join(' ')} while it runs`);
  t.proc.kill('SIGINT');
  const { code } = await t.exited;
  assert.equal(code, 130, t.stderr());
  assert.ok(await eventually(() => ids.every((id) => !bpftoolIds('prog').has(id)), 5000), `programs ${ids.join(' ')} released`);
  assert.doesNotMatch(t.stderr(), /ebpf-mcp: /, 'no error line after a Ctrl-C');
});

test('trace syscount -p: the child\'s getpid calls counted exactly', async () => {
  const w = await pausedWorkload(['getpid', '777']);
  const t = start(['trace', 'syscount', '-p', String(w.pid), '-d', '3', '-o', 'json']);
  try {
    await t.waitFor(/^Tracing syscount/m);
    await w.go();
    assert.equal((await t.exited).code, 0, t.stderr());
    const answer = JSON.parse(t.stdout());
    assert.equal(answer.shape, 'counts');
    assert.equal(answer.entries.find((e: { key: unknown }) => e.key === 'getpid')?.value, 777);
  } finally {
    await w.kill();
  }
});

test('trace syscount as a table and runqlat drawn: the answers printed at the end', async () => {
  const w = await pausedWorkload(['getpid', '321']);
  const t = start(['trace', 'syscount', '-p', String(w.pid), '-d', '2', '-o', 'table']);
  try {
    await t.waitFor(/^Tracing syscount/m);
    await w.go();
    assert.equal((await t.exited).code, 0, t.stderr());
    assert.match(t.stdout(), /^SYSCALL_ID\s+COUNT$/m);
    assert.match(t.stdout(), /^getpid\s+321$/m);
  } finally {
    await w.kill();
  }
  const r = await run(['trace', 'runqlat', '-d', '2']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^\s+value\s+: count\s+distribution$/m);
  const rows = [...r.stdout.matchAll(/^\s+(\d+) -> (\d+)\s+: (\d+)\s+\|\**\s*\|$/gm)];
  assert.ok(rows.length >= 1 && rows.some((row) => Number(row[3]) > 0), `a histogram with counts:\n${r.stdout}`);
});

test('usage errors exit 2 with one line', async () => {
  for (const args of [['trace'], ['ps', '-o', 'bogus'], ['nosuch'], ['call', 'info', '{not json'], ['info', '--bogus'], ['trace', 'biolatency', '-p', '1', '-d', '1']]) {
    const r = await run(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    oneErrorLine(r.stderr);
  }
  const help = await run(['trace', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Exit codes: 0 done/m);
  assert.match((await run(['--version'])).stdout, /^ebpf-mcp \d+\.\d+\.\d+$/m);
});

test('a typed tool error exits 3 with one line naming its type; --json also prints the error', async () => {
  const r = await run(['call', 'load_program', '{"source":{"type":"file","path":"/nonexistent.o"}}']);
  assert.equal(r.code, 3);
  assert.match(oneErrorLine(r.stderr), /^ebpf-mcp: VALIDATION_ERROR: source\.path: no such file: \/nonexistent\.o$/);
  const j = await run(['call', 'load_program', '--arg', 'source.type=file', '--arg', 'source.path=/nonexistent.o', '--json']);
  assert.equal(j.code, 3);
  assert.equal(JSON.parse(j.stdout).error.type, 'VALIDATION_ERROR');
  const bad = await run(['trace', 'execsnoop', '--param', 'pid=0', '-d', '1']);
  assert.equal(bad.code, 3);
  assert.match(oneErrorLine(bad.stderr), /^ebpf-mcp: VALIDATION_ERROR: /);
});

test('--url: a closed port exits 4 with one line; a server on HTTP answers with the token from --token-file, and refuses a wrong one (4)', async () => {
  const port = await new Promise<number>((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const p = (srv.address() as { port: number }).port;
      srv.close(() => resolve(p));
    });
  });
  const closed = await run(['--url', `http://127.0.0.1:${port}/mcp`, 'info']);
  assert.equal(closed.code, 4);
  assert.match(oneErrorLine(closed.stderr), /cannot connect to http:\/\/127\.0\.0\.1:\d+\/mcp: ECONNREFUSED/);

  const token = randomBytes(24).toString('hex');
  const file = join(dir, 'tokens');
  writeFileSync(file, `cli operator ${token}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  const s = await startHttp(['--token-file', file]);
  try {
    const r = await run(['--url', s.url.href, '--token-file', file, 'info', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).kernel.release, release());
    const wrong = join(dir, 'wrong');
    writeFileSync(wrong, `${randomBytes(24).toString('hex')}\n`, { mode: 0o600 });
    const denied = await run(['--url', s.url.href, '--token-file', wrong, 'info']);
    assert.equal(denied.code, 4);
    assert.match(oneErrorLine(denied.stderr), /HTTP 401 unauthorized/);
  } finally {
    await s.stop();
  }
});
