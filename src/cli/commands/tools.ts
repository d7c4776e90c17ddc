/** `ebpf-mcp tools`: the server's tools, with their input fields. */
import type { Tool } from '@modelcontextprotocol/client';
import { type Command, wantsJson } from '../command.js';
import { escapeLine, paint, print, safeJson } from '../output.js';

/** A JSON Schema's type in a few characters: string, integer, object, "a"|"b", string[]. */
export function typeName(schema: Record<string, any> | undefined): string {
  if (!schema) return 'any';
  if (Array.isArray(schema.enum)) return schema.enum.map((v: unknown) => JSON.stringify(v)).join('|');
  if (schema.const !== undefined) return JSON.stringify(schema.const);
  if (Array.isArray(schema.anyOf) || Array.isArray(schema.oneOf)) return [...new Set((schema.anyOf ?? schema.oneOf).map((s: Record<string, any>) => typeName(s)))].join('|');
  if (schema.type === 'array') return `${typeName(schema.items)}[]`;
  if (Array.isArray(schema.type)) return schema.type.join('|');
  return typeof schema.type === 'string' ? schema.type : 'any';
}

/** The first sentence of a description. */
export function firstSentence(text: string | undefined): string {
  const t = (text ?? '').trim();
  const end = t.search(/\.\s+[A-Z]/);
  return end < 0 ? t : t.slice(0, end + 1);
}

/** The input fields of a tool, one line each: name (with * when required), type, description. */
function fields(tool: Tool): string[] {
  const props = (tool.inputSchema.properties ?? {}) as Record<string, Record<string, any>>;
  const required = new Set(tool.inputSchema.required ?? []);
  const names = Object.keys(props);
  if (names.length === 0) return ['    (no arguments)'];
  const width = Math.max(...names.map((n) => n.length + 1));
  const types = names.map((n) => typeName(props[n]));
  const typeWidth = Math.min(24, Math.max(...types.map((t) => t.length)));
  return names.map((n, i) => {
    const p = props[n] as Record<string, any>;
    const desc = p.description ? `  ${firstSentence(p.description)}` : '';
    return escapeLine(`    ${(n + (required.has(n) ? '*' : '')).padEnd(width)}  ${(types[i] as string).padEnd(typeWidth)}${desc}`);
  });
}

/** The command. */
export const toolsCommand: Command = {
  name: 'tools',
  summary: 'the tools the server offers, with their input fields',
  usage: `Usage: ebpf-mcp tools [--json]

The server's tools: name, title, what each does (its first sentence), and its input fields
(* marks a required one). --json prints the tools as the server lists them, schemas included.
`,
  options: {},
  positionals: { min: 0, max: 0 },
  async run(ctx) {
    const tools = await (await ctx.session()).tools();
    if (wantsJson(ctx)) {
      print(safeJson(tools, 2));
      return 0;
    }
    const lines: string[] = [];
    for (const t of tools) {
      const hints = t.annotations?.readOnlyHint ? 'read-only' : 'changes the host';
      lines.push(`${paint(ctx.style, 'bold', escapeLine(t.name))}  ${escapeLine(t.title ?? t.annotations?.title ?? '')}  ${paint(ctx.style, 'dim', `(${hints})`)}`);
      lines.push(`  ${escapeLine(firstSentence(t.description))}`, ...fields(t), '');
    }
    print(lines.slice(0, -1));
    return 0;
  },
};
