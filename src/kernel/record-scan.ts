/**
 * Work the addon does over the records of a reader's batch, through the index
 * the reader wrote (native/src/records.c), so the loops that run once per
 * record run in C: a program of comparisons on fixed bytes picks the records
 * that pass, and a table of key bytes gives each distinct key a dense id.
 * What to compare, and what an id stands for, is the caller's. No syscalls.
 */
import { type KeysHandle, native } from './native.js';

/** The records of a batch: `index` holds, per record, the offset of its data in `bytes` and its size. */
export interface IndexedRecords {
  readonly bytes: Uint8Array;
  readonly index: Uint32Array;
  readonly count: number;
}

/** The comparisons of a scalar test. */
export type ScalarOp = 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge';

/** One test on a record's bytes at `byte`. */
export type RecordTest =
  | { kind: 'const'; pass: boolean }
  /** An integer of `size` bytes compared with `want` (any integer: one past the field's range compares as it would with every value). */
  | { kind: 'scalar'; op: ScalarOp; byte: number; size: 1 | 2 | 4 | 8; signed: boolean; littleEndian: boolean; want: bigint }
  /** A char array of `size` bytes: equal to `want` up to its first NUL (eq, ne), or starting with it (prefix). */
  | { kind: 'chars'; op: 'eq' | 'ne' | 'prefix'; byte: number; size: number; want: Uint8Array };

/** A record's id in a key table that has none (a record of another size, or a new key once the table is full): past any table's ids. */
export const NO_KEY_ID = 2 ** 30 - 1;

const KIND = { const: 0, scalar: 1, chars: 2 } as const;
const OP = { eq: 0, ne: 1, lt: 2, le: 3, gt: 4, ge: 5, prefix: 6 } as const;
const SIGNED = 1;
const BIG_ENDIAN = 2;

/** The outcome of comparing every value of the field with a `want` past its range on the side `above` says. */
function pastRange(op: ScalarOp, above: boolean): boolean {
  if (op === 'eq') return false;
  if (op === 'ne') return true;
  return (op === 'lt' || op === 'le') === above;
}

/** A scalar test whose operand lies outside the field's range, as the constant it is. */
function folded(t: RecordTest): RecordTest {
  if (t.kind !== 'scalar') return t;
  const bits = BigInt(8 * t.size);
  const [min, max] = t.signed ? [-(1n << (bits - 1n)), (1n << (bits - 1n)) - 1n] : [0n, (1n << bits) - 1n];
  if (t.want < min) return { kind: 'const', pass: pastRange(t.op, false) };
  if (t.want > max) return { kind: 'const', pass: pastRange(t.op, true) };
  return t;
}

/** The words of one test (see native/src/records.c for the layout). */
function testWords(t: RecordTest): number[] {
  if (t.kind === 'const') return [KIND.const, 0, 0, 0, 0, t.pass ? 1 : 0, 0];
  if (t.kind === 'scalar') {
    const w = BigInt.asUintN(64, t.want);
    const flags = (t.signed ? SIGNED : 0) | (t.littleEndian ? 0 : BIG_ENDIAN);
    return [KIND.scalar, OP[t.op], t.byte, t.size, flags, Number(w & 0xffffffffn), Number(w >> 32n)];
  }
  const text = new Uint8Array(Math.ceil(t.want.length / 4) * 4);
  text.set(t.want);
  return [KIND.chars, OP[t.op], t.byte, t.size, 0, t.want.length, 0, ...new Uint32Array(text.buffer)];
}

/**
 * Tests the addon runs on each record of a batch: a record passes when every group has a test it
 * passes; records shorter than `end` bytes fail (every test reads within `end`).
 */
export class RecordProgram {
  /** The program as the addon reads it (native/src/program.h). */
  readonly words: Uint32Array;

  constructor(groups: readonly (readonly RecordTest[])[], end: number) {
    const kept = groups.map((g) => g.map(folded)).filter((g) => !g.some((t) => t.kind === 'const' && t.pass));
    this.words = Uint32Array.from([end, kept.length, ...kept.flatMap((g) => [g.length, ...g.flatMap(testWords)])]);
  }

  /** The numbers of the records that pass, into `into` (at least `records.count` long), in order; how many. */
  select(records: IndexedRecords, into: Uint32Array): number {
    return native.recordsSelect(records.bytes, records.index, records.count, this.words, into);
  }
}

/**
 * A table of record keys (the `size` bytes at `byte` of a record) to dense ids, in the order the
 * keys were first seen: 0, 1, 2... It counts the records of the keys its user knows (see
 * {@link know}) and hands back the rest. At most `maxKeys` keys; its memory goes when it is collected.
 */
export class KeyTable {
  private readonly keys: KeysHandle;

  constructor(
    private readonly byte: number,
    size: number,
    maxKeys: number,
  ) {
    this.keys = native.keysOpen(size, maxKeys);
  }

  /**
   * Takes the first `n` records numbered in `picked` (null: the batch's first `n`), adding keys not
   * seen before. `out` (2n words) gets `left` pairs (j, id), in order: the records whose key is not
   * known, j the record's place in `picked`, id {@link NO_KEY_ID} for a record not `recordSize` bytes
   * long or with a new key once the table is full; then `counted` pairs (id, records) of the known keys.
   */
  count(records: IndexedRecords, picked: Uint32Array | null, n: number, recordSize: number, out: Uint32Array): { left: number; counted: number } {
    return native.keysCount(this.keys, records.bytes, records.index, records.count, picked, n, this.byte, recordSize, out);
  }

  /** From now on, {@link count} counts the records of key `id` instead of handing them back. */
  know(id: number): void {
    native.keysKnow(this.keys, id);
  }
}
