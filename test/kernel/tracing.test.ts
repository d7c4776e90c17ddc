import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { before, test } from 'node:test';
import { ToolError } from '../../src/errors.js';
import { attachProgram } from '../../src/kernel/attach.js';
import { ensureMounts } from '../../src/kernel/host.js';
import { native } from '../../src/kernel/native.js';
import { BpfObject } from '../../src/kernel/object.js';
import { fixture } from '../helpers/fixtures.js';
import { mapValue, runWorkload } from '../helpers/kernel.js';

before(() => ensureMounts());

const open = () => BpfObject.open(readFileSync(fixture('tracing')), 'tracing');

test('tp_btf: a BTF-typed raw tracepoint attaches as its section says and counts exactly', () => {
  const obj = open();
  try {
    obj.load({ programs: ['btf_sys_enter'] });
    const program = obj.programs().find((p) => p.name === 'btf_sys_enter');
    assert.equal(program?.typeName, 'tracing');
    const { links, point } = attachProgram(obj, program as NonNullable<typeof program>, { kind: 'auto' });
    try {
      assert.equal(point, 'tp_btf/sys_enter');
      const pid = runWorkload(['getpid', '150']);
      const hits = obj.maps().find((m) => m.name === 'hits');
      assert.equal(mapValue(native.mapInfo(hits?.fd as number).id, pid), 150);
    } finally {
      for (const l of links) l.destroy();
    }
  } finally {
    obj.close();
  }
});

/** Loads one program; undefined when it loads, else the typed error. */
function loadError(name: string): ToolError | undefined {
  const obj = open();
  try {
    obj.load({ programs: [name] });
    return undefined;
  } catch (e) {
    assert.ok(e instanceof ToolError, String(e));
    return e;
  } finally {
    obj.close();
  }
}

for (const [name, kind] of [
  ['fentry_vfs_read', 'fentry'],
  ['fexit_vfs_read', 'fexit'],
  ['fmod_ret_file_open', 'fmod_ret'],
  ['lsm_file_open', 'lsm'],
] as const) {
  test(`${kind}: loads and attaches where the kernel allows it, else UNSUPPORTED_BPF_FEATURE naming what works instead`, (t) => {
    const obj = open();
    try {
      try {
        obj.load({ programs: [name] });
      } catch (e) {
        assert.ok(e instanceof ToolError, String(e));
        assert.equal(e.type, 'UNSUPPORTED_BPF_FEATURE', e.message);
        assert.equal(e.context.program, name);
        assert.equal(String(e.context.section).split('/')[0], kind);
        assert.equal(e.context.syscall_errno, 1);
        assert.match(String(e.context.kernel_requirement), kind === 'lsm' ? /BPF_LSM/ : /trampolines/);
        assert.ok((e.context.alternatives as string[]).includes('tp_btf'));
        t.skip(`this kernel refuses ${kind} programs (EPERM at load): the positive case cannot run here`);
        return;
      }
      const program = obj.programs().find((p) => p.name === name);
      const { links } = attachProgram(obj, program as NonNullable<typeof program>, { kind: 'auto' });
      try {
        assert.ok(links[0]?.id, `${kind} attached as a kernel link`);
      } finally {
        for (const l of links) l.destroy();
      }
    } finally {
      obj.close();
    }
  });
}

test('a tracing program whose target function is not in kernel BTF: ATTACHMENT_FAILED with close names', () => {
  const e = loadError('fentry_missing');
  assert.equal(e?.type, 'ATTACHMENT_FAILED');
  assert.equal(e?.context.function, 'ebpf_mcp_no_such_function');
  assert.ok(Array.isArray(e?.context.suggestions));
});
