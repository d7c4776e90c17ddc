/**
 * The structural check of untrusted objects, on hand-made ELF files: each defect gets the exact
 * typed refusal (rule, section, message), and every object the project builds passes.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { MalformedObject, checkObject } from '../../src/obj/elf-check.js';
import { BPF_OBJECT_DIR } from '../../src/paths.js';
import { wireError } from '../../src/tools/wire-error.js';
import { BtfBuilder } from './btf-builder.js';

/** A section of a hand-made object: name, sh_type, contents and the raw header fields a test may override. */
interface SectionSpec {
  name: string;
  type: number;
  data: Uint8Array;
  link?: number;
  info?: number;
  entsize?: number;
  offset?: number;
}

const SHT_PROGBITS = 1;
const SHT_SYMTAB = 2;
const SHT_STRTAB = 3;
const SHT_REL = 9;

/** A little-endian ELF64 BPF relocatable object: header, the sections' contents, then the section table (names last). */
function elf(specs: SectionSpec[]): Uint8Array {
  const names = [0];
  const nameOffs = specs.map((s) => {
    const off = names.length;
    names.push(...new TextEncoder().encode(s.name), 0);
    return off;
  });
  const shstrOff = names.length;
  names.push(...new TextEncoder().encode('.shstrtab'), 0);
  const all = [...specs, { name: '.shstrtab', type: SHT_STRTAB, data: Uint8Array.from(names) }];
  let off = 64;
  const offsets = all.map((s) => {
    const at = off;
    off += s.data.length + ((8 - (s.data.length % 8)) % 8);
    return at;
  });
  const shoff = off;
  const out = new Uint8Array(shoff + (all.length + 1) * 64);
  const dv = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  dv.setUint16(0x10, 1, true);
  dv.setUint16(0x12, 247, true);
  dv.setUint32(0x14, 1, true);
  dv.setBigUint64(0x28, BigInt(shoff), true);
  dv.setUint16(0x34, 64, true);
  dv.setUint16(0x3a, 64, true);
  dv.setUint16(0x3c, all.length + 1, true);
  dv.setUint16(0x3e, all.length, true);
  all.forEach((s, i) => {
    out.set(s.data, offsets[i]);
    const h = shoff + (i + 1) * 64;
    const spec = s as SectionSpec;
    dv.setUint32(h, i < specs.length ? nameOffs[i]! : shstrOff, true);
    dv.setUint32(h + 4, s.type, true);
    dv.setBigUint64(h + 24, BigInt(spec.offset ?? offsets[i]!), true);
    dv.setBigUint64(h + 32, BigInt(s.data.length), true);
    dv.setUint32(h + 40, spec.link ?? 0, true);
    dv.setUint32(h + 44, spec.info ?? 0, true);
    dv.setBigUint64(h + 56, BigInt(spec.entsize ?? 0), true);
  });
  return out;
}

/** Asserts that `bytes` is refused for `part` in `section` with a message matching `message`, and that the wire calls it a VALIDATION_ERROR. */
function refused(bytes: Uint8Array, part: string, section: string | undefined, message: RegExp): void {
  assert.throws(
    () => checkObject(bytes),
    (e: unknown) => {
      assert.ok(e instanceof MalformedObject, String(e));
      assert.equal(e.part, part);
      assert.equal(e.section, section);
      assert.match(e.message, message);
      const wire = wireError(e);
      assert.equal(wire.type, 'VALIDATION_ERROR');
      assert.deepEqual(wire.context, { field: 'source', object_part: part, ...(section ? { section } : {}) });
      return true;
    },
  );
}

const btfSection = (b: BtfBuilder): SectionSpec => ({ name: '.BTF', type: SHT_PROGBITS, data: b.build() });

test('a well-formed hand-made object passes', () => {
  const b = new BtfBuilder();
  b.typedef('u32', b.int('unsigned int', 4));
  checkObject(elf([btfSection(b)]));
});

test('a BTF type id past the last type is refused naming the type and the id', () => {
  const b = new BtfBuilder();
  b.int('int', 4);
  b.typedef('broken', 9);
  refused(elf([btfSection(b)]), 'btf', '.BTF', /^malformed object \(section in context\.section\): BTF: type 2 \(typedef\) refers to type id 9, out of range \(3 types\)$/);
});

test('a BTF name offset past the string section is refused', () => {
  const b = new BtfBuilder();
  b.int('int', 4);
  b.type(5000, 8, 0, false, 1);
  refused(elf([btfSection(b)]), 'btf', '.BTF', /type 2 \(typedef\): string offset 5000 is outside the string section \(\d+ bytes\)$/);
});

test('a section past the end of the file is refused with its offset and size', () => {
  const b = new BtfBuilder();
  b.int('int', 4);
  const bytes = elf([{ ...btfSection(b), offset: 1 << 20 }]);
  refused(bytes, 'section', undefined, new RegExp(`^malformed object: section 1 \\(offset ${1 << 20}, size \\d+\\) lies past the end of the file \\(${bytes.length} bytes\\)$`));
});

test('a truncated section header table, a wrong ELF type and a short file are refused', () => {
  const ok = elf([{ name: 'license', type: SHT_PROGBITS, data: new TextEncoder().encode('GPL\0') }]);
  refused(ok.subarray(0, ok.length - 10), 'section_headers', undefined, /3 section headers at offset \d+ run past the end of the file/);
  const exec = ok.slice();
  exec[0x10] = 2;
  refused(exec, 'elf_header', undefined, /type 2 is not a relocatable object/);
  refused(ok.subarray(0, 40), 'elf_header', undefined, /40 bytes is shorter than the 64-byte ELF64 header/);
});

test('a relocation naming a symbol past the symbol table is refused', () => {
  const strtab = { name: '.strtab', type: SHT_STRTAB, data: Uint8Array.from([0, 0x66, 0]) };
  const symtab = { name: '.symtab', type: SHT_SYMTAB, data: new Uint8Array(48), link: 1, entsize: 24 };
  const text = { name: 'xdp', type: SHT_PROGBITS, data: new Uint8Array(16) };
  const rel = new Uint8Array(16);
  new DataView(rel.buffer).setBigUint64(8, (7n << 32n) | 1n, true);
  const bytes = elf([strtab, symtab, text, { name: '.relxdp', type: SHT_REL, data: rel, link: 2, info: 3, entsize: 16 }]);
  refused(bytes, 'relocations', '.relxdp', /relocation at 0 names symbol 7, out of range \(2 symbols\)$/);
});

test('a symbol name past the string table is refused', () => {
  const sym = new Uint8Array(48);
  new DataView(sym.buffer).setUint32(24, 99, true);
  const bytes = elf([
    { name: '.strtab', type: SHT_STRTAB, data: Uint8Array.from([0, 0x66, 0]) },
    { name: '.symtab', type: SHT_SYMTAB, data: sym, link: 1, entsize: 24 },
  ]);
  refused(bytes, 'strings', '.symtab', /symbol 1 name offset 99 is outside the string table \(3 bytes\)$/);
});

/** A .BTF.ext with one func_info subsection: record size `record`, one record for section name `secName` naming type `typeId`. */
function btfExt(record: number, secName: number, typeId: number): Uint8Array {
  const out = new Uint8Array(24 + 4 + 8 + 8);
  const dv = new DataView(out.buffer);
  dv.setUint16(0, 0xeb9f, true);
  out[2] = 1;
  dv.setUint32(4, 24, true);
  dv.setUint32(8, 0, true);
  dv.setUint32(12, 20, true);
  dv.setUint32(24, record, true);
  dv.setUint32(28, secName, true);
  dv.setUint32(32, 1, true);
  dv.setUint32(40, typeId, true);
  return out;
}

test('.BTF.ext records: a bad record size, a section name past the BTF strings and a type id past the last type are refused', () => {
  const b = new BtfBuilder();
  const fn = b.func('f', b.funcProto(b.int('int', 4), []));
  const sec = b.str('xdp');
  const ext = (bytes: Uint8Array): Uint8Array => elf([btfSection(b), { name: '.BTF.ext', type: SHT_PROGBITS, data: bytes }]);
  checkObject(ext(btfExt(8, sec, fn)));
  refused(ext(btfExt(6, sec, fn)), 'btf_ext', '.BTF.ext', /func_info record size 6 is invalid \(at least 8, a multiple of 4\)$/);
  refused(ext(btfExt(8, 9999, fn)), 'btf_ext', '.BTF.ext', /func_info section name offset 9999 is outside the BTF string section \(\d+ bytes\)$/);
  refused(ext(btfExt(8, sec, 77)), 'btf_ext', '.BTF.ext', /func_info record refers to type id 77, out of range \(4 types\)$/);
});

test('.maps that BTF does not describe is refused', () => {
  const b = new BtfBuilder();
  b.int('int', 4);
  refused(elf([btfSection(b), { name: '.maps', type: SHT_PROGBITS, data: new Uint8Array(32) }]), 'maps', '.maps', /no BTF datasec describes \.maps$/);
});

test('every object the project builds passes the check', () => {
  const objects = ['catalog', 'fixtures'].flatMap((d) => readdirSync(join(BPF_OBJECT_DIR, d)).filter((f) => f.endsWith('.bpf.o')).map((f) => join(BPF_OBJECT_DIR, d, f)));
  assert.ok(objects.length >= 3, `found ${objects.length} objects`);
  for (const path of objects) checkObject(readFileSync(path));
});
