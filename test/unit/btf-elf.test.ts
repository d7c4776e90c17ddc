import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BtfError, elfSection } from '../../src/btf/index.js';

interface SectionSpec {
  name: string;
  data: Uint8Array;
  type?: number;
}

/** A minimal little-endian ELF64 relocatable file: header, section contents, names, section headers. */
function makeElf(sections: SectionSpec[]): Uint8Array {
  const all = [{ name: '', data: new Uint8Array(0), type: 0 }, ...sections];
  const names: number[] = [0];
  const nameOffs = all.map((s) => {
    if (s.name === '') return 0;
    const off = names.length;
    names.push(...new TextEncoder().encode(s.name), 0);
    return off;
  });
  const shstrtabName = names.length;
  names.push(...new TextEncoder().encode('.shstrtab'), 0);
  all.push({ name: '.shstrtab', data: Uint8Array.from(names), type: 3 });
  nameOffs.push(shstrtabName);

  let off = 64;
  const offsets = all.map((s) => {
    const at = off;
    if (s.type !== 8) off += s.data.length;
    return at;
  });
  const shoff = (off + 7) & ~7;
  const out = new Uint8Array(shoff + all.length * 64);
  const dv = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  dv.setUint16(16, 1, true); // ET_REL
  dv.setUint16(18, 247, true); // EM_BPF
  dv.setBigUint64(40, BigInt(shoff), true);
  dv.setUint16(52, 64, true);
  dv.setUint16(58, 64, true);
  dv.setUint16(60, all.length, true);
  dv.setUint16(62, all.length - 1, true);
  all.forEach((s, i) => {
    if (s.type !== 8) out.set(s.data, offsets[i]!);
    const h = shoff + i * 64;
    dv.setUint32(h, nameOffs[i]!, true);
    dv.setUint32(h + 4, s.type ?? 1, true);
    dv.setBigUint64(h + 24, BigInt(offsets[i]!), true);
    dv.setBigUint64(h + 32, BigInt(s.data.length), true);
  });
  return out;
}

function throwsBtf(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof BtfError && message.test(e.message));
}

describe('elfSection', () => {
  const elf = makeElf([
    { name: '.text', data: Uint8Array.from([1, 2, 3]) },
    { name: '.BTF', data: Uint8Array.from([0x9f, 0xeb, 1, 0]) },
    { name: '.bss', data: new Uint8Array(16), type: 8 },
    { name: '.BTF.ext', data: Uint8Array.from([7]) },
  ]);
  const dv = new DataView(elf.buffer);
  const shoff = Number(dv.getBigUint64(40, true));

  it('returns a section by exact name', () => {
    assert.deepEqual([...elfSection(elf, '.BTF')!], [0x9f, 0xeb, 1, 0]);
    assert.deepEqual([...elfSection(elf, '.BTF.ext')!], [7]);
    assert.deepEqual([...elfSection(elf, '.text')!], [1, 2, 3]);
  });

  it('returns undefined for a missing section and a prefix of a name', () => {
    assert.equal(elfSection(elf, '.data'), undefined);
    assert.equal(elfSection(elf, '.BT'), undefined);
    assert.equal(elfSection(elf, ''), undefined);
  });

  it('returns an empty view for SHT_NOBITS sections', () => {
    assert.equal(elfSection(elf, '.bss')?.length, 0);
  });

  it('returns a view into the input, not a copy', () => {
    const btf = elfSection(elf, '.BTF')!;
    assert.equal(btf.buffer, elf.buffer);
  });

  it('rejects a file shorter than the ELF header', () => throwsBtf(() => elfSection(elf.subarray(0, 63), '.BTF'), /shorter than the 64-byte ELF64 header/));
  it('rejects bad magic', () => throwsBtf(() => elfSection(new Uint8Array(64), '.BTF'), /bad magic/));
  it('rejects 32-bit ELF', () => {
    const e = elf.slice();
    e[4] = 1;
    throwsBtf(() => elfSection(e, '.BTF'), /not ELFCLASS64/);
  });
  it('rejects section headers past the end', () => throwsBtf(() => elfSection(elf.subarray(0, elf.length - 1), '.BTF'), /section header 5 at \d+ lies past the end/));
  it('rejects a section whose data lies past the end', () => {
    const e = elf.slice();
    new DataView(e.buffer).setBigUint64(shoff + 2 * 64 + 32, 1n << 40n, true);
    throwsBtf(() => elfSection(e, '.BTF'), /section 2 \(offset \d+, size 1099511627776\) lies past the end/);
  });
  it('rejects an out-of-range name table index', () => {
    const e = elf.slice();
    new DataView(e.buffer).setUint16(62, 40, true);
    throwsBtf(() => elfSection(e, '.BTF'), /name table index 40 is out of range/);
  });
  it('rejects a section name offset past the name table', () => {
    const e = elf.slice();
    new DataView(e.buffer).setUint32(shoff + 64, 0xffff, true);
    throwsBtf(() => elfSection(e, '.BTF'), /name offset 65535 is outside the name table/);
  });
  it('rejects an absurd section count', () => {
    const e = elf.slice();
    new DataView(e.buffer).setUint16(60, 0xfff0, true);
    throwsBtf(() => elfSection(e, '.BTF'), /section headers cannot fit|past the end/);
  });
});
