/**
 * Raw BTF parsing (Documentation/bpf/btf.rst) into the `Btf` type table. Pure TypeScript: works on
 * the bytes of `/sys/kernel/btf/vmlinux`, a module's split BTF, or the `.BTF` section of an object.
 *
 * `parseBtf` validates everything in one pass over the raw records but keeps only typed arrays of
 * offsets; type objects are built on first access. vmlinux (~130k types) parses in a few tens of
 * milliseconds and costs a few megabytes instead of tens.
 */
import { Buffer } from 'node:buffer';
import { BtfError } from './error.js';
import {
  BTF_KINDS,
  type BtfEnumValue,
  type BtfKind,
  type BtfLinkage,
  type BtfMember,
  type BtfParam,
  type BtfType,
  type BtfVarSecinfo,
} from './types.js';

const BTF_MAGIC = 0xeb9f;
const HEADER_LEN = 24;
const TYPE_HEADER_LEN = 12;
const LINKAGES: readonly BtfLinkage[] = ['static', 'global', 'extern'];
const LONG_NAMES = new Set(['long', 'long int', 'unsigned long', 'long unsigned int', 'long unsigned', 'unsigned long int']);

const KIND_INT = 1;
const KIND_PTR = 2;
const KIND_ARRAY = 3;
const KIND_STRUCT = 4;
const KIND_UNION = 5;
const KIND_ENUM = 6;
const KIND_FWD = 7;
const KIND_TYPEDEF = 8;
const KIND_VOLATILE = 9;
const KIND_CONST = 10;
const KIND_RESTRICT = 11;
const KIND_FUNC = 12;
const KIND_FUNC_PROTO = 13;
const KIND_VAR = 14;
const KIND_DATASEC = 15;
const KIND_FLOAT = 16;
const KIND_DECL_TAG = 17;
const KIND_TYPE_TAG = 18;
const KIND_ENUM64 = 19;

const NON_ASCII = /[^\x00-\x7f]/;
const UTF8 = new TextDecoder('utf-8');

/** Kinds `resolve` looks through. */
const TRANSPARENT_KINDS = new Set<BtfKind>(['typedef', 'volatile', 'const', 'restrict', 'type_tag']);

/** The BtfType variant(s) of the given kind(s): `BtfTypeOf<'struct'>` is BtfComposite. */
export type BtfTypeOf<K extends BtfKind> = K extends BtfKind ? OfKind<BtfType, K> : never;
type OfKind<T, K> = T extends { kind: infer TK } ? (K extends TK ? T : never) : never;

/** The string section (continuing a base's offsets for split BTF). */
class StringTable {
  /** One past the last valid offset, base strings included. */
  readonly end: number;
  private readonly start: number;
  /** The section decoded byte-per-char on first use, so each name is one cheap slice. */
  private latin1: string | undefined;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly base: StringTable | undefined,
  ) {
    this.start = base?.end ?? 0;
    this.end = this.start + bytes.length;
  }

  /** The NUL-terminated string at `off`; the caller has checked `off < end`. */
  get(off: number): string {
    if (off < this.start) return this.base!.get(off);
    const rel = off - this.start;
    this.latin1 ??= Buffer.from(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength).toString('latin1');
    const end = this.latin1.indexOf('\0', rel);
    const s = this.latin1.slice(rel, end);
    return NON_ASCII.test(s) ? UTF8.decode(this.bytes.subarray(rel, end)) : s;
  }

  /** Every offset (base included) holding exactly `name`. */
  find(name: string): number[] {
    const found = this.base?.find(name) ?? [];
    const buf = Buffer.from(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
    const needle = Buffer.from(`\0${name}\0`);
    if (this.start > 0 && buf.subarray(0, needle.length - 1).equals(needle.subarray(1))) found.push(this.start);
    for (let p = buf.indexOf(needle); p >= 0; p = buf.indexOf(needle, p + 1)) found.push(this.start + p + 1);
    return found;
  }
}

/** The validated raw type section: where each own type's record starts, its kind and name offset. */
interface RawTypes {
  readonly dv: DataView;
  readonly le: boolean;
  readonly offsets: Uint32Array;
  readonly kinds: Uint8Array;
  readonly nameOffs: Uint32Array;
}

/**
 * A parsed BTF type table. Type ids run from 0 (void) to `count - 1`; for split BTF the base's
 * ids come first and this table's own types start at `firstId`.
 */
export class Btf {
  /** The base BTF this split BTF extends (e.g. vmlinux for a module), if any. */
  readonly base: Btf | undefined;
  /** The first type id defined by this table itself (1 without a base). */
  readonly firstId: number;
  /** Number of type ids, void and base types included. */
  readonly count: number;
  /** Byte order of the BTF and so of the data it describes. */
  readonly littleEndian: boolean;
  private readonly raw: RawTypes;
  private readonly strings: StringTable;
  private readonly cache: (BtfType | undefined)[];
  private all: readonly BtfType[] | undefined;
  private ptrSize: number | undefined;
  private tagIndex: Map<string, string[]> | undefined;

  /** Use `parseBtf`: the constructor takes already-validated parts. */
  constructor(raw: RawTypes, strings: StringTable, base: Btf | undefined) {
    this.raw = raw;
    this.strings = strings;
    this.base = base;
    this.firstId = base ? base.count : 1;
    this.count = this.firstId + raw.offsets.length;
    this.littleEndian = raw.le;
    this.cache = new Array<BtfType | undefined>(raw.offsets.length);
  }

  /**
   * All types indexed by id (`types[0]` is void), base types included. Builds every type object on
   * first access (a few hundred milliseconds for vmlinux); prefer `type(id)` and `findByName`.
   */
  get types(): readonly BtfType[] {
    if (this.all === undefined) {
      const all = this.base ? this.base.types.slice() : [VOID];
      for (let id = this.firstId; id < this.count; id++) all.push(this.type(id));
      this.all = all;
    }
    return this.all;
  }

  /** The type with this id; throws BtfError for an id out of range. */
  type(id: number): BtfType {
    if (!Number.isInteger(id) || id < 0 || id >= this.count) throw new BtfError(`BTF: type id ${id} is out of range (0..${this.count - 1})`);
    if (id < this.firstId) return this.base ? this.base.type(id) : VOID;
    const i = id - this.firstId;
    return (this.cache[i] ??= this.build(id));
  }

  /** The name of a type ('' when anonymous). */
  name(id: number): string {
    return this.type(id).name;
  }

  /** The string at an offset of the string section (offsets past a base's strings continue here). */
  string(offset: number): string {
    if (!Number.isInteger(offset) || offset < 0 || offset >= this.strings.end) throw new BtfError(`BTF: string offset ${offset} is outside the string section (${this.strings.end} bytes)`);
    return this.strings.get(offset);
  }

  /** One past the last valid string offset (a base's strings included). */
  get stringsEnd(): number {
    return this.strings.end;
  }

  /** The first type (lowest id, base included) with this name, optionally of this kind; undefined when none. */
  findByName<K extends BtfKind>(name: string, kind?: K): BtfTypeOf<K> | undefined {
    return this.findAllByName(name, kind)[0];
  }

  /** Every type with this name, optionally of this kind, in id order (base types first). */
  findAllByName<K extends BtfKind>(name: string, kind?: K): BtfTypeOf<K>[] {
    if (name === '') return [];
    const found = this.base ? this.base.findAllByName(name, kind) : [];
    const wanted = this.strings.find(name);
    if (wanted.length === 0) return found;
    const kindNum = kind === undefined ? -1 : BTF_KINDS.indexOf(kind);
    const { nameOffs, kinds } = this.raw;
    for (let i = 0; i < nameOffs.length; i++) {
      if ((kindNum < 0 || kinds[i] === kindNum) && wanted.includes(nameOffs[i]!)) found.push(this.type(this.firstId + i) as BtfTypeOf<K>);
    }
    return found;
  }

  /** The type behind typedef, const, volatile, restrict and type_tag layers (the type itself otherwise). */
  resolve(id: number): BtfType {
    let t = this.type(id);
    // parseBtf rejected reference loops, so this walk ends.
    while (TRANSPARENT_KINDS.has(t.kind)) t = this.type((t as { type: number }).type);
    return t;
  }

  /** Size in bytes of a value of this type; throws BtfError for void, fwd, func and the like. */
  sizeof(id: number): number {
    const t = this.resolve(id);
    switch (t.kind) {
      case 'int':
      case 'enum':
      case 'enum64':
      case 'struct':
      case 'union':
      case 'float':
      case 'datasec':
        return t.size;
      case 'ptr':
        return this.pointerSize;
      case 'array':
        return t.nelems * this.sizeof(t.type);
      case 'var':
        return this.sizeof(t.type);
      default:
        throw new BtfError(`BTF: type ${id} (${t.kind}) has no size`);
    }
  }

  /** The enumerators of an enum or enum64 type (through typedefs and qualifiers). */
  enumValues(id: number): readonly BtfEnumValue[] {
    const t = this.resolve(id);
    if (t.kind !== 'enum' && t.kind !== 'enum64') throw new BtfError(`BTF: type ${id} is ${t.kind}, not an enum`);
    return t.values;
  }

  /**
   * The `btf_decl_tag` strings on type `id` (`componentIdx` -1, the default) or on its member or
   * parameter `componentIdx`, in id order, a base's tags first. Indexed on first use.
   */
  declTags(id: number, componentIdx = -1): readonly string[] {
    if (this.tagIndex === undefined) {
      this.tagIndex = new Map();
      for (let i = 0; i < this.raw.kinds.length; i++) {
        if (this.raw.kinds[i] !== KIND_DECL_TAG) continue;
        const t = this.type(this.firstId + i);
        if (t.kind !== 'decl_tag') continue;
        const key = `${t.type}:${t.componentIdx}`;
        const list = this.tagIndex.get(key);
        if (list) list.push(t.name);
        else this.tagIndex.set(key, [t.name]);
      }
    }
    const own = this.tagIndex.get(`${id}:${componentIdx}`) ?? [];
    const base = this.base && id < this.firstId ? this.base.declTags(id, componentIdx) : [];
    return base.length ? [...base, ...own] : own;
  }

  /**
   * Pointer size of the described target in bytes: the size of `long` when the table has it (as
   * libbpf guesses it), else 8 (BPF programs).
   */
  get pointerSize(): number {
    if (this.ptrSize === undefined) {
      this.ptrSize = this.base?.pointerSize ?? 8;
      for (let i = 0; i < this.raw.kinds.length; i++) {
        if (this.raw.kinds[i] !== KIND_INT) continue;
        const t = this.type(this.firstId + i);
        if (t.kind === 'int' && LONG_NAMES.has(t.name) && (t.size === 4 || t.size === 8)) {
          this.ptrSize = t.size;
          break;
        }
      }
    }
    return this.ptrSize;
  }

  /** A C-like spelling of a type for messages and schemas: `__u32`, `struct task_struct *`, `char[16]`. */
  format(id: number): string {
    return this.formatAt(id, 0);
  }

  private formatAt(id: number, depth: number): string {
    if (depth > 16) return '...';
    const t = this.type(id);
    switch (t.kind) {
      case 'void':
        return 'void';
      case 'struct':
      case 'union':
        return `${t.kind} ${t.name || '(anon)'}`;
      case 'enum':
      case 'enum64':
        return `enum ${t.name || '(anon)'}`;
      case 'fwd':
        return `${t.fwdKind} ${t.name}`;
      case 'ptr': {
        const target = this.type(t.type);
        if (target.kind === 'func_proto') return `${this.formatAt(target.type, depth + 1)} (*)(${this.formatParams(target.params, depth)})`;
        return `${this.formatAt(t.type, depth + 1)} *`;
      }
      case 'array': {
        let dims = '';
        let elem: BtfType = t;
        while (elem.kind === 'array') {
          dims += `[${elem.nelems}]`;
          elem = this.type(elem.type);
        }
        return `${this.formatAt(elem.id, depth + 1)}${dims}`;
      }
      case 'const':
      case 'volatile':
      case 'restrict': {
        const inner = this.formatAt(t.type, depth + 1);
        return this.type(t.type).kind === 'ptr' ? `${inner} ${t.kind}` : `${t.kind} ${inner}`;
      }
      case 'type_tag':
        return this.formatAt(t.type, depth + 1);
      case 'func_proto':
        return `${this.formatAt(t.type, depth + 1)} (${this.formatParams(t.params, depth)})`;
      default:
        return t.name;
    }
  }

  private formatParams(params: readonly BtfParam[], depth: number): string {
    if (params.length === 0) return 'void';
    return params.map((p) => (p.type === 0 ? '...' : this.formatAt(p.type, depth + 1))).join(', ');
  }

  /** Builds the object of an own type from its validated record. */
  private build(id: number): BtfType {
    const { dv, le } = this.raw;
    const i = id - this.firstId;
    const strings = this.strings;
    let off = this.raw.offsets[i]!;
    const name = strings.get(this.raw.nameOffs[i]!);
    const info = dv.getUint32(off + 4, le);
    const sizeOrType = dv.getUint32(off + 8, le);
    const vlen = info & 0xffff;
    const kflag = info >>> 31 === 1;
    const kind = BTF_KINDS[this.raw.kinds[i]!]!;
    off += TYPE_HEADER_LEN;
    switch (kind) {
      case 'int': {
        const v = dv.getUint32(off, le);
        const encoding = v >>> 24;
        return { id, kind, name, size: sizeOrType, bits: v & 0xff, bitOffset: (v >>> 16) & 0xff, signed: (encoding & 1) !== 0, char: (encoding & 2) !== 0, bool: (encoding & 4) !== 0 };
      }
      case 'ptr':
      case 'typedef':
      case 'volatile':
      case 'const':
      case 'restrict':
        return { id, kind, name, type: sizeOrType };
      case 'type_tag':
        return { id, kind, name, type: sizeOrType, attribute: kflag };
      case 'array':
        return { id, kind, name, type: dv.getUint32(off, le), indexType: dv.getUint32(off + 4, le), nelems: dv.getUint32(off + 8, le) };
      case 'struct':
      case 'union': {
        const members: BtfMember[] = new Array(vlen);
        for (let m = 0; m < vlen; m++, off += 12) {
          const raw = dv.getUint32(off + 8, le);
          members[m] = { name: strings.get(dv.getUint32(off, le)), type: dv.getUint32(off + 4, le), bitOffset: kflag ? raw & 0xffffff : raw, bitfieldSize: kflag ? raw >>> 24 : 0 };
        }
        return { id, kind, name, size: sizeOrType, members };
      }
      case 'enum':
      case 'enum64': {
        const values: BtfEnumValue[] = new Array(vlen);
        for (let m = 0; m < vlen; m++) {
          let value: bigint;
          if (kind === 'enum64') {
            const v = (BigInt(dv.getUint32(off + 8, le)) << 32n) | BigInt(dv.getUint32(off + 4, le));
            value = kflag ? BigInt.asIntN(64, v) : v;
          } else {
            value = BigInt(kflag ? dv.getInt32(off + 4, le) : dv.getUint32(off + 4, le));
          }
          values[m] = { name: strings.get(dv.getUint32(off, le)), value };
          off += kind === 'enum64' ? 12 : 8;
        }
        return { id, kind, name, size: sizeOrType, signed: kflag, values };
      }
      case 'fwd':
        return { id, kind, name, fwdKind: kflag ? 'union' : 'struct' };
      case 'func':
        return { id, kind, name, type: sizeOrType, linkage: LINKAGES[vlen]! };
      case 'func_proto': {
        const params: BtfParam[] = new Array(vlen);
        for (let m = 0; m < vlen; m++, off += 8) params[m] = { name: strings.get(dv.getUint32(off, le)), type: dv.getUint32(off + 4, le) };
        return { id, kind, name, type: sizeOrType, params };
      }
      case 'var':
        return { id, kind, name, type: sizeOrType, linkage: LINKAGES[dv.getUint32(off, le)]! };
      case 'datasec': {
        const vars: BtfVarSecinfo[] = new Array(vlen);
        for (let m = 0; m < vlen; m++, off += 12) vars[m] = { type: dv.getUint32(off, le), offset: dv.getUint32(off + 4, le), size: dv.getUint32(off + 8, le) };
        return { id, kind, name, size: sizeOrType, vars };
      }
      case 'float':
        return { id, kind, name, size: sizeOrType };
      case 'decl_tag':
        return { id, kind, name, type: sizeOrType, componentIdx: dv.getInt32(off, le), attribute: kflag };
      case 'void':
        return VOID;
    }
  }
}

const VOID: BtfType = Object.freeze({ id: 0, kind: 'void', name: '' });

/**
 * Parses raw BTF (the contents of `/sys/kernel/btf/vmlinux` or of an object's `.BTF` section).
 * With `base`, parses split BTF (a kernel module's): type ids continue after the base's last id and
 * string offsets continue after the base's string section. Validates the header, section bounds,
 * every record's length and fields, every string offset and type id, and rejects reference loops
 * (a typedef of itself...); any defect throws BtfError.
 */
export function parseBtf(data: Uint8Array, base?: Btf): Btf {
  if (data.length < HEADER_LEN) throw new BtfError(`BTF: ${data.length} bytes is shorter than the ${HEADER_LEN}-byte header`);
  let le: boolean;
  if (data[0] === (BTF_MAGIC & 0xff) && data[1] === BTF_MAGIC >> 8) le = true;
  else if (data[0] === BTF_MAGIC >> 8 && data[1] === (BTF_MAGIC & 0xff)) le = false;
  else throw new BtfError(`BTF: bad magic 0x${hex2(data[0]!)}${hex2(data[1]!)} (want 0xeb9f in either byte order)`);
  if (base && base.littleEndian !== le) throw new BtfError('BTF: split BTF and its base differ in byte order');
  if (data[2] !== 1) throw new BtfError(`BTF: unsupported version ${data[2]}`);
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const hdrLen = dv.getUint32(4, le);
  if (hdrLen < HEADER_LEN || hdrLen > data.length) throw new BtfError(`BTF: header length ${hdrLen} is invalid for ${data.length} bytes`);
  const typeOff = dv.getUint32(8, le);
  const typeLen = dv.getUint32(12, le);
  const strOff = dv.getUint32(16, le);
  const strLen = dv.getUint32(20, le);
  const bodyLen = data.length - hdrLen;
  if (typeOff > bodyLen || typeLen > bodyLen - typeOff) throw new BtfError(`BTF: type section (offset ${typeOff}, length ${typeLen}) overruns the ${bodyLen}-byte body`);
  if (strOff > bodyLen || strLen > bodyLen - strOff) throw new BtfError(`BTF: string section (offset ${strOff}, length ${strLen}) overruns the ${bodyLen}-byte body`);
  if (typeOff % 4 !== 0 || typeLen % 4 !== 0) throw new BtfError(`BTF: type section (offset ${typeOff}, length ${typeLen}) is not 4-byte aligned`);
  const strBytes = data.subarray(hdrLen + strOff, hdrLen + strOff + strLen);
  if (!base && (strLen === 0 || strBytes[0] !== 0)) throw new BtfError('BTF: string section must start with an empty string');
  if (strLen > 0 && strBytes[strLen - 1] !== 0) throw new BtfError('BTF: string section is not NUL-terminated');
  const strings = new StringTable(strBytes, base?.['strings']);
  const raw = scanTypes(dv, le, hdrLen + typeOff, hdrLen + typeOff + typeLen, base ? base.count : 1, strings.end);
  return new Btf(raw, strings, base);
}

function hex2(b: number): string {
  return b.toString(16).padStart(2, '0');
}

/**
 * One validating pass over the type section. Records each type's offset, kind and name offset, and
 * checks record lengths, kind-specific fields, string offsets, type ids and reference loops.
 */
function scanTypes(dv: DataView, le: boolean, start: number, end: number, firstId: number, strEnd: number): RawTypes {
  // A type record is at least 12 bytes, which bounds the arrays; they are trimmed at the end.
  const cap = Math.floor((end - start) / TYPE_HEADER_LEN);
  const offsets = new Uint32Array(cap);
  const kinds = new Uint8Array(cap);
  const nameOffs = new Uint32Array(cap);
  // For single-reference kinds, the id they refer to (else -1): used to find loops.
  const targets = new Int32Array(cap).fill(-1);
  let maxRef = 0;
  let maxRefFrom = 0;
  let n = 0;
  let off = start;
  const fail = (msg: string): never => {
    const k = kinds[n]!;
    throw new BtfError(`BTF: type ${firstId + n} (${k > 0 && k < BTF_KINDS.length ? BTF_KINDS[k] : `kind ${k}`}): ${msg}`);
  };
  const nameAt = (o: number): void => {
    const s = dv.getUint32(o, le);
    if (s >= strEnd) fail(`string offset ${s} is outside the string section (${strEnd} bytes)`);
  };
  const ref = (id: number): void => {
    if (id > maxRef) {
      maxRef = id;
      maxRefFrom = n;
    }
  };
  const need = (bytes: number): void => {
    if (off + bytes > end) fail(`record is truncated: needs ${bytes} more bytes, ${end - off} left in the type section`);
  };

  while (off < end) {
    if (off + TYPE_HEADER_LEN > end) throw new BtfError(`BTF: type ${firstId + n} header is truncated (${end - off} bytes left in the type section)`);
    const info = dv.getUint32(off + 4, le);
    const kind = (info >>> 24) & 0x1f;
    const vlen = info & 0xffff;
    const sizeOrType = dv.getUint32(off + 8, le);
    offsets[n] = off;
    kinds[n] = kind;
    nameOffs[n] = dv.getUint32(off, le);
    nameAt(off);
    off += TYPE_HEADER_LEN;
    switch (kind) {
      case KIND_INT: {
        need(4);
        const v = dv.getUint32(off, le);
        const bits = v & 0xff;
        const bitOffset = (v >>> 16) & 0xff;
        if (![1, 2, 4, 8, 16].includes(sizeOrType) || bits === 0 || bitOffset + bits > sizeOrType * 8) fail(`invalid int: size ${sizeOrType}, bits ${bits}, offset ${bitOffset}`);
        off += 4;
        break;
      }
      case KIND_PTR:
      case KIND_TYPEDEF:
      case KIND_VOLATILE:
      case KIND_CONST:
      case KIND_RESTRICT:
      case KIND_TYPE_TAG:
      case KIND_FUNC:
        if (kind === KIND_FUNC && vlen >= LINKAGES.length) fail(`unknown linkage ${vlen}`);
        ref(sizeOrType);
        targets[n] = sizeOrType;
        break;
      case KIND_ARRAY: {
        need(12);
        const elem = dv.getUint32(off, le);
        ref(elem);
        ref(dv.getUint32(off + 4, le));
        targets[n] = elem;
        off += 12;
        break;
      }
      case KIND_STRUCT:
      case KIND_UNION:
        need(vlen * 12);
        for (let m = 0; m < vlen; m++, off += 12) {
          nameAt(off);
          ref(dv.getUint32(off + 4, le));
        }
        break;
      case KIND_ENUM:
      case KIND_ENUM64: {
        const recLen = kind === KIND_ENUM64 ? 12 : 8;
        need(vlen * recLen);
        if (![1, 2, 4, 8].includes(sizeOrType)) fail(`invalid enum size ${sizeOrType}`);
        for (let m = 0; m < vlen; m++, off += recLen) nameAt(off);
        break;
      }
      case KIND_FWD:
        break;
      case KIND_FUNC_PROTO:
        need(vlen * 8);
        ref(sizeOrType);
        for (let m = 0; m < vlen; m++, off += 8) {
          nameAt(off);
          ref(dv.getUint32(off + 4, le));
        }
        break;
      case KIND_VAR:
        need(4);
        if (dv.getUint32(off, le) >= LINKAGES.length) fail(`unknown linkage ${dv.getUint32(off, le)}`);
        ref(sizeOrType);
        targets[n] = sizeOrType;
        off += 4;
        break;
      case KIND_DATASEC:
        need(vlen * 12);
        for (let m = 0; m < vlen; m++, off += 12) ref(dv.getUint32(off, le));
        break;
      case KIND_FLOAT:
        if (![2, 4, 8, 12, 16].includes(sizeOrType)) fail(`invalid float size ${sizeOrType}`);
        break;
      case KIND_DECL_TAG:
        need(4);
        ref(sizeOrType);
        targets[n] = sizeOrType;
        off += 4;
        break;
      default:
        fail(`unknown kind ${kind}`);
    }
    n++;
  }

  const count = firstId + n;
  if (maxRef >= count) {
    const from = firstId + maxRefFrom;
    throw new BtfError(`BTF: type ${from} (${BTF_KINDS[kinds[maxRefFrom]!]}) refers to type id ${maxRef}, out of range (${count} types)`);
  }
  checkLoops(targets.subarray(0, n), kinds, firstId);
  return { dv, le, offsets: offsets.slice(0, n), kinds: kinds.slice(0, n), nameOffs: nameOffs.slice(0, n) };
}

/**
 * Rejects loops through single-reference kinds (ptr, array, typedef, qualifiers, type tags, var,
 * decl_tag, func): the kernel refuses such BTF, and `resolve`, `sizeof` and `format` rely on their
 * absence. Each such type has one outgoing edge, so one walk per unvisited type finds every loop.
 */
function checkLoops(targets: Int32Array, kinds: Uint8Array, firstId: number): void {
  const state = new Uint8Array(targets.length); // 0 unseen, 1 on the current walk, 2 known to end
  const path: number[] = [];
  for (let i = 0; i < targets.length; i++) {
    let cur = i;
    while (cur >= 0 && state[cur] === 0 && targets[cur]! >= 0) {
      state[cur] = 1;
      path.push(cur);
      cur = targets[cur]! - firstId; // negative once the walk leaves this table (void or base types)
      if (cur >= 0 && state[cur] === 1) throw new BtfError(`BTF: type ${firstId + cur} (${BTF_KINDS[kinds[cur]!]}) is part of a reference loop`);
    }
    for (const p of path) state[p] = 2;
    path.length = 0;
  }
}
