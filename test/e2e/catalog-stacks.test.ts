/**
 * profile and offcputime, loaded by catalog name: the stacks of the test's
 * own workload, symbolized and folded by inspect_state. profile samples a
 * process spinning in `ebpf_mcp_hot_function` (test/workload), which must be
 * the top function; offcputime times a process sleeping in clock_nanosleep,
 * whose kernel stacks must show the sleep and whose off-CPU time must cover
 * the sleeps. A second workload running beside the first checks the pid
 * parameter keeps it out. The stacks are read while the processes still run
 * (user frames are named from their live mappings), then the processes end;
 * the session's end unloads the objects.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Connected, connect } from '../helpers/client.js';
import { loadCatalog, mapEntries, mapIdOf } from '../helpers/catalog.js';
import { catalogObject } from '../helpers/fixtures.js';
import { pausedWorkload } from '../helpers/kernel.js';

let c: Connected;
before(async () => {
  c = await connect();
});
after(async () => {
  await c.close();
});

/** inspect_state's folded stacks of map `mapId`, and its summary. */
async function stacksOf(mapId: number): Promise<{ stacks: Record<string, any>; text: string }> {
  const r = await c.call('inspect_state', { fields: ['maps'], filters: { map_id: mapId }, maps: { id: mapId, entries: false } });
  assert.equal(r.structuredContent.success, true, JSON.stringify(r.structuredContent.error));
  assert.ok(r.structuredContent.stacks, `no stacks in ${JSON.stringify(r.structuredContent).slice(0, 400)}`);
  return { stacks: r.structuredContent.stacks, text: (r.content as { text: string }[]).map((t) => t.text).join('\n') };
}

/** Each entry's process id, from the counts map's keys. */
async function pidsCounted(mapId: number): Promise<Set<number>> {
  return new Set((await mapEntries(c, mapId)).map((e) => e.key.pid as number));
}

test('profile, with pid and frequency, names the hot function of the test program first in top_functions and in its folded stacks', async () => {
  const hot = await pausedWorkload(['hot-ms', '20000']);
  const other = await pausedWorkload(['hot-ms', '20000']);
  try {
    const loaded = await loadCatalog(c, 'profile', { pid: hot.pid, frequency: 199 });
    assert.equal(loaded.catalog.read.shape, 'stacks');
    assert.ok(loaded.attachments.every((a: { attachment_point: string }) => a.attachment_point.startsWith('perf_event/cpu-clock 199 Hz')), JSON.stringify(loaded.attachments));
    hot.start();
    other.start();
    await sleep(2000);
    const counts = mapIdOf(loaded, 'counts');
    const { stacks, text } = await stacksOf(counts);
    assert.equal(stacks.weight, 'value');
    // 199 Hz for 2 s of one busy CPU is ~400 samples; a loaded machine gives the spinner less of it.
    assert.ok(stacks.total >= 40, `only ${stacks.total} samples`);
    const [first] = stacks.top_functions;
    assert.equal(first.function, 'ebpf_mcp_hot_function', JSON.stringify(stacks.top_functions.slice(0, 5)));
    assert.ok(first.self >= stacks.total * 0.5, `the hot function is the leaf of ${first.self} of ${stacks.total} samples`);
    const heaviest = stacks.folded[0].stack as string;
    assert.match(heaviest, /^workload;(.*;)?main;ebpf_mcp_hot_function$/, heaviest);
    assert.deepEqual([...(await pidsCounted(counts))], [hot.pid], 'the pid parameter keeps the second spinner out');
    assert.match(text, new RegExp(`Map ${counts} counts by stack \\(stack trace map \\d+\\): total \\d+ \\(value\\)`));
    assert.match(text, /"ebpf_mcp_hot_function"/, 'the function is in the text, quoted as traced data');
  } finally {
    await Promise.all([hot.kill(), other.kill()]);
  }
});

test('offcputime, with pid, times the sleeps of the test program by their kernel and user stacks', async () => {
  // 300 sleeps of 10 ms: still sleeping when the stacks are read after 1.5 s.
  const sleeper = await pausedWorkload(['sleep', '300']);
  const other = await pausedWorkload(['sleep', '300']);
  try {
    const loaded = await loadCatalog(c, 'offcputime', { pid: sleeper.pid, min_block_us: 1000 });
    const began = Date.now();
    sleeper.start();
    other.start();
    await sleep(1500);
    const counts = mapIdOf(loaded, 'counts');
    const { stacks } = await stacksOf(counts);
    const elapsedUs = (Date.now() - began) * 1000;
    const sleeping = (stacks.folded as { stack: string; weight: number }[]).filter((f) => /(^|;)do_nanosleep(;|$)/.test(f.stack));
    assert.ok(sleeping.length > 0, JSON.stringify(stacks.folded.slice(0, 3)));
    const sleptUs = sleeping.reduce((n, f) => n + f.weight, 0);
    // Nearly all of the time since it started was spent in its sleeps; a busy machine only makes the waits longer.
    assert.ok(sleptUs >= 0.5 * elapsedUs && sleptUs <= elapsedUs, `slept ${sleptUs} us of ${elapsedUs}`);
    for (const f of sleeping) assert.match(f.stack, /^workload;.*main;.*nanosleep.*;do_nanosleep/, f.stack);
    assert.deepEqual([...(await pidsCounted(counts))], [sleeper.pid], 'the pid parameter keeps the second sleeper out');
  } finally {
    await Promise.all([sleeper.kill(), other.kill()]);
  }
});

test('auto samples a catalog entry at its default frequency; a perf_event object loaded by path gets a clear error saying what to give', async () => {
  const byName = (await c.call('load_program', { source: { type: 'catalog', name: 'profile' } })).structuredContent;
  const byPath = (await c.call('load_program', { source: { type: 'file', path: catalogObject('cpu_stacks') } })).structuredContent;
  assert.equal(byName.success, true, JSON.stringify(byName.error));
  assert.equal(byPath.success, true, JSON.stringify(byPath.error));
  const sampled = (await c.call('attach_program', { program_id: byName.program_id, attachment: { auto: {} } })).structuredContent;
  assert.equal(sampled.success, true, JSON.stringify(sampled.error));
  assert.match(sampled.attachment_point, /^perf_event\/cpu-clock 49 Hz/);
  const refused = (await c.call('attach_program', { program_id: byPath.program_id, attachment: { auto: {} } })).structuredContent;
  assert.equal(refused.success, false);
  assert.equal(refused.error.type, 'VALIDATION_ERROR');
  assert.match(refused.error.message, /names no target, so auto cannot attach it: a perf_event needs an event and a sampling rate/);
  assert.deepEqual(refused.error.context.use, { perf_event: { event: 'cpu-clock', frequency: '<samples per second>' } });
});
