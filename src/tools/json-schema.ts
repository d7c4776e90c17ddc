/**
 * JSON Schemas of the tools, generated from their zod schemas. The same
 * function feeds tools/list, inspect_state's `tools` field, `schemas/` and
 * docs/TOOL_SPECS.md, so they cannot disagree.
 */
import * as z from 'zod';
import { type Grant, grantsOf } from '../policy/roles.js';
import { withoutUngranted } from './grant-fields.js';
import { type AnyTool, resultSchemas } from './tool.js';

/** A JSON Schema as a plain object. */
export type JsonSchema = Record<string, unknown>;

/** The JSON type of a `const` or `enum` value. */
function typeOfValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

/** The types a schema node admits, read from its `type`, `const`, `enum` or union branches; undefined when it admits anything. */
function typesOf(node: JsonSchema): string[] | undefined {
  if (typeof node.type === 'string') return [node.type];
  if (Array.isArray(node.type)) return node.type as string[];
  if ('const' in node) return [typeOfValue(node.const)];
  if (Array.isArray(node.enum)) return [...new Set(node.enum.map(typeOfValue))];
  const branches = (node.anyOf ?? node.oneOf) as JsonSchema[] | undefined;
  if (!branches) return undefined;
  const each = branches.map(typesOf);
  if (each.some((t) => t === undefined)) return undefined;
  const all = new Set(each.flat() as string[]);
  if (all.has('number')) all.delete('integer');
  return [...all];
}

/**
 * Gives every node that has none an explicit `type`, from its const, enum or
 * union branches (a union of objects gets `"type": "object"`; a union of an
 * integer and a string gets both). Clients that coerce an argument by its
 * property's `type` (the MCP Inspector among them) otherwise send an object
 * as a string.
 */
function withTypes(node: unknown): void {
  if (typeof node !== 'object' || node === null) return;
  if (Array.isArray(node)) return node.forEach(withTypes);
  const n = node as JsonSchema;
  for (const [key, value] of Object.entries(n)) {
    if (key === 'properties' || key === 'definitions' || key === '$defs') Object.values(value as JsonSchema).forEach(withTypes);
    else if (['items', 'additionalProperties', 'anyOf', 'oneOf', 'allOf', 'not'].includes(key)) withTypes(value);
  }
  if (n.type !== undefined) return;
  const types = typesOf(n);
  if (types?.length) n.type = types.length === 1 ? types[0] : types;
}

/** draft-07 is what MCP clients' validators (ajv among them) accept without options; inputs get explicit types (withTypes). */
export function toJson(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { target: 'draft-7', io, unrepresentable: 'any' }) as JsonSchema;
  if (io === 'input') withTypes(rest);
  return rest;
}

/** Every grant: the schemas as an admin reads them, which schemas/ and docs/TOOL_SPECS.md document. */
const ALL_GRANTS = grantsOf('admin');

/** Marked input schemas by zod schema: converting one takes milliseconds, and tools/list, calls and inspect_state all read it. */
const markedCache = new WeakMap<z.ZodType, JsonSchema>();

/** The tool's inputSchema with each field's grant marked (grant-fields.ts), which calls are checked against; built once per tool and shared, so never to be changed. */
export function markedInputSchema(tool: AnyTool): JsonSchema {
  let schema = markedCache.get(tool.input);
  if (!schema) markedCache.set(tool.input, (schema = toJson(tool.input, 'input')));
  return schema;
}

/** The tool's inputSchema for a role holding `grants`: an object schema refusing unknown fields, without those it may not send. */
export function inputJsonSchema(tool: AnyTool, grants: ReadonlySet<Grant> = ALL_GRANTS): JsonSchema {
  return withoutUngranted(markedInputSchema(tool), grants) as JsonSchema;
}

/** The tool's outputSchema: an object that is either the success form or the error form. */
export function outputJsonSchema(tool: AnyTool): JsonSchema {
  const { ok, failed } = resultSchemas(tool);
  return { type: 'object', oneOf: [toJson(ok, 'output'), toJson(failed, 'output')] };
}

/** Bounds zod writes for every int that a model never needs to read (the safe-integer range). */
const SAFE_BOUNDS: Record<string, number> = { maximum: Number.MAX_SAFE_INTEGER, minimum: Number.MIN_SAFE_INTEGER };

/**
 * A schema as tools/list carries it, which every conversation pays for: the same types, enums, ranges, patterns,
 * defaults and descriptions, without what the server checks anyway and a model need not read (string lengths,
 * the safe-integer range, `additionalProperties: false` below the top; unknown fields are refused by name) and
 * what says nothing (empty `properties`, `additionalProperties: {}`).
 * The full schemas are in inspect_state's `tools`, schemas/ and docs/TOOL_SPECS.md.
 */
function listed(node: unknown, depth = 0): unknown {
  if (typeof node !== 'object' || node === null) return node;
  if (Array.isArray(node)) return node.map((n) => listed(n, depth));
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(node as JsonSchema)) {
    if (UNREAD.has(key) || SAFE_BOUNDS[key] === value) continue;
    if (key === 'additionalProperties' && value === false && depth > 0) continue;
    if (key === 'default' && uninformative(value)) continue;
    if (key === 'minimum' && (value === 0 || value === 1)) continue;
    if (key === 'exclusiveMinimum' && value === 0) continue;
    if ((key === 'properties' || key === 'additionalProperties') && isEmpty(value)) continue;
    if (key === 'properties') out[key] = Object.fromEntries(Object.entries(value as JsonSchema).map(([k, v]) => [k, listed(v, depth + 1)]));
    else out[key] = listed(value, depth + 1);
  }
  return mergedUnion(out);
}

/** An empty object: no properties, or a schema that admits anything. */
const isEmpty = (value: unknown): boolean => typeof value === 'object' && value !== null && Object.keys(value).length === 0;

/** A default that says nothing a model would not assume: false, or an object of such. */
function uninformative(value: unknown): boolean {
  return value === false || (typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every(uninformative));
}

/** Keys the server checks that a model need not read (ids are positive, counts start at 1, offsets at 0, booleans default to false, lengths are sane). */
const UNREAD = new Set(['minLength', 'maxLength', 'minItems', 'maxItems', 'propertyNames']);

/** A union whose branches are only types (and an array's items) said as one `type` list: the same values, fewer bytes. */
function mergedUnion(node: JsonSchema): JsonSchema {
  const key = node.anyOf ? 'anyOf' : node.oneOf ? 'oneOf' : undefined;
  if (!key) return node;
  const branches = node[key] as JsonSchema[];
  if (!branches.every((b) => Object.keys(b).every((k) => k === 'type' || (k === 'items' && b.type === 'array')) && typeof b.type === 'string')) return node;
  const { [key]: _union, ...rest } = node;
  const items = branches.find((b) => b.items)?.items;
  return { ...rest, type: branches.map((b) => b.type), ...(items ? { items } : {}) };
}

/** The tool's inputSchema in tools/list for a role holding `grants`: its full one without what a model need not read (listed). */
export function listedInputSchema(tool: AnyTool, grants?: ReadonlySet<Grant>): JsonSchema {
  return listed(inputJsonSchema(tool, grants)) as JsonSchema;
}

/**
 * The tool's outputSchema in tools/list: the envelope every result has, success or error (`success` tells which),
 * without the fields' shapes, which every conversation would pay for; they are in inspect_state's `tools`, schemas/
 * and docs/TOOL_SPECS.md, and every result's text renders its data.
 */
export function listedOutputSchema(tool: AnyTool): JsonSchema {
  const { ok, failed } = resultSchemas(tool);
  // Only the envelope's fields are converted: the whole result schema would take milliseconds a tool, at every start.
  const envelope = (node: z.ZodObject, keys: string[]) => Object.fromEntries(keys.map((k) => [k, { type: toJson(node.shape[k] as z.ZodType, 'output').type ?? 'object' }]));
  return {
    type: 'object',
    properties: { ...envelope(ok, ['success', 'tool_version']), ...envelope(failed, ['error']) },
    required: ['success', 'tool_version'],
  };
}
