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
  /** Byte offset in the section. */
  readonly offset: number;
  readonly size: number;
  /** The type as C spells it, without its const/volatile qualifiers: `__u32`, `char[16]`. */
  readonly ctype: string;
  /** Declared `const volatile`: set before load, read as a constant by the program. */
  readonly constVolatile: boolean;
}

/** Sections whose DATASEC vars are not data globals: map definitions, the license, kconfig externs. */
const NOT_DATA = new Set(['.maps', 'license', '.kconfig', '.ksyms']);

/** Every global of every data section, in BTF order (DATASECs by id, vars in section order). */
export function dataGlobals(btf: Btf): DataGlobal[] {
  const out: DataGlobal[] = [];
  for (const sec of btf.types) {
    if (sec.kind !== 'datasec' || NOT_DATA.has(sec.name)) continue;
    for (const v of sec.vars) {
      const vt = btf.type(v.type);
      if (vt.kind !== 'var' || vt.linkage === 'extern') continue;
      let id = vt.type;
      let isConst = false;
      let isVolatile = false;
      for (let t = btf.type(id); t.kind === 'const' || t.kind === 'volatile' || t.kind === 'restrict'; t = btf.type(id)) {
        if (t.kind === 'const') isConst = true;
        if (t.kind === 'volatile') isVolatile = true;
        id = t.type;
      }
      out.push({ section: sec.name, name: vt.name, typeId: vt.type, offset: v.offset, size: v.size, ctype: btf.format(id), constVolatile: isConst && isVolatile });
    }
  }
  return out;
}
