import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileDecoder, parseBtf } from '../../src/btf/index.js';
import { planType } from '../../src/btf/layout.js';
import { InvalidRequest } from '../../src/kernel/errors.js';
import { RecordProgram } from '../../src/kernel/record-scan.js';
import { Aggregator } from '../../src/stream/aggregate.js';
import { type Field, fieldsOf } from '../../src/stream/fields.js';
import { Pipeline } from '../../src/stream/pipeline.js';
import { RecordType } from '../../src/stream/record-type.js';
import { type CompiledTest, WHERE_OPS, type WhereOp, compileClause } from '../../src/stream/where.js';
import { BtfBuilder } from './btf-builder.js';

const SIZE = 64;
const NAME_AT = 48;
const NAME_LEN = 12;

/**
 * struct rec: every kind a where clause compares. Integers of 1, 2, 4 and 8 bytes signed or not, a
 * signed enum, a bool, a 3-bit bitfield and a double (compared decoded), a char array and a nested
 * struct.
 */
function recBtf(littleEndian: boolean) {
  const b = new BtfBuilder({ littleEndian });
  const u8 = b.int('__u8', 1);
  const s8 = b.int('__s8', 1, { signed: true });
  const u16 = b.int('__u16', 2);
  const s16 = b.int('__s16', 2, { signed: true });
  const s32 = b.int('__s32', 4, { signed: true });
  const u32 = b.int('__u32', 4);
  const s64 = b.int('__s64', 8, { signed: true });
  const u64 = b.int('__u64', 8);
  const bool = b.int('_Bool', 1, { bool: true });
  const color = b.enum('color', 4, [['RED', 1], ['NEG', -2], ['BIG', 100000]], true);
  const dbl = b.float('double', 8);
  const char = b.int('char', 1, { signed: true, char: true });
  const name = b.array(char, NAME_LEN);
  const inner = b.struct('inner', 4, [['port', u16, 0], ['pad', u16, 16]]);
  b.struct('rec', SIZE, [
    ['a', u8, 0], ['b', s8, 8], ['c', u16, 16], ['d', s16, 32], ['e', s32, 64], ['f', u32, 96], ['g', s64, 128], ['h', u64, 192],
    ['color', color, 256], ['flag', bool, 288], ['bf', u8, 297, 3], ['x', dbl, 320], ['name', name, NAME_AT * 8], ['addr', inner, 480],
  ]);
  return parseBtf(b.build());
}

type Values = { a: number; b: number; c: number; d: number; e: number; f: number; g: bigint; h: bigint; color: number; flag: boolean; bf: number; x: number; name: number[]; port: number };

/** A record's bytes, in the byte order given. */
function encode(v: Values, le: boolean): Uint8Array {
  const bytes = new Uint8Array(SIZE);
  const dv = new DataView(bytes.buffer);
  dv.setUint8(0, v.a);
  dv.setInt8(1, v.b);
  dv.setUint16(2, v.c, le);
  dv.setInt16(4, v.d, le);
  dv.setInt32(8, v.e, le);
  dv.setUint32(12, v.f, le);
  dv.setBigInt64(16, v.g, le);
  dv.setBigUint64(24, v.h, le);
  dv.setInt32(32, v.color, le);
  dv.setUint8(36, v.flag ? 1 : 0);
  dv.setUint8(37, le ? v.bf << 1 : v.bf << 4);
  dv.setFloat64(40, v.x, le);
  bytes.set(v.name, NAME_AT);
  dv.setUint16(60, v.port, le);
  return bytes;
}

const text = (s: string) => [...Buffer.from(s.padEnd(NAME_LEN, '\u0000').slice(0, NAME_LEN), 'latin1')];
/** Char arrays: text, empty, text then junk after the NUL, full without NUL, binary, invalid UTF-8, a control char, UTF-8. */
const NAMES = [
  text('abc'),
  text(''),
  [...text('abc').slice(0, 4), 7, 7, 7, 7, 0, 0, 0, 0],
  text('abcdefghijkl'),
  [0, 1, 2, 3, 0, 0, 0, 0, 0, 0, 0, 0],
  [0xff, 0x41, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
  text('a\u0001b'),
  [...Buffer.from('cafés'), 0, 0, 0, 0, 0, 0],
];
const INTS: Record<string, bigint[]> = {
  a: [0n, 1n, 127n, 128n, 255n],
  b: [-128n, -1n, 0n, 1n, 127n],
  c: [0n, 1n, 32768n, 65535n],
  d: [-32768n, -1n, 0n, 32767n],
  e: [-2147483648n, -5n, 0n, 5n, 2147483647n],
  f: [0n, 1n, 2147483648n, 4294967295n],
  g: [-(2n ** 63n), -(2n ** 53n) - 1n, -1n, 0n, 2n ** 53n + 1n, 2n ** 63n - 1n],
  h: [0n, 1n, 2n ** 53n, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 1n],
  color: [1n, -2n, 100000n, 7n],
  bf: [0n, 1n, 5n, 7n],
  port: [0n, 80n, 65535n],
};

/** Records over the value ranges: the i-th takes the i-th value of each list (cycling). */
function sampleValues(): Values[] {
  const at = <T>(list: T[], i: number): T => list[i % list.length] as T;
  return Array.from({ length: 24 }, (_, i) => ({
    a: Number(at(INTS.a as bigint[], i)),
    b: Number(at(INTS.b as bigint[], i)),
    c: Number(at(INTS.c as bigint[], i)),
    d: Number(at(INTS.d as bigint[], i)),
    e: Number(at(INTS.e as bigint[], i)),
    f: Number(at(INTS.f as bigint[], i)),
    g: at(INTS.g as bigint[], i),
    h: at(INTS.h as bigint[], i),
    color: Number(at(INTS.color as bigint[], i)),
    flag: i % 2 === 1,
    bf: Number(at(INTS.bf as bigint[], i)),
    x: at([-1.5, 0, 2.25, 1e300], i),
    name: at(NAMES, i),
    port: Number(at(INTS.port as bigint[], i)),
  }));
}

/** Operands of each field: its values, values just outside its range, and (for u64) as decimal strings. */
function operandsOf(field: Field): unknown[] {
  const key = field.path.startsWith('addr.') ? 'port' : field.path;
  if (field.kind === 'chars') return ['abc', '', 'ab', 'abcdefghijkl', 'abcdefghijklm', 'b', '*b*', 'a?c', 'A', 'a\u0001b', 'caf*', 'cafés'];
  if (field.kind === 'bool') return [true, false];
  if (field.kind === 'float') return [-1.5, 0, 2, 1e300];
  const ints = INTS[key] as bigint[];
  const values = [...ints, ints[0]! - 1n, ints[ints.length - 1]! + 1n].map((v) => (v >= -(2n ** 53n) && v <= 2n ** 53n ? Number(v) : v.toString()));
  return field.kind === 'enum' ? [...values, 'RED', 'NEG', 'BIG'] : values;
}

/** Whether the record of SIZE bytes at `offset` of `b` passes a clause's raw form as a stream runs it: the addon's tests, then the check. */
function passesRaw(t: CompiledTest, b: Uint8Array, offset: number): boolean {
  assert.ok('raw' in t, 'a raw form');
  const program = new RecordProgram(t.raw.length ? [t.raw] : [], t.end);
  return program.select({ bytes: b, index: Uint32Array.of(offset, SIZE), count: 1 }, new Uint32Array(1)) === 1 && (t.check?.(b, offset) ?? true);
}

for (const le of [true, false]) {
  test(`where: raw and decoded comparisons agree on every op, field kind and value (${le ? 'little' : 'big'}-endian)`, () => {
    const btf = recBtf(le);
    const typeId = btf.findAllByName('rec')[0]?.id as number;
    const fields = fieldsOf(planType(btf, typeId));
    const decode = compileDecoder(btf, typeId);
    const records = sampleValues().map((v) => encode(v, le));
    let compared = 0;
    for (const field of fields.values()) {
      if (field.kind === 'object') continue;
      for (const op of WHERE_OPS) {
        for (const value of operandsOf(field)) {
          const v = op === 'in' ? [value, operandsOf(field)[1]] : value;
          let decoded: ReturnType<typeof compileClause>;
          try {
            decoded = compileClause(field, op, v, 'w', 'decoded');
          } catch (e) {
            assert.ok(e instanceof InvalidRequest, String(e));
            continue;
          }
          const got = records.map((r) => (decoded as { decoded: (d: Record<string, unknown>) => boolean }).decoded(decode(r) as Record<string, unknown>));
          if (field.raw) {
            const raw = compileClause(field, op, v, 'w', 'raw');
            // The record at an offset inside a larger buffer, as a ring's batch holds it.
            const raws = records.map((r) => {
              const batch = new Uint8Array(SIZE + 8);
              batch.set(r, 8);
              return passesRaw(raw, batch, 8);
            });
            assert.deepEqual(raws, got, `${field.path} ${op} ${JSON.stringify(v)}`);
          }
          compared++;
        }
      }
    }
    assert.ok(compared > 400, `${compared} comparisons`);
  });
}

test('where: the comparisons mean what they say (signed, past 2^53, char arrays up to the first NUL)', () => {
  const btf = recBtf(true);
  const typeId = btf.findAllByName('rec')[0]?.id as number;
  const fields = fieldsOf(planType(btf, typeId));
  const values = sampleValues();
  const records = values.map((v) => encode(v, true));
  const which = (path: string, op: WhereOp, value: unknown) => {
    const t = compileClause(fields.get(path) as Field, op, value, 'w');
    assert.ok('raw' in t, `${path} is compared raw`);
    return records.flatMap((r, i) => (passesRaw(t, r, 0) ? [i] : []));
  };
  const expect = (pred: (v: Values) => boolean) => values.flatMap((v, i) => (pred(v) ? [i] : []));
  assert.deepEqual(which('e', 'lt', 0), expect((v) => v.e < 0));
  assert.deepEqual(which('b', 'ge', -1), expect((v) => v.b >= -1));
  assert.deepEqual(which('h', 'gt', (2n ** 53n).toString()), expect((v) => v.h > 2n ** 53n));
  assert.deepEqual(which('h', 'eq', (2n ** 64n - 1n).toString()), expect((v) => v.h === 2n ** 64n - 1n));
  assert.deepEqual(which('g', 'le', (-(2n ** 53n) - 1n).toString()), expect((v) => v.g <= -(2n ** 53n) - 1n));
  assert.deepEqual(which('color', 'eq', 'NEG'), expect((v) => v.color === -2));
  assert.deepEqual(which('color', 'in', ['RED', 100000]), expect((v) => v.color === 1 || v.color === 100000));
  assert.deepEqual(which('flag', 'eq', true), expect((v) => v.flag));
  assert.deepEqual(which('addr.port', 'eq', 80), expect((v) => v.port === 80));
  const nameOf = (v: Values) => {
    const nul = v.name.indexOf(0);
    return Buffer.from(v.name.slice(0, nul < 0 ? NAME_LEN : nul)).toString('utf8');
  };
  assert.deepEqual(which('name', 'eq', 'abc'), expect((v) => nameOf(v) === 'abc'), 'junk after the NUL does not count');
  assert.ok(which('name', 'eq', 'abc').length >= 2);
  assert.deepEqual(which('name', 'eq', 'abcdefghijkl'), expect((v) => nameOf(v) === 'abcdefghijkl'), 'a full array without NUL');
  assert.deepEqual(which('name', 'eq', ''), expect((v) => nameOf(v) === ''), 'empty: the binary array starting with 0 too');
  assert.deepEqual(which('name', 'prefix', 'ab'), expect((v) => nameOf(v).startsWith('ab')));
  assert.deepEqual(which('name', 'contains', 'b'), expect((v) => nameOf(v).includes('b')));
  assert.deepEqual(which('name', 'glob', 'caf*'), expect((v) => nameOf(v).startsWith('caf')));
  assert.equal(fields.get('bf')?.raw, undefined, 'a bitfield is compared decoded');
  assert.equal(fields.get('x')?.raw, undefined, 'a float is compared decoded');
});

test('where: ops that do not fit the field kind, unknown enumerators and bad values are refused', () => {
  const btf = recBtf(true);
  const fields = fieldsOf(planType(btf, btf.findAllByName('rec')[0]?.id as number));
  const refuse = (path: string, op: WhereOp, value: unknown, pattern: RegExp) =>
    assert.throws(() => compileClause(fields.get(path) as Field, op, value, 'filters.where[0]'), (e: unknown) => e instanceof InvalidRequest && pattern.test(e.message));
  refuse('name', 'lt', 'a', /lt does not apply to chars field name/);
  refuse('e', 'glob', '1*', /glob does not apply to int field e/);
  refuse('flag', 'gt', true, /gt does not apply to bool/);
  refuse('color', 'eq', 'REDD', /did you mean `RED`/);
  refuse('e', 'eq', 'ten', /give an integer/);
  refuse('e', 'in', 3, /in takes an array/);
  refuse('name', 'eq', 'a\u0000b', /NUL/);
});

/** A RecordType of struct rec, from its BTF. */
const recType = () => new RecordType(recBtf(true), 'struct rec');

test('pipeline: records that fail a raw where clause are never decoded; max_events counts matched records', () => {
  const values = sampleValues();
  const bytes = new Uint8Array(values.length * SIZE);
  values.forEach((v, i) => bytes.set(encode(v, true), i * SIZE));
  const p = new Pipeline({ recordType: recType(), filters: { where: [{ field: 'name', op: 'eq', value: 'abc' }, { field: 'e', op: 'lt', value: 0 }] }, format: 'json', maxEvents: 100 });
  for (let i = 0; i < values.length; i++) p.push(bytes, i * SIZE, SIZE, null, i);
  const want = values.filter((v) => v.e < 0 && Buffer.from(v.name.slice(0, 3)).toString() === 'abc' && v.name[3] === 0);
  assert.ok(want.length >= 1);
  assert.equal(p.matched, want.length);
  assert.equal(p.decoded, want.length, 'only matching records were decoded');
  assert.equal(p.filtered, values.length - want.length);
  assert.deepEqual(p.events.map((e) => (e.data as { e: number }).e), want.map((v) => v.e));

  const raw = new Pipeline({ recordType: recType(), filters: { where: [{ field: 'flag', op: 'eq', value: true }] }, format: 'base64', maxEvents: 3 });
  for (let i = 0; i < values.length; i++) raw.push(bytes, i * SIZE, SIZE, null, i);
  assert.equal(raw.decoded, 0, 'raw output with raw tests decodes nothing');
  assert.deepEqual([raw.events.length, raw.matched, raw.fullAt], [3, 3, 'max_events'], 'max_events counts matched records');
  assert.equal(raw.received, 6, 'the list ended at the third match: records 1, 3 and 5');

  const bitfield = new Pipeline({ recordType: recType(), filters: { where: [{ field: 'bf', op: 'eq', value: 5 }] }, format: 'json', maxEvents: 100 });
  for (let i = 0; i < values.length; i++) bitfield.push(bytes, i * SIZE, SIZE, null, i);
  assert.equal(bitfield.matched, values.filter((v) => v.bf === 5).length);
  assert.equal(bitfield.decoded, values.length, 'a bitfield clause needs the decoded record');
});

test('pipeline: unknown fields are refused with the fields the record has and the closest one', () => {
  const refused = (opts: Partial<ConstructorParameters<typeof Pipeline>[0]>, field: string, closestName?: string) => {
    assert.throws(
      () => new Pipeline({ recordType: recType(), filters: {}, format: 'json', maxEvents: 1, ...opts }),
      (e: unknown) => {
        assert.ok(e instanceof InvalidRequest);
        assert.equal(e.field, field);
        if (closestName) assert.match(e.message, new RegExp(`did you mean \`${closestName.replace('.', '\\.')}\``));
        assert.ok((e.details.fields as string[]).includes('addr.port'));
        return true;
      },
    );
  };
  refused({ filters: { where: [{ field: 'nmae', op: 'eq', value: 'x' }] } }, 'filters.where[0].field', 'name');
  refused({ filters: { where: [{ field: 'a', op: 'eq', value: 1 }, { field: 'addr.prot', op: 'eq', value: 1 }] } }, 'filters.where[1].field', 'addr.port');
  refused({ fields: ['name', 'colour'] }, 'fields[1]', 'color');
  refused({ aggregate: { groupBy: ['nam'], maxGroups: 10 } }, 'aggregate.group_by[0]', 'name');
  refused({ aggregate: { groupBy: ['a'], maxGroups: 10, value: { field: 'nme', stats: ['sum'], by: 'count' } } }, 'aggregate.value', 'e');
  refused({ filters: { pid: 5 } }, 'filters.pid');
  assert.throws(() => new Pipeline({ recordType: recType(), filters: {}, format: 'json', maxEvents: 1, aggregate: { groupBy: ['cpu'], maxGroups: 1 }, bufferCpu: false }), /aggregate\.group_by\[0\]: the record type has no field cpu/);
  assert.throws(
    () => new Pipeline({ recordType: new RecordType(undefined, undefined), filters: { where: [{ field: 'a', op: 'eq', value: 1 }] }, format: 'json', maxEvents: 1 }),
    /filters\.where: the records have no BTF type/,
  );
  for (const [filters, groupBy, field] of [[{ pid: 1 }, undefined, 'filters.pid'], [{ comm: 'x' }, undefined, 'filters.comm'], [{}, ['comm'], 'aggregate.group_by']] as const) {
    assert.throws(
      () => new Pipeline({ recordType: new RecordType(undefined, undefined), filters, format: 'raw', maxEvents: 1, ...(groupBy ? { aggregate: { groupBy: [...groupBy], maxGroups: 1 } } : {}) }),
      (e: unknown) => e instanceof InvalidRequest && e.field === field,
      'raw records have no fields to filter or group by',
    );
  }
});

test('pipeline: fields keeps only the named ones, and the schema describes only those', () => {
  const bytes = encode(sampleValues()[1] as Values, true);
  const p = new Pipeline({ recordType: recType(), filters: {}, format: 'json', maxEvents: 10, fields: ['addr.port', 'e', 'name'] });
  p.push(bytes, 0, SIZE, null, 0);
  assert.deepEqual(p.events, [{ data: { addr: { port: 80 }, e: -5, name: '' } }]);
  const schema = p.schema() as { properties: Record<string, { properties?: object; required?: string[] }>; required: string[] };
  assert.deepEqual(Object.keys(schema.properties), ['addr', 'e', 'name']);
  assert.deepEqual(schema.required, ['addr', 'e', 'name']);
  assert.deepEqual(Object.keys(schema.properties.addr?.properties ?? {}), ['port']);
});

test('pipeline: table format gives columns once and a row per event, nested structs one level flat', () => {
  const values = sampleValues().slice(0, 3);
  const bytes = new Uint8Array(values.length * SIZE);
  values.forEach((v, i) => bytes.set(encode(v, true), i * SIZE));
  const p = new Pipeline({ recordType: recType(), filters: {}, format: 'table', maxEvents: 10, fields: ['e', 'addr', 'name'] });
  for (let i = 0; i < values.length; i++) p.push(bytes, i * SIZE, SIZE, i, i);
  // addr.pad is padding: rendered out of the table as out of json events.
  assert.deepEqual(p.table?.columns, ['cpu', 'e', 'addr.port', 'name']);
  assert.deepEqual(p.table?.rows, [
    [0, -2147483648, 0, 'abc'],
    [1, -5, 80, ''],
    [2, 0, 65535, 'abc'],
  ]);
  assert.equal(p.returned, 3);
  const empty = new Pipeline({ recordType: recType(), filters: {}, format: 'table', maxEvents: 10, fields: ['e'] });
  assert.deepEqual(empty.table, { columns: ['e'], rows: [] }, 'no records: the columns still');
});

test('aggregate: value statistics per group, exact, and top ordered by a statistic', () => {
  const a = new Aggregator(['comm'], 10, { field: 'lat.ns', stats: ['count', 'sum', 'min', 'max', 'avg', 'p50', 'p90', 'p99'], by: 'max' });
  for (let i = 1; i <= 100; i++) a.add({ comm: 'many', lat: { ns: i } }, null, i);
  a.add({ comm: 'one', lat: { ns: '9007199254740993' } }, null, 200);
  const [first, second] = a.top(5);
  assert.deepEqual(first?.key, { comm: 'one' }, 'ordered by max');
  assert.equal(first?.max, 9007199254740992);
  assert.deepEqual(
    { count: second?.count, sum: second?.sum, min: second?.min, max: second?.max, avg: second?.avg, p50: second?.p50, p90: second?.p90, p99: second?.p99 },
    { count: 100, sum: 5050, min: 1, max: 100, avg: 50.5, p50: 50, p90: 90, p99: 99 },
  );
  const byCount = new Aggregator(['comm'], 10, { field: 'v', stats: ['sum'], by: 'count' });
  byCount.add({ comm: 'x', v: 1000 }, null, 0);
  byCount.add({ comm: 'y', v: 1 }, null, 0);
  byCount.add({ comm: 'y', v: 2 }, null, 0);
  assert.deepEqual(byCount.top(5), [
    { key: { comm: 'y' }, count: 2, first_seen_ms: 0, last_seen_ms: 0, sum: 3 },
    { key: { comm: 'x' }, count: 1, first_seen_ms: 0, last_seen_ms: 0, sum: 1000 },
  ]);
});
