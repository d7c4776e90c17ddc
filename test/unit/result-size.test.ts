import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_LIMITS, formatBytes } from '../../src/policy/limits.js';
import { renderData } from '../../src/tools/render-text.js';
import { callBudget, dataBudget, textBudget } from '../../src/tools/result-size.js';
import { Selection } from '../../src/tools/selection.js';

test('the default result is 64 KiB, max_bytes may raise it to 1 MiB; text gets a quarter, at most 16 KiB', () => {
  assert.equal(DEFAULT_LIMITS.maxResultBytes, 65536);
  assert.equal(DEFAULT_LIMITS.maxResultBytesMax, 1048576);
  assert.equal(formatBytes(65536), '64 KiB');
  assert.equal(callBudget({}, DEFAULT_LIMITS), 65536);
  assert.equal(callBudget({ max_bytes: 200000 }, DEFAULT_LIMITS), 200000);
  assert.equal(textBudget(65536), 16384);
  assert.equal(textBudget(8192), 2048);
  assert.equal(dataBudget(65536), 65536 - 16384 - 2048);
  assert.equal(dataBudget(65536, { a: 1 }), 65536 - 16384 - 2048 - 7);
});

test('renderData: scalars on a line, lists as tables with nested fields flattened, the rest compact JSON smallest first; strings quoted', () => {
  const text = renderData(
    {
      success: true,
      tool_version: '1.0.0',
      map_id: 7,
      stopped: 'duration',
      events: [
        { data: { pid: 10, comm: 'cat' } },
        { data: { pid: 11, comm: 'a|b' }, cpu: 1 },
      ],
      schema: { type: 'object', properties: { pid: { type: 'integer' } } },
      stats: { matched: 2 },
    },
    16384,
  );
  assert.equal(
    text,
    [
      'map_id: 7; stopped: "duration"',
      'events (2):',
      'data.pid | data.comm | cpu',
      '10 | "cat" | ',
      '11 | "a|b" | 1',
      'stats: {"matched":2}',
      'schema: {"type":"object","properties":{"pid":{"type":"integer"}}}',
    ].join('\n'),
  );
});

test('renderData: {columns, rows} is a table as it is', () => {
  assert.equal(renderData({ events: { columns: ['pid', 'comm'], rows: [[1, 'sh']] } }, 1000), 'events (1):\npid | comm\n1 | "sh"');
});

test('renderData: what does not fit is said, with how much was left out', () => {
  const rows = Array.from({ length: 100 }, (_, i) => ({ id: i, name: `prog${i}` }));
  const text = renderData({ total: 100, programs: rows, counts: { programs: 100 } }, 200);
  assert.ok(Buffer.byteLength(text) < 400, text);
  const lines = text.split('\n');
  assert.deepEqual(lines.slice(0, 4), ['total: 100', 'programs (100):', 'id | name', '0 | "prog0"']);
  const shown = lines.filter((l) => /^\d+ \| "prog/.test(l)).length;
  assert.equal(lines.at(-1), `[text cut at 200 bytes; left out here: ${100 - shown} of the 100 rows of \`programs\`, \`counts\`; all of it is in structuredContent]`);
});

test('Selection.fit keeps the leading rows that fit the byte budget and records the cut', () => {
  const sel = new Selection(100, 100);
  const rows = Array.from({ length: 10 }, (_, i) => ({ id: i, pad: 'x'.repeat(10) }));
  const rowBytes = Buffer.byteLength(JSON.stringify(rows[0])) + 1;
  const kept = sel.fit('programs', sel.take('programs', rows));
  assert.equal(kept.length, Math.floor(100 / rowBytes));
  assert.deepEqual(sel.counts.programs, { total: 10, returned: kept.length, truncated: true, cut_by: 'max_bytes' });
  assert.equal(sel.truncated, true);
  assert.deepEqual(sel.fit('maps', [{ id: 1 }]), [], 'once a list is cut, the lists after it get nothing');
  assert.deepEqual(sel.counts.maps, { total: 1, returned: 0, truncated: true, cut_by: 'max_bytes' });

  const byLimit = new Selection(2);
  assert.equal(byLimit.fit('links', byLimit.take('links', rows)).length, 2);
  assert.deepEqual(byLimit.counts.links, { total: 10, returned: 2, truncated: true, cut_by: 'limit' });
});

test('renderData: a long string (a verifier log) comes after the lists and is the one left out when it does not fit', () => {
  const text = renderData({ object_id: 'obj-1', programs: [{ id: 1, name: 'p' }], verifier_log: 'x'.repeat(5000) }, 1000);
  assert.equal(text, 'object_id: "obj-1"\nprograms (1):\nid | name\n1 | "p"\n[text cut at 1000 bytes; left out here: `verifier_log`; all of it is in structuredContent]');
});
