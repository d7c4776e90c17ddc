import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, constants as fsConstants, mkdtempSync, openSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type Connected, connect } from '../helpers/client.js';
import { execsSeen, loadCatalog, mapEntries, mapIdOf } from '../helpers/catalog.js';
import { catalogObject } from '../helpers/fixtures.js';
import { pausedWorkload } from '../helpers/kernel.js';

/** O_CLOEXEC (fs.constants lacks it): the same on x86_64 and arm64. */
const O_CLOEXEC = 0o2000000;

let c: Connected;
const scratch = mkdtempSync(join(tmpdir(), 'ebpf-mcp-catalog-'));
before(async () => {
  c = await connect();
});
after(async () => {
  await c.close();
  rmSync(scratch, { recursive: true, force: true });
});

/** Streams while `act` runs, then returns the events. */
async function during(args: Record<string, unknown>, act: () => Promise<void> | void): Promise<Record<string, any>> {
  const pending = c.call('stream_events', args);
  await new Promise((r) => setTimeout(r, 250));
  await act();
  const s = (await pending).structuredContent;
  assert.equal(s.success, true, JSON.stringify(s.error));
  return s;
}

test('info lists every catalog entry by its libbpf-tools name, with the question it answers; each object is where load_program finds it by path', async () => {
  const info = (await c.call('info')).structuredContent;
  assert.deepEqual(
    info.catalog.map((o: { name: string }) => o.name),
    ['execsnoop', 'opensnoop', 'tcpstates', 'tcplife', 'tcpconnect', 'exitsnoop', 'sigsnoop', 'oomkill', 'syscount', 'syscall_latency', 'runqlat', 'biolatency', 'biosnoop', 'profile', 'offcputime'],
  );
  for (const o of info.catalog) assert.deepEqual(Object.keys(o), ['name', 'question']);
  const s = (await c.call('inspect_state', { fields: ['catalog'] })).structuredContent;
  for (const m of s.catalog) assert.ok(existsSync(catalogObject(m.object.replace(/\.bpf\.o$/, ''))), m.object);
});

test('execsnoop: each exec with its parent, command, file and arguments', async () => {
  const loaded = await loadCatalog(c, 'execsnoop');
  // A shell that waits, then execs uname in place: its pid is known before the exec, so the stream takes only it.
  const script = 'echo ready; read go; exec /bin/uname -r';
  const sh = spawn('/bin/sh', ['-c', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  await new Promise((r) => sh.stdout.once('data', r));
  const exited = new Promise((r) => sh.once('exit', r));
  const s = await during({ source: { object_id: loaded.object_id, map: 'events' }, duration_ms: 2000, max_events: 50, filters: { pid: sh.pid as number } }, async () => {
    sh.stdin.end('go\n');
    await exited;
  });
  assert.equal(s.decoded_type, 'struct exec_event');
  // Both of its execs, each after the program was attached: node's of /bin/sh, then the shell's of uname.
  assert.deepEqual(
    s.events.map((e: { data: Record<string, unknown> }) => [e.data.pid, e.data.ppid, e.data.comm, e.data.filename, e.data.args, e.data.args_size, e.data.ret]),
    [
      [sh.pid, process.pid, 'sh', '/bin/sh', `/bin/sh -c ${script}`, `/bin/sh -c ${script}`.length + 1, 0],
      [sh.pid, process.pid, 'uname', '/bin/uname', '/bin/uname -r', '/bin/uname -r'.length + 1, 0],
    ],
  );
});

test('execsnoop: failed execs too, with ret by name (-ENOENT, -EACCES), then the exec that succeeds with ret 0', async () => {
  const missing = '/nonexistent/ebpf-mcp-no-such-binary';
  const plain = join(scratch, 'not-executable');
  writeFileSync(plain, 'data\n', { mode: 0o644 });
  // bash with execfail survives an exec that fails, so all three execve calls are its own, under the pid known before.
  const script = `shopt -s execfail; echo ready; read go; exec ${missing} arg1 arg2; exec ${plain} argA; exec /bin/uname -r`;
  const sh = spawn('/bin/bash', ['-c', script], { stdio: ['pipe', 'pipe', 'ignore'] });
  await new Promise((r) => sh.stdout.once('data', r));
  const exited = new Promise((r) => sh.once('exit', r));
  try {
    // Loaded for that pid alone: the program drops every other process's execs, failed or not, so no stream filter.
    const loaded = await loadCatalog(c, 'execsnoop', { pid: sh.pid });
    assert.deepEqual(loaded.attachments.map((a) => a.attachment_point).sort(), [
      'tp/sched/sched_process_exec',
      'tp/syscalls/sys_enter_execve',
      'tp/syscalls/sys_enter_execveat',
      'tp/syscalls/sys_exit_execve',
      'tp/syscalls/sys_exit_execveat',
    ]);
    const s = await during({ source: { object_id: loaded.object_id, map: 'events' }, duration_ms: 2000, max_events: 50 }, async () => {
      // Another process's failed exec meanwhile (node's spawn child, whose execve finds no file): dropped too.
      spawn('/nonexistent/ebpf-mcp-other-process').once('error', () => undefined);
      sh.stdin.end('go\n');
      await exited;
    });
    assert.equal(s.schema.properties.ret['x-render'], 'ret');
    const uid = process.getuid!();
    assert.deepEqual(
      s.events.map((e: { data: Record<string, unknown> }) => [e.data.pid, e.data.ppid, e.data.uid, e.data.comm, e.data.filename, e.data.args, e.data.args_size, e.data.ret]),
      [
        [sh.pid, process.pid, uid, 'bash', missing, `${missing} arg1 arg2`, `${missing} arg1 arg2`.length + 1, '-ENOENT'],
        [sh.pid, process.pid, uid, 'bash', plain, `${plain} argA`, `${plain} argA`.length + 1, '-EACCES'],
        [sh.pid, process.pid, uid, 'uname', '/bin/uname', '/bin/uname -r', '/bin/uname -r'.length + 1, 0],
      ],
    );
    assert.deepEqual(await mapEntries(c, mapIdOf(loaded, 'calls')), [], 'every call noted at its entry is gone: at its exit, or at the exec');
  } finally {
    sh.kill();
  }
});

test('with no compiler on the host (a PATH with node alone), execsnoop loads by name, attaches and sees an exec by the test', async () => {
  const bin = mkdtempSync(join(tmpdir(), 'ebpf-mcp-nocc-'));
  symlinkSync(process.execPath, join(bin, 'node'));
  const bare = await connect(['-t', 'stdio'], { env: { PATH: bin } });
  try {
    assert.throws(() => execFileSync('clang', ['--version'], { env: { PATH: bin } }), /ENOENT/);
    const loaded = await loadCatalog(bare, 'execsnoop');
    const { pid, records } = await execsSeen(bare, loaded.object_id, '/bin/uname', ['-n']);
    assert.ok(records.some((d) => d.pid === pid && d.args === '/bin/uname -n'), JSON.stringify(records));
  } finally {
    await bare.close();
    rmSync(bin, { recursive: true, force: true });
  }
});

test('execsnoop: arguments longer than the record holds are cut at 255 bytes, and args_size says by how much', async () => {
  const loaded = await loadCatalog(c, 'execsnoop');
  const long = 'x'.repeat(300);
  const sh = spawn('/bin/sh', ['-c', 'read go; exec /bin/echo "$0"', long], { stdio: ['pipe', 'ignore', 'inherit'] });
  const exited = new Promise((r) => sh.once('exit', r));
  const s = await during({ source: { object_id: loaded.object_id, map: 'events' }, duration_ms: 2000, max_events: 50, filters: { pid: sh.pid as number } }, async () => {
    sh.stdin.end('go\n');
    await exited;
  });
  const echo = s.events.find((e: { data: { comm: string } }) => e.data.comm === 'echo');
  assert.ok(echo, JSON.stringify(s.events));
  const argv = `/bin/echo ${long}`;
  assert.equal(echo.data.args, argv.slice(0, 255));
  assert.equal(echo.data.args_size, argv.length + 1);
});

test('execsnoop: a failed exec\'s arguments are cut at 255 bytes as well, args_size counting the first 20 whole', async () => {
  const missing = '/nonexistent/ebpf-mcp-no-such-binary';
  const long = 'x'.repeat(300);
  const many = Array.from({ length: 25 }, (_, i) => `a${i}`);
  const script = `shopt -s execfail; read go; exec ${missing} "$0"; exec ${missing} ${many.join(' ')}`;
  const sh = spawn('/bin/bash', ['-c', script, long], { stdio: ['pipe', 'ignore', 'ignore'] });
  const exited = new Promise((r) => sh.once('exit', r));
  try {
    const loaded = await loadCatalog(c, 'execsnoop', { pid: sh.pid });
    const s = await during({ source: { object_id: loaded.object_id, map: 'events' }, duration_ms: 2000, max_events: 50 }, async () => {
      sh.stdin.end('go\n');
      await exited;
    });
    const cut = `${missing} ${long}`;
    const first20 = [missing, ...many.slice(0, 19)].join(' ');
    assert.deepEqual(
      s.events.map((e: { data: Record<string, unknown> }) => [e.data.args, e.data.args_size, e.data.ret]),
      [
        [cut.slice(0, 255), cut.length + 1, '-ENOENT'],
        [first20, first20.length + 1, '-ENOENT'],
      ],
    );
  } finally {
    sh.kill();
  }
});

test('opensnoop with pid: the files this process opens, with their flags by name (and as numbers with json-raw)', async () => {
  const loaded = await loadCatalog(c, 'opensnoop', { pid: process.pid });
  const path = join(scratch, 'opened-by-the-test');
  const source = { object_id: loaded.object_id, map: 'events' };
  const s = await during({ source, duration_ms: 3000, max_events: 1000, filters: { pid: process.pid } }, () => {
    closeSync(openSync(path, 'w'));
    closeSync(openSync(path, fsConstants.O_RDONLY | O_CLOEXEC));
  });
  const mine = s.events.filter((e: { data: { filename: string } }) => e.data.filename === path).map((e: { data: Record<string, unknown> }) => e.data);
  assert.equal(mine.length, 2, `openats of ${path} among ${s.events.length} events`);
  assert.equal(mine[0].pid, process.pid);
  assert.equal(mine[0].comm, 'node');
  // libuv opens every file close-on-exec.
  assert.deepEqual(mine.map((d: { flags: string }) => d.flags), ['O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC', 'O_RDONLY|O_CLOEXEC']);
  assert.ok(mine.every((d: { ret: unknown }) => typeof d.ret === 'number' && d.ret >= 0), `each open returned its fd: ${JSON.stringify(mine)}`);
  assert.equal(s.schema.properties.flags['x-render'], 'open_flags');

  const raw = await during({ source, duration_ms: 3000, max_events: 1000, filters: { pid: process.pid }, format: 'json-raw' }, () => {
    closeSync(openSync(path, fsConstants.O_RDONLY | O_CLOEXEC));
  });
  const again = raw.events.filter((e: { data: { filename: string } }) => e.data.filename === path);
  assert.deepEqual(again.map((e: { data: { flags: number } }) => e.data.flags), [O_CLOEXEC], 'json-raw: the number the program wrote');
  assert.equal(raw.schema.properties.flags['x-render'], undefined);
});

test('opensnoop with failed_only: an open of a missing file, with ENOENT by name; the opens that succeed are left out', async () => {
  const loaded = await loadCatalog(c, 'opensnoop', { pid: process.pid, failed_only: true });
  const present = join(scratch, 'present');
  const missing = join(scratch, 'no-such-file');
  closeSync(openSync(present, 'w'));
  const s = await during({ source: { object_id: loaded.object_id, map: 'events' }, duration_ms: 2000, max_events: 1000 }, () => {
    closeSync(openSync(present, 'r'));
    assert.throws(() => openSync(missing, 'r'), /ENOENT/);
  });
  const files = s.events.map((e: { data: { filename: string } }) => e.data.filename);
  assert.ok(!files.includes(present), `a successful open was reported: ${JSON.stringify(files)}`);
  const failed = s.events.filter((e: { data: { filename: string } }) => e.data.filename === missing).map((e: { data: Record<string, unknown> }) => e.data);
  assert.deepEqual(failed.map((d: Record<string, unknown>) => [d.pid, d.comm, d.flags, d.ret]), [[process.pid, 'node', 'O_RDONLY|O_CLOEXEC', '-ENOENT']]);
  assert.equal(s.schema.properties.ret['x-render'], 'ret');
});

test('tcpstates with port: a loopback connection goes SYN_SENT then ESTABLISHED, by name, with its port', async () => {
  const server = createServer((sock) => sock.end());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  try {
    const loaded = await loadCatalog(c, 'tcpstates', { port });
    // Only this process's transitions: on loopback both ends' changes run in the task that sends (or, for a socket
    // it holds locked, releases it), so other connections on the machine cannot crowd these out.
    const s = await during({ source: { object_id: loaded.object_id, map: 'events' }, duration_ms: 2000, max_events: 1000, filters: { pid: process.pid } }, async () => {
      const sock = tcpConnect(port, '127.0.0.1');
      await new Promise((r) => sock.once('close', r));
    });
    const client = s.events.map((e: { data: Record<string, any> }) => e.data).filter((d: { dport: number }) => d.dport === port);
    const accepted = s.events.map((e: { data: Record<string, any> }) => e.data).filter((d: { sport: number }) => d.sport === port);
    const transitions = client.map((d: { oldstate: string; newstate: string }) => `${d.oldstate}>${d.newstate}`);
    assert.ok(transitions.includes('TCPS_CLOSE>TCPS_SYN_SENT'), transitions.join(' '));
    assert.ok(transitions.includes('TCPS_SYN_SENT>TCPS_ESTABLISHED'), transitions.join(' '));
    const syn = client.find((d: { newstate: string }) => d.newstate === 'TCPS_SYN_SENT');
    // Rendered from the object's btf_decl_tags: family by name, addresses as text, ports as numbers, padding hidden.
    assert.equal(syn.family, 'AF_INET');
    assert.equal(syn.saddr, '127.0.0.1');
    assert.equal(syn.daddr, '127.0.0.1');
    assert.equal(syn.dport, port);
    assert.equal(syn.pid, process.pid);
    assert.ok(!('pad' in syn), 'padding is hidden');
    // The client's port is bound after SYN_SENT is set: it shows from ESTABLISHED on, and the accepted end has it as dport.
    const est = client.find((d: { newstate: string }) => d.newstate === 'TCPS_ESTABLISHED');
    assert.ok(est.sport > 0 && est.sport < 65536 && est.sport !== port, `client port ${est.sport}`);
    assert.ok(accepted.some((d: { dport: number; saddr: string }) => d.dport === est.sport && d.saddr === '127.0.0.1'), 'the accepted end has the ports the other way round');
    assert.equal(s.schema.properties.saddr['x-render'], 'ip');
    assert.equal(s.schema.properties.pad, undefined);
  } finally {
    server.close();
  }
});

test('syscount with pid: the workload\'s 300 getpid calls counted under the syscall name, read through inspect_state', async () => {
  const w = await pausedWorkload(['getpid', '300']);
  let ran = false;
  try {
    const loaded = await loadCatalog(c, 'syscount', { pid: w.pid });
    const counts = loaded.maps.find((m: { name: string }) => m.name === 'counts');
    await w.go();
    ran = true;
    const entries = (await c.call('inspect_state', { fields: ['maps'], filters: { map_id: counts.id }, maps: { id: counts.id, limit: 1000 } })).structuredContent.map_entries;
    assert.equal(entries.key_type, 'syscall_id');
    const byName = new Map(entries.entries.map((e: { key: unknown; value: number }) => [e.key, e.value]));
    // Counted at entry: from its read(2), blocked while the program was attached, on, the workload entered these only.
    assert.deepEqual([...byName].sort(), [['exit_group', 1], ['getpid', 300]]);
  } finally {
    if (!ran) await w.go();
  }
});
