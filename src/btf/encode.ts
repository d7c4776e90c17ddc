/**
 * Encodes a JSON value into the raw bytes of a BTF type: the mirror of decode.ts. It takes the values
 * the decoder gives back (integers as numbers or decimal strings, booleans, enumerator names or
 * values, strings for char arrays, arrays, objects for structs and unions) and writes them at their
 * bit positions in the BTF's byte order, refusing what does not fit the type. It sets `const volatile`
 * globals before load, and will encode map keys and values.
 */
import { BtfError } from './error.js';
import { qualifiers } from './globals.js';
import type { Btf } from './parse.js';

/**
 * A value that does not fit its type: `path` is where inside the value (`""`, `.field`, `[2]`), `ctype` the type there.
 * The message says "its type": a type's name comes from the object, so it is in `ctype` only, never in the prose.
 */
export class EncodeError extends BtfError {
  constructor(
    readonly path: string,
    readonly ctype: string,
    message: string,
    /** What the type accepts there (range, enumerators, fields, length). */
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** Deepest nesting of structs and arrays a value may have, as for the decoder. */
const MAX_DEPTH = 32;
const utf8 = new TextEncoder();

/** A bigint as JSON can carry it: a number when exact, else a decimal string. */
const json = (v: bigint): number | string => (v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString());

/** The smallest and largest value of an integer of `bits` bits. */
function range(bits: number, signed: boolean): [bigint, bigint] {
  return signed ? [-(1n << BigInt(bits - 1)), (1n << BigInt(bits - 1)) - 1n] : [0n, (1n << BigInt(bits)) - 1n];
}

/** An integer value: a safe-integer number, or a decimal string (exact past 2^53), within the type's range. */
function integer(value: unknown, bits: number, signed: boolean, path: string, ctype: string): bigint {
  const [min, max] = range(bits, signed);
  const limits = { min: json(min), max: json(max) };
  let v: bigint;
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new EncodeError(path, ctype, `its type takes an integer, not ${value}`, limits);
    if (!Number.isSafeInteger(value)) throw new EncodeError(path, ctype, `${value} is past 2^53, where a JSON number is not exact: give it as a decimal string`, limits);
    v = BigInt(value);
  } else if (typeof value === 'string' && /^-?[0-9]{1,40}$/.test(value)) {
    v = BigInt(value);
  } else {
    throw new EncodeError(path, ctype, `its type takes an integer (a number, or a decimal string), not ${describe(value)}`, limits);
  }
  if (v < min || v > max) throw new EncodeError(path, ctype, `${String(value)} is out of range for its type (${min}..${max})`, limits);
  return v;
}

/** A value's JSON type for messages. */
function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'string' ? `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)}` : `a ${typeof value}`;
}

/** Writes the low `bits` bits of `v` at bit `bit` from byte `base`, keeping the bits around them (decode.ts's `wide`, reversed). */
function putBits(b: Uint8Array, base: number, bit: number, bits: number, v: bigint, le: boolean): void {
  const first = Math.floor(bit / 8);
  const span = Math.ceil((bit + bits) / 8) - first;
  const p = base + first;
  const within = bit - first * 8;
  const shift = BigInt(le ? within : span * 8 - within - bits);
  let word = 0n;
  for (let i = 0; i < span; i++) word = (word << 8n) | BigInt(b[le ? p + span - 1 - i : p + i]!);
  const mask = ((1n << BigInt(bits)) - 1n) << shift;
  word = (word & ~mask) | ((BigInt.asUintN(bits, v) << shift) & mask);
  for (let i = 0; i < span; i++) {
    b[le ? p + i : p + span - 1 - i] = Number(word & 0xffn);
    word >>= 8n;
  }
}

/** Encodes values of one BTF into byte buffers. */
class Writer {
  constructor(
    private readonly btf: Btf,
    private readonly b: Uint8Array,
  ) {}

  /** Writes `value` as type `id` at bit `bit` of byte `base` (`bitfield`: the member's width, 0 for a plain one). */
  write(id: number, base: number, bit: number, bitfield: number, value: unknown, path: string, depth: number): void {
    const t = this.btf.resolve(id);
    const ctype = qualifiers(this.btf, id).ctype;
    const le = this.btf.littleEndian;
    switch (t.kind) {
      case 'int': {
        const bits = bitfield || t.bits;
        const at = bitfield ? bit : bit + t.bitOffset;
        if (t.bool) {
          if (typeof value !== 'boolean') throw new EncodeError(path, ctype, `its type takes true or false, not ${describe(value)}`);
          return putBits(this.b, base, at, bits, value ? 1n : 0n, le);
        }
        return putBits(this.b, base, at, bits, integer(value, bits, t.signed, path, ctype), le);
      }
      case 'enum':
      case 'enum64': {
        const bits = bitfield || t.size * 8;
        const names = t.values.map((e) => e.name);
        const named = typeof value === 'string' ? t.values.find((e) => e.name === value) : undefined;
        if (typeof value === 'string' && !named && !/^-?[0-9]+$/.test(value)) {
          throw new EncodeError(path, ctype, `its type has no enumerator ${JSON.stringify(value)}`, { enumerators: names.slice(0, 64) });
        }
        return putBits(this.b, base, bit, bits, named ? named.value : integer(value, bits, t.signed, path, ctype), le);
      }
      case 'float': {
        if (t.size !== 4 && t.size !== 8) throw new EncodeError(path, ctype, `a ${t.size}-byte float cannot be set`);
        if (typeof value !== 'number') throw new EncodeError(path, ctype, `its type takes a number, not ${describe(value)}`);
        const dv = new DataView(this.b.buffer, this.b.byteOffset, this.b.byteLength);
        if (t.size === 4) dv.setFloat32(base + this.byteOf(bit, path, ctype), value, le);
        else dv.setFloat64(base + this.byteOf(bit, path, ctype), value, le);
        return;
      }
      case 'array': {
        this.deeper(depth, path, ctype);
        const at = base + this.byteOf(bit, path, ctype);
        const elem = this.btf.resolve(t.type);
        if (elem.kind === 'int' && elem.size === 1 && elem.bits === 8 && !elem.bool) return this.chars(at, t.nelems, elem.signed, value, path, ctype);
        if (!Array.isArray(value)) throw new EncodeError(path, ctype, `its type takes an array, not ${describe(value)}`);
        if (value.length > t.nelems) throw new EncodeError(path, ctype, `its type holds ${t.nelems} elements, not ${value.length}`, { max_items: t.nelems });
        const stride = this.btf.sizeof(t.type);
        this.b.fill(0, at + value.length * stride, at + t.nelems * stride);
        value.forEach((v, i) => this.write(t.type, at + i * stride, 0, 0, v, `${path}[${i}]`, depth + 1));
        return;
      }
      case 'struct':
      case 'union': {
        this.deeper(depth, path, ctype);
        if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new EncodeError(path, ctype, `its type takes an object, not ${describe(value)}`);
        const at = base + this.byteOf(bit, path, ctype);
        const fields = this.fields(t.id, 0);
        for (const [key, v] of Object.entries(value)) {
          const f = fields.find((m) => m.name === key);
          if (!f) throw new EncodeError(`${path}.${key}`, ctype, `its type has no field ${JSON.stringify(key)}`, { fields: fields.map((m) => m.name) });
          this.write(f.type, at, f.bitOffset, f.bitfieldSize, v, `${path}.${key}`, depth + 1);
        }
        return;
      }
      case 'var':
        return this.write(t.type, base, bit, bitfield, value, path, depth);
      default:
        throw new EncodeError(path, ctype, `a value of its type (a ${t.kind}) cannot be set from JSON`);
    }
  }

  /** A char array from a string (UTF-8, shorter than the array so a NUL ends it) or from byte values; the rest is zeroed. */
  private chars(at: number, n: number, signed: boolean, value: unknown, path: string, ctype: string): void {
    let bytes: Uint8Array;
    if (typeof value === 'string') {
      bytes = utf8.encode(value);
      if (bytes.includes(0)) throw new EncodeError(path, ctype, `its type takes a string without NUL characters`);
      if (bytes.length >= n) throw new EncodeError(path, ctype, `${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)} is ${bytes.length} bytes; its type holds at most ${n - 1} and the NUL`, { max_bytes: n - 1 });
    } else if (Array.isArray(value)) {
      if (value.length > n) throw new EncodeError(path, ctype, `its type holds ${n} bytes, not ${value.length}`, { max_items: n });
      bytes = Uint8Array.from(value.map((v, i) => Number(integer(v, 8, signed, `${path}[${i}]`, signed ? 'char' : 'unsigned char')) & 0xff));
    } else {
      throw new EncodeError(path, ctype, `its type takes a string (or an array of byte values), not ${describe(value)}`);
    }
    this.b.set(bytes, at);
    this.b.fill(0, at + bytes.length, at + n);
  }

  /** Named members of a struct or union, anonymous ones flattened in (as the decoder shows them), bit offsets from `base`. */
  private fields(id: number, base: number): { name: string; type: number; bitOffset: number; bitfieldSize: number }[] {
    const t = this.btf.resolve(id);
    if (t.kind !== 'struct' && t.kind !== 'union') return [];
    return t.members.flatMap((m) =>
      m.name === '' ? this.fields(m.type, base + m.bitOffset) : [{ name: m.name, type: m.type, bitOffset: base + m.bitOffset, bitfieldSize: m.bitfieldSize }],
    );
  }

  private byteOf(bit: number, path: string, ctype: string): number {
    if (bit % 8 !== 0) throw new EncodeError(path, ctype, `it starts at bit ${bit}, not on a byte boundary`);
    return bit / 8;
  }

  private deeper(depth: number, path: string, ctype: string): void {
    if (depth >= MAX_DEPTH) throw new EncodeError(path, ctype, `the value nests deeper than ${MAX_DEPTH} levels`);
  }
}

/**
 * Writes `value` as BTF type `typeId` into `bytes` at byte `offset`, in place: integers from
 * safe-integer numbers or decimal strings (any width, exact past 2^53), range-checked for their
 * bits and sign (bitfields too); `bool` from a boolean; enums from an enumerator's name or a value;
 * char arrays from a string shorter than the array (NUL-terminated, the rest zeroed) or byte values;
 * other arrays from arrays of at most their length (the rest zeroed); structs and unions from
 * objects whose named fields are written (the others keep their bytes); floats of 4 or 8 bytes from
 * numbers. Throws EncodeError for a value that does not fit, and BtfError when the type does not
 * fit in `bytes` from `offset`.
 */
export function encodeValue(btf: Btf, typeId: number, value: unknown, bytes: Uint8Array, offset = 0): void {
  const size = btf.sizeof(typeId);
  if (!Number.isInteger(offset) || offset < 0 || offset + size > bytes.length) {
    throw new BtfError(`encode type ${typeId}: ${size} bytes do not fit at offset ${offset} of ${bytes.length}`);
  }
  new Writer(btf, bytes).write(typeId, offset, 0, 0, value, '', 0);
}
