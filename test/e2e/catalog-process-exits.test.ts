import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { after, before, test } from 'node:test';
import { type Connected, connect } from '../helpers/client.js';
import { loadCatalog } from '../helpers/catalog.js';
import { waitingShell } from '../helpers/kernel.js';
import { mountPointOf } from '../../src/kernel/host.js';

let c: Connected;
before(async () => {
  c = await connect();
});
after(async () => {
  await c.close();
});

/** Loads exitsnoop by name with these parameters and attaches it as its section says. */
const loadAttached = (parameters: Record<string, unknown>) => loadCatalog(c, 'exitsnoop', parameters);

/** Streams the object's ring while `act` runs, then returns the stream's result. */
async function during(loaded: Record<string, any>, args: Record<string, unknown>, act: () => Promise<void>): Promise<Record<string, any>> {
  const pending = c.call('stream_events', { source: { object_id: loaded.object_id, map: 'events' }, duration_ms: 2000, max_events: 100, ...args });
  await new Promise((r) => setTimeout(r, 250));
  await act();
  const s = (await pending).structuredContent;
  assert.equal(s.success, true, JSON.stringify(s.error));
  return s;
}

/** A node child (several threads) that exits with `code` when told to: its pid is known before it exits. */
async function nodeChild(code: number): Promise<{ child: ChildProcess; go: () => Promise<void> }> {
  const script = `process.stdout.write('ready\\n'); process.stdin.once('data', () => process.exit(${code}))`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  await new Promise((r) => child.stdout!.once('data', r));
  const exited = new Promise((r) => child.once('exit', r));
  return {
    child,
    go: async () => {
      child.stdin!.end('go\n');
      await exited;
    },
  };
}

const NODE_COMM = basename(process.execPath).slice(0, 15);

/** A live process's cgroup v2 id: the inode of its cgroup's directory. */
function cgroupId(pid: number): number {
  const path = /^0::(.*)$/m.exec(readFileSync(`/proc/${pid}/cgroup`, 'utf8'))?.[1];
  const root = mountPointOf('cgroup2');
  assert.ok(path !== undefined && root, 'cgroup2 is mounted');
  return statSync(join(root, path)).ino;
}
const data = (s: Record<string, any>) => s.events.map((e: { data: Record<string, any> }) => e.data);

test('exitsnoop: a process that exits with 3, once for all its threads, with its parent and lifetime; others left out by pid', async () => {
  const started = process.hrtime.bigint();
  const n = await nodeChild(3);
  const other = await waitingShell('exit 0');
  try {
    const cgroup = cgroupId(n.child.pid!);
    const loaded = await loadAttached({ pid: n.child.pid });
    const s = await during(loaded, {}, async () => {
      await other.go();
      await n.go();
    });
    const elapsedNs = Number(process.hrtime.bigint() - started);
    assert.equal(s.decoded_type, 'struct process_exit_event');
    assert.equal(s.events.length, 1, JSON.stringify(data(s)));
    const e = data(s)[0];
    assert.equal(e.pid, n.child.pid);
    assert.equal(e.ppid, process.pid);
    assert.equal(e.uid, process.getuid!());
    assert.equal(e.comm, NODE_COMM, "the process's name, the leader's, whichever thread ended last");
    assert.equal(e.exit_code, 3);
    assert.equal(e.sig, 0);
    assert.equal(e.core_dumped, false);
    assert.ok(e.lifetime_ns > 0 && e.lifetime_ns < elapsedNs, `lifetime ${e.lifetime_ns} ns within the test's ${elapsedNs} ns`);
    assert.equal(typeof e.lifetime, 'string');
    assert.equal(e.cgroup_id, cgroup);
    assert.ok(!('pad' in e), 'padding is hidden');
    assert.equal(s.schema.properties.sig['x-render'], 'signal');
    assert.equal(s.stats.lost, 0);
  } finally {
    n.child.kill('SIGKILL');
    other.sh.kill('SIGKILL');
  }
});

test('exitsnoop: threads gives every thread its own record, the leader among them', async () => {
  const n = await nodeChild(3);
  try {
    const loaded = await loadAttached({ pid: n.child.pid, threads: true });
    const s = await during(loaded, {}, n.go);
    const threads = data(s);
    assert.ok(threads.length > 1, `node runs several threads: ${JSON.stringify(threads)}`);
    assert.ok(threads.every((e: { pid: number }) => e.pid === n.child.pid), JSON.stringify(threads));
    const tids = threads.map((e: { tid: number }) => e.tid);
    assert.equal(new Set(tids).size, tids.length, 'one record per thread');
    // Each thread's own status: the leader's is exit_group's 3; workers node stopped before it may show 0.
    assert.equal(threads.find((e: { tid: number }) => e.tid === n.child.pid)?.exit_code, 3, 'the leader is one of them');
    assert.equal(s.stats.lost, 0);
  } finally {
    n.child.kill('SIGKILL');
  }
});

test('exitsnoop: a process killed by SIGKILL, by name; failed_only leaves out a clean exit', async () => {
  const clean = await waitingShell('exit 0');
  const killed = await waitingShell('exit 0');
  try {
    const loaded = await loadAttached({ failed_only: true });
    const pids = [clean.sh.pid, killed.sh.pid];
    const s = await during(loaded, { filters: { where: [{ field: 'pid', op: 'in', value: pids }] } }, async () => {
      await clean.go();
      const gone = new Promise((r) => killed.sh.once('exit', r));
      process.kill(killed.sh.pid!, 'SIGKILL');
      await gone;
    });
    assert.deepEqual(
      data(s).map((e: Record<string, unknown>) => [e.pid, e.ppid, e.comm, e.exit_code, e.sig, e.core_dumped]),
      [[killed.sh.pid, process.pid, 'sh', 0, 'SIGKILL', false]],
    );
    assert.equal(s.stats.lost, 0);
  } finally {
    clean.sh.kill('SIGKILL');
    killed.sh.kill('SIGKILL');
  }
});
