/**
 * Compiles a BTF type into a fast decoder from raw bytes (a map value, a ring buffer record) to a
 * plain JSON-ready value. The type is planned once (layout.ts) and turned into straight-line
 * JavaScript with `new Function`: byte loads and shifts, one object literal per struct, so decoding
 * runs at millions of records per second. Only names from the plan reach the generated source, and
 * always as JSON string literals.
 */
import { BtfError } from './error.js';
import { planType, type DecodeOptions, type Plan, type RecordPlan, type TruncatedArray } from './layout.js';
import type { Btf } from './parse.js';

/**
 * A compiled decoder: call it with a record's bytes (and the record's offset in them, default 0).
 * Throws BtfError when fewer than `size` bytes are available from the offset.
 */
export interface Decoder {
  (bytes: Uint8Array, offset?: number): unknown;
  /** Bytes one record of the type occupies (the minimum the decoder accepts). */
  readonly size: number;
  /** Arrays the decoder cuts short under `maxArrayElements` (empty when none). */
  readonly truncated: readonly TruncatedArray[];
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const TWO32 = 0x1_0000_0000;
/** Code units that make a decoded char array not text: C0 controls except tab/LF/CR, DEL, C1 controls. */
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;
const utf8 = new TextDecoder('utf-8', { fatal: true });
const SHORT_TEXT = 32;
/**
 * Recently built short strings, by a hash of their bytes: records repeat the same few comm and
 * name values, and a hit (checked byte for byte, so exact) costs one comparison instead of
 * building a string.
 */
const TEXT_CACHE_SIZE = 256;
const textCache: (string | undefined)[] = new Array(TEXT_CACHE_SIZE).fill(undefined);
const scratch = new DataView(new ArrayBuffer(8));

/** 64-bit unsigned from two 32-bit halves: a number when exact, else a decimal string. */
function u64(lo: number, hi: number): number | string {
  return hi < 0x200000 ? hi * TWO32 + lo : ((BigInt(hi) << 32n) | BigInt(lo)).toString();
}

/** 64-bit signed from an unsigned low half and a signed high half: a number when exact, else a decimal string. */
function s64(lo: number, hi: number): number | string {
  const v = hi * TWO32 + lo;
  return v >= -MAX_SAFE && v <= MAX_SAFE ? v : (BigInt(hi) * 0x1_0000_0000n + BigInt(lo)).toString();
}

/**
 * Any integer field the inline paths do not cover (wider than 32 bits and unaligned, or 128-bit):
 * `bits` bits, `shift` bits above the least significant bit of the `span` bytes at `p`.
 */
function wide(b: Uint8Array, p: number, span: number, shift: number, bits: number, signed: boolean, le: boolean): number | string {
  let v = 0n;
  for (let i = 0; i < span; i++) v = (v << 8n) | BigInt(b[le ? p + span - 1 - i : p + i]!);
  v = (v >> BigInt(shift)) & ((1n << BigInt(bits)) - 1n);
  if (signed) v = BigInt.asIntN(bits, v);
  return v >= -BigInt(MAX_SAFE) && v <= BigInt(MAX_SAFE) ? Number(v) : v.toString();
}

/** A pointer as lowercase hex: "0x0", "0xffff88810a2b3c40". */
function ptr(lo: number, hi: number): string {
  return hi === 0 ? `0x${lo.toString(16)}` : `0x${hi.toString(16)}${lo.toString(16).padStart(8, '0')}`;
}

/** A float of 2, 4 or 8 bytes; NaN and infinities become the strings "NaN", "Infinity", "-Infinity". */
function float(b: Uint8Array, p: number, size: number, le: boolean): number | string {
  for (let i = 0; i < size; i++) scratch.setUint8(i, b[p + i]!);
  const v = size === 8 ? scratch.getFloat64(0, le) : size === 4 ? scratch.getFloat32(0, le) : half(scratch.getUint16(0, le));
  return Number.isFinite(v) ? v : String(v);
}

/** IEEE 754 binary16 to a number. */
function half(h: number): number {
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  const sign = h & 0x8000 ? -1 : 1;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** An enum value to its name, or the value itself when it has none. */
function enumName(names: ReadonlyMap<number | string, string>, v: number | string): number | string {
  const n = names.get(v);
  return n === undefined ? v : n;
}

/** A char array's bytes as numbers. */
function byteList(b: Uint8Array, p: number, n: number, signed: boolean): number[] {
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) out[i] = signed ? (b[p + i]! << 24) >> 24 : b[p + i]!;
  return out;
}

/** Whether the ASCII string `s` spells the bytes at `p`. */
function sameAscii(s: string, b: Uint8Array, p: number): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) !== b[p + i]) return false;
  return true;
}

/**
 * A char array: the text up to the first NUL when it is valid UTF-8 without control characters
 * (tab, LF and CR allowed), else the `n` bytes as numbers. An empty string (a NUL first) is text
 * only when every byte is zero, so binary data starting with a zero byte is kept as numbers.
 */
function chars(b: Uint8Array, p: number, n: number, signed: boolean): string | number[] {
  const lim = p + n;
  let end = p;
  let ascii = true;
  let hash = 0;
  for (; end < lim; end++) {
    const c = b[end]!;
    if (c === 0) break;
    hash = (hash * 31 + c) | 0;
    if (c < 0x20 || c > 0x7e) {
      if (c < 0x80 && c !== 9 && c !== 10 && c !== 13) return byteList(b, p, n, signed);
      ascii = false;
    }
  }
  if (end === p) {
    for (let i = p; i < lim; i++) if (b[i] !== 0) return byteList(b, p, n, signed);
    return '';
  }
  if (ascii && end - p <= SHORT_TEXT) {
    const slot = (hash ^ (end - p)) & (TEXT_CACHE_SIZE - 1);
    const cached = textCache[slot];
    if (cached !== undefined && cached.length === end - p && sameAscii(cached, b, p)) return cached;
    // Short ASCII (comm, names): building the string directly beats a TextDecoder call.
    let s = '';
    for (let i = p; i < end; i++) s += String.fromCharCode(b[i]!);
    textCache[slot] = s;
    return s;
  }
  let s: string;
  try {
    s = utf8.decode(b.subarray(p, end));
  } catch {
    return byteList(b, p, n, signed);
  }
  return ascii || !CONTROL.test(s) ? s : byteList(b, p, n, signed);
}

function recordTooShort(bytes: unknown, offset: unknown, size: number): never {
  if (!(bytes instanceof Uint8Array)) throw new BtfError(`decode: expected a Uint8Array, got ${typeof bytes}`);
  if (typeof offset !== 'number' || !Number.isInteger(offset) || offset < 0) throw new BtfError(`decode: invalid offset ${String(offset)}`);
  throw new BtfError(`decode: record has ${Math.max(bytes.length - offset, 0)} bytes at offset ${offset}, the type needs ${size}`);
}

const HELPERS = { u64, s64, wide, ptr, float, enumName, chars, recordTooShort };

/** Generates the JavaScript source of a record plan; `consts` collects values the source refers to by index. */
class CodeGen {
  readonly fns: string[] = [];
  readonly consts: unknown[] = [];

  constructor(private readonly le: boolean) {}

  /** Expression of `plan` with base `v` (a variable name) plus `add` bytes. */
  expr(plan: Plan, v: string, add: number): string {
    switch (plan.t) {
      case 'int':
        return this.int(plan.bit, plan.bits, plan.signed, v, add);
      case 'bool':
        return `(${this.int(plan.bit, plan.bits, false, v, add)} !== 0)`;
      case 'enum':
        return `enumName(K[${this.konst(plan.names)}], ${this.int(plan.bit, plan.bits, plan.signed, v, add)})`;
      case 'float':
        return `float(b, ${at(v, add + plan.byte)}, ${plan.size}, ${this.le})`;
      case 'ptr':
        return plan.size === 8
          ? `ptr(${this.u32(v, add + plan.byte + (this.le ? 0 : 4))}, ${this.u32(v, add + plan.byte + (this.le ? 4 : 0))})`
          : `ptr(${this.int(plan.byte * 8, plan.size * 8, false, v, add)}, 0)`;
      case 'null':
        return 'null';
      case 'object':
        return `{${plan.fields.map((f) => `${f.key === '__proto__' ? '["__proto__"]' : JSON.stringify(f.key)}: ${this.expr(f.plan, v, add)}`).join(', ')}}`;
      case 'chars':
        return `chars(b, ${at(v, add + plan.byte)}, ${plan.count}, ${plan.signed})`;
      case 'array': {
        if (plan.count * nodeCount(plan.elem) <= 32) {
          const items: string[] = [];
          for (let i = 0; i < plan.count; i++) items.push(this.expr(plan.elem, v, add + plan.byte + i * plan.stride));
          return `[${items.join(', ')}]`;
        }
        const index = this.fns.push('') - 1; // reserve the slot before nested arrays take theirs
        const name = `a${index}`;
        this.fns[index] = `function ${name}(b, o) {
  const r = new Array(${plan.count});
  for (let i = 0, e = o; i < ${plan.count}; i++, e += ${plan.stride}) r[i] = ${this.expr(plan.elem, 'e', 0)};
  return r;
}`;
        return `${name}(b, ${at(v, add + plan.byte)})`;
      }
    }
  }

  private konst(value: unknown): number {
    this.consts.push(value);
    return this.consts.length - 1;
  }

  /** Unsigned 32-bit load of 4 aligned bytes. */
  private u32(v: string, byte: number): string {
    return `(${this.load(v, byte, 4)} >>> 0)`;
  }

  /** The `span` bytes at `byte` combined into one int32 in the BTF's byte order (msb first when big-endian). */
  private load(v: string, byte: number, span: number): string {
    const parts: string[] = [];
    for (let i = 0; i < span; i++) {
      const shift = 8 * (this.le ? i : span - 1 - i);
      const load = `b[${at(v, byte + i)}]`;
      parts.push(shift ? `${load} << ${shift}` : load);
    }
    return parts.length === 1 ? parts[0]! : `(${parts.join(' | ')})`;
  }

  private int(bit: number, bits: number, signed: boolean, v: string, add: number): string {
    const first = Math.floor(bit / 8);
    const span = Math.ceil((bit + bits) / 8) - first;
    const byte = add + first;
    const within = bit - first * 8;
    const shift = this.le ? within : span * 8 - within - bits;
    if (within === 0 && bits === span * 8) {
      if (span === 1) return signed ? `(b[${at(v, byte)}] << 24 >> 24)` : `b[${at(v, byte)}]`;
      if (span === 2) return signed ? `(${this.load(v, byte, 2)} << 16 >> 16)` : this.load(v, byte, 2);
      if (span === 4) return signed ? this.load(v, byte, 4) : this.u32(v, byte);
      if (span === 8) {
        const lo = this.u32(v, byte + (this.le ? 0 : 4));
        const hiByte = byte + (this.le ? 4 : 0);
        return signed ? `s64(${lo}, ${this.load(v, hiByte, 4)})` : `u64(${lo}, ${this.u32(v, hiByte)})`;
      }
    }
    if (span <= 4 && bits < 32) {
      const word = this.load(v, byte, span);
      return signed ? `(${word} << ${32 - shift - bits} >> ${32 - bits})` : `((${word} >>> ${shift}) & ${2 ** bits - 1})`;
    }
    return `wide(b, ${at(v, byte)}, ${span}, ${shift}, ${bits}, ${signed}, ${this.le})`;
  }
}

/** `v + n` as source, without the `+ 0`. */
function at(v: string, n: number): string {
  return n === 0 ? v : `${v} + ${n}`;
}

/** Leaves in a plan, to decide whether unrolling an array is cheap. */
function nodeCount(plan: Plan): number {
  if (plan.t === 'object') return plan.fields.reduce((n, f) => n + nodeCount(f.plan), 0);
  if (plan.t === 'array') return plan.count * nodeCount(plan.elem);
  return 1;
}

/** The generated source and its constants, for a record plan. */
function generate(rec: RecordPlan): { source: string; consts: unknown[] } {
  const gen = new CodeGen(rec.littleEndian);
  const body = gen.expr(rec.plan, 'o', 0);
  const source = `"use strict";
const { ${Object.keys(HELPERS).join(', ')} } = H;
${gen.fns.join('\n')}
return function decode(b, o) {
  if (o === undefined) o = 0;
  if (!(b instanceof Uint8Array) || !Number.isInteger(o) || o < 0 || o + ${rec.size} > b.length) recordTooShort(b, o, ${rec.size});
  return ${body};
};`;
  return { source, consts: gen.consts };
}

/**
 * Compiles a decoder for BTF type `typeId`: bytes → plain JSON-ready value. Compile once per type
 * and reuse it for every record. Output rules:
 * - integers of 1, 2, 4 and 8 bytes, signed or not, and bitfields: numbers; 64-bit (and wider)
 *   values beyond ±(2^53-1) become exact decimal strings; `bool` → boolean;
 * - enums → the enumerator's name, or the number when the value has no name;
 * - char/u8 arrays → a string when they hold text up to the first NUL (see `chars` rules: valid
 *   UTF-8, no control characters; an empty string only when all bytes are zero), else numbers;
 * - other arrays → arrays (cut per `maxArrayElements`, see `truncated`); structs and unions →
 *   objects (a union decodes every member over the same bytes; anonymous members are flattened
 *   into the parent); datasecs → objects keyed by variable name;
 * - pointers → hex strings "0x..."; floats of 2, 4, 8 bytes → numbers ("NaN", "Infinity",
 *   "-Infinity" for non-finite values); wider floats, void, fwd and functions → null;
 * - typedef, const, volatile, restrict and type tags are looked through.
 * Throws BtfError at compile time for types nested deeper than `maxDepth`, inconsistent layouts or
 * absurdly large types.
 */
export function compileDecoder(btf: Btf, typeId: number, opts?: DecodeOptions): Decoder {
  const rec = planType(btf, typeId, opts);
  const { source, consts } = generate(rec);
  const make = new Function('H', 'K', source) as (h: typeof HELPERS, k: unknown[]) => (bytes: Uint8Array, offset?: number) => unknown;
  return Object.assign(make(HELPERS, consts), { size: rec.size, truncated: rec.truncated });
}
