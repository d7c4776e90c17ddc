import assert from 'node:assert/strict';
import { test } from 'node:test';
import { log2Histogram } from '../../src/obj/log2-histogram.js';

test('log2 buckets follow libbpf-tools: slot 0 is 0..1, slot i is 2^i..2^(i+1)-1; leading empty slots kept, trailing trimmed', () => {
  const h = log2Histogram([0, 0, 3, 1, 0, 0]);
  assert.deepEqual(h.buckets, [
    { low: 0, high: 1, count: 0 },
    { low: 2, high: 3, count: 0 },
    { low: 4, high: 7, count: 3 },
    { low: 8, high: 15, count: 1 },
  ]);
  assert.equal(h.total, 4);
  assert.equal(
    h.drawing,
    [
      '     value               : count    distribution',
      '         0 -> 1          : 0        |                                        |',
      '         2 -> 3          : 0        |                                        |',
      '         4 -> 7          : 3        |****************************************|',
      '         8 -> 15         : 1        |*************                           |',
    ].join('\n'),
  );
});

test('an all-zero histogram has no buckets and no drawing', () => {
  assert.deepEqual(log2Histogram([0, 0, 0]), { buckets: [], total: 0, drawing: '' });
});

test('past slot 32 the columns widen and the bars halve; bounds past 2^53 are exact decimal strings', () => {
  const counts = new Array<number>(64).fill(0);
  counts[63] = 5;
  counts[40] = 10;
  const h = log2Histogram(counts);
  assert.equal(h.buckets.length, 64);
  assert.deepEqual(h.buckets[63], { low: '9223372036854775808', high: '18446744073709551615', count: 5 });
  assert.deepEqual(h.buckets[52], { low: 2 ** 52, high: 2 ** 53 - 1, count: 0 });
  const rows = h.drawing.split('\n');
  assert.equal(rows.length, 65);
  assert.equal(rows[0], `${' '.repeat(15)}${'value'.padEnd(29)} : count    distribution`);
  assert.equal(rows[41], `${String(2 ** 40).padStart(20)} -> ${String(2 ** 41 - 1).padEnd(20)} : 10       |${'*'.repeat(20)}|`);
  assert.equal(rows[64], ` 9223372036854775808 -> 18446744073709551615 : 5        |${'*'.repeat(10)}${' '.repeat(10)}|`);
});
