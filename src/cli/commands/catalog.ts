/** `ebpf-mcp catalog [name]`: the bundled programs, or one entry's manifest. */
import { type Command, wantsJson } from '../command.js';
import { catalogList, manifest } from '../manifest.js';
import { escapeLine, paint, print, safeJson, table } from '../output.js';
import { typeName } from './tools.js';

/** The command. */
export const catalogCommand: Command = {
  name: 'catalog',
  summary: 'the bundled programs and the questions they answer; one entry\'s manifest',
  usage: `Usage: ebpf-mcp catalog [<name>] [--json]

Without a name: every catalog entry and the question it answers. With one: its manifest, the
parameters it takes (ebpf-mcp trace <name> --param k=v), and where its answer is read.
`,
  options: {},
  positionals: { min: 0, max: 1 },
  async run(ctx) {
    const session = await ctx.session();
    const name = ctx.positionals[0];
    if (name === undefined) {
      const list = await catalogList(session);
      if (wantsJson(ctx)) print(safeJson(list, 2));
      else print(table(ctx.style, [{ header: 'NAME' }, { header: 'QUESTION' }], list.map((e) => [e.name, e.question])));
      return 0;
    }
    const m = await manifest(session, name);
    if (wantsJson(ctx)) {
      print(safeJson(m, 2));
      return 0;
    }
    const params = Object.entries(m.parameters.properties ?? {});
    const read = 'buffer' in m.read ? `stream_events on the ring buffer ${m.read.buffer}: events as they come` : `inspect_state on the map ${m.read.map}: ${m.read.shape}`;
    const range = (p: { minimum?: number; maximum?: number }) => (p.minimum !== undefined && p.maximum !== undefined ? ` ${p.minimum}..${p.maximum}` : '');
    print([
      `${paint(ctx.style, 'bold', escapeLine(m.name))}: ${escapeLine(m.question)}`,
      `object      ${escapeLine(m.object)}`,
      `read        ${escapeLine(read)}`,
      `attach      ${escapeLine(m.attach)}`,
      '',
      'parameters',
      ...(params.length ? table(ctx.style, [{ header: '  NAME' }, { header: 'TYPE' }, { header: 'DESCRIPTION' }], params.map(([k, p]) => [`  ${k}`, `${typeName(p as Record<string, any>)}${range(p)}`, p.description ?? ''])) : ['  (none)']),
      '',
      'how',
      ...m.how.map((h) => `  ${escapeLine(h)}`),
    ]);
    return 0;
  },
};
