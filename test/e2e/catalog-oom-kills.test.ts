import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { type Connected, connect } from '../helpers/client.js';
import { loadCatalog } from '../helpers/catalog.js';
import { memoryCgroup, pausedWorkload } from '../helpers/kernel.js';

let c: Connected;
before(async () => {
  c = await connect();
});
after(async () => {
  await c.close();
});

const LIMIT_MIB = 32;

test("oomkill: a process over its memory cgroup's limit is killed, with its pid, name, memory and who ran the OOM killer", async (t) => {
  const loaded = await loadCatalog(c, 'oomkill');
  const cg = memoryCgroup('oom', LIMIT_MIB << 20);
  if ('skip' in cg) {
    t.skip(cg.skip);
    return;
  }
  try {
    // The workload joins the cgroup, prints its pid and waits; told to go, it writes 8 times the limit.
    const w = await pausedWorkload(['--cgroup', cg.path, 'alloc-mb', String(8 * LIMIT_MIB)]);
    const pending = c.call('stream_events', { source: { object_id: loaded.object_id, map: 'events' }, duration_ms: 5000, max_events: 1, filters: { pid: w.pid } });
    await new Promise((r) => setTimeout(r, 250));
    await w.go();
    const s = (await pending).structuredContent;
    assert.equal(s.success, true, JSON.stringify(s.error));
    assert.equal(s.decoded_type, 'struct oom_kill_event');
    assert.equal(s.events.length, 1, `the workload was OOM-killed: ${JSON.stringify(s.events)}`);
    const e = s.events[0].data;
    assert.equal(e.pid, w.pid);
    assert.equal(e.comm, 'workload');
    assert.equal(e.uid, process.getuid!());
    // It ran the OOM killer itself: its own allocation failed the charge.
    assert.equal(e.trigger_pid, w.pid);
    assert.equal(e.trigger_comm, 'workload');
    assert.equal(e.oom_score_adj, Number(readFileSync('/proc/self/oom_score_adj', 'utf8')), 'inherited from the test');
    // Its memory is what the cgroup held: nearly all of the limit, in anonymous pages it wrote.
    const limitKb = LIMIT_MIB * 1024;
    assert.ok(e.anon_rss_kb > limitKb / 2 && e.anon_rss_kb <= limitKb, `anon_rss_kb ${e.anon_rss_kb} of a ${limitKb} KiB limit`);
    assert.ok(e.total_vm_kb >= e.anon_rss_kb + e.file_rss_kb, `total_vm_kb ${e.total_vm_kb}`);
    assert.ok(e.pgtables_kb > 0);
    assert.ok(!('pad' in e), 'padding is hidden');
    // The OOM's domain comes from oom_kill_process: only the kprobe variant (hook "kprobe") knows it.
    assert.deepEqual([e.domain, e.domain_kb], ['OOM_DOMAIN_UNKNOWN', 0]);
    assert.equal(s.stats.lost, 0);
  } finally {
    cg.cleanup();
  }
});
