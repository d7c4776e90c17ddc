/**
 * JSON Schemas of the tools, generated from their zod schemas. The same
 * function feeds tools/list, inspect_state's `tools` field, `schemas/` and
 * docs/TOOL_SPECS.md, so they cannot disagree.
 */
import { z } from 'zod';
import { type AnyTool, resultSchemas } from './tool.js';

/** A JSON Schema as a plain object. */
export type JsonSchema = Record<string, unknown>;

/** draft-07 is what MCP clients' validators (ajv among them) accept without options. */
function toJson(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { target: 'draft-7', io, unrepresentable: 'any' }) as JsonSchema;
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
