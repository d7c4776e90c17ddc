/**
 * `const volatile` parameters set before load, through the SDK client: the catalog's syscall programs
 * scoped to one process by `target_tgid`, counted exactly, and wrong names, types and values refused
 * at the field with the parameters the object has.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type Connected, connect, textParts } from '../helpers/client.js';
import { loadCatalog, mapEntries } from '../helpers/catalog.js';
import { catalogObject, fixture } from '../helpers/fixtures.js';
import { pausedWorkload, runWorkload } from '../helpers/kernel.js';

let c: Connected;
before(async () => {
  c = await connect(['-t', 'stdio', '--enable-tools', 'unload_program']);
});
after(async () => {
  await c.close();
});

/** A map's entries through inspect_state. */
const entries = (mapId: number) => mapEntries(c, mapId);

test('pid, set as target_tgid, scopes syscount and syscall_latency to one process: N getpid calls counted exactly, nothing from other processes', async () => {
  const N = 250;
  const w = await pausedWorkload(['getpid', String(N)]);
  const loaded: Record<string, any>[] = [];
  let ran = false;
  try {
    const counts = await loadCatalog(c, 'syscount', { pid: w.pid });
    loaded.push(counts);
    const latency = await loadCatalog(c, 'syscall_latency', { pid: w.pid });
    loaded.push(latency);
    assert.deepEqual(counts.parameters, [{ name: 'target_tgid', type: '__u32', value: w.pid }]);
    assert.deepEqual(latency.parameters, [{ name: 'target_tgid', type: '__u32', value: w.pid }]);
    runWorkload(['getpid', '100']); // another process, calling getpid while the programs are attached
    ran = true;
    await w.go();
    // Keys are syscalls by name (syscall_counts tags its key type).
    const byName = new Map((await entries(counts.maps.find((m: { name: string }) => m.name === 'counts').id)).map((e) => [e.key as string, e.value as number]));
    assert.equal(byName.get('getpid'), N, 'every getpid of the workload, and only those');
    assert.equal(byName.get('exit_group'), 1, 'the workload exits once');
    const total = [...byName.values()].reduce((a, b) => a + b, 0);
    // The workload was blocked in read(2) while the programs were attached: from then on, every call it made
    // returned except exit_group, so the histogram (one entry per return) holds exactly one call fewer.
    const [hist] = await entries(latency.maps.find((m: { name: string }) => m.name === 'latency_us').id);
    assert.equal(hist!.histogram.total, total - 1, `counts ${JSON.stringify([...byName])}`);
    assert.deepEqual([...byName].sort(), [['exit_group', 1], ['getpid', N]], 'no call of any other process');
  } finally {
    if (!ran) await w.go();
    for (const o of loaded) await c.call('unload_program', { object_id: o.object_id });
  }
});

test('load_program lists the parameters in force, with verify_only too, and by default 0 (every process)', async () => {
  const r = (await c.call('load_program', { source: { type: 'file', path: catalogObject('syscall_latency') }, constraints: { verify_only: true } })).structuredContent;
  assert.equal(r.success, true, JSON.stringify(r.error));
  assert.deepEqual(r.parameters, [{ name: 'target_tgid', type: '__u32', value: 0 }]);
  const set = await c.call('load_program', { source: { type: 'file', path: catalogObject('syscall_counts') }, parameters: { target_tgid: 4321 }, constraints: { verify_only: true } });
  assert.deepEqual(set.structuredContent.parameters, [{ name: 'target_tgid', type: '__u32', value: 4321 }]);
  const { prose, data } = textParts(set);
  assert.match(prose, / The object has 1 parameter\(s\); their values in force are in parameters\.$/);
  assert.ok(!prose.includes('target_tgid'), 'a parameter name comes from the object: data, not prose');
  assert.ok(data.includes('"target_tgid" | "__u32" | 4321'), data.join('\n'));
});

test('a wrong parameter name, type or value is a VALIDATION_ERROR at parameters.<name> with the parameters the object has', async () => {
  const refuse = async (parameters: Record<string, unknown>) => {
    const r = await c.call('load_program', { source: { type: 'file', path: catalogObject('syscall_counts') }, parameters });
    assert.equal(r.isError, true);
    assert.equal(r.structuredContent.error.type, 'VALIDATION_ERROR');
    assert.deepEqual(r.structuredContent.error.context.parameters, [{ name: 'target_tgid', type: '__u32' }]);
    return r.structuredContent.error as { message: string; context: Record<string, unknown> };
  };
  const name = await refuse({ target_tgd: 1 });
  assert.equal(name.context.field, 'parameters.target_tgd');
  assert.equal(name.context.did_you_mean, 'target_tgid');
  assert.equal(name.message, 'parameters.target_tgd: the object has no parameter target_tgd; its 1 parameter(s) are in context.parameters, the closest name in context.did_you_mean');

  const type = await refuse({ target_tgid: 'me' });
  assert.equal(type.context.field, 'parameters.target_tgid');
  assert.equal(type.context.expected, '__u32');
  assert.match(type.message, /its type takes an integer/);

  const range = await refuse({ target_tgid: 4294967296 });
  assert.equal(range.context.field, 'parameters.target_tgid');
  assert.equal(range.context.max, 4294967295);
  assert.match(range.message, /^parameters\.target_tgid: 4294967296 is out of range for its type \(0\.\.4294967295\)/);

  const negative = await refuse({ target_tgid: -1 });
  assert.equal(negative.context.min, 0);

  const license = await refuse({ LICENSE: 'MIT' });
  assert.equal(license.context.field, 'parameters.LICENSE');
  assert.match(license.message, /no parameter LICENSE/);
});

test('every kind of parameter reaches the kernel: the .rodata map it holds reads back the values set', async () => {
  const set = { min_ns: '18446744073709551615', delta: -32768, enabled: true, mode: 'PARAMS_BOTH', comm: 'workload' };
  const r = (await c.call('load_program', { source: { type: 'file', path: fixture('params') }, parameters: set })).structuredContent;
  assert.equal(r.success, true, JSON.stringify(r.error));
  try {
    assert.deepEqual(r.parameters, [
      { name: 'min_ns', type: '__u64', value: '18446744073709551615' },
      { name: 'delta', type: '__s16', value: -32768 },
      { name: 'flags', type: '__u8', value: 7 },
      { name: 'enabled', type: 'bool', value: true },
      { name: 'mode', type: 'enum params_mode', value: 'PARAMS_BOTH' },
      { name: 'comm', type: 'char[16]', value: 'workload' },
    ]);
    const rodata = r.maps.find((m: { name: string }) => m.name.endsWith('.rodata'));
    const [held] = await entries(rodata.id);
    assert.deepEqual(held!.value, { ...set, flags: 7, fixed: 3 }, "the kernel's .rodata, decoded from its BTF");
  } finally {
    await c.call('unload_program', { object_id: r.object_id });
  }
});

test('only const volatile globals of .rodata are parameters; enums and char arrays say what fits', async () => {
  const refuse = async (parameters: Record<string, unknown>) => {
    const r = await c.call('load_program', { source: { type: 'file', path: fixture('params') }, parameters, constraints: { verify_only: true } });
    assert.equal(r.structuredContent.error?.type, 'VALIDATION_ERROR', JSON.stringify(r.structuredContent));
    assert.deepEqual(
      (r.structuredContent.error.context.parameters as { name: string }[]).map((p) => p.name),
      ['min_ns', 'delta', 'flags', 'enabled', 'mode', 'comm'],
    );
    return r.structuredContent.error as { message: string; context: Record<string, unknown> };
  };
  const hits = await refuse({ hits: 1 });
  assert.match(hits.message, /^parameters\.hits: hits is a global of the section in context\.section, not a const volatile global of \.rodata/);
  assert.equal(hits.context.section, '.bss');
  const fixed = await refuse({ fixed: 1 });
  assert.match(fixed.message, /^parameters\.fixed: fixed is a global of the section in context\.section, not a const volatile/);
  assert.equal(fixed.context.section, '.rodata');
  const mode = await refuse({ mode: 'PARAMS_NONE' });
  assert.equal(mode.context.field, 'parameters.mode');
  assert.deepEqual(mode.context.enumerators, ['PARAMS_COUNT', 'PARAMS_TIME', 'PARAMS_BOTH']);
  const comm = await refuse({ comm: 'a-name-of-16-chr' });
  assert.equal(comm.context.field, 'parameters.comm');
  assert.equal(comm.context.max_bytes, 15);
  const big = await refuse({ min_ns: 2 ** 60 });
  assert.match(big.message, /past 2\^53.*decimal string/);
  const flag = await refuse({ enabled: 1 });
  assert.match(flag.message, /^parameters\.enabled: its type takes true or false/);
  assert.equal(flag.context.expected, 'bool');
});
