/**
 * runq_latency (runqlat): the run-queue waits of the test's own CPU-bound
 * shells, three of them pinned to one CPU so they preempt each other. Each
 * shell sleeps before and after its spin, so between those two points every
 * switch-in of it followed a wait on the queue (its wakeup, then each
 * preemption) and counts once in the histogram.
 *
 * Two witnesses: bpftrace counts the shell's switch-ins on the sched_switch
 * tracepoint (the events runqlat is defined over), which the histogram's
 * total must equal; and the kernel's schedstat counts every switch-in after a
 * wait (its third field, sched_info.pcount), which bounds it from above.
 * They differ here: this VM's kernel emits no sched_switch for some switches
 * out of its agent's threads (pid 1), seen as the same missing switches by a
 * tp_btf, a raw_tp and a tracepoint program at once, so a switch-in that
 * follows one is in pcount and in no tracer's count.
 */
import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { type Connected, connect } from '../helpers/client.js';
import { loadCatalog, mapEntries, mapIdOf } from '../helpers/catalog.js';

/** Shell loop iterations: about 0.3 s of CPU for dash here. */
const SPINS = 300000;

let c: Connected;
before(async () => {
  c = await connect();
});
after(async () => {
  await c.close();
});

const bpftrace = (() => {
  try {
    return execFileSync('which', ['bpftrace'], { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
})();

/** A shell pinned to CPU 0 that sleeps on stdin, spins when told, then sleeps on stdin again until released. */
interface Spinner {
  pid: number;
  /** Wakes it to spin; resolves when it has finished and sleeps again. */
  spin(): Promise<void>;
  /** Lets it exit. */
  release(): Promise<void>;
}

/** The task's state letter from /proc/<pid>/stat. */
function state(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.charAt(stat.lastIndexOf(')') + 2);
}

/** Switch-ins after a wait on the run queue so far, as the kernel counts them (schedstat's pcount). */
function pcount(pid: number): number {
  return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').trim().split(' ')[2]);
}

/** Resolves once the task sleeps (S): from then on it makes no switch-in until it is woken. */
async function asleep(pid: number): Promise<void> {
  for (let k = 0; k < 500 && state(pid) !== 'S'; k++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(state(pid), 'S', `task ${pid} sleeps`);
}

async function spinner(): Promise<Spinner> {
  const script = `echo ready; read go; i=0; while [ $i -lt ${SPINS} ]; do i=$((i+1)); done; echo done; read end`;
  const sh: ChildProcessWithoutNullStreams = spawn('taskset', ['-c', '0', '/bin/sh', '-c', script], { stdio: ['pipe', 'pipe', 'pipe'] });
  const line = () => new Promise((r) => sh.stdout.once('data', r));
  const exited = new Promise((r) => sh.once('exit', r));
  await line();
  const pid = sh.pid as number;
  await asleep(pid);
  return {
    pid,
    spin: async () => {
      const done = line();
      sh.stdin.write('go\n');
      await done;
      await asleep(pid);
    },
    release: async () => {
      sh.stdin.end('\n');
      await exited;
    },
  };
}

/** How long bpftrace may take to print its counts and exit after SIGINT (its exit has been seen to stall on a busy host). */
const BPFTRACE_EXIT_MS = 20_000;

/**
 * bpftrace counting the switch-ins of `pids` on the sched_switch tracepoint, from when it resolves until `stop`;
 * `stop` gives undefined (and kills it) when it has not exited in BPFTRACE_EXIT_MS: the witness is then lost.
 */
async function switchIns(path: string, pids: number[]): Promise<{ stop(): Promise<Map<number, number> | undefined> }> {
  const pred = pids.map((p) => `args->next_pid == ${p}`).join(' || ');
  const bt = spawn(path, ['-e', `BEGIN { printf("ready\\n"); } tracepoint:sched:sched_switch /${pred}/ { @[args->next_pid] = count(); }`], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  bt.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise((r) => bt.once('exit', r));
  for (let k = 0; k < 1000 && !out.includes('ready'); k++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(out.includes('ready'), `bpftrace did not start: ${out}`);
  return {
    stop: async () => {
      bt.kill('SIGINT');
      const timer = new Promise<'late'>((r) => setTimeout(r, BPFTRACE_EXIT_MS, 'late').unref());
      if ((await Promise.race([exited, timer])) === 'late') {
        bt.kill('SIGKILL');
        await exited;
        console.log(`bpftrace did not exit within ${BPFTRACE_EXIT_MS} ms of SIGINT: totals checked against schedstat only`);
        return undefined;
      }
      return new Map([...out.matchAll(/^@\[(\d+)\]: (\d+)$/gm)].map((m) => [Number(m[1]), Number(m[2])]));
    },
  };
}

/** Loads runqlat by name with `parameters` and attaches its three programs; returns the id of `latency_us`. */
async function loadAttached(parameters: Record<string, unknown>): Promise<number> {
  const loaded = await loadCatalog(c, 'runqlat', parameters);
  assert.deepEqual(loaded.attachments.map((a) => a.attachment_point).sort(), ['tp_btf/sched_switch', 'tp_btf/sched_wakeup', 'tp_btf/sched_wakeup_new']);
  return mapIdOf(loaded, 'latency_us');
}

type Entry = { key: number; histogram: { total: number; buckets: unknown[] } };

/** Every entry of the map, page by page: key and histogram. */
const histograms = async (mapId: number): Promise<Entry[]> => (await mapEntries(c, mapId)) as Entry[];

/**
 * Three spinners run together on one CPU after `attach`. `read` returns the histogram totals it finds by spinner
 * pid; each is checked against both witnesses.
 */
async function contended(attach: (pids: number[]) => Promise<number>, read: (mapId: number, pids: number[]) => Promise<Map<number, number>>): Promise<void> {
  const spinners: Spinner[] = [];
  try {
    for (let k = 0; k < 3; k++) spinners.push(await spinner());
    const pids = spinners.map((s) => s.pid);
    const mapId = await attach(pids);
    const witness = bpftrace ? await switchIns(bpftrace, pids) : undefined;
    const before = new Map(pids.map((p) => [p, pcount(p)]));
    await Promise.all(spinners.map((s) => s.spin()));
    const waits = new Map(pids.map((p) => [p, pcount(p) - (before.get(p) as number)]));
    const traced = await witness?.stop();
    const totals = await read(mapId, pids);
    const row = (m?: Map<number, number>) => (m ? [...totals.keys()].map((p) => m.get(p)).join(' ') : '-');
    console.log(`spinners ${[...totals.keys()].join(' ')}: schedstat ${row(waits)}, bpftrace ${row(traced)}, histograms ${row(totals)}`);
    assert.ok(totals.size > 0);
    for (const [pid, total] of totals) {
      const w = waits.get(pid) as number;
      // It woke once and, sharing a CPU for about a second, was preempted and queued again.
      assert.ok(total > 1 && total <= w, `spinner ${pid}: histogram total ${total}, schedstat ${w}`);
      if (traced) assert.equal(total, traced.get(pid), `spinner ${pid}: histogram total ${total}, switch-ins bpftrace saw ${traced.get(pid)}`);
    }
  } finally {
    await Promise.all(spinners.map((s) => s.release()));
  }
}

test('runqlat with pid: one histogram, at key 0, of the target\'s waits', async (t) => {
  if (!bpftrace) t.diagnostic('bpftrace is not installed: totals checked against schedstat only');
  await contended(
    (pids) => loadAttached({ pid: pids[0] }),
    async (mapId, pids) => {
      const entries = await histograms(mapId);
      assert.deepEqual(entries.map((e) => e.key), [0]);
      assert.ok((entries[0]?.histogram.buckets.length ?? 0) > 0);
      return new Map([[pids[0] as number, entries[0]?.histogram.total as number]]);
    },
  );
});

test('runqlat with per_process: a histogram per tgid, each spinner\'s of its own waits', async (t) => {
  if (!bpftrace) t.diagnostic('bpftrace is not installed: totals checked against schedstat only');
  await contended(
    () => loadAttached({ per_process: true }),
    async (mapId, pids) => {
      // Every process on the host is timed; only the test's own are checked.
      const byKey = new Map((await histograms(mapId)).map((e) => [e.key, e.histogram.total]));
      assert.equal(byKey.get(0), undefined, 'no key 0 with per_process');
      for (const p of pids) assert.ok(byKey.has(p), `a histogram at key ${p}`);
      return new Map(pids.map((p) => [p, byKey.get(p) as number]));
    },
  );
});
