/**
 * JSON Schema (a draft 2020-12 subset, as plain objects) of the values `compileDecoder` produces,
 * built from the same decode plan so the two cannot drift apart.
 */
import { planType, type DecodeOptions, type Plan } from './layout.js';
import type { Btf } from './parse.js';

/** JSON Schema primitive type names. */
export type JsonSchemaType = 'null' | 'boolean' | 'integer' | 'number' | 'string' | 'array' | 'object';

/** The JSON Schema subset `schemaFor` emits. */
export interface JsonSchema {
  type?: JsonSchemaType | JsonSchemaType[];
  description?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean;
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  pattern?: string;
  enum?: (string | number)[];
  anyOf?: JsonSchema[];
  /** A standard string format ("ipv4", "ipv6") of a rendered value. */
  format?: string;
  /** How the render stage shows the value (src/btf/render.ts): "errno", "port", "open_flags"... */
  'x-render'?: string;
}


/**
 * The JSON Schema of what `compileDecoder(btf, typeId, opts)` returns: objects with every field
 * required, integer bounds, enumerator names, `["integer","string"]` for integers that may exceed
 * 2^53, `maxItems` for arrays, and the C type in each `description` (e.g. "__u32"). Throws BtfError
 * exactly when `compileDecoder` would (same depth and size guards).
 */
export function schemaFor(btf: Btf, typeId: number, opts?: DecodeOptions): JsonSchema {
  return schemaOf(planType(btf, typeId, opts).plan);
}

function schemaOf(plan: Plan): JsonSchema {
  const description = plan.ctype;
  switch (plan.t) {
    case 'int':
      return { ...intSchema(plan.bits, plan.signed), description };
    case 'bool':
      return { type: 'boolean', description };
    case 'enum': {
      const anyOf: JsonSchema[] = [{ type: 'string', enum: [...new Set(plan.names.values())] }, intSchema(plan.bits, plan.signed)];
      return { anyOf, description };
    }
    case 'float':
      return { anyOf: [{ type: 'number' }, { type: 'string', enum: ['NaN', 'Infinity', '-Infinity'] }], description };
    case 'ptr':
      return { type: 'string', pattern: '^0x[0-9a-f]+$', description };
    case 'null':
      return { type: 'null', description };
    case 'object':
      return {
        type: 'object',
        description,
        properties: Object.fromEntries(plan.fields.map((f) => [f.key, schemaOf(f.plan)])),
        required: [...new Set(plan.fields.map((f) => f.key))],
        additionalProperties: false,
      };
    case 'chars': {
      const bytes: JsonSchema = { type: 'array', items: intSchema(8, plan.signed), minItems: plan.count, maxItems: plan.count };
      return { anyOf: [{ type: 'string', maxLength: plan.count }, bytes], description: describeArray(description, plan.count, plan.total) };
    }
    case 'array':
      return { type: 'array', description: describeArray(description, plan.count, plan.total), items: schemaOf(plan.elem), minItems: plan.count, maxItems: plan.count };
  }
}

/** Integer schema: exact bounds when every value is a safe number, else integer-or-decimal-string. */
function intSchema(bits: number, signed: boolean): JsonSchema {
  if (bits <= 53) return signed ? { type: 'integer', minimum: -(2 ** (bits - 1)), maximum: 2 ** (bits - 1) - 1 } : { type: 'integer', minimum: 0, maximum: 2 ** bits - 1 };
  return signed ? { type: ['integer', 'string'], pattern: '^-?[0-9]+$' } : { type: ['integer', 'string'], minimum: 0, pattern: '^[0-9]+$' };
}

function describeArray(ctype: string, count: number, total: number): string {
  return count < total ? `${ctype} (first ${count} of ${total} elements decoded)` : ctype;
}
