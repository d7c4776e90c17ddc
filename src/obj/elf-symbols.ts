/**
 * Function symbols of an ELF binary (.symtab and .dynsym): their names, to
 * check a uprobe target before attaching and to suggest names when it is not
 * there, and their addresses with the loadable segments and the build id, to
 * symbolize user stacks. Only the headers, the symbol tables with their
 * string tables and the notes are read, through positioned reads: never the
 * whole file.
 */
import { BtfError } from '../btf/error.js';

/** Reads up to `length` bytes at `offset` (fewer at the end of the file). */
export type ReadAt = (offset: number, length: number) => Uint8Array;

const EHDR_SIZE = 64;
const SHDR_SIZE = 64;
const SYM_SIZE = 24;
const SHT_SYMTAB = 2;
const SHT_DYNSYM = 11;
const SHT_NOTE = 7;
const PT_LOAD = 1;
const NT_GNU_BUILD_ID = 3;
const STT_FUNC = 2;
const STT_GNU_IFUNC = 10;
/** The most section-header bytes read (65,535 headers of 64 bytes fit). */
export const MAX_SECTION_HEADER_BYTES = 4 << 20;
/** The most bytes of one symbol or string table read. */
export const MAX_SYMBOL_TABLE_BYTES = 128 << 20;
/** The most bytes of one note section read. */
const MAX_NOTE_BYTES = 64 << 10;
/** The most program headers read. */
const MAX_PROGRAM_HEADERS = 4096;

/** A defined function: its address (st_value), size and name. */
export interface ElfFunction {
  address: number;
  size: number;
  name: string;
}

/** A loadable segment: `filesz` bytes at file `offset` are mapped at `vaddr`. */
export interface ElfSegment {
  offset: number;
  vaddr: number;
  filesz: number;
}

/** What symbolizing addresses in an ELF64 binary needs. */
export interface ElfImage {
  /** Defined functions, by address. */
  functions: ElfFunction[];
  segments: ElfSegment[];
  /** The GNU build id as hex, when the binary has one. */
  buildId: string | null;
}

/** The headers of an ELF64 file, and its sections' contents read on demand within the bounds above. */
interface ElfFile {
  le: boolean;
  u64: (dv: DataView, off: number) => number;
  header: DataView;
  sections: { type: number; link: number; contents: () => Uint8Array }[];
}

/** Reads an ELF64 file's headers; undefined for an ELF32 one. Throws BtfError when it is not well-formed ELF or over the bounds. */
function readElf(readAt: ReadAt, size: number): ElfFile | undefined {
  const eh = readAt(0, EHDR_SIZE);
  if (eh.length < 16 || eh[0] !== 0x7f || eh[1] !== 0x45 || eh[2] !== 0x4c || eh[3] !== 0x46) throw new BtfError('ELF: bad magic (not an ELF file)');
  if (eh[4] === 1) return undefined;
  if (eh[4] !== 2) throw new BtfError(`ELF: unknown class ${eh[4]}`);
  if (eh.length < EHDR_SIZE) throw new BtfError(`ELF: file is ${eh.length} bytes, shorter than the 64-byte ELF64 header`);
  if (eh[5] !== 1 && eh[5] !== 2) throw new BtfError(`ELF: unknown data encoding ${eh[5]}`);
  const le = eh[5] === 1;
  const u64 = (dv: DataView, off: number): number => dv.getUint32(off + (le ? 4 : 0), le) * 0x1_0000_0000 + dv.getUint32(off + (le ? 0 : 4), le);
  const header = new DataView(eh.buffer, eh.byteOffset, eh.byteLength);
  const shoff = u64(header, 0x28);
  const shentsize = header.getUint16(0x3a, le);
  let shnum = header.getUint16(0x3c, le);
  const file: ElfFile = { le, u64, header, sections: [] };
  if (shoff === 0) return file;
  if (shentsize < SHDR_SIZE) throw new BtfError(`ELF: section header size ${shentsize} is below ${SHDR_SIZE}`);
  // Extended numbering: section 0 holds the real count when it overflows.
  if (shnum === 0) {
    within(size, 'section header 0', shoff, SHDR_SIZE);
    const h0 = readAt(shoff, SHDR_SIZE);
    shnum = u64(new DataView(h0.buffer, h0.byteOffset, h0.byteLength), 32);
  }
  if (shnum * shentsize > MAX_SECTION_HEADER_BYTES) throw new BtfError(`ELF: ${shnum} section headers are over the ${MAX_SECTION_HEADER_BYTES} bytes checked`);
  within(size, 'the section headers', shoff, shnum * shentsize);
  const sh = readAt(shoff, shnum * shentsize);
  const shv = new DataView(sh.buffer, sh.byteOffset, sh.byteLength);
  for (let i = 0; i < shnum; i++) {
    const h = i * shentsize;
    file.sections.push({
      type: shv.getUint32(h + 4, le),
      link: shv.getUint32(h + 40, le),
      contents: () => {
        const off = u64(shv, h + 24);
        const len = u64(shv, h + 32);
        if (len > MAX_SYMBOL_TABLE_BYTES) throw new BtfError(`ELF: section ${i} is ${len} bytes, over the ${MAX_SYMBOL_TABLE_BYTES} bytes checked`);
        within(size, `section ${i}`, off, len);
        return readAt(off, len);
      },
    });
  }
  return file;
}

/** Throws when `len` bytes at `off` do not lie inside a file of `size` bytes. */
function within(size: number, what: string, off: number, len: number): void {
  if (off > size || len > size - off) throw new BtfError(`ELF: ${what} (offset ${off}, ${len} bytes) lies past the end of the file (${size} bytes)`);
}

/** Each defined function symbol of the file's .symtab and .dynsym. */
function eachFunction(elf: ElfFile, visit: (name: string, address: number, size: number) => void): void {
  const decoder = new TextDecoder();
  elf.sections.forEach((section, i) => {
    if (i === 0 || (section.type !== SHT_SYMTAB && section.type !== SHT_DYNSYM)) return;
    const strings = elf.sections[section.link];
    if (section.link === 0 || !strings) throw new BtfError(`ELF: symbol table ${i} links to string table ${section.link}, out of range (${elf.sections.length} sections)`);
    const syms = section.contents();
    const strs = strings.contents();
    const view = new DataView(syms.buffer, syms.byteOffset, syms.byteLength);
    for (let off = 0; off + SYM_SIZE <= syms.length; off += SYM_SIZE) {
      const kind = view.getUint8(off + 4) & 0xf;
      const shndx = view.getUint16(off + 6, elf.le);
      if ((kind !== STT_FUNC && kind !== STT_GNU_IFUNC) || shndx === 0) continue;
      const at = view.getUint32(off, elf.le);
      if (at >= strs.length) continue;
      const end = strs.indexOf(0, at);
      visit(decoder.decode(strs.subarray(at, end < 0 ? strs.length : end)), elf.u64(view, off + 8), elf.u64(view, off + 16));
    }
  });
}

/**
 * Names of the defined functions in an ELF64 binary (either byte order), or
 * undefined for an ELF32 one (not checked here). Throws BtfError when the file
 * is not well-formed ELF, or its tables are over the bounds above.
 */
export function elfFunctionNames(readAt: ReadAt, size: number): Set<string> | undefined {
  const elf = readElf(readAt, size);
  if (!elf) return undefined;
  const names = new Set<string>();
  eachFunction(elf, (name) => names.add(name));
  return names;
}

/** The GNU build id in the file's note sections, as hex. */
function buildIdOf(elf: ElfFile): string | null {
  for (const section of elf.sections) {
    if (section.type !== SHT_NOTE) continue;
    const notes = section.contents().subarray(0, MAX_NOTE_BYTES);
    const view = new DataView(notes.buffer, notes.byteOffset, notes.byteLength);
    for (let off = 0; off + 12 <= notes.length; ) {
      const namesz = view.getUint32(off, elf.le);
      const descsz = view.getUint32(off + 4, elf.le);
      const type = view.getUint32(off + 8, elf.le);
      const desc = off + 12 + ((namesz + 3) & ~3);
      if (desc + descsz > notes.length) break;
      if (type === NT_GNU_BUILD_ID && namesz === 4 && Buffer.from(notes.subarray(off + 12, off + 15)).toString('latin1') === 'GNU') {
        return Buffer.from(notes.subarray(desc, desc + descsz)).toString('hex');
      }
      off = desc + ((descsz + 3) & ~3);
    }
  }
  return null;
}

/** The loadable segments, from the program headers. */
function segmentsOf(elf: ElfFile, readAt: ReadAt, size: number): ElfSegment[] {
  const phoff = elf.u64(elf.header, 0x20);
  const phentsize = elf.header.getUint16(0x36, elf.le);
  const phnum = elf.header.getUint16(0x38, elf.le);
  if (phoff === 0 || phnum === 0) return [];
  if (phentsize < 56 || phnum > MAX_PROGRAM_HEADERS) throw new BtfError(`ELF: ${phnum} program headers of ${phentsize} bytes are not readable here`);
  within(size, 'the program headers', phoff, phnum * phentsize);
  const ph = readAt(phoff, phnum * phentsize);
  const view = new DataView(ph.buffer, ph.byteOffset, ph.byteLength);
  const segments: ElfSegment[] = [];
  for (let i = 0; i < phnum; i++) {
    const h = i * phentsize;
    if (view.getUint32(h, elf.le) !== PT_LOAD) continue;
    segments.push({ offset: elf.u64(view, h + 8), vaddr: elf.u64(view, h + 16), filesz: elf.u64(view, h + 32) });
  }
  return segments;
}

/** The functions (sorted, duplicates of one address kept once), loadable segments and build id of an ELF64 binary; undefined for ELF32. */
export function elfImage(readAt: ReadAt, size: number): ElfImage | undefined {
  const elf = readElf(readAt, size);
  if (!elf) return undefined;
  const byAddress = new Map<number, ElfFunction>();
  eachFunction(elf, (name, address, bytes) => {
    const seen = byAddress.get(address);
    // One address often has several names (an alias in .dynsym, a versioned one): the sized, shorter, unprefixed one reads best.
    if (!seen || (bytes > 0 && seen.size === 0) || (bytes === seen.size && name.length < seen.name.length && !name.startsWith('__'))) byAddress.set(address, { address, size: bytes, name });
  });
  const functions = [...byAddress.values()].sort((a, b) => a.address - b.address);
  return { functions, segments: segmentsOf(elf, readAt, size), buildId: buildIdOf(elf) };
}
