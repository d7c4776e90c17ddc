/**
 * The decode plan: a type flattened once into byte/bit positions and output shapes. Both the
 * decoder (code generation) and the JSON Schema are built from the same plan, so the schema
 * describes exactly what the decoder produces, and both share the same guards.
 */
import { BtfError } from './error.js';
import type { Btf } from './parse.js';
import type { BtfComposite, BtfDatasec, BtfEnum } from './types.js';

/** Limits applied when compiling a decoder or a schema. */
export interface DecodeOptions {
  /** Deepest nesting of structs, unions and arrays (default 32); deeper types throw BtfError. */
  maxDepth?: number;
  /**
   * Most array elements one array decodes, counting the elements of arrays nested in its elements
   * (default 4096). Longer arrays are cut: they keep their first elements, the schema's
   * `maxItems` and description say so, and the decoder lists them in `truncated`. A char array
   * cut this way decodes its string from the kept bytes only.
   */
  maxArrayElements?: number;
}

/** An array the decoder cuts short: where it is (`a.b[].c`), how many elements it keeps and has. */
export interface TruncatedArray {
  readonly path: string;
  readonly kept: number;
  readonly total: number;
}

/** Largest plan (nodes) one type may produce; guards against pathological BTF, far above task_struct. */
const MAX_PLAN_NODES = 1 << 16;
const DEFAULT_MAX_DEPTH = 32;
const DEFAULT_MAX_ARRAY_ELEMENTS = 4096;

/** An integer field: `bits` bits starting `bit` bits after the base (in BTF bit order). */
export interface IntPlan {
  readonly t: 'int' | 'bool';
  readonly ctype: string;
  readonly bit: number;
  readonly bits: number;
  readonly signed: boolean;
}

/** An enum field; `names` maps a decoded value (number, or decimal string past 2^53) to its name. */
export interface EnumPlan {
  readonly t: 'enum';
  readonly ctype: string;
  readonly bit: number;
  readonly bits: number;
  readonly signed: boolean;
  readonly names: ReadonlyMap<number | string, string>;
}

/** A float or a pointer at a byte offset. */
export interface BytesPlan {
  readonly t: 'float' | 'ptr';
  readonly ctype: string;
  readonly byte: number;
  readonly size: number;
}

/** A value decoded as null (void, fwd, func, and floats wider than 8 bytes). */
export interface NullPlan {
  readonly t: 'null';
  readonly ctype: string;
}

/** A struct, union or datasec decoded as an object; anonymous members are already flattened in. */
export interface ObjectPlan {
  readonly t: 'object';
  readonly ctype: string;
  readonly fields: readonly { readonly key: string; readonly plan: Plan }[];
}

/** An array: `count` of its `total` elements, `stride` bytes apart, each laid out by `elem` from 0. */
export interface ArrayPlan {
  readonly t: 'array';
  readonly ctype: string;
  readonly byte: number;
  readonly stride: number;
  readonly count: number;
  readonly total: number;
  readonly elem: Plan;
}

/** A char/u8 array: a string when it holds text, else `count` numbers. */
export interface CharsPlan {
  readonly t: 'chars';
  readonly ctype: string;
  readonly byte: number;
  readonly count: number;
  readonly total: number;
  readonly signed: boolean;
}

/** One node of a decode plan. */
export type Plan = IntPlan | EnumPlan | BytesPlan | NullPlan | ObjectPlan | ArrayPlan | CharsPlan;

/** The plan of a whole record type. */
export interface RecordPlan {
  readonly plan: Plan;
  readonly size: number;
  readonly truncated: readonly TruncatedArray[];
  readonly littleEndian: boolean;
}

/** Remaining array-element budget shared by the arrays inside one top-level array. */
interface Budget {
  left: number;
}

/** Builds the plan of `typeId`; throws BtfError when the type is too deep, too large or inconsistent. */
export function planType(btf: Btf, typeId: number, opts: DecodeOptions = {}): RecordPlan {
  const maxDepth = opts.maxDepth ?? DEFAULT_MAX_DEPTH;
  const maxElems = opts.maxArrayElements ?? DEFAULT_MAX_ARRAY_ELEMENTS;
  if (!Number.isInteger(maxDepth) || maxDepth < 1) throw new BtfError(`maxDepth must be a positive integer, got ${maxDepth}`);
  if (!Number.isInteger(maxElems) || maxElems < 0) throw new BtfError(`maxArrayElements must be a non-negative integer, got ${maxElems}`);
  const truncated: TruncatedArray[] = [];
  let nodes = 0;

  const sizeOrZero = (id: number): number => {
    const k = btf.resolve(id).kind;
    return k === 'void' || k === 'fwd' || k === 'func' || k === 'func_proto' || k === 'decl_tag' ? 0 : btf.sizeof(id);
  };

  const plan = (id: number, bit: number, bitfield: number, depth: number, budget: Budget | undefined, path: string, ctype: string): Plan => {
    if (++nodes > MAX_PLAN_NODES) throw new BtfError(`type ${typeId} is too large to decode (over ${MAX_PLAN_NODES} fields)`);
    const t = btf.resolve(id);
    switch (t.kind) {
      case 'int': {
        const bits = bitfield || t.bits;
        return { t: t.bool ? 'bool' : 'int', ctype, bit: bitfield ? bit : bit + t.bitOffset, bits, signed: t.signed };
      }
      case 'enum':
      case 'enum64':
        return { t: 'enum', ctype, bit, bits: bitfield || t.size * 8, signed: t.signed, names: enumNames(t) };
      case 'float':
      case 'ptr': {
        const byte = aligned(bit);
        return t.kind === 'float' && t.size > 8 ? { t: 'null', ctype } : { t: t.kind, ctype, byte, size: t.kind === 'ptr' ? btf.pointerSize : t.size };
      }
      case 'struct':
      case 'union':
      case 'datasec': {
        checkDepth(depth);
        const fields: { key: string; plan: Plan }[] = [];
        addFields(t, aligned(bit) * 8, depth + 1, budget, path, fields);
        return { t: 'object', ctype, fields };
      }
      case 'array': {
        checkDepth(depth);
        const byte = aligned(bit);
        const own = budget ?? { left: maxElems };
        const elemType = btf.resolve(t.type);
        const elemCtype = btf.format(t.type);
        let count: number;
        let result: Plan;
        if (elemType.kind === 'int' && elemType.size === 1 && !elemType.bool && elemType.bits === 8) {
          count = Math.min(t.nelems, Math.max(own.left, 0));
          own.left -= count;
          result = { t: 'chars', ctype, byte, count, total: t.nelems, signed: elemType.signed };
        } else {
          const inner = { left: own.left - 1 };
          const elem = plan(t.type, 0, 0, depth + 1, inner, `${path}[]`, elemCtype);
          const perElem = 1 + Math.max(own.left - 1 - inner.left, 0);
          count = Math.min(t.nelems, Math.floor(Math.max(own.left, 0) / perElem));
          own.left -= count * perElem;
          result = { t: 'array', ctype, byte, stride: sizeOrZero(t.type), count, total: t.nelems, elem };
        }
        if (count < t.nelems) truncated.push({ path: path || '(top)', kept: count, total: t.nelems });
        return result;
      }
      case 'var':
        return plan(t.type, bit, bitfield, depth, budget, path, ctype);
      default:
        return { t: 'null', ctype };
    }
  };

  // Messages name types by id: their names and member names come from the object or the kernel.
  const checkDepth = (depth: number): void => {
    if (depth >= maxDepth) throw new BtfError(`type ${typeId} nests deeper than maxDepth ${maxDepth}`);
  };

  const aligned = (bit: number): number => {
    if (bit % 8 !== 0) throw new BtfError(`type ${typeId}: a member starts at bit ${bit}, not on a byte boundary`);
    return bit / 8;
  };

  const addFields = (t: BtfComposite | BtfDatasec, base: number, depth: number, budget: Budget | undefined, path: string, fields: { key: string; plan: Plan }[]): void => {
    const limit = t.size * 8;
    const members = t.kind === 'datasec'
      ? t.vars.map((v) => ({ name: btf.name(v.type), type: v.type, bitOffset: v.offset * 8, bitfieldSize: 0 }))
      : t.members;
    for (const m of members) {
      const inner = btf.resolve(m.type);
      // Bits the member occupies; an int with its own width (pre-kind_flag bitfields) uses only those.
      const bits = m.bitfieldSize || (inner.kind === 'int' ? inner.bitOffset + inner.bits : sizeOrZero(m.type) * 8);
      if (m.bitOffset + bits > limit) {
        throw new BtfError(`type ${typeId}: a member of type ${t.id} (bits ${m.bitOffset}..${m.bitOffset + bits}) exceeds its ${t.size} bytes`);
      }
      if (m.name === '') {
        // An anonymous struct/union is flattened into its parent, as C does; other unnamed members are padding.
        if (inner.kind === 'struct' || inner.kind === 'union') {
          checkDepth(depth);
          addFields(inner, base + aligned(m.bitOffset) * 8, depth + 1, budget, path, fields);
        }
        continue;
      }
      const ctype = m.bitfieldSize ? `${btf.format(m.type)}:${m.bitfieldSize}` : btf.format(m.type);
      fields.push({ key: m.name, plan: plan(m.type, base + m.bitOffset, m.bitfieldSize, depth, budget, path ? `${path}.${m.name}` : m.name, ctype) });
    }
  };

  const top = plan(typeId, 0, 0, 0, undefined, '', btf.format(typeId));
  return { plan: top, size: sizeOrZero(typeId), truncated, littleEndian: btf.littleEndian };
}

/** Value → name for the decoder: the first enumerator of each value wins. */
function enumNames(t: BtfEnum): Map<number | string, string> {
  const names = new Map<number | string, string>();
  for (const v of t.values) {
    const n = Number(v.value);
    const key = Number.isSafeInteger(n) ? n : v.value.toString();
    if (!names.has(key)) names.set(key, v.name);
  }
  return names;
}
