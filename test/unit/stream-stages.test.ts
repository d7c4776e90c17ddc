import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { chooseEventType, elfSection, parseBtf } from '../../src/btf/index.js';
import { Aggregator } from '../../src/stream/aggregate.js';
import { compileFilter } from '../../src/stream/filter.js';
import { Pipeline } from '../../src/stream/pipeline.js';
import { RecordType } from '../../src/stream/record-type.js';
import { BtfBuilder } from './btf-builder.js';
import { catalogObject, fixture } from '../helpers/fixtures.js';

test('filters: pid matches pid or tgid, comm exact or glob, cpu only where recorded; none means no filter', () => {
  assert.equal(compileFilter({}), undefined);
  const byPid = compileFilter({ pid: 42 });
  assert.ok(byPid?.({ pid: 42, tgid: 7 }, null));
  assert.ok(byPid?.({ pid: 7, tgid: 42 }, null));
  assert.ok(!byPid?.({ pid: 7, tgid: 8 }, null));
  assert.ok(!byPid?.(undefined, null), 'a raw record has no pid');
  const glob = compileFilter({ comm: 'ba?h*' });
  assert.ok(glob?.({ comm: 'bash' }, null) && glob({ comm: 'bashful' }, null) && !glob({ comm: 'zsh' }, null));
  const exact = compileFilter({ comm: 'a.b' });
  assert.ok(exact?.({ comm: 'a.b' }, null) && !exact({ comm: 'axb' }, null), 'a dot is literal');
  const cpu = compileFilter({ cpu: [1], pid: 5 });
  assert.ok(cpu?.({ pid: 5 }, 1) && !cpu({ pid: 5 }, 0) && !cpu({ pid: 5 }, null));
});

test('aggregation counts per group, orders by count, bounds the groups', () => {
  const a = new Aggregator(['comm', 'cpu'], 2);
  a.add({ comm: 'x' }, 0, 1);
  a.add({ comm: 'y' }, 1, 2);
  a.add({ comm: 'y' }, 1, 5);
  a.add({ comm: 'z' }, 0, 6);
  assert.deepEqual(a.top(5), [
    { key: { comm: 'y', cpu: 1 }, count: 2, first_seen_ms: 2, last_seen_ms: 5 },
    { key: { comm: 'x', cpu: 0 }, count: 1, first_seen_ms: 1, last_seen_ms: 1 },
  ]);
  assert.equal(a.size, 2);
  assert.equal(a.overflow, 1);
  assert.equal(a.top(1).length, 1);
});

test('the event type is found by name, by the one event-named struct, or by record size', () => {
  const btf = parseBtf(elfSection(readFileSync(fixture('events')), '.BTF') as Uint8Array);
  assert.deepEqual(chooseEventType(btf, 'struct event'), { typeId: chooseEventType(btf, 'event').typeId, typeName: 'struct event', how: 'type_name' });
  assert.equal(chooseEventType(btf, undefined).how, 'auto:name');
  assert.equal(chooseEventType(btf, undefined).typeName, 'struct event');
  assert.equal(chooseEventType(btf, 'struct nope').how, 'none');
  const multi = parseBtf(elfSection(readFileSync(fixture('multi')), '.BTF') as Uint8Array);
  assert.equal(chooseEventType(multi, undefined, 12345).how, 'none', 'no struct has that size');
  // exec_events also carries kernel structs named like events (perf_event, from its CO-RE reads of the task).
  const exec = parseBtf(elfSection(readFileSync(catalogObject('exec_events')), '.BTF') as Uint8Array);
  assert.deepEqual(
    [chooseEventType(exec, undefined).how, chooseEventType(exec, undefined).typeName],
    ['auto:name', 'struct exec_event'],
    'the event struct a global of the object points at is its own',
  );
});

test('aggregation keeps values of different types apart, and groups by object values', () => {
  const a = new Aggregator(['v'], 10);
  a.add({ v: 1 }, null, 0);
  a.add({ v: '1' }, null, 0);
  a.add({ v: [1, 2] }, null, 0);
  a.add({ v: '[1,2]' }, null, 0);
  a.add({ v: [1, 2] }, null, 0);
  a.add({}, null, 0);
  assert.deepEqual(
    a.top(10).map((g) => [g.key.v, g.count]),
    [
      [[1, 2], 2],
      [1, 1],
      ['1', 1],
      ['[1,2]', 1],
      [null, 1],
    ],
  );
});

/** BTF with two event-named structs, so only a record's size can tell which one the records are. */
function twoEvents() {
  const b = new BtfBuilder();
  const u32 = b.int('__u32', 4);
  b.struct('small_event', 8, [['pid', u32, 0], ['tgid', u32, 32]]);
  b.struct('big_event', 16, [['pid', u32, 0], ['tgid', u32, 32], ['a', u32, 64], ['b', u32, 96]]);
  return parseBtf(b.build());
}

/** Records of `size` bytes back to back, each starting with its pid and tgid. */
function records(size: number, pids: number[]): Uint8Array {
  const bytes = new Uint8Array(size * pids.length);
  const view = new DataView(bytes.buffer);
  pids.forEach((pid, i) => {
    view.setUint32(i * size, pid, true);
    view.setUint32(i * size + 4, pid, true);
  });
  return bytes;
}

test('record type: an ambiguous choice is settled by the first record and kept for the rest of the stream', () => {
  const t = new RecordType(twoEvents(), undefined);
  assert.equal(t.choice.how, 'none', 'two event structs: no choice before a record is seen');
  assert.equal(t.decodedType, null);
  const first = t.decoderFor(16);
  assert.equal(t.choice.how, 'auto:size');
  assert.equal(t.decodedType, 'struct big_event');
  assert.equal(t.decoderFor(8), first, 'a later record of another size does not choose again');

  const none = new RecordType(twoEvents(), undefined);
  assert.equal(none.decoderFor(100), undefined);
  assert.equal(none.decoderFor(16), undefined, 'a choice that found nothing stays made: the stream stays raw');
  assert.deepEqual(none.undecoded, {
    decode_note: 'no single BTF type fits the records (some might: decode_candidates); pass decode.type_name',
    decode_candidates: ['small_event', 'big_event'],
  });
  assert.deepEqual(new RecordType(undefined, undefined).undecoded, { decode_note: 'no BTF for this map: records are raw' });
  assert.equal(new RecordType(twoEvents(), 'struct small_event').decodedType, 'struct small_event');
});

test('pipeline: decodes, filters by pid, keeps max_events and then takes no more', () => {
  const p = new Pipeline({ recordType: new RecordType(twoEvents(), 'struct small_event'), filters: { pid: 7 }, format: 'json', maxEvents: 2 });
  const bytes = records(8, [7, 8, 7, 7, 7]);
  for (let i = 0; i < 5; i++) p.push(bytes, i * 8, 8, i === 0 ? 3 : null, i);
  assert.deepEqual(p.events, [{ cpu: 3, data: { pid: 7, tgid: 7 } }, { data: { pid: 7, tgid: 7 } }]);
  assert.equal(p.full, true);
  assert.deepEqual([p.received, p.matched, p.filtered], [3, 2, 1], 'records after the list is full are not taken in');
});

test('pipeline: raw and base64 keep the bytes undecoded; an aggregation counts every match and is never full', () => {
  const bytes = records(8, [1, 2, 1]);
  const raw = new Pipeline({ recordType: new RecordType(undefined, undefined), filters: {}, format: 'raw', maxEvents: 10 });
  raw.push(bytes, 0, 8, null, 0);
  assert.deepEqual(raw.events, [{ raw: '0100000001000000' }]);
  const b64 = new Pipeline({ recordType: new RecordType(twoEvents(), undefined), filters: {}, format: 'base64', maxEvents: 10 });
  b64.push(bytes, 8, 8, null, 0);
  assert.deepEqual(b64.events, [{ base64: Buffer.from(bytes.subarray(8, 16)).toString('base64') }]);
  const agg = new Pipeline({ recordType: new RecordType(twoEvents(), undefined), filters: {}, format: 'json', maxEvents: 1, aggregate: { groupBy: ['pid'], maxGroups: 10 } });
  for (let i = 0; i < 3; i++) agg.push(bytes, i * 8, 8, null, i);
  assert.equal(agg.full, false);
  assert.deepEqual(agg.groups?.top(5).map((g) => [g.key.pid, g.count]), [[1, 2], [2, 1]]);
  assert.equal(agg.events.length, 0);
});

test('pipeline: a byte cap keeps the records that fit, leaves out the first that does not, and ends the list', () => {
  const bytes = records(8, [1, 2, 3, 4, 5]);
  // Each kept event is {"data":{"pid":N,"tgid":N}} (27 bytes) plus a newline's worth: 28 bytes.
  const p = new Pipeline({ recordType: new RecordType(twoEvents(), 'struct small_event'), filters: {}, format: 'json', maxEvents: 100, maxBytes: 3 * 28 + 27 });
  for (let i = 0; i < 5; i++) p.push(bytes, i * 8, 8, null, i);
  assert.deepEqual(p.events.map((e) => (e.data as { pid: number }).pid), [1, 2, 3]);
  assert.equal(p.keptBytes, 3 * 28);
  assert.equal(p.fullAt, 'max_bytes');
  assert.deepEqual([p.received, p.matched], [4, 4], 'the record that did not fit is matched and dropped; none after it taken in');
});

/** BTF of `struct event { __u32 pid; char comm[8]; }` (12 bytes), named so a stream chooses it up front. */
function commEvents() {
  const b = new BtfBuilder();
  const u32 = b.int('__u32', 4);
  const char = b.int('char', 1, { signed: true, char: true });
  b.struct('event', 12, [['pid', u32, 0], ['comm', b.array(char, 8), 32]]);
  return parseBtf(b.build());
}

test('pipeline: an aggregation by a raw field counts as decoding every record would: junk after the NUL, invalid UTF-8, the group limit', () => {
  const comms: number[][] = [
    [0x61, 0x62, 0, 1, 2, 3, 4, 5], // "ab", junk after the NUL
    [0x61, 0x62, 0, 9, 9, 9, 9, 9], // "ab" again, other junk
    [0xff, 0xfe, 0x61, 0, 0, 0, 0, 0], // invalid UTF-8
    [0xfd, 0xfe, 0x61, 0, 0, 0, 0, 0], // other invalid bytes
    [0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a], // no NUL
    [0x7a, 0, 0, 0, 0, 0, 0, 0], // over the group limit below
  ];
  const order = [0, 1, 2, 3, 4, 5, 0, 5, 1, 2, 3, 4, 4, 5, 0];
  const bytes = new Uint8Array(12 * order.length);
  const view = new DataView(bytes.buffer);
  order.forEach((c, i) => {
    view.setUint32(i * 12, 100 + i, true);
    bytes.set(comms[c] as number[], i * 12 + 4);
  });
  for (const maxGroups of [3, 10]) {
    const recordType = new RecordType(commEvents(), undefined);
    const p = new Pipeline({ recordType, filters: {}, format: 'json', maxEvents: 1, bufferCpu: false, aggregate: { groupBy: ['comm'], maxGroups } });
    const reference = new Aggregator(['comm'], maxGroups);
    order.forEach((_c, i) => {
      p.push(bytes, i * 12, 12, null, i);
      const data = recordType.decoder?.(bytes, i * 12) as Record<string, unknown>;
      reference.add(recordType.render ? (recordType.render(data, bytes, i * 12) as Record<string, unknown>) : data, null, i);
    });
    assert.deepEqual(p.groups?.top(100), reference.top(100), `maxGroups ${maxGroups}`);
    assert.equal(p.groups?.overflow, reference.overflow, `overflow with maxGroups ${maxGroups}`);
    assert.equal(p.matched, order.length);
    assert.ok(p.decoded < order.length, 'records of a key seen before are not decoded');
  }
});
