/**
 * JSON text made once: jsonText is JSON.stringify's text for anything, and
 * reuses the text kept for a part (what Selection.fit keeps for its lists,
 * what the server keeps for a result) wherever that part is carried, also
 * inside a wrapper the SDK makes around a result.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { jsonText, keepJsonText } from '../../src/tools/json-text.js';
import { Selection } from '../../src/tools/selection.js';

test('jsonText is JSON.stringify for values of every kind', () => {
  const values: unknown[] = [
    null, 0, -1.5, 'a "quoted"\n\u2028 line', true, undefined, [1, undefined, () => 1, 'x'],
    { a: 1, skipped: undefined, f: () => 1, nested: { deep: { deeper: [{ x: new Date(0) }] } }, 2: 'integer key first' },
    Object.assign(Object.create(null), { bare: 1 }), { toJSON: () => 'own toJSON' }, new Map([[1, 2]]), { date: new Date(86_400_000) },
  ];
  for (const v of values) assert.equal(jsonText(v), JSON.stringify(v) ?? 'null', `for ${String(JSON.stringify(v))}`);
});

test('a kept text is used wherever its value is carried, two levels of plain objects down, and only there', () => {
  const list = [{ id: 1 }, { id: 2 }];
  keepJsonText(list, '["kept"]');
  assert.equal(jsonText(list), '["kept"]');
  const result = { content: [{ type: 'text', text: 't' }], structuredContent: { success: true, programs: list } };
  assert.equal(jsonText(result), '{"content":[{"type":"text","text":"t"}],"structuredContent":{"success":true,"programs":["kept"]}}');
  keepJsonText(result.structuredContent);
  // What the SDK sends for a 2026-07-28 client: a copy of the result with fields of its own, in a message.
  const message = { result: { ...result, resultType: 'complete', _meta: { server: 'x' } }, jsonrpc: '2.0', id: 7 };
  assert.deepEqual(JSON.parse(jsonText(message)), { ...JSON.parse(JSON.stringify(message)), result: { ...JSON.parse(JSON.stringify(message.result)), structuredContent: { success: true, programs: ['kept'] } } });
  assert.equal(jsonText({ deeper: { still: { list } } }), '{"deeper":{"still":{"list":[{"id":1},{"id":2}]}}}', 'three levels down it is encoded again');
});

test('Selection.fit keeps the text of the rows it returns, cut or whole, and it is the rows\' own', () => {
  const rows = Array.from({ length: 10 }, (_, i) => ({ id: i, name: `prog-${i}`, note: i % 2 ? 'odd' : undefined }));
  const whole = new Selection(100).fit('programs', rows);
  assert.notEqual(whole, rows);
  assert.equal(jsonText({ programs: whole }), `{"programs":${JSON.stringify(rows)}}`);
  const cut = new Selection(100, 100).fit('programs', rows);
  assert.ok(cut.length > 0 && cut.length < rows.length, `cut at ${cut.length}`);
  assert.equal(jsonText(cut), JSON.stringify(rows.slice(0, cut.length)));
});
