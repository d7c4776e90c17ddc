/**
 * Background streams below the tools: a bounded queue that drops its oldest
 * records and counts them, and the release of every stream with its session.
 * Records come from the lossy fixture, written only for the test's own workloads.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { before, test } from 'node:test';
import { attachProgram } from '../../src/hooks/index.js';
import { ensureMounts } from '../../src/kernel/host.js';
import { native } from '../../src/kernel/native.js';
import { BpfObject } from '../../src/kernel/object.js';
import { Session } from '../../src/session/session.js';
import { BackgroundStream } from '../../src/stream/background.js';
import { eventBuffer } from '../../src/stream/buffer.js';
import { Pipeline } from '../../src/stream/pipeline.js';
import { RecordType } from '../../src/stream/record-type.js';
import { eventually } from '../helpers/bpftool.js';
import { fixture } from '../helpers/fixtures.js';
import { mapFdsOf, targetedGetpids } from '../helpers/kernel.js';

before(() => ensureMounts());

/** Loads lossy's one_record attached to getpid, runs `body` with its ring and targets ids, releases it all. */
async function withRing(body: (ring: number, targets: number) => Promise<void>): Promise<void> {
  const obj = BpfObject.open(readFileSync(fixture('lossy')), 'background');
  const links: { destroy(): void }[] = [];
  try {
    obj.load({ programs: ['one_record'] });
    const p = obj.programs().find((q) => q.name === 'one_record');
    assert.ok(p);
    links.push(...attachProgram({ object: obj, program: p }, { tracepoint: { category: 'syscalls', name: 'sys_enter_getpid' } }).links);
    const id = (name: string) => native.mapInfo((obj.maps().find((m) => m.name === name) as { fd: number }).fd).id;
    await body(id('ring'), id('targets'));
  } finally {
    for (const l of links) l.destroy();
    obj.close();
  }
}

/** A background stream of the ring, keeping at most `events` records queued. */
function background(ring: number, events: number): BackgroundStream {
  const buffer = eventBuffer(ring);
  const recordType = new RecordType(buffer.btf, undefined);
  const pipeline = new Pipeline({ recordType, filters: {}, format: 'json', maxEvents: Infinity });
  return new BackgroundStream(buffer, recordType, pipeline, undefined, 0, { events, bytes: 1 << 20 });
}

test('a full queue drops its oldest records and counts them; a read from cursor 0 starts at the oldest kept', async () => {
  await withRing(async (ring, targets) => {
    const stream = background(ring, 5);
    try {
      const pid = await targetedGetpids(targets, 12);
      assert.ok(await eventually(() => stream.pipeline.received === 12, 3000));
      assert.equal(stream.queued, 5);
      assert.equal(stream.droppedBacklog, 7);
      const read = stream.read(0, 100, 1 << 20);
      assert.equal(read.events.length, 5);
      assert.ok(read.events.every((e) => (e.data as { tgid: number }).tgid === pid));
      assert.equal(read.nextCursor, 12);
      assert.equal(read.more, 0);
      assert.equal(stream.read(undefined, 100, 1 << 20).events.length, 0, 'the default cursor is where the last read ended');
    } finally {
      await stream.stop();
    }
  });
});

test("a session's background streams end with it: stopped as session_closed, their readers released", async () => {
  await withRing(async (ring, targets) => {
    const idle = mapFdsOf('self', ring);
    const session = new Session();
    const stream = background(ring, 100);
    session.backgroundStreams.add(ring, stream, 60);
    assert.equal(session.activeStreams, 1);
    assert.equal(mapFdsOf('self', ring), idle + 2);
    await targetedGetpids(targets, 3);
    assert.ok(await eventually(() => stream.queued === 3, 3000));
    session.close();
    const outcome = await stream.stop();
    assert.equal(outcome.stopped, 'session_closed');
    assert.equal(stream.running, false);
    assert.equal(session.backgroundStreams.size, 0);
    assert.ok(await eventually(() => mapFdsOf('self', ring) === idle), 'the reader fds are closed');
  });
});
