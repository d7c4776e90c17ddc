/**
 * Test helpers for the BTF library: a writer of raw BTF bytes (every kind, either byte order,
 * split BTF) so tests state exact inputs, and a checker for the JSON Schema subset schemaFor emits.
 */
import type { JsonSchema } from '../../src/btf/index.js';

const KIND = {
  int: 1, ptr: 2, array: 3, struct: 4, union: 5, enum: 6, fwd: 7, typedef: 8, volatile: 9, const: 10,
  restrict: 11, func: 12, func_proto: 13, var: 14, datasec: 15, float: 16, decl_tag: 17, type_tag: 18, enum64: 19,
} as const;

/** A member: name, type id, bit offset and, for a bitfield, its width. */
export type MemberSpec = [name: string, type: number, bitOffset: number, bitfieldSize?: number];

/** Writes raw BTF. Ids are handed out in call order, starting at 1 (or after a base for split BTF). */
export class BtfBuilder {
  private readonly words: number[] = [];
  private readonly strBytes: number[];
  private readonly strOffsets = new Map<string, number>();
  private id: number;

  /**
   * For split BTF pass the base's type count and string section length: ids and string offsets
   * continue after them, and the own string section need not start with an empty string.
   */
  constructor(private readonly opts: { firstId?: number; strBase?: number; littleEndian?: boolean } = {}) {
    this.id = opts.firstId ?? 1;
    this.strBytes = opts.strBase ? [] : [0];
    if (!opts.strBase) this.strOffsets.set('', 0);
  }

  /** The id the next type will get. */
  get nextId(): number {
    return this.id;
  }

  /** The offset of a string, adding it once. */
  str(s: string): number {
    let off = this.strOffsets.get(s);
    if (off === undefined) {
      off = (this.opts.strBase ?? 0) + this.strBytes.length;
      this.strBytes.push(...new TextEncoder().encode(s), 0);
      this.strOffsets.set(s, off);
    }
    return off;
  }

  /** Appends a type record; `name` is a string or a raw string offset. */
  type(name: string | number, kind: number, vlen: number, kflag: boolean, sizeOrType: number, extra: number[] = []): number {
    const nameOff = typeof name === 'number' ? name : this.str(name);
    this.words.push(nameOff, ((kflag ? 1 : 0) << 31 | kind << 24 | vlen) >>> 0, sizeOrType, ...extra);
    return this.id++;
  }

  int(name: string, size: number, o: { signed?: boolean; char?: boolean; bool?: boolean; bits?: number; offset?: number } = {}): number {
    const encoding = (o.signed ? 1 : 0) | (o.char ? 2 : 0) | (o.bool ? 4 : 0);
    return this.type(name, KIND.int, 0, false, size, [(encoding << 24 | (o.offset ?? 0) << 16 | (o.bits ?? size * 8)) >>> 0]);
  }

  ptr(type: number): number {
    return this.type('', KIND.ptr, 0, false, type);
  }

  array(elem: number, nelems: number, index = elem): number {
    return this.type('', KIND.array, 0, false, 0, [elem, index, nelems]);
  }

  struct(name: string, size: number, members: MemberSpec[], kind: 'struct' | 'union' = 'struct'): number {
    const kflag = members.some((m) => m[3] !== undefined);
    const extra = members.flatMap(([n, t, off, bits]) => [this.str(n), t, kflag ? ((bits ?? 0) << 24 | off) >>> 0 : off]);
    return this.type(name, KIND[kind], members.length, kflag, size, extra);
  }

  union(name: string, size: number, members: MemberSpec[]): number {
    return this.struct(name, size, members, 'union');
  }

  enum(name: string, size: number, values: [string, number][], signed = false): number {
    return this.type(name, KIND.enum, values.length, signed, size, values.flatMap(([n, v]) => [this.str(n), v >>> 0]));
  }

  enum64(name: string, size: number, values: [string, bigint][], signed = false): number {
    const extra = values.flatMap(([n, v]) => {
      const u = BigInt.asUintN(64, v);
      return [this.str(n), Number(u & 0xffffffffn), Number(u >> 32n)];
    });
    return this.type(name, KIND.enum64, values.length, signed, size, extra);
  }

  fwd(name: string, union = false): number {
    return this.type(name, KIND.fwd, 0, union, 0);
  }

  typedef(name: string, type: number): number {
    return this.type(name, KIND.typedef, 0, false, type);
  }

  qualifier(kind: 'volatile' | 'const' | 'restrict', type: number): number {
    return this.type('', KIND[kind], 0, false, type);
  }

  typeTag(name: string, type: number, attribute = false): number {
    return this.type(name, KIND.type_tag, 0, attribute, type);
  }

  func(name: string, proto: number, linkage = 1): number {
    return this.type(name, KIND.func, linkage, false, proto);
  }

  funcProto(ret: number, params: [string, number][]): number {
    return this.type('', KIND.func_proto, params.length, false, ret, params.flatMap(([n, t]) => [this.str(n), t]));
  }

  variable(name: string, type: number, linkage = 1): number {
    return this.type(name, KIND.var, 0, false, type, [linkage]);
  }

  datasec(name: string, size: number, vars: [type: number, offset: number, size: number][]): number {
    return this.type(name, KIND.datasec, vars.length, false, size, vars.flat());
  }

  float(name: string, size: number): number {
    return this.type(name, KIND.float, 0, false, size);
  }

  declTag(name: string, type: number, componentIdx: number, attribute = false): number {
    return this.type(name, KIND.decl_tag, 0, attribute, type, [componentIdx >>> 0]);
  }

  /** The complete BTF blob: header, type section, string section. */
  build(): Uint8Array {
    const le = this.opts.littleEndian ?? true;
    const typeLen = this.words.length * 4;
    const out = new Uint8Array(24 + typeLen + this.strBytes.length);
    const dv = new DataView(out.buffer);
    dv.setUint16(0, 0xeb9f, le);
    out[2] = 1;
    dv.setUint32(4, 24, le);
    dv.setUint32(8, 0, le);
    dv.setUint32(12, typeLen, le);
    dv.setUint32(16, typeLen, le);
    dv.setUint32(20, this.strBytes.length, le);
    this.words.forEach((w, i) => dv.setUint32(24 + i * 4, w, le));
    out.set(this.strBytes, 24 + typeLen);
    return out;
  }
}

/** A record's bytes written field by field, little-endian. */
export class RecordWriter {
  readonly bytes: Uint8Array;
  private readonly dv: DataView;

  constructor(size: number) {
    this.bytes = new Uint8Array(size);
    this.dv = new DataView(this.bytes.buffer);
  }

  u8(off: number, v: number): this {
    this.dv.setUint8(off, v & 0xff);
    return this;
  }

  u16(off: number, v: number): this {
    this.dv.setUint16(off, v & 0xffff, true);
    return this;
  }

  u32(off: number, v: number): this {
    this.dv.setUint32(off, v >>> 0, true);
    return this;
  }

  u64(off: number, v: bigint): this {
    this.dv.setBigUint64(off, BigInt.asUintN(64, v), true);
    return this;
  }

  f32(off: number, v: number): this {
    this.dv.setFloat32(off, v, true);
    return this;
  }

  f64(off: number, v: number): this {
    this.dv.setFloat64(off, v, true);
    return this;
  }

  text(off: number, s: string): this {
    this.bytes.set(new TextEncoder().encode(s), off);
    return this;
  }
}

/**
 * Checks `value` against the JSON Schema subset schemaFor emits; returns the first violation as
 * "path: problem", or undefined when the value conforms.
 */
export function schemaViolation(schema: JsonSchema, value: unknown, path = '$'): string | undefined {
  if (schema.anyOf) {
    const ok = schema.anyOf.some((s) => schemaViolation(s, value, path) === undefined);
    if (!ok) return `${path}: matches no anyOf branch (${JSON.stringify(value)})`;
  }
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? schema.type : [schema.type];
    const actual = value === null ? 'null' : Array.isArray(value) ? 'array' : Number.isInteger(value) ? 'integer' : typeof value;
    if (!types.includes(actual as never) && !(actual === 'integer' && types.includes('number'))) return `${path}: ${actual} is not ${types.join('|')}`;
  }
  if (schema.enum && !schema.enum.includes(value as string)) return `${path}: ${JSON.stringify(value)} not in enum`;
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) return `${path}: ${value} < ${schema.minimum}`;
    if (schema.maximum !== undefined && value > schema.maximum) return `${path}: ${value} > ${schema.maximum}`;
  }
  if (typeof value === 'string') {
    if (schema.pattern !== undefined && !new RegExp(schema.pattern, 'u').test(value)) return `${path}: ${JSON.stringify(value)} does not match ${schema.pattern}`;
    if (schema.maxLength !== undefined && [...value].length > schema.maxLength) return `${path}: string longer than ${schema.maxLength}`;
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) return `${path}: ${value.length} items < ${schema.minItems}`;
    if (schema.maxItems !== undefined && value.length > schema.maxItems) return `${path}: ${value.length} items > ${schema.maxItems}`;
    if (schema.items) {
      for (let i = 0; i < value.length; i++) {
        const v = schemaViolation(schema.items, value[i], `${path}[${i}]`);
        if (v) return v;
      }
    }
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const obj = value as Record<string, unknown>;
    for (const key of schema.required ?? []) if (!Object.hasOwn(obj, key)) return `${path}: missing ${key}`;
    for (const [key, v] of Object.entries(obj)) {
      const sub = schema.properties?.[key];
      if (sub === undefined) {
        if (schema.additionalProperties === false) return `${path}: unexpected property ${key}`;
        continue;
      }
      const bad = schemaViolation(sub, v, `${path}.${key}`);
      if (bad) return bad;
    }
  }
  return undefined;
}
