/**
 * Function symbols of an ELF binary (.symtab and .dynsym), to check a uprobe
 * target before attaching and to suggest names when it is not there.
 */
import { elfSection } from '../btf/index.js';

const SYM_SIZE = 24;
const STT_FUNC = 2;
const STT_GNU_IFUNC = 10;

/** Names of the defined functions in an ELF64 little-endian binary. */
export function elfFunctionNames(bytes: Uint8Array): Set<string> {
  const names = new Set<string>();
  for (const [symtab, strtab] of [
    ['.symtab', '.strtab'],
    ['.dynsym', '.dynstr'],
  ] as const) {
    const syms = elfSection(bytes, symtab);
    const strs = elfSection(bytes, strtab);
    if (!syms || !strs) continue;
    const view = new DataView(syms.buffer, syms.byteOffset, syms.byteLength);
    const decoder = new TextDecoder();
    for (let off = 0; off + SYM_SIZE <= syms.length; off += SYM_SIZE) {
      const type = view.getUint8(off + 4) & 0xf;
      const shndx = view.getUint16(off + 6, true);
      if ((type !== STT_FUNC && type !== STT_GNU_IFUNC) || shndx === 0) continue;
      const at = view.getUint32(off, true);
      if (at >= strs.length) continue;
      const end = strs.indexOf(0, at);
      names.add(decoder.decode(strs.subarray(at, end < 0 ? strs.length : end)));
    }
  }
  return names;
}
