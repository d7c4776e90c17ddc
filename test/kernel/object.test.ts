import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { wireError } from '../../src/tools/wire-error.js';
import { native } from '../../src/kernel/native.js';
import { BpfObject } from '../../src/kernel/object.js';
import { bpftoolIds, bpftoolPrograms } from '../helpers/bpftool.js';
import { catalogObject, fixture } from '../helpers/fixtures.js';

const open = (name: string) => BpfObject.open(readFileSync(fixture(name)), name);

test('a multi-program object loads: every program and map gets a kernel id bpftool sees', () => {
  const obj = open('multi');
  try {
    assert.deepEqual(
      obj.programs().map((p) => [p.name, p.section, p.typeName]),
      [
        ['count_getpid', 'tracepoint/syscalls/sys_enter_getpid', 'tracepoint'],
        ['count_syscalls', 'raw_tracepoint/sys_enter', 'raw_tracepoint'],
        ['xdp_count', 'xdp', 'xdp'],
      ],
    );
    obj.load();
    const ids = obj.programs().map((p) => native.progInfo(p.fd).id);
    const seen = bpftoolPrograms();
    for (const [i, id] of ids.entries()) {
      const p = seen.find((x) => x.id === id);
      assert.ok(p, `bpftool does not see program ${id}`);
      assert.equal(p.name, obj.programs()[i]?.name);
    }
    const maps = obj.maps();
    assert.deepEqual(
      maps.map((m) => [m.name, m.typeName, m.keySize, m.valueSize, m.maxEntries, m.internal]),
      [
        ['getpid_calls', 'array', 4, 8, 1, false],
        ['calls_by_tgid', 'hash', 4, 8, 1024, false],
        ['xdp_packets', 'percpu_array', 4, 8, 4, false],
        ['multi.rodata', 'array', 4, 4, 1, true],
      ],
    );
    const mapIds = bpftoolIds('map');
    for (const m of maps) assert.ok(mapIds.has(native.mapInfo(m.fd).id));
    obj.close();
    const after = bpftoolIds('prog');
    for (const id of ids) assert.ok(!after.has(id), `program ${id} still loaded after close`);
  } finally {
    obj.close();
  }
});

test('loading only chosen programs leaves the others unloaded', () => {
  const obj = open('multi');
  try {
    obj.load({ programs: ['xdp_count'] });
    assert.deepEqual(
      obj.programs().map((p) => [p.name, p.fd >= 0]),
      [
        ['count_getpid', false],
        ['count_syscalls', false],
        ['xdp_count', true],
      ],
    );
  } finally {
    obj.close();
  }
});

test('a program the verifier rejects is a VERIFIER_ERROR with reason, instruction and log', () => {
  const obj = open('rejected');
  try {
    assert.throws(
      () => obj.load(),
      (thrown: unknown) => {
        const e = wireError(thrown);
        assert.equal(e.type, 'VERIFIER_ERROR');
        assert.equal(e.context.program, 'unchecked_lookup');
        assert.equal(e.context.reason, "R0 invalid mem access 'map_value_or_null'");
        assert.equal(e.context.instruction_offset, 7);
        assert.equal(e.context.instruction, 'r1 = *(u64 *)(r0 +0)');
        assert.match(String(e.context.source_line), /\*count \+= 1;/);
        assert.match(String(e.context.verifier_log), /call bpf_map_lookup_elem#1/);
        assert.equal(e.context.syscall_errno, 13);
        return true;
      },
    );
  } finally {
    obj.close();
  }
});

test('bytes that are not a BPF object are a VALIDATION_ERROR naming the rule they break', () => {
  const notBpf = readFileSync('/bin/true');
  assert.throws(
    () => BpfObject.open(notBpf, 'true'),
    (e: unknown) => wireError(e).type === 'VALIDATION_ERROR' && wireError(e).context.object_part === 'elf_header',
  );
  const truncated = readFileSync(fixture('multi')).subarray(0, 600);
  assert.throws(() => BpfObject.open(truncated, 'truncated'), (e: unknown) => wireError(e).type === 'VALIDATION_ERROR');
});

test('a closed object refuses further use with a typed error and closes twice safely', () => {
  const obj = open('multi');
  obj.close();
  obj.close();
  assert.ok(obj.closed);
  assert.throws(() => obj.programs(), (e: unknown) => wireError(e).type === 'SYSTEM_ERROR');
});

test('an object whose program section names no program type is a VALIDATION_ERROR at load, with what libbpf said', () => {
  const bytes = Buffer.from(readFileSync(fixture('counters')).toString('latin1').replaceAll('tracepoint/syscalls', 'xracepoint/syscalls'), 'latin1');
  const obj = BpfObject.open(bytes, 'unknown-section');
  try {
    assert.throws(
      () => obj.load(),
      (e: unknown) => {
        const wire = wireError(e);
        assert.equal(wire.type, 'VALIDATION_ERROR');
        assert.match((wire.context.libbpf_log as string[]).join('\n'), /missing BPF prog type, check ELF section name 'xracepoint\/syscalls/);
        return true;
      },
    );
  } finally {
    obj.close();
  }
});

test('an object whose subprogram libbpf cannot relocate is a VALIDATION_ERROR at load, not a system error', () => {
  // exec_events calls a subprogram in .text (bpf_loop's callback); renaming .text leaves the call without its function info.
  const original = readFileSync(catalogObject('exec_events')).toString('latin1');
  assert.ok(original.includes('\0.text\0'));
  const obj = BpfObject.open(Buffer.from(original.replace('\0.text\0', '\0.texx\0'), 'latin1'), 'no-text');
  try {
    assert.throws(
      () => obj.load(),
      (e: unknown) => {
        const wire = wireError(e);
        assert.equal(wire.type, 'VALIDATION_ERROR', JSON.stringify(wire));
        assert.match((wire.context.libbpf_log as string[]).join('\n'), /missing \.BTF\.ext function info/);
        return true;
      },
    );
  } finally {
    obj.close();
  }
});

test('an internal map takes its initial value before load: the .rodata the kernel holds is the one set', () => {
  const obj = open('multi');
  try {
    const bytes = new Uint8Array(new Uint32Array([4242]).buffer);
    assert.throws(() => obj.setInitialValue('.rodata', new Uint8Array(8)), (e: unknown) => wireError(e).context.errno_name === 'EINVAL');
    assert.throws(() => obj.setInitialValue('.data', bytes), (e: unknown) => wireError(e).context.errno_name === 'ENOENT');
    obj.setInitialValue('.rodata', bytes);
    obj.load();
    const rodata = obj.maps().find((m) => m.name.endsWith('.rodata'))!;
    const held = native.mapDump(rodata.fd, 4, 4, false, 1, 0);
    assert.deepEqual([...held.values], [...bytes]);
    assert.throws(() => obj.setInitialValue('.rodata', bytes), (e: unknown) => wireError(e).context.errno_name === 'EBUSY');
  } finally {
    obj.close();
  }
});
