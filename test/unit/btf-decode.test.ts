import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BtfError, compileDecoder, parseBtf } from '../../src/btf/index.js';
import { BtfBuilder, RecordWriter } from './btf-builder.js';

/** Common integer types, by C name. */
function ints(b: BtfBuilder) {
  return {
    u8: b.int('unsigned char', 1),
    s8: b.int('signed char', 1, { signed: true }),
    char: b.int('char', 1, { signed: true, char: true }),
    u16: b.int('unsigned short', 2),
    s16: b.int('short', 2, { signed: true }),
    u32: b.int('unsigned int', 4),
    s32: b.int('int', 4, { signed: true }),
    u64: b.int('unsigned long long', 8),
    s64: b.int('long long', 8, { signed: true }),
    bool: b.int('_Bool', 1, { bool: true }),
  };
}

/** Decodes `bytes` as the single-member struct `{ T v; }` for each member type. */
function decodeOne(build: (b: BtfBuilder, t: ReturnType<typeof ints>) => number, bytes: Uint8Array): unknown {
  const b = new BtfBuilder();
  const t = ints(b);
  const id = build(b, t);
  return compileDecoder(parseBtf(b.build()), id)(bytes);
}

function throwsBtf(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof BtfError && message.test(e.message));
}

describe('compileDecoder: integers', () => {
  const b = new BtfBuilder();
  const t = ints(b);
  const rec = b.struct('ints', 32, [
    ['u8', t.u8, 0], ['s8', t.s8, 8], ['u16', t.u16, 16], ['s16', t.s16, 32], ['b', t.bool, 48],
    ['u32', t.u32, 64], ['s32', t.s32, 96], ['u64', t.u64, 128], ['s64', t.s64, 192],
  ]);
  const decode = compileDecoder(parseBtf(b.build()), rec);
  const record = (u64: bigint, s64: bigint) =>
    new RecordWriter(32).u8(0, 255).u8(1, -1).u16(2, 65535).u16(4, -32768).u8(6, 2).u32(8, 4294967295).u32(12, -2147483648).u64(16, u64).u64(24, s64).bytes;

  it('decodes every width and sign', () => {
    assert.deepEqual(decode(record(7n, -7n)), { u8: 255, s8: -1, u16: 65535, s16: -32768, b: true, u32: 4294967295, s32: -2147483648, u64: 7, s64: -7 });
  });

  it('keeps 64-bit values exact: numbers up to 2^53-1, decimal strings beyond', () => {
    const pairs: [bigint, unknown, bigint, unknown][] = [
      [2n ** 53n - 1n, 9007199254740991, -(2n ** 53n - 1n), -9007199254740991],
      [2n ** 53n, '9007199254740992', -(2n ** 53n), '-9007199254740992'],
      [2n ** 63n + 5n, '9223372036854775813', -(2n ** 63n), '-9223372036854775808'],
      [2n ** 64n - 1n, '18446744073709551615', 2n ** 63n - 1n, '9223372036854775807'],
      [0n, 0, -1n, -1],
    ];
    for (const [u, uWant, s, sWant] of pairs) {
      const v = decode(record(u, s)) as { u64: unknown; s64: unknown };
      assert.equal(v.u64, uWant, `u64 ${u}`);
      assert.equal(v.s64, sWant, `s64 ${s}`);
    }
  });

  it('decodes a bare scalar type', () => {
    assert.equal(decodeOne((_, t) => t.s8, new Uint8Array([0xff])), -1);
    assert.equal(decodeOne((_, t) => t.bool, new Uint8Array([0])), false);
    assert.equal(decodeOne((b) => b.int('__int128 unsigned', 16), new RecordWriter(16).u64(0, 5n).u64(8, 1n).bytes), '18446744073709551621');
    assert.equal(decodeOne((b) => b.int('__int128', 16, { signed: true }), new Uint8Array(16).fill(0xff)), -1);
  });

  it('decodes at an offset', () => {
    const b2 = new BtfBuilder();
    const u32 = b2.int('unsigned int', 4);
    const decodeU32 = compileDecoder(parseBtf(b2.build()), u32);
    assert.equal(decodeU32(new Uint8Array([9, 9, 0x78, 0x56, 0x34, 0x12]), 2), 0x12345678);
  });
});

describe('compileDecoder: bitfields', () => {
  it('extracts a 3-bit field at bit offset 5', () => {
    // bits 5..7 of byte 0 hold 0b110.
    const v = decodeOne((b, t) => b.struct('bf', 4, [['lo', t.u32, 0, 5], ['f', t.u32, 5, 3], ['rest', t.u32, 8, 24]]), new Uint8Array([0b1101_0101, 0x01, 0, 0]));
    assert.deepEqual(v, { lo: 0b10101, f: 6, rest: 1 });
  });

  it('sign-extends signed bitfields', () => {
    const v = decodeOne((b, t) => b.struct('bf', 4, [['a', t.s32, 0, 4], ['b', t.s32, 4, 4], ['c', t.s32, 8, 24]]), new RecordWriter(4).u32(0, 0xffffff_d7).bytes);
    assert.deepEqual(v, { a: 7, b: -3, c: -1 });
  });

  it('reads fields that straddle bytes and wide fields', () => {
    // 10 bits at offset 13; 40 bits at offset 23 (crosses 32 bits: the wide path); a full 64-bit bitfield.
    const w = new RecordWriter(16).u64(0, (0x3a5n << 13n) | (0xab_cdef_0123n << 23n)).u64(8, 2n ** 64n - 2n);
    const v = decodeOne((b, t) => b.struct('bf', 16, [['x', t.u64, 13, 10], ['y', t.u64, 23, 40], ['z', t.u64, 64, 64]]), w.bytes);
    assert.deepEqual(v, { x: 0x3a5, y: 0xab_cdef_0123, z: '18446744073709551614' });
  });

  it('reads old-style bitfields (int type with bits and offset, no kind_flag)', () => {
    const v = decodeOne((b) => b.struct('old', 4, [['f', b.int('int:5', 4, { bits: 5, offset: 0 }), 3]]), new Uint8Array([0b1011_1000, 0, 0, 0]));
    assert.deepEqual(v, { f: 0b10111 });
  });

  it('decodes bool and enum bitfields', () => {
    const v = decodeOne((b, t) => {
      const e = b.enum('color', 4, [['RED', 1], ['BLUE', 2]]);
      return b.struct('bf', 4, [['on', t.bool, 0, 1], ['color', e, 1, 2]]);
    }, new Uint8Array([0b101, 0, 0, 0]));
    assert.deepEqual(v, { on: true, color: 'BLUE' });
  });

  it('follows big-endian bit numbering', () => {
    const b = new BtfBuilder({ littleEndian: false });
    const u32 = b.int('unsigned int', 4);
    const s = b.struct('be', 8, [['f', u32, 0, 3], ['g', u32, 3, 13], ['w', u32, 32]]);
    const v = compileDecoder(parseBtf(b.build()), s)(new Uint8Array([0b1010_0000, 0x01, 0, 0, 0x12, 0x34, 0x56, 0x78]));
    assert.deepEqual(v, { f: 5, g: 1, w: 0x12345678 });
  });
});

describe('compileDecoder: enums', () => {
  const b = new BtfBuilder();
  const level = b.enum('level', 4, [['LOW', -1], ['MID', 0], ['HIGH', 7]], true);
  const flags = b.enum('flags', 1, [['A', 1], ['ALSO_A', 1], ['B', 200]]);
  const huge = b.enum64('huge', 8, [['TOP', (1n << 63n) + 5n], ['ONE', 1n]]);
  const neg = b.enum64('neg', 8, [['MIN', -(1n << 63n)]], true);
  const btf = parseBtf(b.build());

  it('decodes a value to its name', () => {
    assert.equal(compileDecoder(btf, level)(new RecordWriter(4).u32(0, -1).bytes), 'LOW');
    assert.equal(compileDecoder(btf, level)(new RecordWriter(4).u32(0, 7).bytes), 'HIGH');
    assert.equal(compileDecoder(btf, flags)(new Uint8Array([200])), 'B');
    assert.equal(compileDecoder(btf, flags)(new Uint8Array([1])), 'A');
  });

  it('returns the number for an unnamed value', () => {
    assert.equal(compileDecoder(btf, level)(new RecordWriter(4).u32(0, -5).bytes), -5);
    assert.equal(compileDecoder(btf, flags)(new Uint8Array([3])), 3);
  });

  it('decodes enum64 values past 2^53', () => {
    const d = compileDecoder(btf, huge);
    assert.equal(d(new RecordWriter(8).u64(0, (1n << 63n) + 5n).bytes), 'TOP');
    assert.equal(d(new RecordWriter(8).u64(0, 1n).bytes), 'ONE');
    assert.equal(d(new RecordWriter(8).u64(0, (1n << 63n) + 6n).bytes), '9223372036854775814');
    assert.equal(compileDecoder(btf, neg)(new RecordWriter(8).u64(0, -(1n << 63n)).bytes), 'MIN');
  });
});

describe('compileDecoder: char arrays', () => {
  const b = new BtfBuilder();
  const t = ints(b);
  const comm = b.array(t.char, 16);
  const bytes8 = b.array(t.u8, 8);
  const signed4 = b.array(t.s8, 4);
  const btf = parseBtf(b.build());
  const decodeComm = compileDecoder(btf, comm);
  const text = (s: string | number[]): Uint8Array => {
    const out = new Uint8Array(16);
    out.set(typeof s === 'string' ? new TextEncoder().encode(s) : s);
    return out;
  };

  it('decodes text up to the first NUL', () => {
    assert.equal(decodeComm(text('bash')), 'bash');
    assert.equal(decodeComm(text([0x62, 0x61, 0x73, 0x68, 0, 0x7a, 0x7a])), 'bash');
    assert.equal(decodeComm(text('0123456789abcdef')), '0123456789abcdef');
    assert.equal(decodeComm(text('kworker/0:1H-ev')), 'kworker/0:1H-ev');
    assert.equal(decodeComm(text('a\tb')), 'a\tb');
  });

  it('decodes long text', () => {
    const b2 = new BtfBuilder();
    const path = b2.array(b2.int('char', 1, { signed: true }), 64);
    const long = '/usr/lib/x86_64-linux-gnu/libc.so.6\tand more';
    const bytes = new Uint8Array(64);
    bytes.set(new TextEncoder().encode(long));
    assert.equal(compileDecoder(parseBtf(b2.build()), path)(bytes), long);
    bytes.set(new TextEncoder().encode('/usr/lib/x86_64-linux-gnu/libc.so.6'));
    bytes[35] = 0;
    assert.equal(compileDecoder(parseBtf(b2.build()), path)(bytes), '/usr/lib/x86_64-linux-gnu/libc.so.6');
  });

  it('decodes UTF-8 text', () => {
    assert.equal(decodeComm(text('héllo €')), 'héllo €');
  });

  it('decodes all zeros as the empty string', () => {
    assert.equal(decodeComm(new Uint8Array(16)), '');
  });

  it('keeps non-text as numbers', () => {
    assert.deepEqual(decodeComm(text([0x41, 0x01, 0x42])), [0x41, 1, 0x42, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert.deepEqual(decodeComm(text([0xff, 0xfe])), [-1, -2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert.deepEqual(decodeComm(text([0xc2, 0x85])), [-62, -123, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 'U+0085 is a C1 control');
    assert.deepEqual(compileDecoder(btf, bytes8)(new Uint8Array([0, 0x11, 0x22, 0x33, 0x44, 0x55, 0, 0])), [0, 0x11, 0x22, 0x33, 0x44, 0x55, 0, 0], 'a leading NUL with data after it is not an empty string');
  });

  it('treats u8 and s8 arrays like char arrays', () => {
    assert.equal(compileDecoder(btf, bytes8)(new TextEncoder().encode('eth0\0\0\0\0')), 'eth0');
    assert.deepEqual(compileDecoder(btf, signed4)(new Uint8Array([0x80, 1, 2, 3])), [-128, 1, 2, 3]);
  });
});

describe('compileDecoder: composites', () => {
  const b = new BtfBuilder();
  const t = ints(b);
  const point = b.struct('point', 8, [['x', t.s32, 0], ['y', t.s32, 32]]);
  const row = b.array(t.u16, 3);
  const grid = b.array(row, 2);
  const points = b.array(point, 2);
  const word = b.union('word', 4, [['raw', t.u32, 0], ['half', b.array(t.u16, 2), 0], ['bytes', b.array(t.u8, 4), 0]]);
  const inner = b.struct('', 4, [['lo', t.u16, 0], ['hi', t.u16, 16]]);
  const anonUnion = b.union('', 4, [['whole', t.u32, 0], ['split', inner, 0]]);
  const anonStruct = b.struct('', 2, [['p', t.u8, 0], ['q', t.u8, 8]]);
  const shape = b.struct('shape', 48, [
    ['origin', point, 0], ['grid', grid, 64], ['', t.u32, 160, 8], ['pts', points, 192], ['', anonUnion, 320], ['', anonStruct, 352],
  ]);
  const btf = parseBtf(b.build());
  const decode = compileDecoder(btf, shape);
  const rec = new RecordWriter(48)
    .u32(0, -3).u32(4, 4)
    .u16(8, 1).u16(10, 2).u16(12, 3).u16(14, 4).u16(16, 5).u16(18, 6)
    .u8(20, 0xee)
    .u32(24, 10).u32(28, 20).u32(32, 30).u32(36, -40)
    .u32(40, 0x00020001)
    .u8(44, 7).u8(45, 8);

  it('decodes nested structs, multi-dimensional arrays and arrays of structs', () => {
    assert.deepEqual(decode(rec.bytes), {
      origin: { x: -3, y: 4 },
      grid: [[1, 2, 3], [4, 5, 6]],
      pts: [{ x: 10, y: 20 }, { x: 30, y: -40 }],
      whole: 131073,
      split: { lo: 1, hi: 2 },
      p: 7,
      q: 8,
    });
  });

  it('decodes every union member over the same bytes', () => {
    assert.deepEqual(compileDecoder(btf, word)(new Uint8Array([0x41, 0x42, 0x43, 0])), { raw: 0x434241, half: [0x4241, 0x43], bytes: 'ABC' });
  });

  it('uses loops for long arrays', () => {
    const b2 = new BtfBuilder();
    const u32 = b2.int('unsigned int', 4);
    const arr = b2.array(b2.struct('pair', 8, [['a', u32, 0], ['b', u32, 32]]), 100);
    const bytes = new Uint8Array(800);
    const dv = new DataView(bytes.buffer);
    for (let i = 0; i < 200; i++) dv.setUint32(i * 4, i, true);
    const out = compileDecoder(parseBtf(b2.build()), arr)(bytes) as { a: number; b: number }[];
    assert.equal(out.length, 100);
    assert.deepEqual(out[0], { a: 0, b: 1 });
    assert.deepEqual(out[99], { a: 198, b: 199 });
  });

  it('keeps member names that are JavaScript specials as plain properties', () => {
    const v = decodeOne((b2, t2) => b2.struct('odd', 3, [['__proto__', t2.u8, 0], ['constructor', t2.u8, 8], ['a b"c', t2.u8, 16]]), new Uint8Array([1, 2, 3])) as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(v), Object.prototype);
    assert.deepEqual(Object.entries(v), [['__proto__', 1], ['constructor', 2], ['a b"c', 3]]);
  });
});

describe('compileDecoder: other kinds', () => {
  const b = new BtfBuilder();
  const t = ints(b);
  const f32 = b.float('float', 4);
  const f64 = b.float('double', 8);
  const f16 = b.float('_Float16', 2);
  const f128 = b.float('long double', 16);
  const opaque = b.fwd('opaque');
  const proto = b.funcProto(t.s32, []);
  const fn = b.func('f', proto);
  const ptr = b.ptr(opaque);
  const tagged = b.typeTag('user', b.qualifier('const', b.qualifier('volatile', b.typedef('u32_t', t.u32))));
  const all = b.struct('misc', 64, [
    ['f', f32, 0], ['d', f64, 64], ['h', f16, 128], ['p', ptr, 192], ['q', b.ptr(proto), 256], ['t', tagged, 320], ['ld', f128, 384],
  ]);
  const counter = b.variable('counter', t.u32);
  const flag = b.variable('flag', t.bool);
  const data = b.datasec('.data', 8, [[counter, 0, 4], [flag, 4, 1]]);
  const btf = parseBtf(b.build());

  it('decodes floats, pointers and looks through qualifiers and tags', () => {
    const rec = new RecordWriter(64).f32(0, 1.5).f64(8, -2.25).u16(16, 0x3c00).u64(24, 0xffff888100001234n).u32(40, 77);
    assert.deepEqual(compileDecoder(btf, all)(rec.bytes), { f: 1.5, d: -2.25, h: 1, p: '0xffff888100001234', q: '0x0', t: 77, ld: null });
  });

  it('spells non-finite floats as strings', () => {
    assert.equal(compileDecoder(btf, f64)(new RecordWriter(8).f64(0, NaN).bytes), 'NaN');
    assert.equal(compileDecoder(btf, f32)(new RecordWriter(4).f32(0, -Infinity).bytes), '-Infinity');
    assert.equal(compileDecoder(btf, f16)(new RecordWriter(2).u16(0, 0x7c00).bytes), 'Infinity');
    assert.equal(compileDecoder(btf, f16)(new RecordWriter(2).u16(0, 0x0001).bytes), 2 ** -24);
  });

  it('decodes void, fwd and functions as null', () => {
    for (const id of [0, opaque, proto, fn]) assert.equal(compileDecoder(btf, id)(new Uint8Array(0)), null, btf.format(id));
  });

  it('decodes a datasec by variable name', () => {
    assert.deepEqual(compileDecoder(btf, data)(new RecordWriter(8).u32(0, 5).u8(4, 1).bytes), { counter: 5, flag: true });
  });
});

describe('compileDecoder: guards', () => {
  it('throws BtfError with sizes for a short record', () => {
    const b = new BtfBuilder();
    const u64 = b.int('unsigned long long', 8);
    const s = b.struct('event', 48, [['ts', u64, 0]]);
    const decode = compileDecoder(parseBtf(b.build()), s);
    assert.equal(decode.size, 48);
    throwsBtf(() => decode(new Uint8Array(47)), /^decode: record has 47 bytes at offset 0, the type needs 48$/);
    throwsBtf(() => decode(new Uint8Array(60), 20), /record has 40 bytes at offset 20/);
    throwsBtf(() => decode(new Uint8Array(60), -1), /invalid offset -1/);
    throwsBtf(() => decode([1, 2, 3] as unknown as Uint8Array), /expected a Uint8Array/);
  });

  it('cuts long arrays, counting nested elements, and reports it', () => {
    const b = new BtfBuilder();
    const u32 = b.int('unsigned int', 4);
    const u8 = b.int('unsigned char', 1);
    const matrix = b.array(b.array(u32, 100), 100);
    const s = b.struct('big', 40000 + 8192 + 8, [['m', matrix, 0], ['buf', b.array(u8, 8192), 320000], ['tail', b.array(u32, 2), 385536]]);
    const btf = parseBtf(b.build());
    const decode = compileDecoder(btf, s);
    assert.deepEqual(decode.truncated, [{ path: 'm', kept: 40, total: 100 }, { path: 'buf', kept: 4096, total: 8192 }]);
    const out = decode(new Uint8Array(decode.size)) as { m: number[][]; buf: string; tail: number[] };
    assert.equal(out.m.length, 40);
    assert.equal(out.m[39]!.length, 100);
    assert.equal(out.buf, '');
    assert.deepEqual(out.tail, [0, 0]);
    assert.deepEqual(compileDecoder(btf, s, { maxArrayElements: 10 }).truncated, [
      { path: 'm[]', kept: 9, total: 100 },
      { path: 'm', kept: 1, total: 100 },
      { path: 'buf', kept: 10, total: 8192 },
    ]);
  });

  it('refuses types nested deeper than maxDepth', () => {
    const b = new BtfBuilder();
    let id = b.int('int', 4);
    for (let i = 0; i < 40; i++) id = b.struct(`level${i}`, 4, [['next', id, 0]]);
    const btf = parseBtf(b.build());
    throwsBtf(() => compileDecoder(btf, id), new RegExp(`^type ${id} nests deeper than maxDepth 32$`));
    let v = compileDecoder(btf, id, { maxDepth: 41 })(new Uint8Array([1, 0, 0, 0])) as Record<string, unknown>;
    for (let i = 0; i < 40; i++) v = v.next as Record<string, unknown>;
    assert.equal(v, 1);
  });

  it('refuses a struct that contains itself instead of recursing forever', () => {
    const b = new BtfBuilder();
    const self = b.nextId;
    b.struct('ouroboros', 4, [['me', self, 0]]);
    throwsBtf(() => compileDecoder(parseBtf(b.build()), self), /nests deeper than maxDepth/);
  });

  it('refuses members outside their struct', () => {
    const b = new BtfBuilder();
    const u32 = b.int('unsigned int', 4);
    const s = b.struct('bad', 4, [['x', u32, 16]]);
    throwsBtf(() => compileDecoder(parseBtf(b.build()), s), new RegExp(`^type ${s}: a member of type ${s} \\(bits 16\\.\\.48\\) exceeds its 4 bytes$`));
  });

  it('refuses a struct whose fields double at each level', () => {
    const b = new BtfBuilder();
    let id = b.struct('empty', 0, []);
    for (let i = 0; i < 20; i++) id = b.struct(`twice${i}`, 0, [['a', id, 0], ['b', id, 0]]);
    throwsBtf(() => compileDecoder(parseBtf(b.build()), id), /too large to decode/);
  });

  it('validates options', () => {
    const b = new BtfBuilder();
    const u32 = b.int('unsigned int', 4);
    const btf = parseBtf(b.build());
    throwsBtf(() => compileDecoder(btf, u32, { maxDepth: 0 }), /maxDepth/);
    throwsBtf(() => compileDecoder(btf, u32, { maxArrayElements: -1 }), /maxArrayElements/);
    throwsBtf(() => compileDecoder(btf, 99), /out of range/);
  });
});
