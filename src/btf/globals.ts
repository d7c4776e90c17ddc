/**
 * The global variables of an object's data sections (.rodata, .data, .bss, ...), from the DATASECs
 * of its BTF: where each lives in its section, its type, and whether it is `const volatile` (a
 * value a loader may set before load, libbpf-tools style, that the program reads as a constant).
 */
import type { Btf } from './parse.js';

/** One global variable of a data section. */
export interface DataGlobal {
  /** The section it lives in, e.g. ".rodata". */
  readonly section: string;
  readonly name: string;
  /** The VAR's type (qualifiers included): what encodeValue and compileDecoder take. */
  readonly typeId: number;
  /** Byte offset in the section (an object file's BTF says 0 until fixed from its symbols, as obj/object-globals.ts does). */
  readonly offset: number;
  readonly size: number;
  /** The type as C spells it, without its const/volatile qualifiers: `__u32`, `char[16]`. */
  readonly ctype: string;
  /** Declared `const volatile`: set before load, read as a constant by the program. */
  readonly constVolatile: boolean;
}

/** Sections whose DATASEC vars are not data globals: map definitions, the license, kconfig externs. */
const NOT_DATA = new Set(['.maps', 'license', '.kconfig', '.ksyms']);

/** A type's const and volatile qualifiers, its own and (for arrays, where C puts them) its elements', and its C spelling without them. */
export function qualifiers(btf: Btf, id: number): { isConst: boolean; isVolatile: boolean; ctype: string } {
  let isConst = false;
  let isVolatile = false;
  let dims = '';
  for (;;) {
    const t = btf.type(id);
    if (t.kind === 'const' || t.kind === 'volatile' || t.kind === 'restrict') {
      if (t.kind === 'const') isConst = true;
      if (t.kind === 'volatile') isVolatile = true;
      id = t.type;
    } else if (t.kind === 'array') {
      dims += `[${t.nelems}]`;
      id = t.type;
    } else {
      return { isConst, isVolatile, ctype: dims ? `${btf.format(id)}${dims}` : btf.format(id) };
    }
  }
}

/** Every global of every data section, in BTF order (DATASECs by id, vars in section order). */
export function dataGlobals(btf: Btf): DataGlobal[] {
  const out: DataGlobal[] = [];
  for (const sec of btf.types) {
    if (sec.kind !== 'datasec' || NOT_DATA.has(sec.name)) continue;
    for (const v of sec.vars) {
      const vt = btf.type(v.type);
      if (vt.kind !== 'var' || vt.linkage === 'extern') continue;
      const q = qualifiers(btf, vt.type);
      out.push({ section: sec.name, name: vt.name, typeId: vt.type, offset: v.offset, size: v.size, ctype: q.ctype, constVolatile: q.isConst && q.isVolatile });
    }
  }
  return out;
}
