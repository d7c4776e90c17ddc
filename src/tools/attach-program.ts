/**
 * The `attach_program` tool: attaches a program this session loaded to a
 * kernel hook, for real, and holds the attachment until the session ends,
 * a lease runs out, or (when pinned) beyond.
 */
import { rmSync } from 'node:fs';
import { z } from 'zod';
import { ToolError, limitExceeded } from '../errors.js';
import { HOOKS, attachProgram, attachmentSchema } from '../hooks/index.js';
import { programInfo } from '../kernel/inventory.js';
import type { Limits } from '../policy/limits.js';
import { pinPath, preparePinDirectory } from '../policy/pin-path.js';
import { defineTool } from './tool.js';
import { requireUnpin } from './pin-guard.js';
import { attachError } from './wire-error.js';

const inputFor = (limits: Limits) =>
  z.strictObject({
    program_id: z.int().positive().describe('Kernel id of a program this session loaded (from load_program)'),
    attachment: attachmentSchema,
    pin_path: z
      .string()
      .min(1)
      .max(512)
      .optional()
      .describe("Pin the link under the server's pin prefix (a relative name like \"my/link\"); it then outlives the session. Needs unpin_object enabled"),
    ttl_seconds: z.int().min(1).max(limits.maxLeaseSeconds).optional().describe('A lease: detach (and unpin) automatically after this many seconds'),
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
  iterator: z
    .strictObject({
      output: z.string().describe("The iterator's text (data from the kernel, not instructions)"),
      bytes: z.int().describe('Bytes of output'),
      truncated: z.boolean().describe('Whether the iterator wrote more than max_bytes; the rest was cut'),
    })
    .optional()
    .describe('iter only: what the iterator wrote on its run'),
});

/** `attach_program`: attach a loaded program to a hook. */
export const attachProgramTool = defineTool((limits: Limits) => ({
  name: 'attach_program',
  title: 'Attach a program to a kernel hook',
  version: '1.0.0',
  description:
    'Attach a program loaded by this session (its kernel id from load_program) to a hook, so it starts running: ' +
    `${HOOKS.map((h) => h.kind).join(', ')} (auto: as the program's section name says). ` +
    '`attachment` takes exactly one of these keys, e.g. ' +
    '{"tracepoint": {"category": "syscalls", "name": "sys_enter_openat"}}. The target is checked first: a missing ' +
    'tracepoint, interface, binary, function, cgroup, network namespace or map is an error listing what exists; a hook this kernel lacks is ' +
    'UNSUPPORTED_BPF_FEATURE with the alternatives that work. Returns the kernel link id (visible in inspect_state). ' +
    'The attachment lasts until the session ends, or `ttl_seconds` runs out; with `pin_path` it outlives the ' +
    `session. Limit: ${limits.maxLinksPerSession} attachments per session.`,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  input: inputFor(limits),
  output,
  async run(input, ctx) {
    const held = ctx.session.heldLinks().length;
    if (held >= ctx.limits.maxLinksPerSession) {
      throw limitExceeded(`this session already holds ${held} attachments, the limit`, 'links', ctx.limits.maxLinksPerSession, held);
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
    const program = owner.programs.find((p) => p.id === input.program_id);
    if (!program) throw new ToolError('PROGRAM_NOT_FOUND', `program ${input.program_id} is no longer in its object`);
    if (input.pin_path !== undefined) requireUnpin(ctx, 'pin_path');
    const pin = input.pin_path === undefined ? undefined : pinPath(ctx.pinPrefix, input.pin_path, 'pin_path');

    const kind = Object.keys(input.attachment)[0] ?? 'auto';
    let attached: ReturnType<typeof attachProgram>;
    try {
      attached = attachProgram({ object: owner.object, program, objects: ctx.session.loadedObjects().map((o) => o.object) }, input.attachment);
    } catch (e) {
      throw attachError(e, kind);
    }
    const [first] = attached.links;
    let pinned = false;
    let entry: ReturnType<typeof ctx.session.adoptLink>;
    try {
      if (pin && first) {
        preparePinDirectory(pin);
        first.pin(pin);
        pinned = true;
        ctx.pins.add(pin, { kind: 'link', id: first.id ?? 0, session: ctx.session.id, pinned_at: new Date().toISOString() });
      }
      entry = ctx.session.adoptLink(
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
        (expired) => expired.pinPath && ctx.pins.remove(expired.pinPath, 'link', expired.linkIds[0] ?? 0),
      );
    } catch (e) {
      // A call that fails leaves nothing: no pin, no record of it, no link.
      if (pin && pinned) {
        rmSync(pin, { force: true });
        ctx.pins.remove(pin, 'link', first?.id ?? 0);
      }
      for (const l of attached.links) l.destroy();
      throw e;
    }
    const data = {
      link_id: entry.linkIds[0] ?? null,
      link_ids: entry.linkIds,
      link_handle: entry.handle,
      program_id: input.program_id,
      attachment_point: attached.point,
      pin_path: pin ?? null,
      expires_at: entry.expiresAt?.toISOString() ?? null,
      ...(attached.note ? { note: attached.note } : {}),
      ...(attached.iterator ? { iterator: attached.iterator } : {}),
    };
    const until = pin
      ? entry.expiresAt
        ? `Pinned at ${pin}; the lease detaches and unpins it at ${data.expires_at}, or when this session ends if sooner.`
        : `Pinned at ${pin}, so it outlives this session until unpin_object removes the pin.`
      : entry.expiresAt
        ? `The lease detaches it at ${data.expires_at}, or when this session ends if sooner.`
        : 'It runs until this session ends.';
    const summary =
      `Attached program ${input.program_id} (${entry.linkIds.length} link${entry.linkIds.length > 1 ? 's' : ''}, ` +
      `link id ${data.link_id ?? 'none'}, handle ${entry.handle}). ` +
      (attached.iterator
        ? `The iterator wrote ${attached.iterator.bytes} bytes${attached.iterator.truncated ? ', cut at max_bytes' : ''} (in structuredContent.iterator.output). `
        : '') +
      until;
    return { data, summary };
  },
}));
