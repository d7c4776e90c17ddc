/**
 * The ring reader's lifetime: its mapping of the ring holds the map in the kernel, and closing the reader lets the
 * map go at once, not when a garbage collection happens to find the buffer over it. And the records a reader hands
 * over when a program selects them (bench/bpf/ringbuf.bpf.c fills the ring in one test run: no other process adds
 * records).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { endianness } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { listIds } from '../../src/kernel/inventory.js';
import { native } from '../../src/kernel/native.js';
import { BpfObject } from '../../src/kernel/object.js';
import { EventReader, type RecordBatch } from '../../src/kernel/reader.js';
import { RecordProgram } from '../../src/kernel/record-scan.js';
import { loadRing } from '../../bench/ring.js';
import { fixture } from '../helpers/fixtures.js';

test('a ring map outlives its object while a reader maps it, and is gone within a second of the reader closing', async () => {
  const obj = BpfObject.open(readFileSync(fixture('events')), 'events');
  obj.load();
  const ring = obj.maps().find((m) => m.name === 'ring_events');
  assert.ok(ring, 'the fixture has ring_events');
  const id = native.mapInfo(ring.fd).id;
  const reader = EventReader.open(id, 'ringbuf');
  obj.close();
  assert.ok(listIds('map').includes(id), 'the reader holds the ring');
  reader.close();
  // No allocation to speak of meanwhile, so no garbage collection: the mapping goes because the reader let it go.
  let gone = false;
  for (let i = 0; i < 20 && !gone; i++) {
    await sleep(50);
    gone = !listIds('map').includes(id);
  }
  assert.ok(gone, `map ${id} is still in the kernel a second after its reader closed`);
});

test('a reader given a program hands over only the records that pass it, each numbered among those taken; with a second subscriber, every record', () => {
  const N = 10_000;
  const ring = loadRing(N);
  const reader = EventReader.open(ring.mapId, 'ringbuf');
  try {
    // Record i of the fill has seq i (u64 at 32) and flags i % 100 (u32 at 44): flags 0 is every hundredth.
    const program = new RecordProgram([[{ kind: 'scalar', op: 'eq', byte: 44, size: 4, signed: false, littleEndian: endianness() === 'LE', want: 0n }]], 48);
    const seen = { taken: 0, seqs: [] as number[], numbered: [] as number[], selected: 0, batches: 0 };
    const first = (b: RecordBatch) => {
      const view = new DataView(b.bytes.buffer, b.bytes.byteOffset);
      for (let r = 0; r < b.count; r++) {
        seen.seqs.push(Number(view.getBigUint64((b.index[2 * r] as number) + 32, true)));
        seen.numbered.push(seen.taken + b.takenAt(r));
      }
      seen.taken += b.taken;
      seen.batches++;
      if (b.selectedBy === program) seen.selected++;
    };
    const drain = () => {
      Object.assign(seen, { taken: 0, seqs: [], numbered: [], selected: 0, batches: 0 });
      ring.fill();
      while (seen.taken < N) assert.ok(reader.consume() > 0, `the reader stopped after ${seen.taken} of ${N} records`);
    };
    reader.subscribe(first);
    reader.select(first, program);
    drain();
    const hundredths = Array.from({ length: N / 100 }, (_, i) => i * 100);
    assert.deepEqual(seen.seqs, hundredths, 'exactly the records with flags 0');
    assert.deepEqual(seen.numbered, hundredths, 'each numbered among the records taken: its seq');
    assert.equal(seen.selected, seen.batches, 'every batch says the program selected it');

    let second = 0;
    const unsubscribe = reader.subscribe((b) => {
      second += b.count;
    });
    drain();
    assert.equal(seen.seqs.length, N, 'two subscribers: the reader hands both every record');
    assert.equal(second, N);
    assert.equal(seen.selected, 0);
    unsubscribe();
    drain();
    assert.deepEqual(seen.seqs, hundredths, 'alone again, the first subscriber\'s program is back');
  } finally {
    reader.close();
    ring.obj.close();
  }
});
