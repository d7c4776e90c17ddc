/**
 * A structural check of an untrusted BPF object before libbpf parses it: the ELF header and
 * section table, every section's bounds and name, symbols, relocations, `.BTF` (through the
 * project's own parser), `.BTF.ext` records, `.maps` and instruction sections. One linear pass;
 * the first defect found is thrown as a MalformedObject naming the rule, the section and what is
 * wrong. Passing the check does not mean libbpf or the kernel will accept the object.
 */
import { type Btf, BtfError, parseBtf } from '../btf/index.js';

/** The parts of an object the check looks at, one per rule family. */
export type ObjectPart = 'elf_header' | 'section_headers' | 'section' | 'strings' | 'symbols' | 'relocations' | 'btf' | 'btf_ext' | 'maps' | 'instructions';

/**
 * An object that fails the structural check: `part` says which rule, `section` where (when one section is at fault).
 * Messages name sections, symbols and maps by index, never by a name from the object: `section` carries its name.
 */
export class MalformedObject extends Error {
  constructor(
    readonly part: ObjectPart,
    message: string,
    readonly section?: string,
  ) {
    super(section === undefined ? `malformed object: ${message}` : `malformed object (section in context.section): ${message}`);
    this.name = 'MalformedObject';
  }
}

const EHDR_SIZE = 64;
const SHDR_SIZE = 64;
const SYM_SIZE = 24;
const INSN_SIZE = 8;
const ET_REL = 1;
const EM_BPF = 247;
const SHT_SYMTAB = 2;
const SHT_STRTAB = 3;
const SHT_RELA = 4;
const SHT_NOBITS = 8;
const SHT_REL = 9;
const SHF_EXECINSTR = 0x4;
const SHN_LORESERVE = 0xff00;
const SHN_ABS = 0xfff1;
const SHN_COMMON = 0xfff2;
const STT_FUNC = 2;
const BTF_EXT_MAGIC = 0xeb9f;
const BTF_EXT_MIN_HEADER = 24;
const BTF_EXT_CORE_HEADER = 32;
/** Highest `enum bpf_core_relo_kind` (BPF_CORE_TYPE_MATCHES). */
const MAX_CORE_RELO_KIND = 12;
const CORE_ACCESS = /^\d+(:\d+)*$/;
/** Members of a `.maps` definition that are `__uint(name, value)`: a pointer to an array whose length is the value. */
const MAP_UINT_FIELDS = new Set(['type', 'max_entries', 'key_size', 'value_size', 'map_flags', 'numa_node', 'pinning', 'map_extra']);

/** One section header, as read. */
export interface ElfSection {
  index: number;
  /** Where its header starts in the file. */
  header: number;
  name: string;
  type: number;
  flags: number;
  offset: number;
  size: number;
  link: number;
  info: number;
  entsize: number;
}

/** The object's byte view and its byte order. */
class Reader {
  readonly dv: DataView;
  constructor(
    readonly bytes: Uint8Array,
    readonly le: boolean,
  ) {
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  u16(off: number): number {
    return this.dv.getUint16(off, this.le);
  }
  u32(off: number): number {
    return this.dv.getUint32(off, this.le);
  }
  /** A u64 as a number; values past 2^53 lose precision, which is still past any bound checked here. */
  u64(off: number): number {
    return this.dv.getUint32(off + (this.le ? 4 : 0), this.le) * 0x1_0000_0000 + this.dv.getUint32(off + (this.le ? 0 : 4), this.le);
  }
}

/** Whether `off` starts a NUL-terminated string inside `table`. */
function terminatedAt(table: Uint8Array, off: number): boolean {
  return off < table.length && table.indexOf(0, off) >= 0;
}

/**
 * Checks an object's structure; throws MalformedObject on the first defect. Fast enough to run on
 * every load (a linear pass, no copies).
 */
export function checkObject(bytes: Uint8Array): void {
  const r = readHeader(bytes);
  const sections = readSections(r);
  const byName = new Map(sections.map((s) => [s.name, s]));
  const contents = (s: ElfSection): Uint8Array => (s.type === SHT_NOBITS ? bytes.subarray(0, 0) : bytes.subarray(s.offset, s.offset + s.size));

  const symtabs = sections.filter((s) => s.type === SHT_SYMTAB);
  if (symtabs.length > 1) throw new MalformedObject('symbols', `${symtabs.length} symbol tables (at most one allowed)`);
  const symtab = symtabs[0];
  const symbolCount = symtab ? checkSymbols(r, symtab, sections) : 0;
  for (const s of sections) {
    if (s.type === SHT_REL || s.type === SHT_RELA) checkRelocations(r, s, sections, symtab, symbolCount);
    if (s.type !== SHT_NOBITS && s.flags & SHF_EXECINSTR) checkInstructions(r, s);
  }

  const btfSection = byName.get('.BTF');
  let btf: Btf | undefined;
  if (btfSection) {
    try {
      btf = parseBtf(contents(btfSection));
    } catch (e) {
      if (e instanceof BtfError) throw new MalformedObject('btf', e.message, '.BTF');
      throw e;
    }
  }
  const ext = byName.get('.BTF.ext');
  if (ext && btf) checkBtfExt(contents(ext), r.le, btf);
  const maps = byName.get('.maps');
  if (maps) checkMaps(maps, btf);
}

/** The sections of an ELF64 BPF object (all but the null section 0), after the header and section-table rules of checkObject. */
export function elfSections(bytes: Uint8Array): ElfSection[] {
  return readSections(readHeader(bytes));
}

function readHeader(bytes: Uint8Array): Reader {
  if (bytes.length < EHDR_SIZE) throw new MalformedObject('elf_header', `${bytes.length} bytes is shorter than the ${EHDR_SIZE}-byte ELF64 header`);
  if (bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) throw new MalformedObject('elf_header', 'bad magic (not an ELF file)');
  if (bytes[4] !== 2) throw new MalformedObject('elf_header', `class ${bytes[4]} is not ELFCLASS64`);
  if (bytes[5] !== 1 && bytes[5] !== 2) throw new MalformedObject('elf_header', `unknown data encoding ${bytes[5]}`);
  if (bytes[6] !== 1) throw new MalformedObject('elf_header', `unknown ELF version ${bytes[6]}`);
  const r = new Reader(bytes, bytes[5] === 1);
  const type = r.u16(0x10);
  const machine = r.u16(0x12);
  if (type !== ET_REL) throw new MalformedObject('elf_header', `type ${type} is not a relocatable object (ET_REL)`);
  if (machine !== 0 && machine !== EM_BPF) throw new MalformedObject('elf_header', `machine ${machine} is not BPF (${EM_BPF})`);
  return r;
}

function readSections(r: Reader): ElfSection[] {
  const size = r.bytes.length;
  const shoff = r.u64(0x28);
  const shentsize = r.u16(0x3a);
  const shnum = r.u16(0x3c);
  const shstrndx = r.u16(0x3e);
  if (shentsize !== SHDR_SIZE) throw new MalformedObject('section_headers', `section header size ${shentsize}, expected ${SHDR_SIZE}`);
  if (shnum === 0 || shnum >= SHN_LORESERVE) throw new MalformedObject('section_headers', `section count ${shnum} is not supported (1..${SHN_LORESERVE - 1})`);
  if (shoff > size || shnum * SHDR_SIZE > size - shoff) {
    throw new MalformedObject('section_headers', `${shnum} section headers at offset ${shoff} run past the end of the file (${size} bytes)`);
  }
  if (shstrndx === 0 || shstrndx >= shnum) throw new MalformedObject('section_headers', `section name table index ${shstrndx} is out of range (1..${shnum - 1})`);

  const raw = (i: number) => {
    const h = shoff + i * SHDR_SIZE;
    return { nameOff: r.u32(h), type: r.u32(h + 4), flags: r.u64(h + 8), offset: r.u64(h + 24), size: r.u64(h + 32), link: r.u32(h + 40), info: r.u32(h + 44), entsize: r.u64(h + 56) };
  };
  const bounds = (i: number, s: ReturnType<typeof raw>): void => {
    if (s.type === SHT_NOBITS) return;
    if (s.offset > size || s.size > size - s.offset) throw new MalformedObject('section', `section ${i} (offset ${s.offset}, size ${s.size}) lies past the end of the file (${size} bytes)`);
  };
  const names = raw(shstrndx);
  if (names.type !== SHT_STRTAB) throw new MalformedObject('strings', `section name table (section ${shstrndx}) has type ${names.type}, not SHT_STRTAB`);
  bounds(shstrndx, names);
  const table = r.bytes.subarray(names.offset, names.offset + names.size);
  if (table.length === 0 || table[table.length - 1] !== 0) throw new MalformedObject('strings', 'section name table is empty or not NUL-terminated');

  const sections: ElfSection[] = [];
  for (let i = 1; i < shnum; i++) {
    const s = raw(i);
    if (!terminatedAt(table, s.nameOff)) throw new MalformedObject('strings', `section ${i} name offset ${s.nameOff} is outside the section name table (${table.length} bytes)`);
    const name = new TextDecoder().decode(table.subarray(s.nameOff, table.indexOf(0, s.nameOff)));
    bounds(i, s);
    if (s.link >= shnum) throw new MalformedObject('section_headers', `sh_link ${s.link} is out of range (${shnum} sections)`, name);
    sections.push({ index: i, header: shoff + i * SHDR_SIZE, name, ...s });
  }
  return sections;
}

/** Checks every symbol; returns how many there are. */
function checkSymbols(r: Reader, symtab: ElfSection, sections: readonly ElfSection[]): number {
  if (symtab.entsize !== SYM_SIZE || symtab.size % SYM_SIZE !== 0) {
    throw new MalformedObject('symbols', `entry size ${symtab.entsize} and size ${symtab.size} do not make ${SYM_SIZE}-byte symbols`, symtab.name);
  }
  const strtab = sections.find((s) => s.index === symtab.link);
  if (!strtab || strtab.type !== SHT_STRTAB) throw new MalformedObject('symbols', `its string table (section ${symtab.link}) is not a string table`, symtab.name);
  const strs = r.bytes.subarray(strtab.offset, strtab.offset + strtab.size);
  const count = symtab.size / SYM_SIZE;
  for (let i = 0; i < count; i++) {
    const at = symtab.offset + i * SYM_SIZE;
    const nameOff = r.u32(at);
    if (nameOff !== 0 && !terminatedAt(strs, nameOff)) throw new MalformedObject('strings', `symbol ${i} name offset ${nameOff} is outside the string table (${strs.length} bytes)`, symtab.name);
    const shndx = r.u16(at + 6);
    if (shndx === 0 || shndx === SHN_ABS || shndx === SHN_COMMON) continue;
    const target = sections[shndx - 1];
    if (!target) throw new MalformedObject('symbols', `symbol ${i} refers to section ${shndx}, out of range (${sections.length + 1} sections)`, symtab.name);
    if ((r.bytes[at + 4]! & 0xf) === STT_FUNC && target.flags & SHF_EXECINSTR) {
      const value = r.u64(at + 8);
      const size = r.u64(at + 16);
      if (value % INSN_SIZE !== 0 || value > target.size || size > target.size - value) {
        throw new MalformedObject('symbols', `function symbol ${i} (offset ${value}, size ${size}) does not fit section ${target.index} (${target.size} bytes)`, symtab.name);
      }
    }
  }
  return count;
}

function checkRelocations(r: Reader, rel: ElfSection, sections: readonly ElfSection[], symtab: ElfSection | undefined, symbols: number): void {
  const entry = rel.type === SHT_RELA ? 24 : 16;
  if (rel.entsize !== entry || rel.size % entry !== 0) throw new MalformedObject('relocations', `entry size ${rel.entsize} and size ${rel.size} do not make ${entry}-byte entries`, rel.name);
  if (rel.size === 0) return;
  if (!symtab || rel.link !== symtab.index) throw new MalformedObject('relocations', `its symbol table (section ${rel.link}) is not the object's symbol table`, rel.name);
  const target = sections[rel.info - 1];
  if (!target) throw new MalformedObject('relocations', `target section ${rel.info} is out of range (${sections.length + 1} sections)`, rel.name);
  const exec = (target.flags & SHF_EXECINSTR) !== 0;
  for (let at = rel.offset; at < rel.offset + rel.size; at += entry) {
    const offset = r.u64(at);
    const sym = r.u32(at + (r.le ? 12 : 8));
    if (sym >= symbols) throw new MalformedObject('relocations', `relocation at ${offset} names symbol ${sym}, out of range (${symbols} symbols)`, rel.name);
    if (target.type !== SHT_NOBITS && offset >= target.size) throw new MalformedObject('relocations', `relocation offset ${offset} is outside section ${target.index} (${target.size} bytes)`, rel.name);
    if (exec && offset % INSN_SIZE !== 0) throw new MalformedObject('relocations', `relocation offset ${offset} in section ${target.index} is not on an instruction boundary`, rel.name);
  }
}

function checkInstructions(r: Reader, s: ElfSection): void {
  if (s.size % INSN_SIZE !== 0) throw new MalformedObject('instructions', `size ${s.size} is not a whole number of ${INSN_SIZE}-byte instructions`, s.name);
  const last = s.offset + s.size - INSN_SIZE;
  for (let at = s.offset; at <= last; at += INSN_SIZE) {
    // BPF_LD | BPF_IMM | BPF_DW takes two slots: the second must exist and carry opcode 0.
    if (r.bytes[at] !== 0x18) continue;
    if (at === last || r.bytes[at + INSN_SIZE] !== 0) throw new MalformedObject('instructions', `64-bit load at instruction ${(at - s.offset) / INSN_SIZE} lacks its second half`, s.name);
    at += INSN_SIZE;
  }
}

/** `.BTF.ext`: header, then func_info, line_info and (when present) core_relo subsections of per-ELF-section records. */
function checkBtfExt(data: Uint8Array, le: boolean, btf: Btf): void {
  const fail = (msg: string): never => {
    throw new MalformedObject('btf_ext', msg, '.BTF.ext');
  };
  if (data.length < BTF_EXT_MIN_HEADER) fail(`${data.length} bytes is shorter than the ${BTF_EXT_MIN_HEADER}-byte header`);
  const r = new Reader(data, le);
  if (r.u16(0) !== BTF_EXT_MAGIC) fail(`bad magic 0x${r.u16(0).toString(16)}`);
  if (data[2] !== 1) fail(`unsupported version ${data[2]}`);
  const hdrLen = r.u32(4);
  if (hdrLen < BTF_EXT_MIN_HEADER || hdrLen > data.length || hdrLen % 4 !== 0) fail(`header length ${hdrLen} is invalid for ${data.length} bytes`);
  const strEnd = btf.stringsEnd;
  const subsections: [string, number, number, number][] = [
    ['func_info', r.u32(8), r.u32(12), 8],
    ['line_info', r.u32(16), r.u32(20), 16],
  ];
  if (hdrLen >= BTF_EXT_CORE_HEADER) subsections.push(['core_relo', r.u32(24), r.u32(28), 16]);
  for (const [what, off, len, minRecord] of subsections) {
    if (len === 0) continue;
    const start = hdrLen + off;
    if (off % 4 !== 0 || start > data.length || len > data.length - start || len < 4) fail(`${what} (offset ${off}, length ${len}) overruns the ${data.length - hdrLen}-byte body`);
    const end = start + len;
    const record = r.u32(start);
    if (record < minRecord || record % 4 !== 0) fail(`${what} record size ${record} is invalid (at least ${minRecord}, a multiple of 4)`);
    for (let at = start + 4; at < end; ) {
      if (at + 8 > end) fail(`${what} section header at ${at - hdrLen} is truncated`);
      const secName = r.u32(at);
      const count = r.u32(at + 4);
      if (secName >= strEnd) fail(`${what} section name offset ${secName} is outside the BTF string section (${strEnd} bytes)`);
      if (count === 0) fail(`${what} for the section named at string offset ${secName} has no records`);
      at += 8;
      if (count * record > end - at) fail(`${what} for the section named at string offset ${secName}: ${count} records of ${record} bytes overrun the subsection`);
      for (let i = 0; i < count; i++, at += record) checkExtRecord(what, r, at, btf, strEnd, fail);
    }
  }
}

function checkExtRecord(what: string, r: Reader, at: number, btf: Btf, strEnd: number, fail: (msg: string) => never): void {
  const typeId = (id: number): void => {
    if (id >= btf.count) fail(`${what} record refers to type id ${id}, out of range (${btf.count} types)`);
  };
  const str = (off: number): void => {
    if (off >= strEnd) fail(`${what} record string offset ${off} is outside the BTF string section (${strEnd} bytes)`);
  };
  if (r.u32(at) % INSN_SIZE !== 0) fail(`${what} record instruction offset ${r.u32(at)} is not on an instruction boundary`);
  if (what === 'func_info') {
    typeId(r.u32(at + 4));
    if (btf.type(r.u32(at + 4)).kind !== 'func') fail(`func_info record type ${r.u32(at + 4)} is not a func`);
  } else if (what === 'line_info') {
    str(r.u32(at + 4));
    str(r.u32(at + 8));
  } else {
    typeId(r.u32(at + 4));
    const access = r.u32(at + 8);
    str(access);
    const kind = r.u32(at + 12);
    if (kind > MAX_CORE_RELO_KIND) fail(`core_relo record kind ${kind} is unknown (0..${MAX_CORE_RELO_KIND})`);
    if (!CORE_ACCESS.test(btf.string(access))) fail(`core_relo access string at offset ${access} is not a colon-separated list of indices`);
  }
}

/** `.maps`: BTF must describe it with a datasec whose variables are map definitions inside the section. */
function checkMaps(maps: ElfSection, btf: Btf | undefined): void {
  const fail = (msg: string): never => {
    throw new MalformedObject('maps', msg, '.maps');
  };
  if (!btf) fail('the object has .maps but no .BTF to describe them');
  const sec = btf!.findByName('.maps', 'datasec');
  if (!sec) fail('no BTF datasec describes .maps');
  for (const v of sec!.vars) {
    const variable = btf!.type(v.type);
    if (variable.kind !== 'var') fail(`datasec entry ${v.type} is ${variable.kind}, not a variable`);
    if (v.offset > maps.size || v.size > maps.size - v.offset) fail(`map (BTF var ${v.type}) (offset ${v.offset}, size ${v.size}) lies outside the section (${maps.size} bytes)`);
    const def = btf!.resolve((variable as { type: number }).type);
    if (def.kind !== 'struct') fail(`map (BTF var ${v.type}) is defined by a ${def.kind}, not a struct`);
    for (const m of (def as { members: readonly { name: string; type: number }[] }).members) {
      if (!MAP_UINT_FIELDS.has(m.name)) continue;
      const ptr = btf!.resolve(m.type);
      const arr = ptr.kind === 'ptr' ? btf!.resolve(ptr.type) : undefined;
      if (arr?.kind !== 'array') fail(`map (BTF var ${v.type}) field ${m.name} is not a __uint() (a pointer to an array)`);
    }
  }
}
