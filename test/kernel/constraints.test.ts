import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { elfSection } from '../../src/btf/index.js';
import { ToolError } from '../../src/errors.js';
import { helperId, helperName } from '../../src/kernel/helpers.js';
import { BpfObject } from '../../src/kernel/object.js';
import { Access } from '../../src/policy/access.js';
import { enforceConstraints } from '../../src/policy/constraints.js';
import { defaultPolicy } from '../../src/policy/policy.js';
import { fixture } from '../helpers/fixtures.js';

const ADMIN = new Access('admin', defaultPolicy());

function programsOf(name: string) {
  const bytes = readFileSync(fixture(name));
  const obj = BpfObject.open(bytes, name);
  try {
    return { programs: obj.programs(), text: elfSection(bytes, '.text') };
  } finally {
    obj.close();
  }
}

test('helper names come from the running kernel', () => {
  assert.equal(helperId('bpf_map_lookup_elem'), 1);
  assert.equal(helperId('map_lookup_elem'), 1);
  assert.equal(helperId('14'), 14);
  assert.equal(helperName(14), 'bpf_get_current_pid_tgid');
  assert.equal(helperId('bpf_no_such_helper'), undefined);
});

test('every helper a program calls is reported, and one outside allowed_helpers is refused', () => {
  const { programs, text } = programsOf('multi');
  const usage = enforceConstraints(programs, text, {}, ADMIN);
  assert.deepEqual(usage.find((u) => u.name === 'count_syscalls')?.helpers, ['bpf_map_lookup_elem', 'bpf_map_update_elem', 'bpf_get_current_pid_tgid']);
  assert.doesNotThrow(() =>
    enforceConstraints(programs, text, { allowed_helpers: ['bpf_map_lookup_elem', 'map_update_elem', 'bpf_get_current_pid_tgid'] }, ADMIN),
  );
  assert.throws(
    () => enforceConstraints(programs, text, { allowed_helpers: ['bpf_map_lookup_elem'] }, ADMIN),
    (e: unknown) => {
      assert.ok(e instanceof ToolError);
      assert.equal(e.type, 'PERMISSION_DENIED');
      assert.equal(e.context.program, 'count_getpid');
      assert.equal(e.context.helper, 'bpf_get_current_pid_tgid');
      assert.equal(typeof e.context.instruction_offset, 'number');
      return true;
    },
  );
  assert.throws(
    () => enforceConstraints(programs, text, { allowed_helpers: ['bpf_not_a_helper'] }, ADMIN),
    (e: unknown) => e instanceof ToolError && e.type === 'VALIDATION_ERROR' && e.context.field === 'constraints.allowed_helpers[0]',
  );
});

test('max_instructions refuses a program above it and names its size', () => {
  const { programs, text } = programsOf('multi');
  const sizes = enforceConstraints(programs, text, {}, ADMIN).map((u) => u.instructions);
  const largest = Math.max(...sizes);
  assert.doesNotThrow(() => enforceConstraints(programs, text, { max_instructions: largest }, ADMIN));
  assert.throws(
    () => enforceConstraints(programs, text, { max_instructions: largest - 1 }, ADMIN),
    (e: unknown) => e instanceof ToolError && e.type === 'RESOURCE_LIMIT_EXCEEDED' && (e.context.current_usage as Record<string, number>).instructions === largest && e.context.limit === largest - 1,
  );
});
