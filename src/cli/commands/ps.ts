/** `ebpf-mcp ps`: every BPF program, map and link on the host, with the processes holding them. */
import { integer, oneOf } from '../args.js';
import { type Command, wantsJson } from '../command.js';
import type { Session } from '../connection.js';
import { type Column, type Style, note, print, safeJson, table } from '../output.js';

/** Processes holding an object, as comm(pid). */
type Holder = { pid: number; comm: string };
const holders = (h: Holder[] | undefined): string => (h ?? []).map((p) => `${p.comm}(${p.pid})`).join(' ');

/** Whether `pid` holds it (or, without --pid, always). */
const heldBy = (pid: number | undefined) => (x: { holders?: Holder[] }) => pid === undefined || (x.holders ?? []).some((h) => h.pid === pid);

/** What ps was asked for, from its flags. */
export interface PsQuery {
  output: 'table' | 'wide' | 'json';
  pid: number | undefined;
  limit: number;
  filters: Record<string, unknown>;
}

/** The query from ps's flags (usage errors for bad ones). */
export function psQuery(values: Record<string, unknown>): PsQuery {
  return {
    output: oneOf('-o', (values.output as string | undefined) ?? 'table', ['table', 'wide', 'json'] as const),
    pid: values.pid === undefined ? undefined : integer('--pid', values.pid as string, 1, 2 ** 22),
    limit: values.limit === undefined ? 1000 : integer('--limit', values.limit as string, 1, 1000),
    filters: {
      ...(values.type !== undefined ? { program_type: values.type } : {}),
      ...(values.name !== undefined ? { name_pattern: values.name } : {}),
    },
  };
}

/** The programs, maps and links of one host. */
export interface PsLists {
  programs: Record<string, any>[];
  maps: Record<string, any>[];
  links: Record<string, any>[];
}

/** inspect_state's answer to the query: its whole result, and the lists narrowed to what --pid holds. */
export async function psLists(session: Session, q: PsQuery): Promise<PsLists & { result: Record<string, any> }> {
  const result = (await session.call('inspect_state', { fields: ['programs', 'maps', 'links'], filters: q.filters, limit: q.limit, max_bytes: 1 << 20 })).structuredContent ?? {};
  const of = (list: unknown) => ((list ?? []) as Record<string, any>[]).filter(heldBy(q.pid));
  return { result, programs: of(result.programs), maps: of(result.maps), links: of(result.links) };
}

/** ps's text: a section each for programs, maps and links; with `node`, each row starts with its node (a fleet's). */
export function psLines(style: Style, wide: boolean, lists: PsLists, node = false): string[] {
  const { programs, maps, links } = lists;
  const cap = wide ? undefined : 48;
  const nodeColumn: Column[] = node ? [{ header: 'NODE', max: cap }] : [];
  const nodeCell = (x: Record<string, any>): unknown[] => (node ? [x.node] : []);
  const section = (title: string, columns: Column[], rows: unknown[][]) => [title, ...(rows.length ? table(style, [...nodeColumn, ...columns], rows) : ['  (none)']), ''];
  const runs = (p: Record<string, any>) => [...(p.attached_to ?? []), ...((p.perf_attachments ?? []) as { kind: string; target: string }[]).map((a) => `${a.kind}:${a.target}`)].join(', ');
  const lines = [
    ...section(
      `PROGRAMS (${programs.length})`,
      [
        { header: 'ID', right: true },
        { header: 'TYPE' },
        { header: 'NAME' },
        ...(wide ? [{ header: 'TAG' }, { header: 'INSNS', right: true }, { header: 'JITED', right: true }, { header: 'RUNS', right: true }, { header: 'MAPS' }, { header: 'LOADED' }] : []),
        { header: 'ATTACHED', max: cap },
        { header: 'HOLDERS', max: cap },
      ],
      programs.map((p) => [
        ...nodeCell(p),
        p.id,
        p.type,
        p.name,
        ...(wide ? [p.tag, p.instructions, p.jited_bytes, p.run_count, (p.map_ids ?? []).join(','), p.loaded_at] : []),
        runs(p) || '-',
        holders(p.holders) || '-',
      ]),
    ),
    ...section(
      `MAPS (${maps.length})`,
      [
        { header: 'ID', right: true },
        { header: 'TYPE' },
        { header: 'NAME' },
        { header: 'KEY', right: true },
        { header: 'VALUE', right: true },
        { header: 'MAX', right: true },
        ...(wide ? [{ header: 'FLAGS', right: true }, { header: 'BTF', right: true }, { header: 'NOTE' }] : []),
        { header: 'HOLDERS', max: cap },
      ],
      maps.map((m) => [...nodeCell(m), m.id, m.type, m.name, m.key_size, m.value_size, m.max_entries, ...(wide ? [m.flags, m.btf_id, m.note] : []), holders(m.holders) || '-']),
    ),
    ...section(
      `LINKS (${links.length})`,
      [{ header: 'ID', right: true }, { header: 'TYPE' }, { header: 'PROG', right: true }, { header: 'TARGET', max: cap }, { header: 'HOLDERS', max: cap }],
      links.map((l) => [...nodeCell(l), l.id, l.type, l.program_id, l.target, holders(l.holders) || '-']),
    ),
  ];
  return lines.slice(0, -1);
}

/** The command. */
export const psCommand: Command = {
  name: 'ps',
  summary: 'programs, maps and links on the host, with their holders',
  usage: `Usage: ebpf-mcp ps [-o table|wide|json] [--type T] [--name GLOB] [--pid N] [--limit N]

Every eBPF program, map and link on the host (not only this session's), with the processes
holding an fd on each (holders, as comm(pid)) and what runs each program.

  -o, --output <fmt>  table (default), wide (more columns) or json (the inspect_state result)
      --type <t>      programs of this type only (e.g. xdp, tracepoint)
      --name <glob>   names matching this glob (* ?)
      --pid <n>       only what process n holds
      --limit <n>     at most n of each (default 1000, the server's maximum)
`,
  options: {
    output: { type: 'string', short: 'o' },
    type: { type: 'string' },
    name: { type: 'string' },
    pid: { type: 'string' },
    limit: { type: 'string' },
  },
  positionals: { min: 0, max: 0 },
  async run(ctx) {
    const q = psQuery(ctx.values);
    const { result, ...lists } = await psLists(await ctx.session(), q);
    if (q.output === 'json' || wantsJson(ctx)) {
      print(safeJson(q.pid === undefined ? result : { ...result, ...lists }, 2));
      return 0;
    }
    print(psLines(ctx.style, q.output === 'wide', lists));
    if (result.truncated) note(`ps: lists cut at ${q.limit} (counts: ${safeJson(result.counts)}); narrow with --type or --name`);
    return 0;
  },
};
