import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { BtfError, EncodeError, compileDecoder, dataGlobals, elfSection, encodeValue, parseBtf } from '../../src/btf/index.js';
import { objectGlobals } from '../../src/obj/object-globals.js';
import { BtfBuilder } from './btf-builder.js';

/** A struct of every kind the encoder takes, in one byte order. */
function kinds(littleEndian: boolean) {
  const b = new BtfBuilder({ littleEndian });
  const u8 = b.int('unsigned char', 1);
  const s8 = b.int('signed char', 1, { signed: true });
  const char = b.int('char', 1, { signed: true, char: true });
  const u16 = b.int('unsigned short', 2);
  const s16 = b.int('short', 2, { signed: true });
  const u32 = b.int('unsigned int', 4);
  const s32 = b.int('int', 4, { signed: true });
  const u64 = b.int('unsigned long long', 8);
  const s64 = b.int('long long', 8, { signed: true });
  const bool = b.int('_Bool', 1, { bool: true });
  const state = b.enum('state', 4, [['IDLE', 0], ['RUNNING', 1], ['DEAD', -1]], true);
  const wide = b.enum64('wide', 8, [['SMALL', 1n], ['HUGE', 0xfedc_ba98_7654_3210n]]);
  const comm = b.array(char, 16, u32);
  const point = b.struct('point', 8, [['x', s32, 0], ['y', s32, 32]]);
  const points = b.array(point, 2, u32);
  const f32 = b.float('float', 4);
  const f64 = b.float('double', 8);
  const rec = b.struct('rec', 96, [
    ['u8', u8, 0], ['s8', s8, 8], ['u16', u16, 16], ['s16', s16, 32], ['b', bool, 48],
    ['flags', u8, 56, 3], ['level', u8, 59, 5],
    ['u32', u32, 64], ['s32', s32, 96], ['u64', u64, 128], ['s64', s64, 192],
    ['state', state, 256], ['comm', comm, 288], ['wide', wide, 448], ['points', points, 512],
    ['ratio', f32, 640], ['mean', f64, 704],
  ]);
  return { btf: parseBtf(b.build()), rec, u8, s8, u16, s16, u32, s32, u64, s64, bool, state, wide, comm, points };
}

const full = {
  u8: 255, s8: -128, u16: 65535, s16: -32768, b: true, flags: 5, level: 31,
  u32: 4294967295, s32: -2147483648, u64: '18446744073709551615', s64: '-9223372036854775808',
  state: 'DEAD', comm: 'workload', wide: 'HUGE', points: [{ x: -1, y: 2 }, { x: 3, y: -4 }],
  ratio: 0.5, mean: -1.25,
};

/** The EncodeError of `fn`, whose message matches. */
function encodeError(fn: () => unknown, message: RegExp): EncodeError {
  let caught: unknown;
  assert.throws(fn, (e: unknown) => ((caught = e), e instanceof EncodeError && message.test(e.message)));
  return caught as EncodeError;
}

describe('encodeValue: the mirror of compileDecoder', () => {
  for (const le of [true, false]) {
    it(`round-trips every kind at its extremes, ${le ? 'little' : 'big'}-endian`, () => {
      const { btf, rec } = kinds(le);
      const bytes = new Uint8Array(100);
      encodeValue(btf, rec, full, bytes, 4);
      assert.deepEqual(compileDecoder(btf, rec)(bytes, 4), full);
      assert.deepEqual([...bytes.subarray(0, 4)], [0, 0, 0, 0], 'nothing written before the offset');
    });
  }

  it('round-trips values decoded from random bytes (numbers, decimal strings, enum values without a name)', () => {
    const { btf, rec } = kinds(true);
    const decode = compileDecoder(btf, rec);
    let seed = 7;
    for (let round = 0; round < 200; round++) {
      const bytes = new Uint8Array(96).map(() => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff);
      bytes.fill(0, 36, 52); // comm: text, so it decodes to a string
      bytes.set([0x41, 0x42], 36);
      bytes.fill(0, 80, 96); // floats: finite
      const value = decode(bytes) as Record<string, unknown>;
      const again = new Uint8Array(96);
      encodeValue(btf, rec, value, again);
      assert.deepEqual(decode(again), value);
    }
  });

  it('takes a u64 past 2^53 as a decimal string, exactly, and refuses it as an inexact number', () => {
    const { btf, u64 } = kinds(true);
    const bytes = new Uint8Array(8);
    encodeValue(btf, u64, '9007199254740993', bytes);
    assert.equal(new DataView(bytes.buffer).getBigUint64(0, true), 9007199254740993n);
    assert.equal(compileDecoder(btf, u64)(bytes), '9007199254740993');
    encodeValue(btf, u64, 9007199254740991, bytes);
    assert.equal(new DataView(bytes.buffer).getBigUint64(0, true), 9007199254740991n);
    encodeError(() => encodeValue(btf, u64, 2 ** 60, bytes), /past 2\^53.*decimal string/);
    encodeError(() => encodeValue(btf, u64, '18446744073709551616', bytes), /out of range for its type \(0\.\.18446744073709551615\)/);
  });

  it('refuses each integer width one past its range, with the range', () => {
    const t = kinds(true);
    const cases: [number, number | string, string, number | string][] = [
      [t.u8, 256, 'unsigned char', 255], [t.u8, -1, 'unsigned char', 255], [t.s8, 128, 'signed char', 127], [t.s8, -129, 'signed char', 127],
      [t.u16, 65536, 'unsigned short', 65535], [t.s16, -32769, 'short', 32767],
      [t.u32, 4294967296, 'unsigned int', 4294967295], [t.u32, -1, 'unsigned int', 4294967295], [t.s32, 2147483648, 'int', 2147483647],
      [t.s64, '9223372036854775808', 'long long', '9223372036854775807'],
    ];
    for (const [id, value, ctype, max] of cases) {
      const e = encodeError(() => encodeValue(t.btf, id, value, new Uint8Array(8)), new RegExp(`^${value} is out of range for its type`));
      assert.equal(e.ctype, ctype);
      assert.equal(e.details.max, max);
      assert.equal(e.path, '');
    }
  });

  it('refuses values of the wrong kind, saying where inside the value', () => {
    const t = kinds(true);
    const bytes = new Uint8Array(96);
    encodeError(() => encodeValue(t.btf, t.u32, 1.5, bytes), /takes an integer, not 1\.5/);
    encodeError(() => encodeValue(t.btf, t.u32, 'ten', bytes), /takes an integer \(a number, or a decimal string\), not the string "ten"/);
    encodeError(() => encodeValue(t.btf, t.u32, true, bytes), /not a boolean/);
    assert.equal(encodeError(() => encodeValue(t.btf, t.bool, 1, bytes), /^its type takes true or false/).ctype, '_Bool', 'the type is named in ctype, not in the message');
    const en = encodeError(() => encodeValue(t.btf, t.state, 'GONE', bytes), /its type has no enumerator "GONE"/);
    assert.equal(en.ctype, 'enum state');
    assert.deepEqual(en.details.enumerators, ['IDLE', 'RUNNING', 'DEAD']);
    const long = encodeError(() => encodeValue(t.btf, t.comm, 'sixteen-letters!', bytes), /is 16 bytes; its type holds at most 15 and the NUL/);
    assert.equal(long.ctype, 'char[16]');
    assert.equal(long.details.max_bytes, 15);
    encodeError(() => encodeValue(t.btf, t.comm, 'a\u0000b', bytes), /without NUL/);
    const nested = encodeError(() => encodeValue(t.btf, t.rec, { points: [{ x: 1 }, { x: 'far' }] }, bytes), /its type takes an integer/);
    assert.equal(nested.ctype, 'int');
    assert.equal(nested.path, '.points[1].x');
    const field = encodeError(() => encodeValue(t.btf, t.rec, { pid: 1 }, bytes), /its type has no field "pid"/);
    assert.equal(field.ctype, 'struct rec');
    assert.equal(field.path, '.pid');
    assert.ok((field.details.fields as string[]).includes('u32'));
    encodeError(() => encodeValue(t.btf, t.points, [{}, {}, {}], bytes), /holds 2 elements, not 3/);
  });

  it('sets enums by name or value, writes only the fields given, and zeroes a char array past its string', () => {
    const t = kinds(true);
    const decode = compileDecoder(t.btf, t.rec);
    const bytes = new Uint8Array(96);
    encodeValue(t.btf, t.rec, full, bytes);
    encodeValue(t.btf, t.rec, { state: 1, comm: 'sh', flags: 2 }, bytes);
    assert.deepEqual(decode(bytes), { ...full, state: 'RUNNING', comm: 'sh', flags: 2 });
    assert.deepEqual([...bytes.subarray(36, 52)], [0x73, 0x68, ...new Array(14).fill(0)]);
  });

  it('refuses a type that does not fit the buffer at the offset, as a BtfError', () => {
    const t = kinds(true);
    assert.throws(() => encodeValue(t.btf, t.u64, 1, new Uint8Array(8), 4), (e: unknown) => e instanceof BtfError && !(e instanceof EncodeError) && /8 bytes do not fit at offset 4 of 8/.test(e.message));
  });
});

describe('dataGlobals and objectGlobals', () => {
  it('lists the globals of each data section, marking the const volatile ones, with their types unqualified', () => {
    const b = new BtfBuilder();
    const u32 = b.int('unsigned int', 4);
    const u32t = b.typedef('__u32', u32);
    const cv = b.qualifier('const', b.qualifier('volatile', u32t));
    const c = b.qualifier('const', u32t);
    const tgid = b.variable('target_tgid', cv);
    const fixed = b.variable('fixed', c);
    const counter = b.variable('counter', u32t);
    b.datasec('.rodata', 8, [[tgid, 0, 4], [fixed, 4, 4]]);
    b.datasec('.bss', 4, [[counter, 0, 4]]);
    const globals = dataGlobals(parseBtf(b.build()));
    assert.deepEqual(
      globals.map((g) => [g.section, g.name, g.offset, g.size, g.ctype, g.constVolatile]),
      [['.rodata', 'target_tgid', 0, 4, '__u32', true], ['.rodata', 'fixed', 4, 4, '__u32', false], ['.bss', 'counter', 0, 4, '__u32', false]],
    );
  });

  const object = fileURLToPath(new URL('../../../bpf/.output/fixtures/params.bpf.o', import.meta.url));
  it('reads the compiled params fixture at the offsets libbpf gives (from the symbol table), and sets its .rodata', { skip: existsSync(object) ? false : `${object} is not built` }, () => {
    const elf = readFileSync(object);
    const { btf, globals } = objectGlobals(elf);
    assert.deepEqual(
      globals.map((g) => [g.section, g.name, g.offset, g.size, g.ctype, g.constVolatile]),
      [
        ['.bss', 'hits', 0, 8, '__u64', false],
        ['.rodata', 'min_ns', 0, 8, '__u64', true],
        ['.rodata', 'delta', 8, 2, '__s16', true],
        ['.rodata', 'flags', 10, 1, '__u8', true],
        ['.rodata', 'enabled', 11, 1, 'bool', true],
        ['.rodata', 'mode', 12, 4, 'enum params_mode', true],
        ['.rodata', 'comm', 16, 16, 'char[16]', true],
        ['.rodata', 'fixed', 32, 4, '__u32', false],
      ],
    );
    const rodata = Uint8Array.from(elfSection(elf, '.rodata')!);
    const read = () => Object.fromEntries(globals.filter((g) => g.section === '.rodata').map((g) => [g.name, compileDecoder(btf!, g.typeId)(rodata, g.offset)]));
    assert.deepEqual(read(), { min_ns: 0, delta: -1, flags: 7, enabled: false, mode: 'PARAMS_COUNT', comm: '', fixed: 3 });
    const set = { min_ns: '18446744073709551615', delta: -32768, flags: 255, enabled: true, mode: 'PARAMS_BOTH', comm: 'workload' };
    for (const g of globals.filter((x) => x.name in set)) encodeValue(btf!, g.typeId, set[g.name as keyof typeof set], rodata, g.offset);
    assert.deepEqual(read(), { ...set, fixed: 3 });
  });
});
