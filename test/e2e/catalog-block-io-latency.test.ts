/**
 * block_io_latency (biolatency): the test's own writes to a loop device it
 * creates (direct I/O on a file in a temporary directory), counted against
 * the kernel's own figures for that device in /sys/block/<dev>/stat, read
 * before and after.
 *
 * A 4 KiB O_DIRECT write is one request, completed before dd makes the
 * next, so N writes are N requests. With O_SYNC as well, each write also
 * makes flush requests: the loop device has a volatile write cache and no
 * FUA, so the block layer follows the data with a flush, and the O_SYNC
 * fsync adds another. The histogram counts those flush requests too (stat's
 * flush count); the empty write that carries the fsync's flush never reaches
 * the driver, so stat's write count (2N) is not the request count.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { type Connected, connect } from '../helpers/client.js';
import { loadCatalog, mapEntries, mapIdOf } from '../helpers/catalog.js';
import { type Loop, delta, withLoop } from '../helpers/kernel.js';

/** Writes per test. */
const N = 64;

let c: Connected;
before(async () => {
  c = await connect();
});
after(async () => {
  await c.close();
});

/** N writes of 4 KiB to the device with dd's output flags. */
function write(loop: Loop, oflag: string): void {
  execFileSync('dd', ['if=/dev/zero', `of=${loop.dev}`, 'bs=4096', `count=${N}`, `oflag=${oflag}`], { stdio: 'ignore' });
}

/** Loads biolatency by name with `parameters` and attaches its programs; returns the id of `latency_us`. */
async function loadAttached(parameters: Record<string, unknown>): Promise<number> {
  const loaded = await loadCatalog(c, 'biolatency', parameters);
  assert.deepEqual(loaded.attachments.map((a) => a.attachment_point).sort(), ['tp_btf/block_rq_complete', 'tp_btf/block_rq_insert', 'tp_btf/block_rq_issue']);
  return mapIdOf(loaded, 'latency_us');
}

type Entry = { key: number; histogram: { total: number; buckets: unknown[] } };

/** Every entry of the map, page by page: key and histogram. */
const histograms = async (mapId: number): Promise<Entry[]> => (await mapEntries(c, mapId)) as Entry[];

/** The one histogram's total of a map that must hold only key 0. */
async function onlyTotal(mapId: number): Promise<number> {
  const entries = await histograms(mapId);
  assert.deepEqual(entries.map((e) => e.key), [0]);
  assert.ok((entries[0]?.histogram.buckets.length ?? 0) > 0);
  return entries[0]?.histogram.total as number;
}

test('biolatency with disk: N direct writes are N requests, as the device\'s stat counts them', async (t) => {
  await withLoop(t, async (loop) => {
    const mapId = await loadAttached({ disk: loop.devt });
    const { writes, writeSectors, flushes } = await delta(loop, () => write(loop, 'direct'));
    assert.deepEqual({ writes, writeSectors, flushes }, { writes: N, writeSectors: N * 8, flushes: 0 });
    assert.equal(await onlyTotal(mapId), N);
  });
});

test('block_io_latency: with O_SYNC each write also makes flush requests, counted too', async (t) => {
  await withLoop(t, async (loop) => {
    const mapId = await loadAttached({ disk: loop.devt });
    const d = await delta(loop, () => write(loop, 'direct,sync'));
    assert.equal(d.writeSectors, N * 8, 'N writes of data');
    assert.equal(readFileSync(`${loop.sys}/queue/write_cache`, 'utf8').trim(), 'write back');
    assert.ok(d.flushes >= N, `flushes ${d.flushes}: at least the fsync's of each write`);
    assert.equal(await onlyTotal(mapId), N + d.flushes);
  });
});

test('biolatency with per_disk: a histogram keyed by the loop device\'s dev_t', async (t) => {
  await withLoop(t, async (loop) => {
    // Every disk's requests are timed; only the test's device is checked.
    const mapId = await loadAttached({ per_disk: true });
    const d = await delta(loop, () => write(loop, 'direct'));
    assert.equal(d.writes, N);
    const byKey = new Map((await histograms(mapId)).map((e) => [e.key, e.histogram.total]));
    assert.equal(byKey.get(loop.devt), N, `keys ${[...byKey.keys()].join(' ')}`);
    assert.equal(byKey.get(0), undefined, 'no key 0 with per_disk');
  });
});

test('biolatency with queued: timed from insertion into mq-deadline, still one count per request', async (t) => {
  await withLoop(t, async (loop) => {
    // With a scheduler and queued, issue starts nothing: every count here was started by block_rq_insert.
    writeFileSync(`${loop.sys}/queue/scheduler`, 'mq-deadline');
    assert.match(readFileSync(`${loop.sys}/queue/scheduler`, 'utf8'), /\[mq-deadline\]/);
    const mapId = await loadAttached({ disk: loop.devt, queued: true });
    const d = await delta(loop, () => write(loop, 'direct'));
    assert.equal(d.writes, N);
    assert.equal(await onlyTotal(mapId), N);
  });
});
