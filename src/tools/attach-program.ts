/**
 * The `attach_program` tool: attaches a program this session loaded to a
 * kernel hook, for real, and holds the attachment until the session ends,
 * a lease runs out, or (when pinned) beyond.
 */
import { z } from 'zod';
import { ToolError } from '../errors.js';
import { type AttachSpec, PERF_EVENTS, type PerfEventName, attachProgram } from '../kernel/attach.js';
import { programInfo } from '../kernel/inventory.js';
import { pinPath, preparePinDirectory } from '../policy/pin-path.js';
import { defineTool } from './tool.js';

const name = z.string().min(1).max(256);
const pid = z.int().positive().optional().describe('Only this process (default: every process)');

const attachment = z
  .strictObject({
    tracepoint: z
      .strictObject({ category: name.describe('e.g. "syscalls", "sched"'), name: name.describe('e.g. "sys_enter_openat"') })
      .optional()
      .describe('A static kernel tracepoint (tracefs events/<category>/<name>); program type tracepoint'),
    raw_tracepoint: z.strictObject({ name: name.describe('e.g. "sys_enter", "sched_switch"') }).optional().describe('A raw tracepoint; program type raw_tracepoint'),
    kprobe: z
      .strictObject({
        function: name.describe('Kernel function'),
        retprobe: z.boolean().default(false).describe('Fire on return instead of entry'),
        offset: z.int().min(0).max(1 << 20).default(0),
      })
      .optional()
      .describe('A kernel function (needs kprobe support in the kernel; info says whether it has it); program type kprobe'),
    uprobe: z
      .strictObject({
        binary: name.describe('Absolute path of the executable or library'),
        function: name.optional().describe('Function name from the ELF symbol table'),
        offset: z.int().min(0).max(2 ** 31 - 1).default(0).describe('Offset within the function, or within the file without a function'),
        pid,
        retprobe: z.boolean().default(false),
      })
      .optional()
      .describe('A user-space function; program type kprobe (SEC("uprobe"))'),
    usdt: z
      .strictObject({ binary: name, provider: name, name, pid })
      .optional()
      .describe('A USDT probe compiled into a binary; program type kprobe (SEC("usdt"))'),
    perf_event: z
      .strictObject({
        event: z.enum(Object.keys(PERF_EVENTS) as [PerfEventName, ...PerfEventName[]]).default('cpu-clock'),
        frequency: z.int().min(1).max(100_000).optional().describe('Samples per second (default 99)'),
        period: z.int().min(1).optional().describe('One sample every this many events (instead of frequency)'),
        cpu: z.union([z.int().min(0).max(4095), z.literal('all')]).default('all'),
        pid,
      })
      .refine((p) => p.frequency === undefined || p.period === undefined, { message: 'give frequency or period, not both' })
      .optional()
      .describe('Sampling on a perf event, one link per CPU; program type perf_event'),
    xdp: z
      .strictObject({ interface: name, mode: z.enum(['native', 'generic', 'offload']).default('native') })
      .optional()
      .describe('Every packet arriving on a network interface; program type xdp'),
    tc: z
      .strictObject({
        interface: name,
        direction: z.enum(['ingress', 'egress']).default('ingress'),
        priority: z.int().min(1).max(65535).default(1).describe('Filter priority (netlink tc only)'),
      })
      .optional()
      .describe('Traffic control on an interface (tcx link where the kernel has it); program type sched_cls'),
    cgroup: z
      .strictObject({
        path: name.describe('cgroup directory, absolute inside the cgroup2 mount or relative to it'),
        attach_type: z.string().min(1).max(64).optional().describe('e.g. "cgroup_inet_egress" (default: from the program\'s section)'),
      })
      .optional()
      .describe('A cgroup v2 hook; program types cgroup_skb, cgroup_sock, cgroup_sock_addr, ...'),
    auto: z.strictObject({}).optional().describe("Attach as the program's section name says (e.g. SEC(\"tp/sched/sched_process_exec\"))"),
  })
  .refine((a) => Object.keys(a).length === 1, { message: 'give exactly one attachment kind, e.g. {"tracepoint": {...}}' })
  .meta({ minProperties: 1, maxProperties: 1 })
  .describe('Exactly one key naming the kind, whose value holds its settings');

const input = z.strictObject({
  program_id: z.int().positive().describe('Kernel id of a program this session loaded (from load_program)'),
  attachment,
  pin_path: z
    .string()
    .min(1)
    .max(512)
    .optional()
    .describe("Pin the link under the server's pin prefix (a relative name like \"my/link\"); it then outlives the session"),
  ttl_seconds: z.int().min(1).max(86_400).optional().describe('A lease: detach (and unpin) automatically after this many seconds'),
});

const output = z.strictObject({
  link_id: z.int().nullable().describe('Kernel link id (null where there is no single kernel link: netlink tc, USDT)'),
  link_ids: z.array(z.int().nullable()).describe('All kernel links made (perf events: one per CPU)'),
  link_handle: z.string().describe("This session's handle for the attachment"),
  program_id: z.int(),
  attachment_point: z.string().describe('Exactly what the program is attached to'),
  pin_path: z.string().nullable(),
  expires_at: z.string().nullable().describe('When the lease detaches it (ISO 8601)'),
  note: z.string().optional(),
});

type Attachment = z.output<typeof attachment>;

/** The one kind given, as the kernel layer's spec. */
function specOf(a: Attachment): AttachSpec {
  if (a.tracepoint) return { kind: 'tracepoint', ...a.tracepoint };
  if (a.raw_tracepoint) return { kind: 'raw_tracepoint', ...a.raw_tracepoint };
  if (a.kprobe) return { kind: 'kprobe', ...a.kprobe };
  if (a.uprobe) return { kind: 'uprobe', ...a.uprobe, pid: a.uprobe.pid ?? -1 };
  if (a.usdt) return { kind: 'usdt', ...a.usdt, pid: a.usdt.pid ?? -1 };
  if (a.perf_event) return { kind: 'perf_event', ...a.perf_event, pid: a.perf_event.pid ?? -1 };
  if (a.xdp) return { kind: 'xdp', ...a.xdp };
  if (a.tc) return { kind: 'tc', ...a.tc };
  if (a.cgroup) return { kind: 'cgroup', ...a.cgroup };
  return { kind: 'auto' };
}

/** `attach_program`: attach a loaded program to a hook. */
export const attachProgramTool = defineTool({
  name: 'attach_program',
  title: 'Attach a program to a kernel hook',
  version: '1.0.0',
  description:
    'Attach a program loaded by this session (its kernel id from load_program) to a hook, so it starts running: ' +
    'tracepoint, raw_tracepoint, kprobe, uprobe, usdt, perf_event (sampling), xdp, tc, cgroup, or auto (as the ' +
    "program's section name says). `attachment` takes exactly one of these keys, e.g. " +
    '{"tracepoint": {"category": "syscalls", "name": "sys_enter_openat"}}. The target is checked first: a missing ' +
    'tracepoint, interface, binary, function or cgroup is an error listing what exists; a hook this kernel lacks is ' +
    'UNSUPPORTED_BPF_FEATURE with the alternatives that work. Returns the kernel link id (visible in inspect_state). ' +
    'The attachment lasts until the session ends, or `ttl_seconds` runs out; with `pin_path` it outlives the ' +
    'session. Limit: 64 attachments per session.',
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  input,
  output,
  async run(input, ctx) {
    const held = ctx.session.heldLinks().length;
    if (held >= ctx.limits.maxLinksPerSession) {
      throw new ToolError('RESOURCE_LIMIT_EXCEEDED', `this session already holds ${held} attachments, the limit`, {
        current_usage: { links: held },
        limit: ctx.limits.maxLinksPerSession,
      });
    }
    const owner = ctx.session.objectOfProgram(input.program_id);
    if (!owner) {
      if (programInfo(input.program_id)) {
        throw new ToolError('PERMISSION_DENIED', `program ${input.program_id} was not loaded by this session; only programs it loaded can be attached`, {
          program_id: input.program_id,
          owned_programs: ctx.session.loadedObjects().flatMap((o) => o.programs.map((p) => p.id)),
        });
      }
      throw new ToolError('PROGRAM_NOT_FOUND', `no program ${input.program_id} is loaded`, {
        program_id: input.program_id,
        owned_programs: ctx.session.loadedObjects().flatMap((o) => o.programs.map((p) => p.id)),
      });
    }
    const loaded = owner.programs.find((p) => p.id === input.program_id);
    const program = owner.object.programs().find((p) => p.name === loaded?.name);
    if (!program) throw new ToolError('PROGRAM_NOT_FOUND', `program ${input.program_id} is no longer in its object`);
    const pin = input.pin_path === undefined ? undefined : pinPath(ctx.pinPrefix, input.pin_path, 'pin_path');

    const attached = attachProgram(owner.object, program, specOf(input.attachment));
    const [first] = attached.links;
    try {
      if (pin && first) {
        preparePinDirectory(pin);
        first.pin(pin);
        ctx.pins.add(pin, { kind: 'link', id: first.id ?? 0, session: ctx.session.id, pinned_at: new Date().toISOString() });
      }
    } catch (e) {
      for (const l of attached.links) l.destroy();
      throw e;
    }
    const entry = ctx.session.adoptLink(
      {
        links: attached.links,
        linkIds: attached.links.map((l) => l.id),
        programId: input.program_id,
        objectId: owner.id,
        point: attached.point,
        createdAt: new Date(),
        ...(pin ? { pinPath: pin } : {}),
      },
      input.ttl_seconds,
      (expired) => expired.pinPath && ctx.pins.remove(expired.pinPath),
    );
    const data = {
      link_id: entry.linkIds[0] ?? null,
      link_ids: entry.linkIds,
      link_handle: entry.handle,
      program_id: input.program_id,
      attachment_point: attached.point,
      pin_path: pin ?? null,
      expires_at: entry.expiresAt?.toISOString() ?? null,
      ...(attached.note ? { note: attached.note } : {}),
    };
    const summary =
      `Attached program ${input.program_id} (${entry.linkIds.length} link${entry.linkIds.length > 1 ? 's' : ''}, ` +
      `link id ${data.link_id ?? 'none'}, handle ${entry.handle}). ` +
      (pin ? `Pinned, so it outlives this session. ` : '') +
      (entry.expiresAt ? `Lease: detached at ${data.expires_at}. ` : '') +
      'It runs until this session ends.';
    return { data, summary };
  },
});
