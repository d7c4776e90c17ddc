import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { onlineCpus } from '../../src/kernel/cpus.js';
import { type Connected, connect } from '../helpers/client.js';
import { catalogObject, fixture } from '../helpers/fixtures.js';
import { addToSet, mapValue, pausedWorkload, waitingShell } from '../helpers/kernel.js';

const GETPID = { tracepoint: { category: 'syscalls', name: 'sys_enter_getpid' } };
const U64_TOP = 2n ** 64n - 16n;
let c: Connected;

before(async () => {
  c = await connect();
});
after(async () => {
  await c.close();
});

/**
 * Loads one program of the events fixture and attaches it to getpid. It writes records only for the tgids in its
 * `targets` map (see `targeted`), so other processes calling getpid cannot add records or fill its buffers.
 */
async function attached(program: string): Promise<{ objectId: string; maps: Record<string, number> }> {
  const loaded = (await c.call('load_program', { source: { type: 'file', path: fixture('events') }, programs: [program] })).structuredContent;
  assert.equal(loaded.success, true, JSON.stringify(loaded.error));
  const a = (await c.call('attach_program', { program_id: loaded.program_id, attachment: GETPID })).structuredContent;
  assert.equal(a.success, true, JSON.stringify(a.error));
  return { objectId: loaded.object_id, maps: Object.fromEntries(loaded.maps.map((m: { name: string; id: number }) => [m.name, m.id])) };
}

/** Starts the workload paused (after `prefix`, e.g. taskset) and adds its pid to the program's targets. */
async function targeted(maps: Record<string, number>, args: string[], prefix: string[] = []): Promise<{ pid: number; go: () => Promise<void> }> {
  const w = await pausedWorkload(args, prefix);
  addToSet(maps.targets as number, w.pid);
  return w;
}

/**
 * Starts the workload paused and targeted (so its pid is known), streams with the arguments built from that pid,
 * lets the workload run once the stream is reading, runs `after` if given, and returns the result. With `stall`,
 * the server is stopped (SIGSTOP) while the workload runs, so its reader drains nothing until the workload is done:
 * a burst then overflows the buffer however fast the reader would have been.
 */
async function streamWhile(
  maps: Record<string, number>,
  workload: string[],
  args: (pid: number) => Record<string, unknown>,
  after?: () => Promise<void> | void,
  stall = false,
): Promise<{ s: Record<string, any>; pid: number; text: string }> {
  const w = await targeted(maps, workload);
  const pending = c.call('stream_events', args(w.pid));
  await new Promise((r) => setTimeout(r, 250));
  if (stall) process.kill(c.pid, 'SIGSTOP');
  try {
    await w.go();
  } finally {
    if (stall) process.kill(c.pid, 'SIGCONT');
  }
  await after?.();
  const r = await pending;
  assert.equal(r.structuredContent.success, true, JSON.stringify(r.structuredContent.error));
  return { s: r.structuredContent, pid: w.pid, text: (r.content[0] as { text: string }).text };
}

/** Checks one decoded event field by field against what emit_* wrote for the workload's n-th getpid. */
function checkEvent(data: Record<string, unknown>, pid: number, seq: number, kind: string): void {
  assert.equal(data.pid, pid);
  assert.equal(data.tgid, pid);
  assert.equal(data.comm, 'workload');
  assert.equal(data.seq, seq);
  assert.equal(data.neg_seq, -seq);
  assert.equal(data.kind, kind);
  assert.equal(data.low_bit, seq & 1);
  assert.equal(data.three_bits, seq & 7);
  assert.equal(data.big, (U64_TOP + BigInt(seq & 15)).toString(), 'a u64 above 2^53 comes back exact, as a decimal string');
  assert.equal(typeof data.ts_ns, 'number');
}

test('ring buffer: every field of every record decodes to what the program wrote, with the schema', async () => {
  const { objectId, maps } = await attached('emit_ring');
  const { s, pid, text } = await streamWhile(maps, ['getpid', '40'], (pid) => ({
    source: { object_id: objectId, map: 'ring_events' },
    duration_ms: 5000,
    max_events: 40,
    filters: { pid },
  }));
  assert.equal(s.buffer, 'ringbuf');
  assert.equal(s.decoded_type, 'struct event');
  assert.equal(s.events.length, 40);
  assert.equal(s.stopped, 'max_events');
  s.events.forEach((e: { data: Record<string, unknown>; cpu?: number }, i: number) => {
    assert.equal(e.cpu, undefined);
    checkEvent(e.data, pid, i + 1, 'EVENT_RING');
  });
  const ts = s.events.map((e: { data: { ts_ns: number } }) => e.data.ts_ns);
  assert.deepEqual(ts, [...ts].sort((a, b) => a - b), 'records arrive in order');
  assert.equal(s.schema.type, 'object');
  assert.deepEqual(Object.keys(s.schema.properties).sort(), Object.keys(s.events[0].data).sort());
  assert.ok(JSON.stringify(s.schema.properties.big.type).includes('string'));
  assert.deepEqual(s.schema.properties.kind.anyOf[0].enum, ['EVENT_RING', 'EVENT_PERF'], 'enums by name (a number when unnamed)');
  assert.doesNotMatch(text.split('\n')[0] ?? '', /workload/, 'traced strings stay out of the summary');
});

test('ring buffer: records the writer discarded are skipped; records across the ring\'s end decode whole', async () => {
  const discarding = await attached('emit_ring_discard');
  const { s: kept } = await streamWhile(discarding.maps, ['getpid', '30'], (pid) => ({
    source: { object_id: discarding.objectId, map: 'ring_events' },
    duration_ms: 30000,
    max_events: 30,
    filters: { pid },
  }));
  assert.equal(kept.stopped, 'max_events', `stopped on ${kept.stopped} with ${kept.events.length} records`);
  assert.deepEqual(
    kept.events.map((e: { data: { seq: number } }) => e.data.seq),
    Array.from({ length: 30 }, (_, i) => 2 * i + 1),
    'only the submitted (odd) records arrive',
  );

  // Two runs of 2000 records of 72 bytes (80 with the ring's header): each fits the 256 KiB ring even before it
  // is drained, and together they carry the positions 320 KB on, past the ring's end, so some records straddle
  // it. The stream ends when all 4000 are in (its duration is only a bound), so a slow machine cannot cut it
  // short; 4000 decoded records fit one result of max_bytes 1 MiB.
  const { objectId, maps } = await attached('emit_ring');
  const second = await targeted(maps, ['getpid', '2000']);
  const { s: all, pid: first } = await streamWhile(
    maps,
    ['getpid', '2000'],
    () => ({ source: { object_id: objectId, map: 'ring_events' }, duration_ms: 30000, max_events: 4000, filters: { comm: 'workload' }, max_bytes: 1 << 20 }),
    async () => {
      await new Promise((r) => setTimeout(r, 1000));
      await second.go();
    },
  );
  assert.equal(all.stopped, 'max_events', `stopped on ${all.stopped} with ${all.events.length} records`);
  assert.equal(all.events.length, 4000);
  for (const pid of [first, second.pid]) {
    const mine = all.events.filter((e: { data: { pid: number } }) => e.data.pid === pid);
    assert.equal(mine.length, 2000, `records of ${pid}`);
    mine.forEach((e: { data: Record<string, unknown> }, i: number) => checkEvent(e.data, pid, i + 1, 'EVENT_RING'));
  }
});

test('perf buffer: records carry their CPU; pid and cpu filters and max_events hold exactly', async () => {
  const { maps } = await attached('emit_perf');
  const cpus = onlineCpus();
  const first = await targeted(maps, ['getpid', '30']);
  const second = await targeted(maps, ['getpid', '30']);
  const { pid } = first;
  const pending = c.call('stream_events', { source: { map_id: maps.perf_events, type: 'perfbuf' }, duration_ms: 4000, max_events: 1000, filters: { cpu: cpus } });
  await new Promise((r) => setTimeout(r, 250));
  await first.go();
  const filteredPending = c.call('stream_events', { source: { map_id: maps.perf_events }, duration_ms: 4000, max_events: 25, filters: { pid } });
  await new Promise((r) => setTimeout(r, 250));
  await second.go();
  const all = (await pending).structuredContent;
  assert.equal(all.events.length, 60, 'both workloads\' records and nothing else');
  const mine = all.events.filter((e: { data: { pid: number } }) => e.data.pid === pid);
  assert.equal(mine.length, 30);
  mine.forEach((e: { data: Record<string, unknown>; cpu: number }, i: number) => {
    assert.ok(cpus.includes(e.cpu));
    checkEvent(e.data, pid, i + 1, 'EVENT_PERF');
  });
  assert.equal(all.stats.lost, 0);
  const filtered = (await filteredPending).structuredContent;
  assert.equal(filtered.success, true, JSON.stringify(filtered.error));
  // The second stream shared the map's reader with the first; it saw only the second workload's 30 records, all filtered out.
  assert.equal(filtered.events.length, 0, `the pid filter names the first workload (${pid}), which had finished`);
  assert.equal(filtered.stopped, 'duration');
  assert.equal(filtered.stats.events_dropped, 30, `pid ${second.pid}'s 30 records were filtered out`);
});

test('aggregate counts records per group; comm globs match', async () => {
  const { objectId, maps } = await attached('emit_ring');
  const { s, pid } = await streamWhile(maps, ['getpid', '123'], () => ({
    source: { object_id: objectId, map: 'ring_events' },
    duration_ms: 1500,
    filters: { comm: 'work*' },
    aggregate: { group_by: ['comm', 'tgid'], top: 5 },
  }));
  assert.equal(s.events, undefined);
  const mine = s.groups.find((g: { key: { tgid: number } }) => g.key.tgid === pid);
  assert.deepEqual(mine.key, { comm: 'workload', tgid: pid });
  assert.equal(mine.count, 123);
  assert.ok(mine.first_seen_ms <= mine.last_seen_ms);
  assert.equal(s.stats.events_matched, s.groups.reduce((n: number, g: { count: number }) => n + g.count, 0));
});

test('a burst bigger than the buffer: perf reports kernel-side losses, ring stays responsive; neither stalls', async () => {
  const BURST = 8192;
  const perf = await attached('burst_perf');
  const started = Date.now();
  const flush = () => Promise.all(onlineCpus().map((cpu) => targeted(perf.maps, ['getpid', '1'], ['taskset', '-c', String(cpu)])));
  const rounds = [await flush(), await flush()];
  // Four bursts, written while the server is stopped: eight times what both CPUs' rings hold, so some are lost
  // however fast the reader, and few enough for a reader slowed by a busy machine to take in within the duration.
  const { s: p } = await streamWhile(
    perf.maps,
    ['getpid', '4'],
    (pid) => ({ source: { object_id: perf.objectId, map: 'perf_events' }, duration_ms: 5000, filters: { pid }, aggregate: { group_by: ['tgid'] } }),
    async () => {
      // Each CPU's perf ring reports its losses in a record written at its next output there that fits: give every
      // CPU one, twice, the second time late enough that even a reader slowed by a busy machine has made room.
      for (const [i, round] of rounds.entries()) {
        await new Promise((r) => setTimeout(r, i === 0 ? 300 : 1500));
        for (const w of round) await w.go();
      }
    },
    true,
  );
  const emitted = 4 * BURST;
  assert.ok(p.stats.lost > 0, `a ${emitted}-record burst into 256 KiB per CPU must lose some: ${JSON.stringify(p.stats)}`);
  assert.ok(p.stats.events_matched < emitted && p.stats.events_matched + p.stats.lost >= emitted, `every record is received or counted lost: ${JSON.stringify(p.stats)}`);
  assert.ok(Date.now() - started < 9000, 'the stream ended on time');

  const ring = await attached('burst_ring');
  const before = Date.now();
  const { s: r, pid: ringPid } = await streamWhile(ring.maps, ['getpid', '40'], (pid) => ({
    source: { object_id: ring.objectId, map: 'ring_events' },
    duration_ms: 3000,
    filters: { pid },
    aggregate: { group_by: ['tgid'] },
  }), undefined, true);
  assert.equal(r.stats.lost, null, 'ring buffers cannot report kernel-side drops');
  const written = mapValue(ring.maps.seqs as number, ringPid) as number;
  assert.ok(written < 40 * BURST, `the burst overflowed the ring (${written} of ${40 * BURST} reserved)`);
  assert.equal(r.groups[0]?.count, written, 'every record the ring accepted was delivered');
  assert.ok(Date.now() - before < 7000);
  const { s: raw, pid: rawPid } = await streamWhile(ring.maps, ['getpid', '1'], (pid) => ({
    source: { object_id: ring.objectId, map: 'ring_events' },
    duration_ms: 2000,
    max_events: 1,
    format: 'base64',
    filters: { pid },
  }));
  assert.equal(Buffer.from(raw.events[0].base64, 'base64').readUInt32LE(0), rawPid, 'base64 carries the raw record, pid first');
});

test('progress notifications arrive about once a second; cancelled streams free their slot', async () => {
  // No targets: nothing is written, so the stream runs its whole duration however busy the machine is.
  const { objectId } = await attached('emit_ring');
  const seen: number[] = [];
  const r = await c.client.callTool(
    { name: 'stream_events', arguments: { source: { object_id: objectId, map: 'ring_events' }, duration_ms: 2600 } },
    { onprogress: (p) => seen.push(p.progress), timeout: 20000 },
  );
  assert.equal((r.structuredContent as { stopped: string }).stopped, 'duration');
  assert.ok(seen.length >= 2 && seen.length <= 3, `progress ${JSON.stringify(seen)}`);
  assert.ok(seen.every((p, i) => i === 0 || p > (seen[i - 1] as number)));
  // Nine cancelled 50 s streams in a row: a stream that ignored cancellation would hold one of the 8 slots.
  for (let i = 0; i < 9; i++) {
    const abort = new AbortController();
    const call = c.client.callTool({ name: 'stream_events', arguments: { source: { object_id: objectId, map: 'ring_events' }, duration_ms: 50000 } }, { signal: abort.signal });
    await new Promise((res) => setTimeout(res, 100));
    abort.abort();
    await assert.rejects(call);
  }
  await new Promise((res) => setTimeout(res, 100));
  const last = (await c.call('stream_events', { source: { object_id: objectId, map: 'ring_events' }, duration_ms: 100 })).structuredContent;
  assert.equal(last.success, true, JSON.stringify(last.error));
});

test('bad sources and options get typed errors', async () => {
  const { objectId, maps } = await attached('emit_ring');
  const cases: [Record<string, unknown>, string, RegExp][] = [
    [{ source: { map_id: maps.seqs } }, 'MAP_ACCESS_ERROR', /hash, not a ring or perf buffer/],
    [{ source: { map_id: 2147483000 } }, 'MAP_ACCESS_ERROR', /no map/],
    [{ source: { object_id: objectId, map: 'nope' } }, 'VALIDATION_ERROR', /no map nope/],
    [{ source: { object_id: 'obj-999', map: 'ring_events' } }, 'VALIDATION_ERROR', /no object/],
    [{ source: { map_id: maps.ring_events, type: 'perfbuf' } }, 'VALIDATION_ERROR', /is a ringbuf/],
    [{ source: { map_id: maps.ring_events }, filters: { cpu: [0] } }, 'VALIDATION_ERROR', /ring buffers do not record the CPU/],
    [{ source: { map_id: maps.ring_events }, decode: { type_name: 'struct nope' } }, 'VALIDATION_ERROR', /no type struct nope/],
    [{ source: { map_id: maps.ring_events }, duration_ms: 300001 }, 'VALIDATION_ERROR', /duration_ms/],
    [{ source: { map_id: maps.ring_events }, max_events: 0 }, 'VALIDATION_ERROR', /max_events/],
    [{ source: { map_id: maps.ring_events }, aggregate: { group_by: [] } }, 'VALIDATION_ERROR', /group_by/],
  ];
  for (const [args, type, pattern] of cases) {
    const s = (await c.call('stream_events', args)).structuredContent;
    assert.equal(s.error?.type, type, JSON.stringify(args));
    assert.match(s.error.message, pattern);
  }
});

/** Loads a catalog object and attaches its programs as their sections say; returns its object id. */
async function catalogAttached(name: string): Promise<string> {
  const loaded = (await c.call('load_program', { source: { type: 'file', path: catalogObject(name) } })).structuredContent;
  assert.equal(loaded.success, true, JSON.stringify(loaded.error));
  for (const p of loaded.programs) {
    const a = (await c.call('attach_program', { program_id: p.id, attachment: { auto: {} } })).structuredContent;
    assert.equal(a.success, true, JSON.stringify(a.error));
  }
  return loaded.object_id;
}

test('where: cat /etc/passwd found by its filename with max_events 1, past cat\'s earlier opens; fields cut the data', async () => {
  const objectId = await catalogAttached('file_opens');
  const { sh, go } = await waitingShell('exec /bin/cat /etc/passwd > /dev/null');
  const pid = sh.pid as number;
  const source = { object_id: objectId, map: 'events' };
  const found = c.call('stream_events', {
    source,
    duration_ms: 10000,
    max_events: 1,
    filters: { where: [{ field: 'filename', op: 'eq', value: '/etc/passwd' }, { field: 'pid', op: 'eq', value: pid }] },
    fields: ['pid', 'comm', 'filename'],
  });
  // Beside it, every open of the same process: the list the where clause skipped through.
  const all = c.call('stream_events', { source, duration_ms: 2500, max_events: 1000, filters: { pid }, fields: ['filename'], format: 'table' });
  await new Promise((r) => setTimeout(r, 250));
  await go();
  const s = (await found).structuredContent;
  assert.equal(s.success, true, JSON.stringify(s.error));
  assert.equal(s.stopped, 'max_events');
  assert.deepEqual(s.events, [{ data: { pid, comm: 'cat', filename: '/etc/passwd' } }]);
  assert.deepEqual(Object.keys(s.schema.properties), ['pid', 'comm', 'filename'], 'the schema describes the fields returned');
  assert.equal(s.stats.events_matched, 1);
  const opens = (await all).structuredContent;
  assert.equal(opens.success, true, JSON.stringify(opens.error));
  assert.deepEqual(opens.table.columns, ['filename']);
  const names = opens.table.rows.map((r: string[]) => r[0]);
  const at = names.indexOf('/etc/passwd');
  assert.ok(at > 0, `cat opened other files before /etc/passwd: ${JSON.stringify(names)}`);
  assert.ok(s.stats.events_dropped >= at, `the ${at} earlier opens of ${pid} were filtered out, not returned`);
});

test('aggregate: value statistics of a field per group, exact, with raw and bitfield where clauses', async () => {
  const { objectId, maps } = await attached('emit_ring');
  const { s, pid } = await streamWhile(maps, ['getpid', '50'], (pid) => ({
    source: { object_id: objectId, map: 'ring_events' },
    duration_ms: 2000,
    filters: { where: [{ field: 'tgid', op: 'eq', value: pid }, { field: 'low_bit', op: 'eq', value: 1 }] },
    aggregate: { group_by: ['comm', 'tgid'], value: 'seq', stats: ['count', 'sum', 'min', 'max', 'avg', 'p50', 'p90', 'p99'], by: 'max' },
  }));
  // The odd seqs of 1..50: 25 records, summing to 625.
  assert.deepEqual(s.groups, [{ key: { comm: 'workload', tgid: pid }, count: 25, first_seen_ms: s.groups[0].first_seen_ms, last_seen_ms: s.groups[0].last_seen_ms, sum: 625, min: 1, max: 49, avg: 25, p50: 25, p90: 45, p99: 49 }]);
  assert.equal(s.stats.events_matched, 25);
  assert.equal(s.stats.events_received, 50, 'the workload\'s 50 records and nothing else (the fixture writes only for its targets)');
});

test('format table: at most 0.6 of the bytes per event of json, for exec_events records from the kernel', async () => {
  const objectId = await catalogAttached('exec_events');
  const EXECS = 10;
  const { sh, go } = await waitingShell(Array.from({ length: EXECS }, () => '/bin/true').join('; '));
  const base = { source: { object_id: objectId, map: 'events' }, duration_ms: 10000, max_events: EXECS, filters: { where: [{ field: 'ppid', op: 'eq', value: sh.pid }] } };
  const json = c.call('stream_events', base);
  const table = c.call('stream_events', { ...base, format: 'table' });
  await new Promise((r) => setTimeout(r, 250));
  await go();
  const j = (await json).structuredContent;
  const t = (await table).structuredContent;
  assert.equal(j.success, true, JSON.stringify(j.error));
  assert.equal(t.success, true, JSON.stringify(t.error));
  assert.equal(j.events.length, EXECS);
  assert.equal(t.table.rows.length, EXECS);
  assert.deepEqual(t.table.columns, ['pid', 'ppid', 'uid', 'ret', 'ts_ns', 'comm', 'filename', 'args_size', 'args']);
  assert.deepEqual(t.table.rows, j.events.map((e: { data: Record<string, unknown> }) => t.table.columns.map((col: string) => e.data[col])), 'the same records, as rows');
  for (const row of t.table.rows) assert.deepEqual([row[1], row[3], row[6], row[8]], [sh.pid, 0, '/bin/true', '/bin/true']);
  const perEvent = (x: unknown) => Buffer.byteLength(JSON.stringify(x)) / EXECS;
  const ratio = perEvent(t.table) / perEvent(j.events);
  console.log(`exec_events: json ${perEvent(j.events)} B/event, table ${perEvent(t.table)} B/event, ratio ${ratio.toFixed(3)}`);
  assert.ok(ratio <= 0.6, `table/json bytes per event ${ratio}`);
});

test('unknown fields and ops that do not fit are refused with the fields the record has and the closest name', async () => {
  const objectId = await catalogAttached('file_opens');
  const source = { object_id: objectId, map: 'events' };
  const cases: [Record<string, unknown>, string, RegExp][] = [
    [{ filters: { where: [{ field: 'filenme', op: 'eq', value: '/etc/passwd' }] } }, 'filters.where[0].field', /no field filenme \(did you mean `filename`\?\)/],
    [{ aggregate: { group_by: ['command'] } }, 'aggregate.group_by[0]', /no field command \(did you mean `comm`\?\)/],
    [{ fields: ['pid', 'flag'] }, 'fields[1]', /no field flag \(did you mean `flags`\?\)/],
    [{ aggregate: { group_by: ['comm'], value: 'filename', stats: ['sum'] } }, 'aggregate.value', /filename is a chars field/],
    [{ filters: { where: [{ field: 'filename', op: 'lt', value: 'a' }] } }, 'filters.where[0].op', /lt does not apply to chars field filename/],
    [{ filters: { where: [{ field: 'pid', op: 'glob', value: '1*' }] } }, 'filters.where[0].op', /glob does not apply to int field pid/],
    [{ aggregate: { group_by: ['cpu'] } }, 'aggregate.group_by[0]', /no field cpu/],
    [{ fields: ['pid'], format: 'base64' }, 'fields', /fields apply to decoded formats/],
    [{ fields: ['pid'], aggregate: { group_by: ['comm'] } }, 'fields', /an aggregate returns groups/],
    [{ aggregate: { group_by: ['comm'], stats: ['p99'] } }, 'aggregate.stats', /need aggregate\.value/],
  ];
  for (const [args, field, pattern] of cases) {
    const r = await c.call('stream_events', { source, duration_ms: 100, ...args });
    const s = r.structuredContent;
    assert.equal(s.error?.type, 'VALIDATION_ERROR', JSON.stringify(args));
    assert.equal(s.error.context.field, field, JSON.stringify(s.error));
    assert.match(s.error.message, pattern);
    if (/(\]|\.field)$/.test(field)) assert.deepEqual(s.error.context.fields, ['pid', 'tid', 'uid', 'flags', 'ret', 'comm', 'filename']);
  }
});

test('a where clause on raw fields: of 200 records exactly the four asked for; a list full at its third counts the records up to it (the ring\'s reader runs the clause as it walks)', async () => {
  const { objectId, maps } = await attached('emit_ring');
  const where = [{ field: 'seq', op: 'in', value: [20, 40, 60, 80] }];
  const { s: all } = await streamWhile(maps, ['getpid', '200'], (pid) => ({ source: { object_id: objectId, map: 'ring_events' }, duration_ms: 1500, filters: { pid, where } }));
  assert.deepEqual(
    all.events.map((e: { data: { seq: number } }) => e.data.seq),
    [20, 40, 60, 80],
  );
  assert.equal(all.stats.events_received, 200);
  assert.equal(all.stats.events_dropped, 196);
  const { s: three } = await streamWhile(maps, ['getpid', '200'], (pid) => ({ source: { object_id: objectId, map: 'ring_events' }, duration_ms: 3000, max_events: 3, filters: { pid, where } }));
  assert.deepEqual(
    three.events.map((e: { data: { seq: number } }) => e.data.seq),
    [20, 40, 60],
  );
  assert.equal(three.stopped, 'max_events');
  assert.equal(three.stats.events_received, 60, 'the records up to the one that filled the list, not the rest of its batch');
  assert.equal(three.stats.events_dropped, 57);
});

test('perf buffer: a where clause on raw fields keeps exactly the records asked for, from every CPU', async () => {
  const { objectId, maps } = await attached('emit_perf');
  const { s } = await streamWhile(maps, ['getpid', '200'], (pid) => ({
    source: { object_id: objectId, map: 'perf_events' },
    duration_ms: 1500,
    filters: { pid, where: [{ field: 'seq', op: 'le', value: 5 }] },
  }));
  assert.deepEqual(s.events.map((e: { data: { seq: number } }) => e.data.seq).sort((a: number, b: number) => a - b), [1, 2, 3, 4, 5]);
  assert.equal(s.stats.events_received, 200);
  assert.equal(s.stats.lost, 0);
});
