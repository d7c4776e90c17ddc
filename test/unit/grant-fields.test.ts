import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as z from 'zod';
import { Access } from '../../src/policy/access.js';
import { defaultPolicy } from '../../src/policy/policy.js';
import { granted, ungrantedField, withoutUngranted } from '../../src/tools/grant-fields.js';

const schema = z.strictObject({
  name: z.string(),
  pin: granted(z.string().optional(), 'pin'),
  source: z.discriminatedUnion('type', [
    z.strictObject({ type: z.literal('file'), path: z.string() }),
    granted(z.strictObject({ type: z.literal('data'), blob: z.string() }), 'inline'),
  ]),
  kinds: z.array(z.strictObject({ xdp: granted(z.strictObject({}).optional(), 'attach:network'), tracepoint: z.strictObject({}).optional() })).optional(),
});
const json = z.toJSONSchema(schema, { target: 'draft-7', io: 'input' });
const operator = new Access('operator', { ...defaultPolicy(), sources: { allowedDirs: [], allowInline: false, allowedSha256: null } });
const admin = new Access('admin', defaultPolicy());

test('a role without a grant lists neither the marked field nor the marked union branch, and no mark leaves the server', () => {
  const listed = withoutUngranted(json, operator.grants) as Record<string, any>;
  assert.deepEqual(Object.keys(listed.properties), ['name', 'source', 'kinds']);
  assert.deepEqual(listed.required, ['name', 'source']);
  const branches = listed.properties.source.oneOf ?? listed.properties.source.anyOf;
  assert.deepEqual(branches.map((b: Record<string, any>) => b.properties.type.const), ['file']);
  assert.deepEqual(Object.keys(listed.properties.kinds.items.properties), ['tracepoint']);
  assert.doesNotMatch(JSON.stringify(listed), /x-grant/);
  const full = withoutUngranted(json, admin.grants) as Record<string, any>;
  assert.deepEqual(Object.keys(full.properties), ['name', 'pin', 'source', 'kinds']);
  assert.doesNotMatch(JSON.stringify(full), /x-grant/);
});

test('the first field sent without its grant is found, in objects, union branches and arrays', () => {
  const ok = { name: 'a', source: { type: 'file', path: '/x' }, kinds: [{ tracepoint: {} }] };
  assert.equal(ungrantedField(json, ok, operator.grants), undefined);
  assert.deepEqual(ungrantedField(json, { ...ok, pin: 'p' }, operator.grants), { field: 'pin', grant: 'pin' });
  assert.deepEqual(ungrantedField(json, { ...ok, source: { type: 'data', blob: 'AA==' } }, operator.grants), { field: 'source', grant: 'inline' });
  assert.deepEqual(ungrantedField(json, { ...ok, kinds: [{ tracepoint: {} }, { xdp: {} }] }, operator.grants), { field: 'kinds[1].xdp', grant: 'attach:network' });
  assert.equal(ungrantedField(json, { ...ok, pin: 'p', source: { type: 'data', blob: 'AA==' }, kinds: [{ xdp: {} }] }, admin.grants), undefined);
});

test('a denial names the rule, the role and the lowest role that has it; an operator refused inline is told the policy rule', () => {
  const pin = operator.denial('pin', 'pin_path', "attach_program's pin_path");
  assert.equal(pin.type, 'PERMISSION_DENIED');
  assert.deepEqual([pin.context.rule, pin.context.role, pin.context.allowed_for, pin.context.field], ['pin', 'operator', 'admin', 'pin_path']);
  assert.match(pin.message, /^attach_program's pin_path is denied: role operator lacks grant pin \(.*\), which role admin has$/);
  const inline = operator.denial('inline', 'source', 'an inline object');
  assert.equal(inline.context.rule, 'policy.sources.allow_inline');
  assert.match(inline.message, /the policy's sources\.allow_inline does not allow it/);
  assert.equal(new Access('operator', defaultPolicy()).has('inline'), true, 'inline objects are allowed by default');
  assert.equal(new Access('observer', defaultPolicy()).grants.size, 0);
});
