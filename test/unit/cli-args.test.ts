/** The CLI's pure parts: key=value assignments, where clauses, and escaping of host strings in its output. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assignments, jsonish, splitCommand } from '../../src/cli/args.js';
import { callArguments } from '../../src/cli/commands/call.js';
import { whereClause } from '../../src/cli/commands/trace.js';
import { UsageError } from '../../src/cli/errors.js';
import { charText } from '../../src/cli/event-print.js';
import { cell, escapeLine, escapeText, safeJson } from '../../src/cli/output.js';

test('--arg: dotted keys build nested objects; values are JSON when they parse, else strings', () => {
  assert.deepEqual(assignments(['source.type=catalog', 'source.name=execsnoop', 'source.parameters.pid=42', 'fields=["system"]', 'note=a=b'], '--arg'), {
    source: { type: 'catalog', name: 'execsnoop', parameters: { pid: 42 } },
    fields: ['system'],
    note: 'a=b',
  });
  assert.deepEqual(callArguments('{"limit":5,"filters":{"owned_only":true}}', ['filters.program_id=7']), { limit: 5, filters: { owned_only: true, program_id: 7 } });
  assert.equal(jsonish('true'), true);
  assert.equal(jsonish('hello'), 'hello');
  for (const bad of [['novalue'], ['=x'], ['a..b=1'], ['__proto__.x=1'], ['a=1', 'a.b=2']]) assert.throws(() => assignments(bad, '--arg'), UsageError, bad.join(' '));
  assert.throws(() => callArguments('[1]', []), UsageError);
});

test('the command is the first argument that is not a flag or a global flag\'s value', () => {
  assert.deepEqual(splitCommand(['--url', 'http://h/mcp', 'ps', '-o', 'json']), { command: 'ps', rest: ['--url', 'http://h/mcp', '-o', 'json'] });
  assert.deepEqual(splitCommand(['--json']), { command: undefined, rest: ['--json'] });
});

test('--where: symbols and names, values as JSON, in as a list', () => {
  assert.deepEqual(whereClause('pid == 12'), { field: 'pid', op: 'eq', value: 12 });
  assert.deepEqual(whereClause('latency_us>1000'), { field: 'latency_us', op: 'gt', value: 1000 });
  assert.deepEqual(whereClause('comm glob ba*'), { field: 'comm', op: 'glob', value: 'ba*' });
  assert.deepEqual(whereClause('dport in 80,443'), { field: 'dport', op: 'in', value: [80, 443] });
  assert.deepEqual(whereClause('addr.port != 22'), { field: 'addr.port', op: 'ne', value: 22 });
  assert.throws(() => whereClause('pid'), UsageError);
  assert.throws(() => whereClause('pid like 3'), UsageError);
});

test('host strings never reach the terminal raw: C0, DEL, C1, bidi and zero-width characters escaped', () => {
  const hostile = 'a\x1b[31mb\x07c\x7fd\u009be\u202ef\u200bg\nh';
  assert.equal(escapeLine(hostile), 'a\\x1b[31mb\\x07c\\x7fd\\x9be\\u202ef\\u200bg\\x0ah');
  assert.equal(escapeText('line1\nline2\t\x1b'), 'line1\nline2\t\\x1b');
  assert.equal(cell(hostile), escapeLine(hostile));
  const json = safeJson({ comm: hostile }, 2);
  assert.doesNotMatch(json, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e\u200b]/);
  assert.deepEqual(JSON.parse(json), { comm: hostile }, 'still the same JSON');
  assert.equal(charText([104, 105, 27, 91, 0, 65]), 'hi\\x1b[');
  assert.equal(charText([0xff, 0x41, 0]), '\\xffA');
});
