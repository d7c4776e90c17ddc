/** The `info` tool: what this host and server can do with eBPF, probed live. */
import * as z from 'zod';
import { hookAvailability } from '../hooks/index.js';
import { policyLine, policyView } from '../policy/policy-view.js';
import { SERVER_VERSION } from '../version.js';
import { catalogBrief, catalogList } from './catalog-view.js';
import { privilegeAdvice, privilegeText } from './privileges.js';
import { defineTool } from './tool.js';

const typeSupport = z.strictObject({
  supported: z.array(z.string()).describe('Types that load on this kernel (probed)'),
  unsupported: z.array(z.string()).describe('Types this kernel refuses'),
  not_probed: z.array(z.string()).describe('Types libbpf cannot probe; try loading to find out'),
});

const mount = z.strictObject({
  path: z.string(),
  mounted: z.boolean(),
  mounted_by_server: z.boolean().describe('True when this server mounted it at start'),
  error: z.string().optional(),
});

const output = z.strictObject({
  server: z.strictObject({
    name: z.string(),
    version: z.string(),
    node: z.string().describe('The node name (--node-name; default: the host name)'),
    libbpf_version: z.string(),
    libbpf_linked: z.enum(['static', 'shared']).describe('static: libbpf is built into the server, whatever the host has'),
  }),
  kernel: z.strictObject({ release: z.string(), arch: z.string() }),
  btf: z.strictObject({ vmlinux: z.boolean().describe('Kernel BTF available (CO-RE works)'), path: z.string() }),
  mounts: z.strictObject({ bpffs: mount, tracefs: mount }),
  cgroup2_mount: z.string().nullable(),
  capabilities: z.array(z.string()).describe('BPF-relevant capabilities the server holds'),
  missing_capabilities: z.array(z.string()).describe('Needed capabilities the server lacks'),
  grant: z.string().optional().describe('How to grant them'),
  unprivileged_bpf_disabled: z.number().nullable(),
  bpf_stats_enabled: z.boolean().describe('Whether programs count run_count/run_time_ns'),
  program_types: typeSupport,
  map_types: typeSupport,
  attach_kinds: z.array(
    z.strictObject({
      kind: z.string(),
      class: z.enum(['tracing', 'network', 'cgroup', 'by program type']),
      program_types: z.array(z.string()),
      usable: z.boolean(),
      reason: z.string(),
    }),
  ),
  policy: z
    .strictObject({
      role: z.enum(['observer', 'operator', 'admin']),
      file: z.string().nullable().describe('The policy file (null: defaults)'),
      grants: z.array(z.strictObject({ grant: z.string(), allows: z.string() })).describe('What this role may do'),
      not_granted: z
        .array(z.strictObject({ grant: z.string(), allows: z.string(), role: z.string().describe('The lowest role that has it') }))
        .describe('What it may not, and which role may'),
      sources: z.strictObject({
        any: z.boolean().describe('Any path and digest'),
        allowed_dirs: z.array(z.string()).describe('Otherwise only files under these'),
        inline: z.boolean().describe('Inline (base64) objects allowed'),
        allowed_sha256: z.array(z.string()).nullable().describe('Only these digests (catalog exempt); null: any'),
      }),
      denied_helpers: z.array(z.string()).describe('Refused before load'),
      allowed_program_types: z.array(z.string()).nullable().describe('null: any'),
      quotas: z.strictObject({ objects: z.int(), programs: z.int(), maps: z.int(), map_mb: z.number(), links: z.int(), object_mb: z.number() }).describe('Per session'),
      rate_limits: z.strictObject({ calls_per_second: z.int().describe('0: none'), concurrent_streams: z.int(), requests_in_flight: z.int() }),
      max_lease_seconds: z.int(),
      pin_prefix: z.string(),
      audit_log: z.string().nullable().describe('Where calls are recorded'),
    })
    .describe('What this session may do (also the ebpf://policy resource)'),
  catalog: z
    .array(catalogBrief)
    .describe('Bundled programs for load_program {source: {type: "catalog", name}}; manifests in ebpf://catalog/<name>'),
});

/** `info`: the host's eBPF capabilities and the server's own facts. */
export const infoTool = defineTool(() => ({
  name: 'info',
  title: 'eBPF host information',
  version: '1.0.0',
  description:
    'What eBPF can do on this host, probed live: kernel, BTF, mounts, capabilities (and how to grant missing ones), ' +
    'program and map types, the attach kinds that work here (or why not), versions, the catalog, and ' +
    'this session\'s role and policy. Call it first.',
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  input: z.strictObject({}),
  output,
  async run(_input, ctx) {
    const f = ctx.host.facts();
    const kinds = hookAvailability();
    const advice = privilegeAdvice();
    const data = {
      server: { name: 'ebpf-mcp', version: SERVER_VERSION, node: ctx.node, libbpf_version: f.libbpf.version, libbpf_linked: f.libbpf.linked },
      kernel: { release: f.kernel_release, arch: f.arch },
      btf: f.btf,
      mounts: f.mounts,
      cgroup2_mount: f.cgroup2_mount,
      capabilities: f.capabilities,
      missing_capabilities: advice?.missing ?? [],
      ...(advice ? { grant: advice.grant } : {}),
      unprivileged_bpf_disabled: f.unprivileged_bpf_disabled,
      bpf_stats_enabled: f.bpf_stats_enabled,
      program_types: f.program_types,
      map_types: f.map_types,
      attach_kinds: kinds,
      policy: policyView(ctx.access),
      catalog: catalogList(),
    };
    const unusable = kinds.filter((k) => !k.usable).map((k) => k.kind);
    const summary = [
      ...(advice ? [`Not privileged: ${privilegeText(advice)}. Until then the kernel refuses loads and lists, and every type probes as unsupported.`] : []),
      `Linux ${f.kernel_release} (${f.arch}), libbpf ${f.libbpf.version} (${f.libbpf.linked}), kernel BTF ${f.btf.vmlinux ? 'available' : 'missing'}.`,
      `bpffs ${f.mounts.bpffs.mounted ? 'mounted' : 'NOT mounted'}${f.mounts.bpffs.mounted_by_server ? ' (by this server)' : ''}, ` +
        `tracefs ${f.mounts.tracefs.mounted ? 'mounted' : 'NOT mounted'}${f.mounts.tracefs.mounted_by_server ? ' (by this server)' : ''}.`,
      `${f.program_types.supported.length} program types and ${f.map_types.supported.length} map types load here.`,
      `Attach kinds usable: ${kinds.filter((k) => k.usable).map((k) => k.kind).join(', ') || 'none'}` +
        (unusable.length ? `; not usable here: ${unusable.join(', ')}.` : '.'),
      `Catalog (load_program {source: {type: "catalog", name}}): ${data.catalog.map((e) => e.name).join(', ')}.`,
      policyLine(data.policy),
    ].join('\n');
    return { data, summary };
  },
}));
