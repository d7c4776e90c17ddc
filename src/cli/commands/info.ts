/** `ebpf-mcp info`: what eBPF can do on the server's host. */
import { type Command, wantsJson } from '../command.js';
import { cell, escapeLine, paint, print, safeJson } from '../output.js';

/** A list in one line, or "none". */
const list = (items: readonly unknown[] | undefined): string => (items && items.length ? items.map((i) => cell(i)).join(', ') : 'none');

/** The info tool's structuredContent as the labelled lines info prints (values escaped). */
export function infoRows(s: Record<string, any>): [string, string][] {
  const kinds = (s.attach_kinds ?? []) as { kind: string; usable: boolean; reason: string }[];
  const mount = (m: { path: string; mounted: boolean; mounted_by_server: boolean } | undefined) =>
    m ? `${cell(m.path)} ${m.mounted ? (m.mounted_by_server ? 'mounted by the server' : 'mounted') : 'not mounted'}` : '-';
  return [
    ['kernel', `${cell(s.kernel?.release)} (${cell(s.kernel?.arch)})`],
    ['node', cell(s.server?.node)],
    ['server', `${cell(s.server?.name)} ${cell(s.server?.version)}, libbpf ${cell(s.server?.libbpf_version)} (${cell(s.server?.libbpf_linked)})`],
    ['btf', s.btf?.vmlinux ? `${cell(s.btf.path)} (CO-RE works)` : 'no kernel BTF'],
    ['bpffs', mount(s.mounts?.bpffs)],
    ['tracefs', mount(s.mounts?.tracefs)],
    ['cgroup2', cell(s.cgroup2_mount)],
    ['capabilities', list(s.capabilities)],
    ['missing', s.missing_capabilities?.length ? `${list(s.missing_capabilities)}${s.grant ? `: ${cell(s.grant)}` : ''}` : 'none'],
    ['program types', `${s.program_types?.supported?.length ?? 0} supported`],
    ['map types', `${s.map_types?.supported?.length ?? 0} supported`],
    ['attach kinds', list(kinds.filter((k) => k.usable).map((k) => k.kind))],
    ['not here', list(kinds.filter((k) => !k.usable).map((k) => k.kind))],
    ['role', `${cell(s.policy?.role)}${s.policy?.file ? ` (policy ${cell(s.policy.file)})` : ''}`],
    ['catalog', `${s.catalog?.length ?? 0} entries (ebpf-mcp catalog)`],
  ];
}

/** The command. */
export const infoCommand: Command = {
  name: 'info',
  summary: 'the host: kernel, BTF, mounts, capabilities, attach kinds, role',
  usage: `Usage: ebpf-mcp info [--json]

What eBPF can do on the server's host, probed live: kernel, libbpf, BTF, bpffs and tracefs,
capabilities (and how to grant missing ones), the attach kinds usable here, this session's role.
--json prints the info tool's whole structuredContent.
`,
  options: {},
  positionals: { min: 0, max: 0 },
  async run(ctx) {
    const s = (await (await ctx.session()).call('info')).structuredContent ?? {};
    if (wantsJson(ctx)) {
      print(safeJson(s, 2));
      return 0;
    }
    const rows = infoRows(s);
    const width = Math.max(...rows.map(([k]) => k.length));
    print(rows.map(([k, v]) => `${paint(ctx.style, 'bold', k.padEnd(width))}  ${escapeLine(v)}`));
    return 0;
  },
};
