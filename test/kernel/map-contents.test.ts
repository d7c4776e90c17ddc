import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { before, test } from 'node:test';
import { wireError } from '../../src/tools/wire-error.js';
import { type Attachment, attachProgram } from '../../src/hooks/index.js';
import { ensureMounts } from '../../src/kernel/host.js';
import { readMapContents } from '../../src/kernel/map-contents.js';
import { native } from '../../src/kernel/native.js';
import { BpfObject } from '../../src/kernel/object.js';
import { catalogObject, fixture } from '../helpers/fixtures.js';
import { WORKLOAD, pausedWorkload, runWorkload, sendFromNamespace, vethPair } from '../helpers/kernel.js';

before(() => ensureMounts());

/** What a test body gets: map ids by name, program ids by name, and a way to detach early. */
interface Loaded {
  maps: Map<string, number>;
  programs: Map<string, number>;
  detach(): void;
}

/** Loads an object (only `programs` when given), attaches, runs `body`, and releases everything. */
async function withObject(path: string, programs: string[] | undefined, attach: [string, Attachment][], body: (l: Loaded) => Promise<void> | void): Promise<void> {
  const obj = BpfObject.open(readFileSync(path), 'map-contents');
  const links: { destroy(): void }[] = [];
  const detach = () => {
    for (const l of links.splice(0)) l.destroy();
  };
  try {
    obj.load(programs ? { programs } : {});
    for (const [program, spec] of attach) {
      const p = obj.programs().find((q) => q.name === program);
      assert.ok(p, program);
      links.push(...attachProgram({ object: obj, program: p }, spec).links);
    }
    await body({
      maps: new Map(obj.maps().map((m) => [m.name, native.mapInfo(m.fd).id])),
      programs: new Map(obj.programs().filter((p) => p.fd >= 0).map((p) => [p.name, native.progInfo(p.fd).id])),
      detach,
    });
  } finally {
    detach();
    obj.close();
  }
}

/** The number of possible CPUs, counted from sysfs. */
function possibleCpus(): number {
  return readFileSync('/sys/devices/system/cpu/possible', 'utf8')
    .trim()
    .split(',')
    .reduce((n, r) => {
      const [lo, hi = lo] = r.split('-').map(Number);
      return n + (hi as number) - (lo as number) + 1;
    }, 0);
}

function mapAccessError(pattern: RegExp): (e: unknown) => boolean {
  return (thrown) => {
    const e = wireError(thrown);
    assert.equal(e.type, 'MAP_ACCESS_ERROR');
    assert.match(e.message, pattern);
    return true;
  };
}

test('hash map: 200 getpid calls of the workload decode as {key: pid, value: 200}, typed from BTF', async () => {
  await withObject(fixture('counters'), ['tp_getpid'], [['tp_getpid', { tracepoint: { category: 'syscalls', name: 'sys_enter_getpid' } }]], ({ maps }) => {
    const pid = runWorkload(['getpid', '200']);
    const other = runWorkload(['getpid', '7']);
    // Every process that calls getpid adds a key: read as many as the map holds (4096), so none is cut.
    const m = readMapContents(maps.get('tp_counts') as number, 4096);
    assert.equal(m.type, 'hash');
    assert.equal(m.keyType, '__u32');
    assert.equal(m.valueType, '__u64');
    assert.equal(m.perCpu, false);
    assert.deepEqual(m.entries.find((e) => e.key === pid), { key: pid, value: 200 });
    assert.deepEqual(m.entries.find((e) => e.key === other), { key: other, value: 7 });
    assert.equal(m.truncated, false);

    const one = readMapContents(maps.get('tp_counts') as number, 1);
    assert.equal(one.entries.length, 1);
    assert.equal(one.truncated, true);
  });
});

test('per-CPU array: one value per possible CPU, equal to what bpftool reads; counts the XDP packets sent', async () => {
  const pair = vethPair('m');
  try {
    await withObject(fixture('multi'), ['xdp_count'], [['xdp_count', { xdp: { interface: pair.hostIf, mode: 'native' } }]], ({ maps, detach }) => {
      sendFromNamespace(pair, 20);
      detach();
      const id = maps.get('xdp_packets') as number;
      const m = readMapContents(id, 100);
      assert.equal(m.type, 'percpu_array');
      assert.equal(m.perCpu, true);
      assert.deepEqual(m.entries.map((e) => e.key), [0, 1, 2, 3]);
      const cpus = possibleCpus();
      for (const e of m.entries) {
        assert.ok('values' in e);
        assert.equal(e.values.length, cpus);
        assert.ok(e.values.every((v) => typeof v === 'number'));
      }
      const byCpu = (key: number) => (m.entries[key] as { values: number[] }).values;
      const sent = byCpu(0).reduce((a, b) => a + b, 0);
      assert.ok(sent >= 20 && sent <= 24, `20 UDP packets plus ARP expected, got ${sent}`);
      assert.deepEqual([1, 2, 3].map((k) => byCpu(k).every((v) => v === 0)), [true, true, true]);

      const witness = JSON.parse(execFileSync('bpftool', ['-j', 'map', 'dump', 'id', String(id)], { encoding: 'utf8' })) as {
        formatted: { key: number; values: { cpu: number; value: number }[] };
      }[];
      assert.deepEqual(
        m.entries.map((e, i) => ({ key: e.key, values: byCpu(i) })),
        witness.map((w) => ({ key: w.formatted.key, values: w.formatted.values.map((v) => v.value) })),
      );

      const two = readMapContents(id, 2);
      assert.deepEqual(two.entries.map((e) => e.key), [0, 1]);
      assert.equal(two.truncated, true);
    });
  } finally {
    pair.cleanup();
  }
});

test('log2 histogram: a uprobe on the first argument of 200 calls (i = 0..199) gives libbpf-tools buckets and a drawing', async () => {
  const w = await pausedWorkload(['call', '200']);
  const spec: Attachment = { uprobe: { binary: WORKLOAD, function: 'ebpf_mcp_probe_target', offset: 0, pid: w.pid, retprobe: false } };
  await withObject(fixture('hist'), undefined, [['hist_arg', spec]], async ({ maps, programs }) => {
    await w.go();
    const m = readMapContents(maps.get('hists') as number, 100);
    assert.equal(m.valueType, 'struct hist');
    assert.equal(m.entries.length, 1);
    const [entry] = m.entries;
    assert.ok(entry && 'value' in entry && entry.histogram);

    // Expected: slot floor(log2(i)) (log2(0) = 0) for each i, slots 0..7 for i < 200.
    const expected = new Array<number>(26).fill(0);
    for (let i = 0; i < 200; i++) expected[i === 0 ? 0 : Math.floor(Math.log2(i))]! += 1;
    assert.deepEqual((entry.value as { slots: number[] }).slots, expected);
    assert.deepEqual(expected.slice(0, 8), [2, 2, 4, 8, 16, 32, 64, 72]);
    assert.deepEqual(entry.histogram.buckets, [
      { low: 0, high: 1, count: 2 },
      { low: 2, high: 3, count: 2 },
      { low: 4, high: 7, count: 4 },
      { low: 8, high: 15, count: 8 },
      { low: 16, high: 31, count: 16 },
      { low: 32, high: 63, count: 32 },
      { low: 64, high: 127, count: 64 },
      { low: 128, high: 255, count: 72 },
    ]);
    assert.equal(entry.histogram.total, 200);

    const lines = entry.histogram.drawing.split('\n');
    assert.equal(lines.length, 1 + 8, entry.histogram.drawing);
    assert.match(lines[0]!, /^\s+value\s+: count\s+distribution$/);
    const rows = lines.slice(1).map((l) => /^\s+(\d+) -> (\d+)\s+: (\d+)\s+\|(\**)\s*\|$/.exec(l));
    assert.ok(rows.every((r) => r !== null), entry.histogram.drawing);
    assert.deepEqual(rows.map((r) => Number(r![3])), [2, 2, 4, 8, 16, 32, 64, 72]);
    assert.deepEqual(rows.map((r) => r![4]!.length), [2, 2, 4, 8, 16, 32, 64, 72].map((c) => Math.floor((c * 40) / 72)));

    // The program array libbpf filled at load: slot 1 reads back as hist_tail's program id.
    const jumps = readMapContents(maps.get('jumps') as number, 100);
    assert.equal(jumps.keyType, '__u32');
    assert.equal(jumps.valueType, 'program id');
    assert.deepEqual(jumps.entries, [{ key: 1, value: programs.get('hist_tail') }]);
  });
});

test('ring buffer: MAP_ACCESS_ERROR pointing at stream_events', async () => {
  await withObject(catalogObject('exec_events'), [], [], ({ maps }) => {
    assert.throws(
      () => readMapContents(maps.get('events') as number, 100),
      (e: unknown) => mapAccessError(/ring buffer.*stream_events/)(e) && wireError(e).context.use_tool === 'stream_events',
    );
  });
});

test('a map without BTF: keys and values as hex of the raw bytes; an unknown id is a MAP_ACCESS_ERROR', () => {
  const pin = `/sys/fs/bpf/ebpf-mcp-test-nobtf-${process.pid}`;
  execFileSync('bpftool', ['map', 'create', pin, 'type', 'hash', 'key', '4', 'value', '8', 'entries', '8', 'name', 'nobtf']);
  try {
    execFileSync('bpftool', ['map', 'update', 'pinned', pin, 'key', 'hex', '2a', '00', '00', '00', 'value', 'hex', '01', '02', '03', '04', '05', '06', '07', '08']);
    const { id, btf_id: btfId } = JSON.parse(execFileSync('bpftool', ['-j', 'map', 'show', 'pinned', pin], { encoding: 'utf8' })) as { id: number; btf_id?: number };
    assert.ok(!btfId, 'bpftool created the map without BTF');
    const m = readMapContents(id, 100);
    assert.equal(m.keyType, null);
    assert.equal(m.valueType, null);
    assert.deepEqual(m.entries, [{ key: '2a000000', value: '0102030405060708' }]);
  } finally {
    rmSync(pin, { force: true });
  }
  assert.throws(() => readMapContents(0x7ffffff0, 10), mapAccessError(/no map with id 2147483632/));
});

/** The JSON bytes readMapContents counts for an entry of pages.bpf.o's `wide` (all words zero but key 7's first). */
function wideEntryBytes(key: number): number {
  return JSON.stringify({ key, value: { words: new Array(32).fill(0) } }).length + 1;
}

test('a map read page by page: a byte cap cuts a page at an exact entry, the cursor goes on, every key exactly once', async () => {
  await withObject(fixture('pages'), undefined, [], ({ maps }) => {
    const id = maps.get('wide') as number;
    const budget = 256 << 10;
    let expected = 0;
    for (let bytes = 0; (bytes += wideEntryBytes(expected)) <= budget; ) expected++;
    const first = readMapContents(id, 10_000, { maxBytes: budget });
    assert.equal(first.entries.length, expected);
    assert.equal(first.cutAt, 'bytes');
    assert.equal(first.truncated, true);
    assert.equal(first.nextCursor, Buffer.from(new Uint32Array([expected - 1]).buffer).toString('hex'));
    const keys: number[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = readMapContents(id, 1000, { cursor, maxBytes: budget });
      assert.equal(page.cutAt, page.nextCursor === null ? null : 'limit');
      keys.push(...page.entries.map((e) => e.key as number));
      cursor = page.nextCursor ?? undefined;
      pages++;
    } while (cursor !== undefined);
    assert.equal(pages, 5);
    assert.deepEqual(keys, Array.from({ length: 4096 }, (_, i) => i));
    assert.throws(
      () => readMapContents(id, 10, { cursor: 'abcd' }),
      (e: unknown) => {
        const w = wireError(e);
        assert.equal(w.type, 'VALIDATION_ERROR');
        assert.equal(w.message, `maps.cursor: not a cursor of map ${id}: pass the next_cursor a read of this map returned (8 hex digits)`);
        return true;
      },
    );
  });
});
