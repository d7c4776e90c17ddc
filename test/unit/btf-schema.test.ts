import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BtfError, compileDecoder, parseBtf, schemaFor } from '../../src/btf/index.js';
import { BtfBuilder, RecordWriter, schemaViolation } from './btf-builder.js';

const SIZE = 88;

describe('schemaFor', () => {
  const b = new BtfBuilder();
  const u8 = b.int('unsigned char', 1);
  const char = b.int('char', 1, { signed: true });
  const u32 = b.int('unsigned int', 4);
  const u32t = b.typedef('__u32', u32);
  const s16 = b.typedef('__s16', b.int('short', 2, { signed: true }));
  const u64 = b.typedef('__u64', b.int('unsigned long long', 8));
  const s64 = b.typedef('__s64', b.int('long long', 8, { signed: true }));
  const bool = b.int('_Bool', 1, { bool: true });
  const state = b.enum('state', 4, [['IDLE', 0], ['RUN', 1], ['RUNNING', 1]]);
  const big = b.enum64('big', 8, [['TOP', 1n << 60n]]);
  const point = b.struct('point', 4, [['x', s16, 0], ['y', s16, 16]]);
  const event = b.struct('event', SIZE, [
    ['pid', u32t, 0], ['flags', u32, 32, 3], ['wide', u64, 35, 60], ['ts', u64, 128], ['delta', s64, 192], ['comm', b.array(char, 16), 256],
    ['state', state, 384], ['big', big, 448], ['pts', b.array(point, 2), 512], ['ok', bool, 576], ['ratio', b.float('float', 4), 608],
    ['ptr', b.ptr(0), 640], ['nothing', b.array(u8, 0), 704],
  ]);
  const btf = parseBtf(b.build());
  const schema = schemaFor(btf, event);
  const decode = compileDecoder(btf, event);

  it('lists exactly the keys the decoder produces, all required', () => {
    const value = decode(new Uint8Array(SIZE)) as object;
    assert.deepEqual(Object.keys(schema.properties!), Object.keys(value));
    assert.deepEqual(schema.required, Object.keys(value));
    assert.equal(schema.type, 'object');
    assert.equal(schema.additionalProperties, false);
    assert.equal(schema.description, 'struct event');
  });

  it('describes integers with the C type and exact bounds', () => {
    const p = schema.properties!;
    assert.deepEqual(p.pid, { type: 'integer', minimum: 0, maximum: 4294967295, description: '__u32' });
    assert.deepEqual(p.flags, { type: 'integer', minimum: 0, maximum: 7, description: 'unsigned int:3' });
    assert.deepEqual(p.ok, { type: 'boolean', description: '_Bool' });
    assert.deepEqual(p.pts!.items!.properties!.x, { type: 'integer', minimum: -32768, maximum: 32767, description: '__s16' });
  });

  it('lets 64-bit integers be decimal strings', () => {
    const p = schema.properties!;
    assert.deepEqual(p.ts, { type: ['integer', 'string'], minimum: 0, pattern: '^[0-9]+$', description: '__u64' });
    assert.deepEqual(p.delta, { type: ['integer', 'string'], pattern: '^-?[0-9]+$', description: '__s64' });
    assert.deepEqual(p.wide!.type, ['integer', 'string']);
  });

  it('names enumerators, with a number for unnamed values', () => {
    assert.deepEqual(schema.properties!.state, {
      anyOf: [{ type: 'string', enum: ['IDLE', 'RUN'] }, { type: 'integer', minimum: 0, maximum: 4294967295 }],
      description: 'enum state',
    });
    assert.deepEqual(schema.properties!.big!.anyOf![1], { type: ['integer', 'string'], minimum: 0, pattern: '^[0-9]+$' });
  });

  it('bounds arrays and strings', () => {
    const p = schema.properties!;
    assert.deepEqual(p.comm, {
      anyOf: [
        { type: 'string', maxLength: 16 },
        { type: 'array', items: { type: 'integer', minimum: -128, maximum: 127 }, minItems: 16, maxItems: 16 },
      ],
      description: 'char[16]',
    });
    assert.equal(p.pts!.maxItems, 2);
    assert.equal(p.pts!.description, 'struct point[2]');
    assert.deepEqual(p.ptr, { type: 'string', pattern: '^0x[0-9a-f]+$', description: 'void *' });
    assert.deepEqual(p.nothing!.anyOf!.map((x) => x.maxLength ?? x.maxItems), [0, 0]);
    assert.equal((decode(new Uint8Array(SIZE)) as { nothing: unknown }).nothing, '');
  });

  it('says when an array is cut', () => {
    const b2 = new BtfBuilder();
    const id = b2.array(b2.int('unsigned int', 4), 10);
    const cut = schemaFor(parseBtf(b2.build()), id, { maxArrayElements: 4 });
    assert.equal(cut.maxItems, 4);
    assert.equal(cut.description, 'unsigned int[10] (first 4 of 10 elements decoded)');
  });

  it('accepts what the decoder produces for many records', () => {
    const bytes = new Uint8Array(SIZE);
    for (let i = 0; i < 500; i++) {
      for (let j = 0; j < SIZE; j++) bytes[j] = (i * 7 + j * 31 + ((i * j) >> 3)) & 0xff;
      if (i % 3 === 0) bytes.set(new TextEncoder().encode('sh\0'), 32);
      if (i % 5 === 0) bytes.set(new RecordWriter(8).u64(0, 2n ** 64n - 1n).bytes, 16);
      if (i % 7 === 0) bytes.set(new RecordWriter(8).u64(0, 1n << 60n).bytes, 56);
      const value = decode(bytes);
      assert.equal(schemaViolation(schema, value), undefined, JSON.stringify(value));
    }
  });

  it('applies the same depth guard as the decoder', () => {
    const b2 = new BtfBuilder();
    let id = b2.int('int', 4);
    for (let i = 0; i < 5; i++) id = b2.struct(`l${i}`, 4, [['n', id, 0]]);
    const deep = parseBtf(b2.build());
    assert.throws(() => schemaFor(deep, id, { maxDepth: 4 }), BtfError);
    assert.equal(schemaFor(deep, id, { maxDepth: 5 }).type, 'object');
  });
});
