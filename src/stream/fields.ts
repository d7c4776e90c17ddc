/**
 * The fields of a stream's record type, by dotted path ("addr.port"), from
 * its decode plan: what kind each is, and where its bytes are when they sit
 * at a fixed offset of the record, so filters can read them before decoding.
 * Names a caller gives are checked here, with the closest known one when
 * they are not found. Pure: no kernel.
 */
import type { Plan, RecordPlan } from '../btf/layout.js';
import { InvalidRequest } from '../kernel/errors.js';
import { closest } from '../suggest.js';

/** What a field holds, as filters and aggregates see it. */
export type FieldKind = 'int' | 'bool' | 'enum' | 'chars' | 'float' | 'ptr' | 'object' | 'array' | 'null';

/** One field of a record type. */
export interface Field {
  /** Dotted path from the record's root. */
  readonly path: string;
  readonly kind: FieldKind;
  readonly plan: Plan;
  /**
   * Where its bytes are, when a raw read gives exactly what decoding would: byte offset from
   * the record's start and size (1, 2, 4 or 8 for integers, the decoded length for chars).
   * Undefined for bitfields, floats, composites and the like: they are compared decoded.
   */
  readonly raw: { readonly byte: number; readonly size: number } | undefined;
  /** Byte order of the record's integers. */
  readonly littleEndian: boolean;
}

/** Most field names an error lists. */
const MAX_LISTED = 60;

/** Every field of a record plan by path, structs and their members alike, in declaration order. */
export function fieldsOf(record: RecordPlan): Map<string, Field> {
  const { littleEndian } = record;
  const out = new Map<string, Field>();
  const walk = (p: Plan, prefix: string): void => {
    if (p.t !== 'object') return;
    for (const { key, plan: child } of p.fields) {
      const path = prefix ? `${prefix}.${key}` : key;
      if (!out.has(path)) out.set(path, { path, kind: child.t, plan: child, raw: rawPlace(child), littleEndian });
      walk(child, path);
    }
  };
  walk(record.plan, '');
  return out;
}

/** The fixed bytes of a scalar or char array, when a raw read can stand in for decoding. */
function rawPlace(p: Plan): Field['raw'] {
  switch (p.t) {
    case 'int':
    case 'bool':
    case 'enum':
      return p.bit % 8 === 0 && [8, 16, 32, 64].includes(p.bits) ? { byte: p.bit / 8, size: p.bits / 8 } : undefined;
    case 'ptr':
      return p.size === 4 || p.size === 8 ? { byte: p.byte, size: p.size } : undefined;
    case 'chars':
      return { byte: p.byte, size: p.count };
    default:
      return undefined;
  }
}

/**
 * The field at `path`; a VALIDATION_ERROR on `inputField` when the record type lacks it, listing
 * the fields it has and the closest names. `kinds` narrows which kinds are accepted.
 */
export function fieldAt(fields: ReadonlyMap<string, Field>, path: string, inputField: string, kinds?: readonly FieldKind[]): Field {
  const found = fields.get(path);
  const fitting = kinds ? [...fields.values()].filter((f) => kinds.includes(f.kind)).map((f) => f.path) : [...fields.keys()];
  if (found && (!kinds || kinds.includes(found.kind))) return found;
  const near = closest(path, fitting, 3);
  const hint = near.length ? ` (did you mean \`${near[0]}\`?)` : '';
  const what = found ? `${path} is a ${found.kind} field; this needs one of kind ${kinds?.join(', ')}` : `the record type has no field ${path}`;
  throw new InvalidRequest(inputField, `${what}${hint}`, {
    fields: fitting.slice(0, MAX_LISTED),
    ...(fitting.length > MAX_LISTED ? { fields_total: fitting.length } : {}),
    ...(near.length ? { did_you_mean: near } : {}),
  });
}

/** Reads the decoded value at a dotted path; undefined when a step is missing. */
export function getter(path: string): (data: Record<string, unknown> | undefined) => unknown {
  const steps = path.split('.');
  if (steps.length === 1) return (d) => d?.[path];
  return (d) => {
    let v: unknown = d;
    for (const s of steps) {
      if (typeof v !== 'object' || v === null) return undefined;
      v = (v as Record<string, unknown>)[s];
    }
    return v;
  };
}
