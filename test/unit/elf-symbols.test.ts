/**
 * Function names from an ELF's symbol tables, read through positioned reads:
 * only the header, the section headers and the symbol and string tables are
 * read, never the rest; a file that lies about its tables is a BtfError.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { elfSection } from '../../src/btf/index.js';
import { BtfError } from '../../src/btf/error.js';
import { MAX_SYMBOL_TABLE_BYTES, elfFunctionNames } from '../../src/obj/elf-symbols.js';

const object = readFileSync(fileURLToPath(new URL('../../../bpf/.output/fixtures/events.bpf.o', import.meta.url)));

/** A reader over `bytes` that counts what it returned. */
function counting(bytes: Uint8Array): { read: (offset: number, length: number) => Uint8Array; total: () => number } {
  let total = 0;
  return {
    read: (offset, length) => {
      const out = bytes.subarray(offset, Math.min(bytes.length, offset + length));
      total += out.length;
      return out;
    },
    total: () => total,
  };
}

test('reads the header, section headers and symbol tables only, and finds the functions', () => {
  const r = counting(object);
  const names = elfFunctionNames(r.read, object.length);
  assert.ok(names && names.size > 0);
  const symtab = elfSection(object, '.symtab')?.length ?? 0;
  const strtab = elfSection(object, '.strtab')?.length ?? 0;
  const shdrs = object.readUInt16LE(0x3c) * 64;
  assert.equal(r.total(), 64 + shdrs + symtab + strtab);
});

test('an ELF32 file is not checked; tables past the end or over the bound are BtfErrors', () => {
  const elf32 = Buffer.from(object);
  elf32[4] = 1;
  assert.equal(elfFunctionNames(counting(elf32).read, elf32.length), undefined);
  const truncated = object.subarray(0, object.length - 64);
  assert.throws(() => elfFunctionNames(counting(truncated).read, truncated.length), (e: unknown) => e instanceof BtfError && /past the end of the file/.test(e.message));
  // The .symtab header claims a table larger than the bound: refused before any read of it.
  const huge = Buffer.from(object);
  const shoff = Number(huge.readBigUInt64LE(0x28));
  const shnum = huge.readUInt16LE(0x3c);
  for (let i = 1; i < shnum; i++) if (huge.readUInt32LE(shoff + i * 64 + 4) === 2) huge.writeBigUInt64LE(BigInt(MAX_SYMBOL_TABLE_BYTES + 24), shoff + i * 64 + 32);
  const r = counting(huge);
  assert.throws(() => elfFunctionNames(r.read, 4 * 1024 ** 3), (e: unknown) => e instanceof BtfError && /over the 134217728 bytes checked/.test(e.message));
  assert.equal(r.total(), 64 + shnum * 64);
});
