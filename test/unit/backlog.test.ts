/** The backlog meter on synthetic ring spans: no kernel. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { elfSection, parseBtf } from '../../src/btf/index.js';
import { RecordBatch } from '../../src/kernel/reader.js';
import { BacklogMeter, timestampOffset } from '../../src/stream/backlog.js';
import { RecordType } from '../../src/stream/record-type.js';
import { fixture } from '../helpers/fixtures.js';

const btf = parseBtf(elfSection(readFileSync(fixture('events')), '.BTF') as Uint8Array);
const eventType = new RecordType(btf, 'struct event');
const SIZE = btf.sizeof(eventType.choice.typeId as number);
const SLOT = (SIZE + 8 + 7) & ~7;

/** A ring span of records with these ts_ns values, laid out as the kernel writes them (header, then data), indexed as the addon indexes it. */
function span(stamps: bigint[]): RecordBatch {
  const bytes = new Uint8Array(8192);
  const view = new DataView(bytes.buffer);
  const index = new Uint32Array(2 * stamps.length);
  stamps.forEach((ts, i) => {
    view.setUint32(i * SLOT, SIZE, true);
    view.setBigUint64(i * SLOT + 8 + 8, ts, true);
    index.set([i * SLOT + 8, SIZE], 2 * i);
  });
  return new RecordBatch(bytes, index, stamps.length, 0, stamps.length * SLOT, undefined);
}

test('the timestamp field of a record is found by name: ts_ns, an 8-byte integer', () => {
  assert.equal(timestampOffset(btf, eventType.choice.typeId as number), 8, 'struct event: ts_ns after pid and tgid');
});

test('backlog: records before the producer position at start are counted, with the oldest age; the rest are not', () => {
  const now = process.hrtime.bigint();
  const meter = new BacklogMeter({ consumer: 4096 * 3, producer: 4096 * 3 + 2 * SLOT, size: 4096 }, btf, eventType, 0);
  const batch = span([now - 700_000_000n, now - 500_000_000n, now]);
  let i = 0;
  batch.forEach((off, size) => meter.record(batch, off, size, i++ !== 1));
  meter.batchDone(batch);
  const r = meter.report();
  assert.equal(r.records, 2);
  assert.equal(r.matched, 1);
  assert.ok(r.oldest_age_ms !== null && r.oldest_age_ms >= 700 && r.oldest_age_ms < 5000, String(r.oldest_age_ms));
  assert.equal(r.ring_full, false);
  assert.equal(r.lost_before, 0);
  assert.equal(meter.open, false);
});

test('backlog: a ring with less free space than one record was full, and the note says what to do', () => {
  const pending = Math.floor(4096 / SLOT) * SLOT;
  const meter = new BacklogMeter({ consumer: 0, producer: pending, size: 4096 }, btf, eventType, undefined);
  const batch = span([1n]);
  batch.forEach((off, size) => meter.record(batch, off, size, true));
  const r = meter.report();
  assert.equal(r.ring_full, 4096 - pending < SLOT);
  assert.equal(r.ring_full, true);
  assert.match(r.note ?? '', /background.*max_entries/);
  assert.equal('lost_before' in r, false, 'no counter: nothing said of losses before');
});
