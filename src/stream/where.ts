/**
 * `filters.where`: comparisons of one field each, compiled once per stream
 * into tests on a record's raw bytes (integers, enums, bools, pointers and
 * char arrays at fixed offsets, so records that fail them are never decoded;
 * the addon runs them over a whole batch, src/kernel/record-scan.ts) or, for
 * the rest (bitfields, floats), on its decoded value. Both forms compute the
 * same answer: integers compare as exact integers, char arrays as their bytes
 * up to the first NUL. Pure: no kernel.
 */
import { Buffer } from 'node:buffer';
import type { EnumPlan } from '../btf/layout.js';
import { globToRegExp } from '../glob.js';
import { InvalidRequest } from '../kernel/errors.js';
import type { RecordTest, ScalarOp } from '../kernel/record-scan.js';
import { closest } from '../suggest.js';
import { type Field, type FieldKind, fieldAt, getter } from './fields.js';

/** The comparison operators of a where clause. */
export const WHERE_OPS = ['eq', 'ne', 'lt', 'le', 'gt', 'ge', 'in', 'glob', 'prefix', 'contains'] as const;

/** One of {@link WHERE_OPS}. */
export type WhereOp = (typeof WHERE_OPS)[number];

/** One clause: the field's value compared with `value` (an array for `in`). */
export interface WhereClause {
  field: string;
  op: WhereOp;
  value: unknown;
}

/** A JavaScript test of a record's raw bytes, the record at `offset` of `b`: the char-array tests the addon does not run (glob, contains). */
export type RawCheck = (b: Uint8Array, offset: number) => boolean;

/** A test on a decoded record. */
export type DecodedTest = (data: Record<string, unknown> | undefined) => boolean;

/**
 * A clause compiled to the raw form when its field allows it, else the decoded one. A record passes
 * the raw form when it passes one of `raw` (tests the addon runs; none when the clause has only a
 * check), then `check`, when there is one; either reads only its first `end` bytes.
 */
export type CompiledTest = { raw: RecordTest[]; check?: RawCheck; end: number } | { decoded: DecodedTest };

/** The raw form of a clause, before its `end`. */
type RawForm = { raw: RecordTest[]; check?: RawCheck };

const ORDER: readonly WhereOp[] = ['lt', 'le', 'gt', 'ge'];
const TEXT: readonly WhereOp[] = ['glob', 'prefix', 'contains'];
/** Which operators fit which field kinds. */
const OPS_OF: Partial<Record<FieldKind, readonly WhereOp[]>> = {
  int: ['eq', 'ne', ...ORDER, 'in'],
  enum: ['eq', 'ne', ...ORDER, 'in'],
  ptr: ['eq', 'ne', ...ORDER, 'in'],
  float: ['eq', 'ne', ...ORDER, 'in'],
  bool: ['eq', 'ne', 'in'],
  chars: ['eq', 'ne', 'in', ...TEXT],
};

/** The field kinds a where clause can compare. */
export const COMPARABLE: readonly FieldKind[] = Object.keys(OPS_OF) as FieldKind[];

/** The outcome of comparing a field's value with the clause's value, for the ordering operators. */
function ordered(op: WhereOp, c: number): boolean {
  switch (op) {
    case 'lt':
      return c < 0;
    case 'le':
      return c <= 0;
    case 'gt':
      return c > 0;
    default:
      return c >= 0;
  }
}

/** Three-way comparison of two bigints. */
const cmpBig = (a: bigint, b: bigint): number => (a < b ? -1 : a > b ? 1 : 0);

/** A caller's value as an exact integer: an integer number, or a decimal or 0x-hex string. */
function integerOf(v: unknown): bigint | undefined {
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  if (typeof v === 'string' && /^(-?[0-9]+|0x[0-9a-fA-F]+)$/.test(v)) return BigInt(v);
  return undefined;
}

/** The enumerators of an enum field by name, to their values. */
function enumValues(plan: EnumPlan): Map<string, bigint> {
  const byName = new Map<string, bigint>();
  for (const [value, name] of plan.names) if (!byName.has(name)) byName.set(name, BigInt(value));
  return byName;
}

/** One clause value, checked and converted for the field: bigint, number, boolean or UTF-8 bytes. */
type Operand = bigint | number | boolean | Buffer;

function operand(field: Field, v: unknown, at: string): Operand {
  const bad = (why: string, context: Record<string, unknown> = {}): never => {
    throw new InvalidRequest(at, `${why} for ${field.kind} field ${field.path}`, context);
  };
  switch (field.kind) {
    case 'int':
    case 'ptr':
      return integerOf(v) ?? bad('give an integer (a number, or a decimal or 0x string past 2^53)');
    case 'enum': {
      const n = integerOf(v);
      if (n !== undefined) return n;
      const names = enumValues(field.plan as EnumPlan);
      const byName = typeof v === 'string' ? names.get(v) : undefined;
      if (byName !== undefined) return byName;
      const near = typeof v === 'string' ? closest(v, names.keys(), 3) : [];
      return bad(`give an enumerator name or its value${near.length ? ` (did you mean \`${near[0]}\`?)` : ''}`, { enumerators: [...names.keys()].slice(0, 60) });
    }
    case 'float':
      return typeof v === 'number' ? v : bad('give a number');
    case 'bool':
      return typeof v === 'boolean' ? v : bad('give true or false');
    default:
      if (typeof v !== 'string') return bad('give a string');
      if (v.includes('\u0000')) return bad('a NUL cannot be compared (char arrays end at the first one)');
      return Buffer.from(v, 'utf8');
  }
}

/** Bytes of a char array up to its first NUL: the array of `n` bytes at `p` of `b`. */
function untilNul(b: Uint8Array, p: number, n: number): Buffer {
  let end = p;
  while (end < p + n && b[end] !== 0) end++;
  return Buffer.from(b.buffer, b.byteOffset + p, end - p);
}

/** The bytes a decoded char array stands for: the text's UTF-8, or the numbers up to the first 0. */
function decodedBytes(v: unknown): Buffer | undefined {
  if (typeof v === 'string') return Buffer.from(v, 'utf8');
  if (!Array.isArray(v)) return undefined;
  const nul = v.indexOf(0);
  return Buffer.from((nul < 0 ? v : v.slice(0, nul)).map((x) => Number(x) & 0xff));
}

/** A test of char-array bytes (up to the first NUL) against a string operand. */
function bytesTest(op: WhereOp, want: Buffer, re: RegExp | undefined): (have: Buffer) => boolean {
  switch (op) {
    case 'eq':
      return (have) => have.equals(want);
    case 'ne':
      return (have) => !have.equals(want);
    case 'prefix':
      return (have) => have.length >= want.length && want.compare(have, 0, want.length) === 0;
    case 'contains':
      return (have) => have.includes(want);
    default:
      return (have) => (re as RegExp).test(have.toString('utf8'));
  }
}

/** A test of an exact integer against a bigint operand. */
function bigTest(op: WhereOp, want: bigint): (have: bigint) => boolean {
  if (op === 'eq') return (have) => have === want;
  if (op === 'ne') return (have) => have !== want;
  return (have) => ordered(op, cmpBig(have, want));
}

/** The raw form of a char-array clause on the `size` bytes at `byte`: eq, ne and prefix are the addon's; glob and contains are checks. */
function rawChars(op: WhereOp, want: Buffer, re: RegExp | undefined, byte: number, size: number, glob?: string): RawForm {
  const chars = (o: 'eq' | 'ne' | 'prefix', w: Buffer): RecordTest => ({ kind: 'chars', op: o, byte, size, want: Uint8Array.from(w) });
  if (op === 'eq' || op === 'ne' || op === 'prefix') return { raw: [want.length > size ? { kind: 'const', pass: op === 'ne' } : chars(op, want)] };
  const test = bytesTest(op, want, re);
  const check: RawCheck = (b, o) => test(untilNul(b, o + byte, size));
  // A glob's literal start (before its first * or ?) is compared by the addon first: most records fail there.
  const lead = Buffer.from(glob === undefined ? '' : (/^[^*?]*/.exec(glob)?.[0] ?? ''), 'utf8');
  return { raw: lead.length > 0 && lead.length <= size ? [chars('prefix', lead)] : [], check };
}

/** The raw test of a scalar field's fixed bytes (a bool as its bytes' being zero or not). */
function rawScalar(field: Field, op: WhereOp, want: bigint | boolean): RecordTest {
  const { byte, size } = field.raw as { byte: number; size: 1 | 2 | 4 | 8 };
  const signed = 'signed' in field.plan && field.plan.signed;
  const at = { kind: 'scalar', byte, size, littleEndian: field.littleEndian } as const;
  if (typeof want === 'boolean') return { ...at, signed: false, op: (op === 'eq') === want ? 'ne' : 'eq', want: 0n };
  return { ...at, signed, op: op as ScalarOp, want };
}

/** The decoded value of an integer, enum or pointer field as an exact integer. */
function decodedInteger(field: Field): (v: unknown) => bigint | undefined {
  const names = field.kind === 'enum' ? enumValues(field.plan as EnumPlan) : undefined;
  return (v) => {
    if (typeof v === 'number') return BigInt(v);
    if (typeof v !== 'string') return undefined;
    return names?.get(v) ?? (/^(-?[0-9]+|0x[0-9a-f]+)$/.test(v) ? BigInt(v) : undefined);
  };
}

/** One value test on decoded values, for any comparable kind. */
function decodedValueTest(field: Field, op: WhereOp, want: Operand, re: RegExp | undefined): (v: unknown) => boolean {
  if (typeof want === 'boolean') return (v) => (op === 'eq' ? v === want : v !== want);
  if (typeof want === 'number') {
    return (v) => {
      const x = Number(v);
      return op === 'eq' ? x === want : op === 'ne' ? x !== want : ordered(op, x < want ? -1 : x > want ? 1 : x === want ? 0 : NaN);
    };
  }
  if (typeof want === 'bigint') {
    const test = bigTest(op, want);
    const int = decodedInteger(field);
    return (v) => {
      const x = int(v);
      return x !== undefined && test(x);
    };
  }
  const test = bytesTest(op, want, re);
  return (v) => {
    const have = decodedBytes(v);
    return have !== undefined && test(have);
  };
}

/**
 * One clause compiled for `field`: the raw test when `form` is 'raw' (the field must have fixed
 * bytes), the decoded test when 'decoded', else whichever fits. Operand errors name `at`.
 */
export function compileClause(field: Field, op: WhereOp, value: unknown, at: string, form?: 'raw' | 'decoded'): CompiledTest {
  const fits = OPS_OF[field.kind] ?? [];
  if (!fits.includes(op)) {
    throw new InvalidRequest(`${at}.op`, `${op} does not apply to ${field.kind} field ${field.path}`, { ops: fits });
  }
  const values = op === 'in' ? (Array.isArray(value) ? value : undefined) : [value];
  if (!values) throw new InvalidRequest(`${at}.value`, 'in takes an array of values');
  const operands = values.map((v, i) => operand(field, v, op === 'in' ? `${at}.value[${i}]` : `${at}.value`));
  const eachOp: WhereOp = op === 'in' ? 'eq' : op;
  const re = op === 'glob' ? new RegExp(globToRegExp(String(value)).source, 's') : undefined;
  const useRaw = form === 'raw' || (form === undefined && field.raw !== undefined);
  if (useRaw) {
    if (!field.raw) throw new InvalidRequest(at, `${field.path} has no fixed bytes to compare raw`);
    const { byte, size } = field.raw;
    // Fields with raw bytes are integers, enums, bools, pointers and char arrays: never a float's number operand.
    const forms = operands.map((want): RawForm =>
      Buffer.isBuffer(want) ? rawChars(eachOp, want, re, byte, size, op === 'glob' ? String(value) : undefined) : { raw: [rawScalar(field, eachOp, want as bigint | boolean)] },
    );
    // `in` is one equality per value, all the addon's (none: nothing passes); other ops have one operand.
    const check = forms[0]?.check;
    return { raw: forms.length ? forms.flatMap((f) => f.raw) : [{ kind: 'const', pass: false }], ...(check ? { check } : {}), end: byte + size };
  }
  const get = getter(field.path);
  const tests = operands.map((want) => decodedValueTest(field, eachOp, want, re));
  const one = tests.length === 1 ? (tests[0] as (v: unknown) => boolean) : (v: unknown) => tests.some((t) => t(v));
  return { decoded: (d) => one(get(d)) };
}

/** Tests joined by "or" (a single test as it is). */
export function anyOf<T extends (...args: never[]) => boolean>(tests: T[]): T {
  if (tests.length === 1) return tests[0] as T;
  return ((...args: Parameters<T>) => tests.some((t) => t(...args))) as T;
}

/** The clauses of `filters.where`, each checked against the record's fields and compiled. */
export function compileWhere(fields: ReadonlyMap<string, Field>, clauses: readonly WhereClause[]): CompiledTest[] {
  return clauses.map((c, i) => {
    const at = `filters.where[${i}]`;
    return compileClause(fieldAt(fields, c.field, `${at}.field`, COMPARABLE), c.op, c.value, at);
  });
}
