/** The optional `detach_link` tool: detach an attachment now, pinned or not. */
import { existsSync, rmSync } from 'node:fs';
import * as z from 'zod';
import { ToolError } from '../errors.js';
import { KernelError } from '../kernel/errors.js';
import { BpfLink } from '../kernel/link.js';
import { listPinned } from '../kernel/pins.js';
import { defineTool } from './tool.js';

const input = z
  .strictObject({
    link_id: z.int().positive().optional().describe('Kernel link id'),
    link_handle: z.string().min(1).max(64).optional().describe("This session's handle from attach_program"),
  })
  .refine((i) => (i.link_id === undefined) !== (i.link_handle === undefined), { message: 'give link_id or link_handle, not both' });

const output = z.strictObject({
  link_ids: z.array(z.int().nullable()).describe('Kernel links detached'),
  unpinned: z.array(z.string()).describe('Pins removed (each gone when the call returned)'),
});

/** `detach_link`: detach one of this session's attachments, or a link pinned under the pin prefix. */
export const detachLinkTool = defineTool(() => ({
  name: 'detach_link',
  title: 'Detach a link',
  version: '1.0.0',
  description:
    'Detach an attachment now, instead of waiting for the session to end: one this session made (by link_id or ' +
    'link_handle), or a link pinned under the server\'s pin prefix by an earlier session (by link_id). The program ' +
    'stops running at that hook and any pin of the link is removed. The program itself stays loaded. Off by ' +
    'default; enabled with --enable-tools.',
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
  grants: ['unload'],
  input,
  output,
  async run(input, ctx) {
    const held = ctx.session.findLink(input.link_handle ?? (input.link_id as number));
    const pins = listPinned(ctx.pinPrefix).pins.filter((p) => p.kind === 'link' && (held ? held.linkIds.includes(p.id) : p.id === input.link_id));
    if (!held && pins.length === 0) {
      throw new ToolError('PERMISSION_DENIED', `link ${input.link_handle ?? input.link_id} is neither held by this session nor pinned under ${ctx.pinPrefix}`, {
        held_links: ctx.session.heldLinks().map((l) => ({ link_handle: l.handle, link_ids: l.linkIds })),
      });
    }
    if (!held) ctx.access.require('foreign', 'link_id', `detaching link ${input.link_id}, pinned by an earlier session`);
    const unpinned: string[] = [];
    for (const pin of pins) {
      const link = BpfLink.fromPin(pin.path);
      try {
        link.detach();
      } catch (e) {
        // Links of perf-event hooks (tracepoints) have no detach: removing the pin, their last hold, releases them.
        if (!(e instanceof KernelError && e.native?.code === 'EOPNOTSUPP')) throw e;
      } finally {
        link.destroy();
      }
      rmSync(pin.path, { force: true });
      ctx.session.forgetPin(pin.path);
      ctx.pins.remove(pin.path, 'link', pin.id);
      if (!existsSync(pin.path)) unpinned.push(pin.path);
    }
    const linkIds = held ? held.linkIds : pins.map((p) => p.id);
    if (held) ctx.session.releaseLink(held.handle, true);
    return {
      data: { link_ids: linkIds, unpinned },
      summary: `Detached ${linkIds.length} link(s)${unpinned.length ? ` and removed ${unpinned.length} pin(s)` : ''}.`,
    };
  },
}));
