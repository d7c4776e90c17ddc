/**
 * JSON Schemas of the tools, generated from their zod schemas. The same
 * function feeds tools/list, inspect_state's `tools` field, `schemas/` and
 * docs/TOOL_SPECS.md, so they cannot disagree.
 */
import { z } from 'zod';
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
function toJson(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { target: 'draft-7', io, unrepresentable: 'any' }) as JsonSchema;
  if (io === 'input') withTypes(rest);
  return rest;
}

/** The tool's inputSchema: an object schema refusing unknown fields. */
export function inputJsonSchema(tool: AnyTool): JsonSchema {
  return toJson(tool.input, 'input');
}

/** The tool's outputSchema: an object that is either the success form or the error form. */
export function outputJsonSchema(tool: AnyTool): JsonSchema {
  const { ok, failed } = resultSchemas(tool);
  return { type: 'object', oneOf: [toJson(ok, 'output'), toJson(failed, 'output')] };
}
