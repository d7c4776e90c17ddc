/**
 * block_io_events (biosnoop) by name: the test's own dd processes on a loop
 * device it creates (direct I/O on a file in a temporary directory), each
 * 4 KiB O_DIRECT write or read one request, completed before dd makes the
 * next, so N of them are N records in dd's order, checked against the
 * device's own counts in /sys/block/<dev>/stat. Every stream is scoped to
 * the loop device by the `disk` parameter, and to a dd by `pid` where the
 * test says so: other I/O on the machine does not reach it.
 */
import assert from 'node:assert/strict';
import { basename } from 'node:path';
import { readFileSync, writeFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { type Connected, connect } from '../helpers/client.js';
import { loadCatalog, streamsDuring } from '../helpers/catalog.js';
import { type Loop, delta, waitingShell, withLoop } from '../helpers/kernel.js';

/** Requests per dd: both dds' records fit one stream's 100. */
const N = 32;

let c: Connected;
before(async () => {
  c = await connect();
});
after(async () => {
  await c.close();
});

/** Loads biosnoop by name with `parameters` and attaches its programs; returns load_program's result. */
async function loadAttached(parameters: Record<string, unknown>): Promise<Record<string, any>> {
  const loaded = await loadCatalog(c, 'biosnoop', parameters);
  assert.equal(loaded.object_name, 'block_io_events');
  assert.deepEqual(
    loaded.attachments.map((a) => a.attachment_point).sort(),
    ['tp_btf/block_rq_complete', 'tp_btf/block_rq_insert', 'tp_btf/block_rq_issue'],
  );
  return loaded;
}

/** The loop device as "major:minor". */
const majorMinor = (loop: Loop): string => `${Math.floor(loop.devt / 2 ** 20)}:${loop.devt % 2 ** 20}`;

/** A dd of N 4 KiB direct requests on the device, waiting to start: its pid is dd's (the shell execs it). */
const dd = (args: string) => waitingShell(`exec dd bs=4096 count=${N} ${args} status=none`);

type Rec = Record<string, any>;

/** The records of a stream. */
const records = (s: Rec): Rec[] => s.events.map((e: { data: Rec }) => e.data);

/** The N records one dd's requests should make, from `sector` on, as op, pid, comm, disk, sector and bytes. */
function expected(loop: Loop, pid: number, op: string, sector: number): Rec[] {
  return Array.from({ length: N }, (_, i) => ({ op, pid, comm: 'dd', dev: loop.devt, disk: majorMinor(loop), disk_name: basename(loop.dev), sector: sector + 8 * i, bytes: 4096 }));
}

/** What expected() compares of a record. */
const shown = (r: Rec): Rec => ({ op: r.op, pid: r.pid, comm: r.comm, dev: r.dev, disk: r.disk, disk_name: r.disk_name, sector: r.sector, bytes: r.bytes });

test('biosnoop with disk and pid: N direct writes by dd are N write records of 4096 bytes in sector order; a second dd on the disk is left out by pid', async (t) => {
  await withLoop(t, async (loop) => {
    const mine = await dd(`if=/dev/zero of=${loop.dev} oflag=direct`);
    const other = await dd(`if=/dev/zero of=${loop.dev} oflag=direct seek=1024`);
    try {
      const pid = mine.sh.pid as number;
      const otherPid = other.sh.pid as number;
      const onlyMine = await loadAttached({ disk: majorMinor(loop), pid });
      const wholeDisk = await loadAttached({ disk: loop.devt });
      let d = { writes: 0, writeSectors: 0 };
      const [s, all] = await streamsDuring(c, [onlyMine, wholeDisk], async () => {
        d = await delta(loop, async () => {
          await Promise.all([mine.go(), other.go()]);
        });
      });
      assert.deepEqual([d.writes, d.writeSectors], [2 * N, 2 * N * 8], 'both dds wrote N requests, as the device counts them');
      assert.equal(s.decoded_type, 'struct block_io_event');
      assert.equal(s.schema.properties.latency_us['x-render'], 'duration_us');
      assert.deepEqual(records(s).map(shown), expected(loop, pid, 'BLOCK_OP_WRITE', 0));
      for (const r of records(s)) {
        assert.ok(r.latency_us > 0, `latency ${r.latency_us} µs`);
        assert.equal(typeof r.latency, 'string');
        assert.equal(r.queued_us, 0, 'no queued time without queued');
      }
      // Without pid, the disk's writes are both dds': the other's N from sector 8192 (seek 1024 blocks of 4 KiB).
      const writes = records(all).filter((r) => r.op === 'BLOCK_OP_WRITE');
      assert.deepEqual(writes.filter((r) => r.pid === pid).map(shown), expected(loop, pid, 'BLOCK_OP_WRITE', 0));
      assert.deepEqual(writes.filter((r) => r.pid === otherPid).map(shown), expected(loop, otherPid, 'BLOCK_OP_WRITE', 8192));
      assert.equal(writes.length, 2 * N);
      assert.equal(s.stats.lost, 0);
      assert.equal(all.stats.lost, 0);
    } finally {
      mine.sh.kill('SIGKILL');
      other.sh.kill('SIGKILL');
    }
  });
});

test('biosnoop: direct reads are read records; min_latency_us above every request leaves them all out', async (t) => {
  await withLoop(t, async (loop) => {
    const reader = await dd(`if=${loop.dev} of=/dev/null iflag=direct skip=16`);
    try {
      const pid = reader.sh.pid as number;
      const reads = await loadAttached({ disk: majorMinor(loop), pid });
      const slowOnly = await loadAttached({ disk: majorMinor(loop), pid, min_latency_us: 10_000_000 });
      let d = { reads: 0 };
      const [s, slow] = await streamsDuring(c, [reads, slowOnly], async () => {
        d = await delta(loop, () => reader.go());
      });
      assert.ok(d.reads >= N, `the device counts ${d.reads} reads`);
      assert.deepEqual(records(s).map(shown), expected(loop, pid, 'BLOCK_OP_READ', 16 * 8));
      assert.ok(records(s).every((r) => r.latency_us > 0 && r.latency_us < 10_000_000), JSON.stringify(records(s).map((r) => r.latency_us)));
      assert.deepEqual(records(slow), []);
      assert.equal(slow.stats.lost, 0);
    } finally {
      reader.sh.kill('SIGKILL');
    }
  });
});

test('biosnoop with queued under mq-deadline: the issuer is noted at insertion, N records by dd, with the queued time', async (t) => {
  await withLoop(t, async (loop) => {
    writeFileSync(`${loop.sys}/queue/scheduler`, 'mq-deadline');
    assert.match(readFileSync(`${loop.sys}/queue/scheduler`, 'utf8'), /\[mq-deadline\]/);
    const writer = await dd(`if=/dev/zero of=${loop.dev} oflag=direct`);
    try {
      const pid = writer.sh.pid as number;
      const loaded = await loadAttached({ disk: majorMinor(loop), pid, queued: true });
      const [s] = await streamsDuring(c, [loaded], () => writer.go());
      assert.deepEqual(records(s).map(shown), expected(loop, pid, 'BLOCK_OP_WRITE', 0));
      // Insertion to dispatch through mq-deadline takes a few microseconds each (3 to 13 here); one may round to 0.
      for (const r of records(s)) assert.ok(r.latency_us > 0 && Number.isInteger(r.queued_us) && r.queued_us >= 0, JSON.stringify(r));
      assert.ok(records(s).reduce((sum, r) => sum + r.queued_us, 0) > 0, 'some queued time');
      assert.equal(s.schema.properties.queued_us['x-render'], 'duration_us');
    } finally {
      writer.sh.kill('SIGKILL');
    }
  });
});

test('biosnoop parameters are checked: a disk by name, a pid of 0 or a min_latency_us of 0 is VALIDATION_ERROR at its field', async () => {
  for (const [parameters, field] of [
    [{ disk: 'loop0' }, 'source.parameters.disk'],
    [{ disk: '7:1048576' }, 'source.parameters.disk'],
    [{ pid: 0 }, 'source.parameters.pid'],
    [{ min_latency_us: 0 }, 'source.parameters.min_latency_us'],
    [{ per_disk: true }, 'source.parameters.per_disk'],
  ] as const) {
    const r = await c.call('load_program', { source: { type: 'catalog', name: 'biosnoop', parameters } });
    assert.equal(r.isError, true, JSON.stringify(parameters));
    const e = r.structuredContent.error;
    assert.equal(e.type, 'VALIDATION_ERROR');
    assert.equal(e.context.field, field, JSON.stringify(e));
    assert.deepEqual(e.context.parameters.map((p: { name: string }) => p.name), ['disk', 'pid', 'min_latency_us', 'queued']);
  }
});
