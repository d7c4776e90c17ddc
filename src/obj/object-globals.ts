/**
 * An object file's data-section globals with their real offsets. Clang leaves a DATASEC's variable
 * offsets (and its size) at 0 in an object file; libbpf fixes them from the ELF symbol table before
 * load (btf_fixup_datasec), and so does this, so a global's bytes are found where libbpf puts them.
 */
import { type Btf, type DataGlobal, dataGlobals, elfSection, parseBtf } from '../btf/index.js';
import { elfSections } from './elf-check.js';

const SHT_SYMTAB = 2;
const SYM_SIZE = 24;
const STT_OBJECT = 1;

/** `section/name` → offset in the section, for every data symbol of the object's symbol table. */
function symbolOffsets(elf: Uint8Array): Map<string, number> {
  const sections = elfSections(elf);
  const symtab = sections.find((s) => s.type === SHT_SYMTAB);
  const out = new Map<string, number>();
  const strtab = symtab && sections.find((s) => s.index === symtab.link);
  if (!symtab || !strtab) return out;
  const le = elf[5] === 1;
  const dv = new DataView(elf.buffer, elf.byteOffset, elf.byteLength);
  const strs = elf.subarray(strtab.offset, strtab.offset + strtab.size);
  const text = new TextDecoder();
  for (let at = symtab.offset; at + SYM_SIZE <= symtab.offset + symtab.size; at += SYM_SIZE) {
    if ((elf[at + 4]! & 0xf) !== STT_OBJECT) continue;
    const section = sections.find((s) => s.index === dv.getUint16(at + 6, le));
    const nameOff = dv.getUint32(at, le);
    const end = strs.indexOf(0, nameOff);
    if (!section || end < 0) continue;
    const value = dv.getUint32(at + 8 + (le ? 4 : 0), le) * 0x1_0000_0000 + dv.getUint32(at + 8 + (le ? 0 : 4), le);
    out.set(`${section.name}/${text.decode(strs.subarray(nameOff, end))}`, value);
  }
  return out;
}

/** The object's BTF (undefined when it has none) and its data globals at the offsets libbpf gives them. */
export function objectGlobals(elf: Uint8Array): { btf: Btf | undefined; globals: DataGlobal[] } {
  const raw = elfSection(elf, '.BTF');
  if (!raw) return { btf: undefined, globals: [] };
  const btf = parseBtf(raw);
  const offsets = symbolOffsets(elf);
  return { btf, globals: dataGlobals(btf).map((g) => ({ ...g, offset: offsets.get(`${g.section}/${g.name}`) ?? g.offset })) };
}
