/**
 * The addon's work over a batch's records (native/src/records.c, program.c): programs of tests agree with a
 * plain reading of the same bytes on random records and tests, records the index places outside the bytes or
 * shorter than the program reads fail, hostile program words are refused without a crash, and the key table
 * gives dense ids in first-seen order within its bound and counts the records of the keys it was told of.
 */
import assert from 'node:assert/strict';
import { endianness } from 'node:os';
import { test } from 'node:test';
import { type IndexedRecords, KeyTable, NO_KEY_ID, RecordProgram, type RecordTest, type ScalarOp } from '../../src/kernel/record-scan.js';
import { native } from '../../src/kernel/native.js';

const LE = endianness() === 'LE';
const SIZE = 24;
/** Scalars at fixed places of a record: byte offset and size (the last 8 bytes are a char array). */
const SCALARS: { byte: number; size: 1 | 2 | 4 | 8 }[] = [
  { byte: 0, size: 1 },
  { byte: 2, size: 2 },
  { byte: 4, size: 4 },
  { byte: 8, size: 8 },
];
const CHARS = { byte: 16, size: 8 };
const OPS: ScalarOp[] = ['eq', 'ne', 'lt', 'le', 'gt', 'ge'];

/** A small deterministic generator (xorshift32), so a failure can be run again. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

/** Records of SIZE bytes whose values cluster on a few values, so equal and ordered tests both hit. */
function records(n: number, next: () => number): Uint8Array {
  const bytes = new Uint8Array(n * SIZE);
  const names = ['', 'a', 'ab', 'abc', 'abcdefgh', 'b'];
  for (let i = 0; i < n * SIZE; i++) bytes[i] = [0, 1, 2, 0x7f, 0x80, 0xff][next() % 6] as number;
  for (let i = 0; i < n; i++) {
    const name = Buffer.from(names[next() % names.length] as string);
    bytes.fill(0, i * SIZE + CHARS.byte, i * SIZE + CHARS.byte + CHARS.size);
    bytes.set(name, i * SIZE + CHARS.byte);
    if (next() % 4 === 0) bytes[i * SIZE + CHARS.byte + 7] = 0x41; // junk in the last byte, after the NUL when the name is short
  }
  return bytes;
}

/** The value of a scalar as a plain reading gives it. */
function scalar(b: Uint8Array, at: number, size: number, signed: boolean, le: boolean): bigint {
  let v = 0n;
  for (let i = 0; i < size; i++) v |= BigInt(b[at + (le ? i : size - 1 - i)] as number) << BigInt(8 * i);
  return signed ? BigInt.asIntN(8 * size, v) : v;
}

/** What a test means, read plainly from the bytes. */
function passes(t: RecordTest, b: Uint8Array, rec: number): boolean {
  if (t.kind === 'const') return t.pass;
  if (t.kind === 'scalar') {
    const v = scalar(b, rec + t.byte, t.size, t.signed, t.littleEndian);
    return { eq: v === t.want, ne: v !== t.want, lt: v < t.want, le: v <= t.want, gt: v > t.want, ge: v >= t.want }[t.op];
  }
  const field = b.subarray(rec + t.byte, rec + t.byte + t.size);
  const head = t.want.every((x, i) => field[i] === x);
  if (t.op === 'prefix') return head;
  const eq = head && (t.want.length === t.size || field[t.want.length] === 0);
  return t.op === 'eq' ? eq : !eq;
}

/** A random test on the record layout, operands drawn from the values records hold and past their range. */
function randomTest(next: () => number, values: Uint8Array): RecordTest {
  const pick = next() % 10;
  if (pick === 0) return { kind: 'const', pass: next() % 2 === 0 };
  if (pick < 3) {
    const names = ['', 'a', 'ab', 'abc', 'abcdefgh', 'abcdefghi'];
    return { kind: 'chars', op: (['eq', 'ne', 'prefix'] as const)[next() % 3] as 'eq', ...CHARS, want: Buffer.from(names[next() % names.length] as string).subarray(0, CHARS.size) };
  }
  const place = SCALARS[next() % SCALARS.length] as (typeof SCALARS)[number];
  const signed = next() % 2 === 0;
  const littleEndian = next() % 3 !== 0;
  const rec = (next() % (values.length / SIZE)) * SIZE;
  const bits = 8 * place.size;
  const edges = [scalar(values, rec + place.byte, place.size, signed, littleEndian), 0n, -1n, 1n << BigInt(bits), -(1n << BigInt(bits)), (1n << BigInt(bits - 1)) - 1n];
  const want = (edges[next() % edges.length] as bigint) + BigInt((next() % 3) - 1);
  return { kind: 'scalar', op: OPS[next() % OPS.length] as ScalarOp, ...place, signed, littleEndian, want };
}

/** The batch of `n` records of SIZE bytes in a row, at an offset of 8 as a ring's data is. */
function batchOf(bytes: Uint8Array, n: number): IndexedRecords {
  const padded = new Uint8Array(bytes.length + 8);
  padded.set(bytes, 8);
  const index = new Uint32Array(2 * n);
  for (let r = 0; r < n; r++) {
    index[2 * r] = 8 + r * SIZE;
    index[2 * r + 1] = SIZE;
  }
  return { bytes: padded, index, count: n };
}

test('record programs: the addon picks exactly the records a plain reading of their bytes passes (random records and tests, both byte orders)', () => {
  const next = rng(0x5eed);
  const n = 300;
  const bytes = records(n, next);
  const batch = batchOf(bytes, n);
  const into = new Uint32Array(n);
  let checked = 0;
  let nonTrivial = 0;
  for (let round = 0; round < 400; round++) {
    const groups = Array.from({ length: next() % 4 }, () => Array.from({ length: 1 + (next() % 3) }, () => randomTest(next, bytes)));
    const program = new RecordProgram(groups, SIZE);
    const picked = Array.from(into.subarray(0, program.select(batch, into)));
    const expect = [...Array(n).keys()].filter((r) => groups.every((g) => g.some((t) => passes(t, bytes, r * SIZE))));
    assert.deepEqual(picked, expect, JSON.stringify(groups, (_, v) => (typeof v === 'bigint' ? `${v}n` : v instanceof Uint8Array ? Buffer.from(v).toString() : v)));
    if (expect.length > 0 && expect.length < n) nonTrivial++;
    checked++;
  }
  assert.equal(checked, 400);
  assert.ok(nonTrivial > 100, `${nonTrivial} programs picked some but not all records`);
});

test('record programs: records shorter than the program reads, or placed outside the bytes, fail; a group of no tests passes nothing', () => {
  const bytes = new Uint8Array(64);
  const index = Uint32Array.of(0, 24, 24, 8, 40, 24, 60, 24, 0xfffffff0, 24);
  const into = new Uint32Array(5);
  const all = new RecordProgram([], 24);
  assert.deepEqual(Array.from(into.subarray(0, all.select({ bytes, index, count: 5 }, into))), [0, 2], 'record 1 is 8 bytes; 3 and 4 run past the 64 bytes');
  const zero = new RecordProgram([[{ kind: 'scalar', op: 'eq', byte: 4, size: 4, signed: false, littleEndian: LE, want: 0n }]], 24);
  assert.deepEqual(Array.from(into.subarray(0, zero.select({ bytes, index, count: 5 }, into))), [0, 2], 'the scalar loop checks the same bounds');
  const none = new RecordProgram([[]], 24);
  assert.equal(none.select({ bytes, index, count: 5 }, into), 0);
  assert.throws(() => all.select({ bytes, index, count: 6 }, into), TypeError, 'a count past the index');
});

test('record programs: hostile program words are refused with a TypeError, never a crash', () => {
  const next = rng(7);
  const bytes = new Uint8Array(256);
  const index = Uint32Array.of(0, 48, 48, 48);
  const into = new Uint32Array(2);
  let refused = 0;
  for (let i = 0; i < 5000; i++) {
    const words = Uint32Array.from({ length: next() % 40 }, () => [0, 1, 2, 3, 7, 8, 48, 0xffffffff, next()][next() % 9] as number);
    try {
      const picked = native.recordsSelect(bytes, index, 2, words, into);
      assert.ok(picked <= 2);
    } catch (e) {
      assert.ok(e instanceof TypeError, String(e));
      refused++;
    }
  }
  assert.ok(refused > 1000, `${refused} of 5000 refused`);
});

/** The pairs a key table's count wrote: the records left (place, id) and the known keys' counts (id, records). */
function counted(keys: KeyTable, records: IndexedRecords, picked: Uint32Array | null, n: number, size: number): { left: number[][]; counts: number[][] } {
  const out = new Uint32Array(2 * n);
  const { left, counted } = keys.count(records, picked, n, size, out);
  const pairs = (from: number, k: number) => Array.from({ length: k }, (_, i) => [out[2 * (from + i)] as number, out[2 * (from + i) + 1] as number]);
  return { left: pairs(0, left), counts: pairs(left, counted) };
}

test('key table: ids dense in first-seen order; records of known keys counted, the rest handed back in order; none for other sizes or past the bound', () => {
  const keys = new KeyTable(4, 8, 3);
  const bytes = new Uint8Array(16 * 8);
  const view = new DataView(bytes.buffer);
  const keyOf = [7, 9, 7, 11, 9, 13, 7, 11];
  keyOf.forEach((k, r) => view.setBigUint64(r * 16 + 4, BigInt(k) * 0x0101010101n, true));
  const index = new Uint32Array(16);
  for (let r = 0; r < 8; r++) {
    index[2 * r] = r * 16;
    index[2 * r + 1] = r === 5 ? 12 : 16;
  }
  const records = { bytes, index, count: 8 };
  // Nothing known yet: every record comes back, with its key's id (13 is in a 12-byte record).
  assert.deepEqual(counted(keys, records, null, 8, 16), { left: [[0, 0], [1, 1], [2, 0], [3, 2], [4, 1], [5, NO_KEY_ID], [6, 0], [7, 2]], counts: [] });
  keys.know(0);
  keys.know(2);
  assert.deepEqual(counted(keys, records, null, 8, 16), { left: [[1, 1], [4, 1], [5, NO_KEY_ID]], counts: [[0, 3], [2, 2]] }, 'keys 7 and 11 counted: 3 and 2 records');
  index[11] = 16;
  assert.deepEqual(counted(keys, records, Uint32Array.of(5, 3, 1), 3, 16), { left: [[0, NO_KEY_ID], [2, 1]], counts: [[2, 1]] }, 'key 13 is new to a full table');
  assert.throws(() => keys.count(records, Uint32Array.of(1), 2, 16, new Uint32Array(4)), TypeError, 'n past picked');
  assert.throws(() => keys.know(3), TypeError, 'no such id');
});

test('key table: 20,000 keys that differ in one byte each get 20,000 ids; once known, each is counted', () => {
  const n = 20_000;
  const keys = new KeyTable(0, 16, n);
  const bytes = new Uint8Array(n * 16);
  const view = new DataView(bytes.buffer);
  for (let r = 0; r < n; r++) view.setUint32(r * 16 + 12, r, true);
  const index = new Uint32Array(2 * n);
  for (let r = 0; r < n; r++) {
    index[2 * r] = r * 16;
    index[2 * r + 1] = 16;
  }
  const first = counted(keys, { bytes, index, count: n }, null, n, 16);
  assert.equal(first.left.length, n);
  assert.ok(first.left.every(([j, id]) => j === id));
  for (let id = 0; id < n; id++) keys.know(id);
  const second = counted(keys, { bytes, index, count: n }, null, n, 16);
  assert.equal(second.left.length, 0);
  assert.ok(second.counts.every(([id, records], i) => id === i && records === 1));
});

test('key table: counts taken before the table grows within one call are kept', () => {
  const keys = new KeyTable(0, 4, 1000);
  const n = 104;
  const bytes = new Uint8Array(4 * n);
  const view = new DataView(bytes.buffer);
  // Keys 1 and 2 first, then 100 new keys (the table grows from 64 slots as they come), then 1 and 2 again.
  const keyOf = [1, 2, ...Array.from({ length: 100 }, (_, i) => 1000 + i), 1, 2];
  keyOf.forEach((k, r) => view.setUint32(4 * r, k, true));
  const index = new Uint32Array(2 * n);
  for (let r = 0; r < n; r++) {
    index[2 * r] = 4 * r;
    index[2 * r + 1] = 4;
  }
  const records = { bytes, index, count: n };
  counted(keys, { ...records, count: 2 }, null, 2, 4);
  keys.know(0);
  keys.know(1);
  const { left, counts } = counted(keys, records, null, n, 4);
  assert.deepEqual(counts, [[0, 2], [1, 2]]);
  assert.equal(left.length, 100);
  assert.ok(left.every(([j, id], i) => j === i + 2 && id === i + 2));
});
