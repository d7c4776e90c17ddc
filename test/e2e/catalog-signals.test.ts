import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type Connected, connect } from '../helpers/client.js';
import { loadCatalog } from '../helpers/catalog.js';
import { waitingShell } from '../helpers/kernel.js';

let c: Connected;
before(async () => {
  c = await connect();
});
after(async () => {
  await c.close();
});

/** Loads sigsnoop by name with these parameters and attaches it as its section says. */
const loadAttached = (parameters: Record<string, unknown>) => loadCatalog(c, 'sigsnoop', parameters);

/** Streams the object's ring while `act` runs, then returns the stream's result. */
async function during(loaded: Record<string, any>, act: () => Promise<void>): Promise<Record<string, any>> {
  const pending = c.call('stream_events', { source: { object_id: loaded.object_id, map: 'events' }, duration_ms: 2000, max_events: 100 });
  await new Promise((r) => setTimeout(r, 250));
  await act();
  const s = (await pending).structuredContent;
  assert.equal(s.success, true, JSON.stringify(s.error));
  return s;
}

/** Sends `signal` to `sh` and waits until it has exited, when the signal ends it. */
async function killAndWait(sh: { pid?: number; once: (e: 'exit', f: () => void) => unknown }, signal: NodeJS.Signals): Promise<void> {
  const gone = new Promise<void>((r) => sh.once('exit', () => r()));
  process.kill(sh.pid!, signal);
  await gone;
}

const data = (s: Record<string, any>) => s.events.map((e: { data: Record<string, any> }) => e.data);

test('sigsnoop: SIGUSR1 from this process to a child, by name, delivered; signals to another process left out by pid', async () => {
  // Shells that wait in `read`: SIGUSR1's default action ends them.
  const target = await waitingShell('exit 0');
  const other = await waitingShell('exit 0');
  try {
    const loaded = await loadAttached({ pid: target.sh.pid });
    const s = await during(loaded, async () => {
      await killAndWait(other.sh, 'SIGUSR1');
      await killAndWait(target.sh, 'SIGUSR1');
    });
    assert.equal(s.decoded_type, 'struct signal_event');
    assert.deepEqual(data(s), [
      {
        pid: process.pid,
        tid: process.pid,
        target_pid: target.sh.pid,
        target_tid: target.sh.pid,
        sig: 'SIGUSR1',
        code: 0, // SI_USER: kill(2)
        result: 'SIGNAL_DELIVERED',
        group: true,
        comm: 'node',
        target_comm: 'sh',
      },
    ]);
    assert.equal(s.schema.properties.sig['x-render'], 'signal');
    assert.equal(s.stats.lost, 0);
  } finally {
    target.sh.kill('SIGKILL');
    other.sh.kill('SIGKILL');
  }
});

test('sigsnoop: failed_only keeps an ignored signal and leaves out a delivered one; signal keeps one, by name', async () => {
  // The shell ignores SIGUSR1 (its handler is SIG_IGN, so the kernel discards it at once); SIGUSR2 ends it.
  const ignoring = async () => waitingShell('trap "" USR1; echo ignoring; read again');
  const started = async () => {
    const w = await ignoring();
    w.sh.stdin.write('go\n');
    await new Promise((r) => w.sh.stdout.once('data', r)); // "ignoring": the trap is set
    return w;
  };
  const a = await started();
  const b = await started();
  try {
    const failed = await loadAttached({ pid: a.sh.pid, failed_only: true });
    const s = await during(failed, async () => {
      process.kill(a.sh.pid!, 'SIGUSR1');
      await killAndWait(a.sh, 'SIGUSR2');
    });
    assert.deepEqual(
      data(s).map((e: Record<string, unknown>) => [e.pid, e.target_pid, e.sig, e.result]),
      [[process.pid, a.sh.pid, 'SIGUSR1', 'SIGNAL_IGNORED']],
    );

    const only = await loadAttached({ pid: b.sh.pid, signal: 'SIGUSR2' });
    const t = await during(only, async () => {
      process.kill(b.sh.pid!, 'SIGUSR1');
      await killAndWait(b.sh, 'SIGUSR2');
    });
    assert.deepEqual(
      data(t).map((e: Record<string, unknown>) => [e.pid, e.target_pid, e.sig, e.result]),
      [[process.pid, b.sh.pid, 'SIGUSR2', 'SIGNAL_DELIVERED']],
    );
    assert.equal(s.stats.lost, 0);
    assert.equal(t.stats.lost, 0);
  } finally {
    a.sh.kill('SIGKILL');
    b.sh.kill('SIGKILL');
  }
});
