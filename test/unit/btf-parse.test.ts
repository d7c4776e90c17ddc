import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BtfError, compileDecoder, parseBtf, schemaFor, type Btf } from '../../src/btf/index.js';
import { BtfBuilder } from './btf-builder.js';

/** One type of every kind, with the ids the assertions refer to. */
function everyKind() {
  const b = new BtfBuilder();
  const ids = {
    int: b.int('int', 4, { signed: true }),
    uchar: b.int('unsigned char', 1, { char: true }),
    bool: b.int('_Bool', 1, { bool: true }),
    ptr: 0,
    arr: 0,
    pair: 0,
    either: 0,
    level: 0,
    opaque: b.fwd('opaque', true),
    myint: 0,
    vol: 0,
    cst: 0,
    rst: 0,
    proto: 0,
    fn: 0,
    counter: 0,
    data: 0,
    dbl: b.float('double', 8),
    tag: 0,
    user: 0,
    big: 0,
  };
  ids.ptr = b.ptr(ids.int);
  ids.arr = b.array(ids.int, 8);
  ids.pair = b.struct('pair', 8, [['a', ids.int, 0], ['b', ids.uchar, 32, 3], ['c', ids.uchar, 35, 5]]);
  ids.either = b.union('either', 4, [['i', ids.int, 0], ['c', ids.uchar, 0]]);
  ids.level = b.enum('level', 4, [['LOW', -1], ['HIGH', 7]], true);
  ids.myint = b.typedef('myint', ids.int);
  ids.vol = b.qualifier('volatile', ids.myint);
  ids.cst = b.qualifier('const', ids.vol);
  ids.rst = b.qualifier('restrict', ids.ptr);
  ids.proto = b.funcProto(ids.int, [['x', ids.int], ['', 0]]);
  ids.fn = b.func('do_it', ids.proto, 1);
  ids.counter = b.variable('counter', ids.int, 1);
  ids.data = b.datasec('.data', 4, [[ids.counter, 0, 4]]);
  ids.tag = b.declTag('tagged', ids.pair, 1);
  ids.user = b.typeTag('user', ids.cst, true);
  ids.big = b.enum64('big', 8, [['HUGE', (1n << 63n) + 5n], ['ALL', (1n << 64n) - 1n]]);
  return { bytes: b.build(), ids };
}

function throwsBtf(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof BtfError && message.test(e.message));
}

describe('parseBtf: every kind', () => {
  const { bytes, ids } = everyKind();
  const btf = parseBtf(bytes);

  it('counts ids from void', () => {
    assert.equal(btf.count, ids.big + 1);
    assert.equal(btf.firstId, 1);
    assert.deepEqual(btf.type(0), { id: 0, kind: 'void', name: '' });
    assert.equal(btf.types.length, btf.count);
    assert.equal(btf.types[ids.pair], btf.type(ids.pair));
  });

  it('decodes int encodings', () => {
    assert.deepEqual(btf.type(ids.int), { id: ids.int, kind: 'int', name: 'int', size: 4, bits: 32, bitOffset: 0, signed: true, char: false, bool: false });
    assert.deepEqual(btf.type(ids.uchar), { id: ids.uchar, kind: 'int', name: 'unsigned char', size: 1, bits: 8, bitOffset: 0, signed: false, char: true, bool: false });
    const bool = btf.type(ids.bool);
    assert.equal(bool.kind === 'int' && bool.bool, true);
  });

  it('decodes pointers, arrays and qualifiers', () => {
    assert.deepEqual(btf.type(ids.ptr), { id: ids.ptr, kind: 'ptr', name: '', type: ids.int });
    assert.deepEqual(btf.type(ids.arr), { id: ids.arr, kind: 'array', name: '', type: ids.int, indexType: ids.int, nelems: 8 });
    assert.deepEqual(btf.type(ids.cst), { id: ids.cst, kind: 'const', name: '', type: ids.vol });
    assert.deepEqual(btf.type(ids.rst), { id: ids.rst, kind: 'restrict', name: '', type: ids.ptr });
    assert.deepEqual(btf.type(ids.user), { id: ids.user, kind: 'type_tag', name: 'user', type: ids.cst, attribute: true });
  });

  it('decodes struct bitfield members (kind_flag) and unions', () => {
    const pair = btf.type(ids.pair);
    assert.equal(pair.kind, 'struct');
    assert.deepEqual(pair.kind === 'struct' && pair.members, [
      { name: 'a', type: ids.int, bitOffset: 0, bitfieldSize: 0 },
      { name: 'b', type: ids.uchar, bitOffset: 32, bitfieldSize: 3 },
      { name: 'c', type: ids.uchar, bitOffset: 35, bitfieldSize: 5 },
    ]);
    const either = btf.type(ids.either);
    assert.deepEqual(either.kind === 'union' && either.members.map((m) => [m.name, m.bitOffset]), [['i', 0], ['c', 0]]);
  });

  it('decodes signed enums and enum64 exactly', () => {
    assert.deepEqual(btf.enumValues(ids.level), [{ name: 'LOW', value: -1n }, { name: 'HIGH', value: 7n }]);
    const level = btf.type(ids.level);
    assert.equal(level.kind === 'enum' && level.signed, true);
    assert.deepEqual(btf.enumValues(ids.big), [
      { name: 'HUGE', value: 9223372036854775813n },
      { name: 'ALL', value: 18446744073709551615n },
    ]);
    throwsBtf(() => btf.enumValues(ids.int), /not an enum/);
  });

  it('decodes fwd, func, func_proto, var, datasec, float and decl_tag', () => {
    assert.deepEqual(btf.type(ids.opaque), { id: ids.opaque, kind: 'fwd', name: 'opaque', fwdKind: 'union' });
    assert.deepEqual(btf.type(ids.fn), { id: ids.fn, kind: 'func', name: 'do_it', type: ids.proto, linkage: 'global' });
    assert.deepEqual(btf.type(ids.proto), { id: ids.proto, kind: 'func_proto', name: '', type: ids.int, params: [{ name: 'x', type: ids.int }, { name: '', type: 0 }] });
    assert.deepEqual(btf.type(ids.counter), { id: ids.counter, kind: 'var', name: 'counter', type: ids.int, linkage: 'global' });
    assert.deepEqual(btf.type(ids.data), { id: ids.data, kind: 'datasec', name: '.data', size: 4, vars: [{ type: ids.counter, offset: 0, size: 4 }] });
    assert.deepEqual(btf.type(ids.dbl), { id: ids.dbl, kind: 'float', name: 'double', size: 8 });
    assert.deepEqual(btf.type(ids.tag), { id: ids.tag, kind: 'decl_tag', name: 'tagged', type: ids.pair, componentIdx: 1, attribute: false });
  });

  it('resolves through typedef, qualifiers and type tags', () => {
    assert.equal(btf.resolve(ids.user).id, ids.int);
    assert.equal(btf.resolve(ids.rst).id, ids.ptr);
    assert.equal(btf.resolve(ids.pair).id, ids.pair);
  });

  it('computes sizes and refuses sizeless types', () => {
    assert.equal(btf.sizeof(ids.user), 4);
    assert.equal(btf.sizeof(ids.arr), 32);
    assert.equal(btf.sizeof(ids.ptr), 8);
    assert.equal(btf.sizeof(ids.pair), 8);
    assert.equal(btf.sizeof(ids.counter), 4);
    assert.equal(btf.sizeof(ids.big), 8);
    throwsBtf(() => btf.sizeof(0), /has no size/);
    throwsBtf(() => btf.sizeof(ids.opaque), /has no size/);
    throwsBtf(() => btf.sizeof(ids.fn), /has no size/);
  });

  it('finds types by name and kind', () => {
    assert.equal(btf.findByName('pair')?.id, ids.pair);
    assert.equal(btf.findByName('pair', 'struct')?.members.length, 3);
    assert.equal(btf.findByName('pair', 'union'), undefined);
    assert.equal(btf.findByName('nope'), undefined);
    assert.equal(btf.findByName(''), undefined);
    assert.equal(btf.name(ids.fn), 'do_it');
    assert.equal(btf.string(btf.string(0).length), '');
  });

  it('formats C-like type names', () => {
    assert.equal(btf.format(ids.cst), 'const volatile myint');
    assert.equal(btf.format(ids.rst), 'int * restrict');
    assert.equal(btf.format(ids.arr), 'int[8]');
    assert.equal(btf.format(ids.pair), 'struct pair');
    assert.equal(btf.format(ids.level), 'enum level');
    assert.equal(btf.format(ids.opaque), 'union opaque');
    assert.equal(btf.format(ids.proto), 'int (int, ...)');
    assert.equal(btf.format(0), 'void');
  });

  it('rejects ids out of range', () => {
    throwsBtf(() => btf.type(btf.count), /out of range/);
    throwsBtf(() => btf.type(-1), /out of range/);
    throwsBtf(() => btf.type(1.5), /out of range/);
  });
});

describe('parseBtf: layouts', () => {
  it('formats multi-dimensional arrays and function pointers', () => {
    const b = new BtfBuilder();
    const int = b.int('int', 4, { signed: true });
    const row = b.array(int, 3);
    const grid = b.array(row, 2);
    const fp = b.ptr(b.funcProto(int, [['a', int]]));
    const btf = parseBtf(b.build());
    assert.equal(btf.format(grid), 'int[2][3]');
    assert.equal(btf.sizeof(grid), 24);
    assert.equal(btf.format(fp), 'int (*)(int)');
  });

  it('reads big-endian BTF', () => {
    const b = new BtfBuilder({ littleEndian: false });
    const u16 = b.int('u16', 2);
    const s = b.struct('be', 4, [['x', u16, 0], ['y', u16, 16]]);
    const btf = parseBtf(b.build());
    assert.equal(btf.littleEndian, false);
    assert.deepEqual(btf.findByName('be', 'struct')?.members.map((m) => [m.name, m.bitOffset]), [['x', 0], ['y', 16]]);
    assert.equal(btf.sizeof(s), 4);
  });

  it('guesses the pointer size from long', () => {
    const b = new BtfBuilder();
    const p = b.ptr(b.int('long int', 4, { signed: true }));
    assert.equal(parseBtf(b.build()).sizeof(p), 4);
  });
});

describe('parseBtf: split BTF', () => {
  const base = new BtfBuilder();
  const u32 = base.int('unsigned int', 4);
  base.struct('base_thing', 4, [['v', u32, 0]]);
  const baseBytes = base.build();
  const baseBtf = parseBtf(baseBytes);
  const baseStrLen = new DataView(baseBytes.buffer).getUint32(20, true);

  const mod = new BtfBuilder({ firstId: baseBtf.count, strBase: baseStrLen });
  const modStruct = mod.struct('mod_thing', 8, [['own', u32, 0], ['extra', u32, 32]]);
  const typedefId = mod.type(base.str('unsigned int'), 8, 0, false, u32); // a name from the base's strings
  const split = parseBtf(mod.build(), baseBtf);

  it('continues type ids after the base', () => {
    assert.equal(split.firstId, baseBtf.count);
    assert.equal(modStruct, baseBtf.count);
    assert.equal(split.count, typedefId + 1);
    assert.equal(split.type(u32), baseBtf.type(u32));
    assert.equal(split.types.length, split.count);
  });

  it('continues string offsets after the base', () => {
    const t = split.findByName('mod_thing', 'struct');
    assert.equal(t?.id, modStruct);
    assert.equal(split.name(typedefId), 'unsigned int');
    assert.equal(split.resolve(typedefId).id, u32);
  });

  it('finds base types through the split table', () => {
    assert.equal(split.findByName('base_thing')?.id, baseBtf.findByName('base_thing')?.id);
    assert.deepEqual(split.findAllByName('unsigned int').map((t) => t.kind), ['int', 'typedef']);
  });

  it('refuses a split table of the other byte order', () => {
    const be = new BtfBuilder({ firstId: baseBtf.count, strBase: baseStrLen, littleEndian: false });
    be.int('x', 4);
    throwsBtf(() => parseBtf(be.build(), baseBtf), /byte order/);
  });
});

describe('parseBtf: malformed input', () => {
  const good = (): Uint8Array => everyKind().bytes;
  const withHeader = (field: number, value: number): Uint8Array => {
    const bytes = good();
    new DataView(bytes.buffer).setUint32(field, value, true);
    return bytes;
  };

  it('rejects a truncated header', () => throwsBtf(() => parseBtf(good().subarray(0, 10)), /shorter than the 24-byte header/));
  it('rejects bad magic', () => {
    const bytes = good();
    bytes[0] = 0x7f;
    throwsBtf(() => parseBtf(bytes), /bad magic 0x7feb/);
  });
  it('rejects an unknown version', () => {
    const bytes = good();
    bytes[2] = 2;
    throwsBtf(() => parseBtf(bytes), /unsupported version 2/);
  });
  it('rejects a bad header length', () => throwsBtf(() => parseBtf(withHeader(4, 1 << 30)), /header length/));
  it('rejects a type section past the end', () => throwsBtf(() => parseBtf(withHeader(12, 0xfffffff0)), /type section .* overruns/));
  it('rejects a string section past the end', () => throwsBtf(() => parseBtf(withHeader(20, 0xfffffff0)), /string section .* overruns/));
  it('rejects a truncated file', () => {
    const bytes = good();
    throwsBtf(() => parseBtf(bytes.subarray(0, bytes.length - 40)), /overruns/);
  });
  it('rejects an unterminated string section', () => {
    const bytes = good();
    bytes[bytes.length - 1] = 0x41;
    throwsBtf(() => parseBtf(bytes), /not NUL-terminated/);
  });

  it('rejects a type name offset out of range', () => {
    const b = new BtfBuilder();
    b.type(9999, 1, 0, false, 4, [32]);
    throwsBtf(() => parseBtf(b.build()), /type 1 \(int\): string offset 9999 is outside/);
  });

  it('rejects a member name offset out of range', () => {
    const b = new BtfBuilder();
    const int = b.int('int', 4);
    b.type('s', 4, 1, false, 4, [5000, int, 0]);
    throwsBtf(() => parseBtf(b.build()), /type 2 \(struct\): string offset 5000/);
  });

  it('rejects a type id out of range', () => {
    const b = new BtfBuilder();
    b.int('int', 4);
    b.ptr(99);
    throwsBtf(() => parseBtf(b.build()), /type 2 \(ptr\) refers to type id 99, out of range \(3 types\)/);
  });

  it('rejects a member type id out of range', () => {
    const b = new BtfBuilder();
    b.struct('s', 4, [['x', 7, 0]]);
    throwsBtf(() => parseBtf(b.build()), /type 1 \(struct\) refers to type id 7/);
  });

  it('rejects a typedef of itself', () => {
    const b = new BtfBuilder();
    b.typedef('loop', b.nextId);
    throwsBtf(() => parseBtf(b.build()), /type 1 \(typedef\) is part of a reference loop/);
  });

  it('rejects longer reference loops', () => {
    const b = new BtfBuilder();
    const first = b.nextId;
    b.typedef('a', first + 1);
    b.qualifier('const', first + 2);
    b.ptr(first);
    throwsBtf(() => parseBtf(b.build()), /reference loop/);
  });

  it('rejects a truncated record', () => {
    const b = new BtfBuilder();
    const int = b.int('int', 4);
    b.type('s', 4, 5, false, 4, [b.str('x'), int, 0]);
    throwsBtf(() => parseBtf(b.build()), /type 2 \(struct\): record is truncated/);
  });

  it('rejects an unknown kind', () => {
    const b = new BtfBuilder();
    b.type('x', 25, 0, false, 0);
    throwsBtf(() => parseBtf(b.build()), /unknown kind 25/);
  });

  it('rejects invalid int, enum and float sizes', () => {
    for (const build of [
      (b: BtfBuilder) => b.int('i3', 3),
      (b: BtfBuilder) => b.int('wide', 1, { bits: 9 }),
      (b: BtfBuilder) => b.enum('e', 3, []),
      (b: BtfBuilder) => b.float('f', 5),
    ]) {
      const b = new BtfBuilder();
      build(b);
      throwsBtf(() => parseBtf(b.build()), /invalid/);
    }
  });

  it('survives random corruption with BtfError only', () => {
    // A deterministic xorshift PRNG: the same corruptions on every run.
    let seed = 0x2545f491;
    const rand = (n: number): number => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) % n;
    };
    const original = good();
    let parsed = 0;
    for (let round = 0; round < 3000; round++) {
      const bytes = original.slice(0, round % 5 === 0 ? rand(original.length) : original.length);
      for (let k = 1 + rand(4); k > 0 && bytes.length > 0; k--) bytes[rand(bytes.length)] = rand(256);
      let btf: Btf;
      try {
        btf = parseBtf(bytes);
      } catch (e) {
        assert.ok(e instanceof BtfError, `round ${round}: ${String(e)}`);
        continue;
      }
      parsed++;
      for (let id = 0; id < btf.count; id++) {
        for (const use of [
          () => btf.format(id),
          () => btf.sizeof(id),
          () => schemaFor(btf, id),
          () => {
            const decode = compileDecoder(btf, id);
            if (decode.size <= 1 << 16) decode(new Uint8Array(decode.size));
          },
        ]) {
          try {
            use();
          } catch (e) {
            assert.ok(e instanceof BtfError, `round ${round}, type ${id}: ${String(e)}`);
          }
        }
      }
    }
    assert.ok(parsed > 100, `only ${parsed} corrupted inputs parsed: the fuzz no longer reaches the decoder`);
  });
});
