/** `ebpf-mcp call <tool> ['<json>'] [--arg key=value ...]`: any tool, with its result as text or JSON. */
import { assignments } from '../args.js';
import type { Command } from '../command.js';
import { UsageError } from '../errors.js';
import { escapeText, print, safeJson } from '../output.js';

/** The arguments: the JSON object given (if any), then each --arg set on it. */
export function callArguments(json: string | undefined, args: string[] | undefined): Record<string, unknown> {
  let base: unknown = {};
  if (json !== undefined) {
    try {
      base = JSON.parse(json);
    } catch (e) {
      throw new UsageError(`the arguments are not JSON: ${(e as Error).message}`);
    }
    if (typeof base !== 'object' || base === null || Array.isArray(base)) throw new UsageError('the arguments must be a JSON object');
  }
  return assignments(args, '--arg', base as Record<string, unknown>);
}

/** The command. */
export const callCommand: Command = {
  name: 'call',
  summary: 'call any tool with JSON arguments or --arg key=value',
  usage: `Usage: ebpf-mcp call <tool> ['<json object>'] [--arg key=value ...] [--json]

Calls a tool and prints its text result (the summary and the data), or with --json its
structuredContent. --arg sets one argument on top of the JSON (repeatable): a dotted key
builds nested objects, and a value is parsed as JSON when it parses, else taken as a string.

Examples:
  ebpf-mcp call info
  ebpf-mcp call inspect_state --arg fields='["system"]' --json
  ebpf-mcp call load_program --arg source.type=catalog --arg source.name=execsnoop
  ebpf-mcp call stream_events '{"source":{"map_id":42},"duration_ms":2000}'
`,
  options: { arg: { type: 'string', multiple: true } },
  positionals: { min: 1, max: 2 },
  async run(ctx) {
    const [tool, json] = ctx.positionals as [string, string | undefined];
    const args = callArguments(json, ctx.values.arg as string[] | undefined);
    const result = await (await ctx.session()).call(tool, args);
    if (ctx.values.json) print(safeJson(result.structuredContent ?? null, 2));
    else print(result.content.map((c) => (c.type === 'text' ? escapeText(c.text) : `[${c.type} content]`)));
    return 0;
  },
};
