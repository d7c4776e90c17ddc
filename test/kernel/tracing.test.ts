import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { before, test } from 'node:test';
import { ToolError } from '../../src/errors.js';
import { attachProgram } from '../../src/hooks/index.js';
import { ensureMounts } from '../../src/kernel/host.js';
import { native } from '../../src/kernel/native.js';
import { BpfObject } from '../../src/kernel/object.js';
import { wireError } from '../../src/tools/wire-error.js';
import { gatedOn } from '../helpers/features.js';
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
    const { links, point } = attachProgram({ object: obj, program: program as NonNullable<typeof program> }, { auto: {} });
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

/** Loads one program; the typed error its load gets, or undefined when it loads. */
function refusal(obj: BpfObject, name: string): ToolError | undefined {
  try {
    obj.load({ programs: [name] });
    return undefined;
  } catch (e) {
    return wireError(e);
  }
}

/** The typed refusal of a BTF-typed tracing program this kernel cannot load. */
function assertRefused(e: ToolError | undefined, name: string, requirement: RegExp): void {
  assert.ok(e, `${name} loaded`);
  assert.equal(e.type, 'UNSUPPORTED_BPF_FEATURE', e.message);
  assert.equal(e.context.program, name);
  assert.match(String(e.context.kernel_requirement), requirement);
  assert.ok((e.context.alternatives as { kind: string }[]).some((a) => a.kind === 'tp_btf'), JSON.stringify(e.context.alternatives));
}

for (const [name, kind] of [
  ['fentry_vfs_read', 'fentry'],
  ['fexit_vfs_read', 'fexit'],
  ['fmod_ret_file_open', 'fmod_ret'],
] as const) {
  test(`${kind}: loads and attaches where the kernel has trampolines, else UNSUPPORTED_BPF_FEATURE naming what works instead`, async (t) => {
    const obj = open();
    try {
      await gatedOn(
        t,
        kind,
        () => {
          assert.equal(refusal(obj, name), undefined);
          const program = obj.programs().find((p) => p.name === name);
          const { links } = attachProgram({ object: obj, program: program as NonNullable<typeof program> }, { [kind]: {} });
          try {
            assert.ok(links[0]?.id, `${kind} attached as a kernel link`);
          } finally {
            for (const l of links) l.destroy();
          }
        },
        () => assertRefused(refusal(obj, name), name, /trampolines/),
      );
    } finally {
      obj.close();
    }
  });
}

test('lsm: UNSUPPORTED_BPF_FEATURE naming the BPF LSM where the kernel refuses it', (t) => {
  const obj = open();
  try {
    const e = refusal(obj, 'lsm_file_open');
    if (e === undefined) return t.skip('this kernel loads BPF LSM programs');
    assertRefused(e, 'lsm_file_open', /BPF_LSM/);
  } finally {
    obj.close();
  }
});

/** Loads one program of a fresh object; the typed error, or undefined when it loads. */
function loadError(name: string): ToolError | undefined {
  const obj = open();
  try {
    return refusal(obj, name);
  } finally {
    obj.close();
  }
}

test('a tracing program whose target function is not in kernel BTF: ATTACHMENT_FAILED with close names', () => {
  const e = loadError('fentry_missing');
  assert.equal(e?.type, 'ATTACHMENT_FAILED');
  assert.equal(e?.context.function, 'ebpf_mcp_no_such_function');
  assert.ok(Array.isArray(e?.context.suggestions));
});
