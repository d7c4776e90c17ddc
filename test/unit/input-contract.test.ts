import assert from 'node:assert/strict';
import { test } from 'node:test';
import { closestName } from '../../src/suggest.js';
import { inputJsonSchema, listedInputSchema } from '../../src/tools/json-schema.js';
import { allTools } from '../../src/tools/registry.js';
import { type AnyTool, validationError } from '../../src/tools/tool.js';

const tool = (name: string): AnyTool => {
  const t = allTools().find((x) => x.name === name);
  assert.ok(t, name);
  return t;
};

/** The VALIDATION_ERROR the server returns for `args` to `name`. */
function refusal(name: string, args: unknown) {
  const t = tool(name);
  const parsed = t.input.safeParse(args);
  assert.equal(parsed.success, false);
  return validationError(parsed.error!, t.input);
}

test('closestName: the nearest by edit distance, none when nothing is near', () => {
  assert.equal(closestName('ttl_second', ['program_id', 'object_id', 'attachment', 'pin_path', 'ttl_seconds']), 'ttl_seconds');
  assert.equal(closestName('map_di', ['map_id', 'type', 'object_id', 'map']), 'map_id');
  assert.equal(closestName('PID', ['comm', 'pid']), 'pid');
  assert.equal(closestName('zzzzzzzz', ['pid', 'comm', 'cpu']), undefined);
  assert.equal(closestName('x', []), undefined);
});

test('an unknown top-level field names the allowed fields and the closest', () => {
  const e = refusal('attach_program', { program_id: 1, attachment: { auto: {} }, ttl_second: 5 });
  assert.equal(e.type, 'VALIDATION_ERROR');
  assert.equal(
    e.message,
    'invalid input at (input): unknown field `ttl_second` (did you mean `ttl_seconds`?); fields here: program_id, object_id, attachment, pin_path, ttl_seconds',
  );
  assert.equal(e.context.field, '(input)');
  assert.deepEqual(e.context.allowed_fields, ['program_id', 'object_id', 'attachment', 'pin_path', 'ttl_seconds']);
  assert.deepEqual(e.context.did_you_mean, { ttl_second: 'ttl_seconds' });
});

test('an unknown nested field leads the error, ahead of the missing field it was meant to be', () => {
  const e = refusal('attach_program', { program_id: 1, attachment: { tracepoint: { categroy: 'syscalls', name: 'sys_enter_getpid' } } });
  assert.equal(e.message, 'invalid input at attachment.tracepoint: unknown field `categroy` (did you mean `category`?); fields here: category, name');
  const issues = e.context.issues as { field: string; unknown_fields?: string[] }[];
  assert.deepEqual(issues.map((i) => i.field), ['attachment.tracepoint', 'attachment.tracepoint.category']);
  assert.deepEqual(issues[0]?.unknown_fields, ['categroy']);
});

test('an unknown field in a union names the fields of every branch', () => {
  const e = refusal('stream_events', { source: { map_di: 3 } });
  assert.equal(e.context.field, 'source');
  assert.deepEqual(e.context.allowed_fields, ['map_id', 'type', 'object_id', 'map']);
  assert.deepEqual(e.context.did_you_mean, { map_di: 'map_id' });
  const l = refusal('load_program', { source: { type: 'file', paht: '/x.o' } });
  assert.deepEqual(l.context.allowed_fields, ['type', 'path', 'checksum', 'blob', 'name', 'parameters']);
  assert.deepEqual(l.context.did_you_mean, { paht: 'path' });
});

test('an unknown field with no near name lists the allowed ones without a guess', () => {
  const e = refusal('stream_events', { source: { map_id: 3 }, filters: { zzzzzzzz: 1 } });
  assert.equal(e.message, 'invalid input at filters: unknown field `zzzzzzzz`; fields here: pid, comm, cpu, where');
  assert.equal(e.context.did_you_mean, undefined);
});

/** Every schema node under `node` that is a property (or an item, or a union branch) without a `type`. */
function untyped(node: Record<string, any>, path: string, out: string[]): string[] {
  for (const [key, child] of Object.entries((node.properties ?? {}) as Record<string, Record<string, any>>)) {
    if (child.type === undefined) out.push(`${path}.${key}`);
    untyped(child, `${path}.${key}`, out);
  }
  if (node.items) {
    if (node.items.type === undefined) out.push(`${path}[]`);
    untyped(node.items, `${path}[]`, out);
  }
  for (const key of ['anyOf', 'oneOf']) {
    for (const [i, branch] of ((node[key] ?? []) as Record<string, any>[]).entries()) {
      if (branch.type === undefined) out.push(`${path}|${i}`);
      untyped(branch, `${path}|${i}`, out);
    }
  }
  return out;
}

test('every property of every input schema has an explicit type; a union of objects is "type": "object"', () => {
  for (const t of allTools()) {
    assert.deepEqual(untyped(inputJsonSchema(t), t.name, []), [], `${t.name} has properties without a type`);
    assert.deepEqual(untyped(listedInputSchema(t), t.name, []), [], `${t.name}'s tools/list schema has properties without a type`);
  }
  const source = (inputJsonSchema(tool('load_program')).properties as Record<string, any>).source;
  assert.equal(source.type, 'object');
  assert.equal(source.oneOf.length, 3);
  const streamSource = (inputJsonSchema(tool('stream_events')).properties as Record<string, any>).source;
  assert.equal(streamSource.type, 'object');
  const cpu = (inputJsonSchema(tool('attach_program')).properties as Record<string, any>).attachment.properties.perf_event.properties.cpu;
  assert.deepEqual(cpu.type, ['integer', 'string']);
});

/** The property tree of a schema: each path with its type, enum, const, default and required names. */
function tree(node: any, path: string, out: Map<string, unknown>): Map<string, unknown> {
  if (!node || typeof node !== 'object') return out;
  const t = Array.isArray(node.type) ? [...node.type].sort() : node.type;
  out.set(path, { type: t, enum: node.enum, const: node.const, required: node.required });
  for (const [k, v] of Object.entries(node.properties ?? {})) tree(v, `${path}.${k}`, out);
  (node.anyOf ?? node.oneOf ?? []).forEach((b: unknown, i: number) => tree(b, `${path}|${i}`, out));
  if (node.items) tree(node.items, `${path}[]`, out);
  return out;
}

test('tools/list\'s schemas keep every property, type, enum, const and required name of the full ones', () => {
  for (const t of allTools()) {
    const full = tree(inputJsonSchema(t), t.name, new Map());
    const listed = tree(listedInputSchema(t), t.name, new Map());
    // A union of bare types is said as one type list (with the array branch's items): its branches are the only
    // paths allowed to go, and those items the only ones to come.
    for (const [path, facts] of listed) {
      const want = full.get(path);
      if (want === undefined) assert.ok(path.endsWith('[]') && [...full.keys()].some((p) => p.startsWith(`${path.slice(0, -2)}|`)), `${path} is new in tools/list`);
      else assert.deepEqual(facts, want, path);
    }
    const gone = [...full.keys()].filter((p) => !listed.has(p));
    for (const p of gone) assert.match(p, /\|\d+(\[\])?$/, `${p} is missing from tools/list`);
  }
});
