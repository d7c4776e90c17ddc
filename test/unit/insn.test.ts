import assert from 'node:assert/strict';
import { test } from 'node:test';
import { scanInsns } from '../../src/obj/insn.js';

/** Encodes one instruction slot. */
function insn(code: number, dst: number, src: number, off: number, imm: number): number[] {
  const b = Buffer.alloc(8);
  b.writeUInt8(code, 0);
  b.writeUInt8((src << 4) | dst, 1);
  b.writeInt16LE(off, 2);
  b.writeInt32LE(imm, 4);
  return [...b];
}

test('scanInsns finds helper calls with their offsets and counts ld_imm64 as two slots', () => {
  const code = new Uint8Array([
    ...insn(0xb7, 1, 0, 0, 0), // r1 = 0
    ...insn(0x18, 1, 1, 0, 7), // ld_imm64 r1 = map (two slots)
    ...insn(0x00, 0, 0, 0, 0x85), // second half: its "imm" would look like a call if misread
    ...insn(0x85, 0, 0, 0, 1), // call bpf_map_lookup_elem
    ...insn(0x85, 0, 1, 0, 3), // bpf-to-bpf call
    ...insn(0x85, 0, 2, 0, 999), // kfunc call
    ...insn(0x85, 0, 0, 0, 1), // call bpf_map_lookup_elem again
    ...insn(0x85, 0, 0, 0, 14), // call bpf_get_current_pid_tgid
    ...insn(0x95, 0, 0, 0, 0), // exit
  ]);
  const s = scanInsns(code);
  assert.equal(s.count, 9);
  assert.deepEqual([...s.helperCalls.entries()], [
    [1, [3, 6]],
    [14, [7]],
  ]);
  assert.equal(s.subprogramCalls, 1);
  assert.equal(s.kfuncCalls, 1);
});

test('scanInsns ignores a trailing partial slot', () => {
  const s = scanInsns(new Uint8Array([...insn(0x95, 0, 0, 0, 0), 1, 2, 3]));
  assert.equal(s.count, 1);
  assert.equal(s.helperCalls.size, 0);
});
