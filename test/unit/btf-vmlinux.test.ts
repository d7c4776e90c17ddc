import assert from 'node:assert/strict';
import { accessSync, constants, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { compileDecoder, parseBtf, schemaFor } from '../../src/btf/index.js';
import { schemaViolation } from './btf-builder.js';

const VMLINUX = '/sys/kernel/btf/vmlinux';

function unreadable(): string | false {
  try {
    accessSync(VMLINUX, constants.R_OK);
    return false;
  } catch (e) {
    return `${VMLINUX} is not readable (${(e as NodeJS.ErrnoException).code}): kernel without CONFIG_DEBUG_INFO_BTF`;
  }
}

describe('kernel BTF (/sys/kernel/btf/vmlinux)', { skip: unreadable() }, () => {
  const btf = parseBtf(readFileSync(VMLINUX));

  it('holds the kernel types', () => {
    assert.ok(btf.count > 10_000, `${btf.count} types`);
    const task = btf.findByName('task_struct', 'struct');
    assert.ok(task, 'struct task_struct');
    assert.ok(task.size > 0);
    assert.ok(task.members.some((m) => m.name === 'pid'));
    assert.equal(btf.sizeof(btf.findByName('u64', 'typedef')!.id), 8);
    assert.equal(btf.pointerSize, 8);
  });

  it('has enum bpf_prog_type with BPF_PROG_TYPE_XDP = 6', () => {
    const progType = btf.findByName('bpf_prog_type', 'enum');
    assert.ok(progType);
    assert.equal(progType.values.find((v) => v.name === 'BPF_PROG_TYPE_XDP')?.value, 6n);
  });

  it('decodes struct task_struct and its schema accepts the result', () => {
    const task = btf.findByName('task_struct', 'struct')!;
    const decode = compileDecoder(btf, task.id);
    assert.equal(decode.size, task.size);
    const bytes = new Uint8Array(task.size);
    const comm = task.members.find((m) => m.name === 'comm')!;
    bytes.set(new TextEncoder().encode('systemd\0'), comm.bitOffset / 8);
    const value = decode(bytes) as Record<string, unknown>;
    assert.equal(value.comm, 'systemd');
    assert.equal(value.pid, 0);
    assert.equal(schemaViolation(schemaFor(btf, task.id), value), undefined);
  });

  it('compiles a decoder for every 8th struct and union', () => {
    let compiled = 0;
    for (let id = 1; id < btf.count; id += 8) {
      const t = btf.type(id);
      if (t.kind !== 'struct' && t.kind !== 'union') continue;
      const decode = compileDecoder(btf, id);
      decode(new Uint8Array(decode.size));
      compiled++;
    }
    assert.ok(compiled > 100, `${compiled} decoders`);
  });
});
