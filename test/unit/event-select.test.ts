import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { chooseEventType, elfSection, parseBtf } from '../../src/btf/index.js';
import { Aggregator, compileFilter } from '../../src/tools/event-select.js';
import { fixture } from '../helpers/fixtures.js';

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
