/**
 * The ring reader's lifetime: its mapping of the ring holds the map in the kernel, and closing the reader lets the
 * map go at once, not when a garbage collection happens to find the buffer over it.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { listIds } from '../../src/kernel/inventory.js';
import { native } from '../../src/kernel/native.js';
import { BpfObject } from '../../src/kernel/object.js';
import { EventReader } from '../../src/kernel/reader.js';
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
