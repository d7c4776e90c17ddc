/**
 * Function symbols of an ELF binary (.symtab and .dynsym), to check a uprobe
 * target before attaching and to suggest names when it is not there. Only
 * the ELF header, the section headers and the symbol tables with their
 * string tables are read, through positioned reads: never the whole file.
 */
import { BtfError } from '../btf/error.js';

/** Reads up to `length` bytes at `offset` (fewer at the end of the file). */
export type ReadAt = (offset: number, length: number) => Uint8Array;

const EHDR_SIZE = 64;
const SHDR_SIZE = 64;
const SYM_SIZE = 24;
const SHT_SYMTAB = 2;
const SHT_DYNSYM = 11;
const STT_FUNC = 2;
const STT_GNU_IFUNC = 10;
/** The most section-header bytes read (65,535 headers of 64 bytes fit). */
export const MAX_SECTION_HEADER_BYTES = 4 << 20;
/** The most bytes of one symbol or string table read. */
export const MAX_SYMBOL_TABLE_BYTES = 128 << 20;

/**
 * Names of the defined functions in an ELF64 binary (either byte order), or
 * undefined for an ELF32 one (not checked here). Throws BtfError when the file
 * is not well-formed ELF, or its tables are over the bounds above.
 */
export function elfFunctionNames(readAt: ReadAt, size: number): Set<string> | undefined {
  const eh = readAt(0, EHDR_SIZE);
  if (eh.length < 16 || eh[0] !== 0x7f || eh[1] !== 0x45 || eh[2] !== 0x4c || eh[3] !== 0x46) throw new BtfError('ELF: bad magic (not an ELF file)');
  if (eh[4] === 1) return undefined;
  if (eh[4] !== 2) throw new BtfError(`ELF: unknown class ${eh[4]}`);
  if (eh.length < EHDR_SIZE) throw new BtfError(`ELF: file is ${eh.length} bytes, shorter than the 64-byte ELF64 header`);
  if (eh[5] !== 1 && eh[5] !== 2) throw new BtfError(`ELF: unknown data encoding ${eh[5]}`);
  const le = eh[5] === 1;
  const u64 = (dv: DataView, off: number): number => dv.getUint32(off + (le ? 4 : 0), le) * 0x1_0000_0000 + dv.getUint32(off + (le ? 0 : 4), le);
  const ehv = new DataView(eh.buffer, eh.byteOffset, eh.byteLength);
  const shoff = u64(ehv, 0x28);
  const shentsize = ehv.getUint16(0x3a, le);
  let shnum = ehv.getUint16(0x3c, le);
  const names = new Set<string>();
  if (shoff === 0) return names;
  if (shentsize < SHDR_SIZE) throw new BtfError(`ELF: section header size ${shentsize} is below ${SHDR_SIZE}`);
  const within = (what: string, off: number, len: number): void => {
    if (off > size || len > size - off) throw new BtfError(`ELF: ${what} (offset ${off}, ${len} bytes) lies past the end of the file (${size} bytes)`);
  };
  // Extended numbering: section 0 holds the real count when it overflows.
  if (shnum === 0) {
    within('section header 0', shoff, SHDR_SIZE);
    const h0 = readAt(shoff, SHDR_SIZE);
    shnum = u64(new DataView(h0.buffer, h0.byteOffset, h0.byteLength), 32);
  }
  if (shnum * shentsize > MAX_SECTION_HEADER_BYTES) throw new BtfError(`ELF: ${shnum} section headers are over the ${MAX_SECTION_HEADER_BYTES} bytes checked`);
  within('the section headers', shoff, shnum * shentsize);
  const sh = readAt(shoff, shnum * shentsize);
  const shv = new DataView(sh.buffer, sh.byteOffset, sh.byteLength);
  const contents = (i: number): Uint8Array => {
    const h = i * shentsize;
    const off = u64(shv, h + 24);
    const len = u64(shv, h + 32);
    if (len > MAX_SYMBOL_TABLE_BYTES) throw new BtfError(`ELF: section ${i} is ${len} bytes, over the ${MAX_SYMBOL_TABLE_BYTES} bytes checked`);
    within(`section ${i}`, off, len);
    return readAt(off, len);
  };
  const decoder = new TextDecoder();
  for (let i = 1; i < shnum; i++) {
    const type = shv.getUint32(i * shentsize + 4, le);
    if (type !== SHT_SYMTAB && type !== SHT_DYNSYM) continue;
    const link = shv.getUint32(i * shentsize + 40, le);
    if (link === 0 || link >= shnum) throw new BtfError(`ELF: symbol table ${i} links to string table ${link}, out of range (${shnum} sections)`);
    const syms = contents(i);
    const strs = contents(link);
    const view = new DataView(syms.buffer, syms.byteOffset, syms.byteLength);
    for (let off = 0; off + SYM_SIZE <= syms.length; off += SYM_SIZE) {
      const kind = view.getUint8(off + 4) & 0xf;
      const shndx = view.getUint16(off + 6, le);
      if ((kind !== STT_FUNC && kind !== STT_GNU_IFUNC) || shndx === 0) continue;
      const at = view.getUint32(off, le);
      if (at >= strs.length) continue;
      const end = strs.indexOf(0, at);
      names.add(decoder.decode(strs.subarray(at, end < 0 ? strs.length : end)));
    }
  }
  return names;
}
