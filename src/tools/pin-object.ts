/** The optional `pin_object` and `unpin_object` tools: keep objects beyond the session, and let them go. */
import { rmSync } from 'node:fs';
import * as z from 'zod';
import { ToolError, invalid } from '../errors.js';
import { kernelFailure } from '../kernel/errors.js';
import { identifyPin, pinFd } from '../kernel/pins.js';
import { existingPinPath, pinPath, preparePinDirectory } from '../policy/pin-path.js';
import type { Session } from '../session/session.js';
import { requireUnpin } from './pin-guard.js';
import { defineTool } from './tool.js';

const kind = z.enum(['program', 'map', 'link']);
const pinned = z.strictObject({ path: z.string(), kind, id: z.int() });

/** The fd through which this session holds an object of `kind` with kernel id `id`. */
function ownedFd(session: Session, k: z.infer<typeof kind>, id: number): number {
  if (k === 'link') {
    const held = session.findLink(id);
    const link = held?.links.find((l) => l.id === id);
    const fd = link?.fd ?? -1;
    if (fd < 0) throw new ToolError('PERMISSION_DENIED', `link ${id} is not a link this session attached`, { link_id: id });
    return fd;
  }
  for (const o of session.loadedObjects()) {
    const own = (k === 'program' ? o.programs : o.maps).find((x) => x.id === id);
    if (own && own.fd >= 0) return own.fd;
  }
  throw new ToolError('PERMISSION_DENIED', `${k} ${id} was not created by this session`, { kind: k, id });
}

/** `pin_object`: pin a program, map or link of this session under the pin prefix. */
export const pinObjectTool = defineTool(() => ({
  name: 'pin_object',
  title: 'Pin a BPF object',
  version: '1.0.0',
  description:
    "Pin a program, map or link this session created under the server's pin prefix, so it outlives the session " +
    '(a pinned link keeps its program attached). `path` is a relative name like "app/counter". Off by default; ' +
    'enabled with --enable-tools.',
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  grants: ['pin'],
  input: z.strictObject({ kind, id: z.int().positive(), path: z.string().min(1).max(512).describe('Name under the pin prefix') }),
  output: pinned,
  async run(input, ctx) {
    requireUnpin(ctx, 'path');
    const path = pinPath(ctx.pinPrefix, input.path, 'path');
    const fd = ownedFd(ctx.session, input.kind, input.id);
    preparePinDirectory(path);
    try {
      pinFd(fd, path);
    } catch (e) {
      throw kernelFailure(e, `pinning ${input.kind} ${input.id} at ${path}`);
    }
    try {
      ctx.pins.add(path, { kind: input.kind, id: input.id, session: ctx.session.id, pinned_at: new Date().toISOString() });
    } catch (e) {
      rmSync(path, { force: true });
      throw e;
    }
    return { data: { path, kind: input.kind, id: input.id }, summary: `Pinned ${input.kind} ${input.id}; it outlives this session until unpinned.` };
  },
}));

/** `unpin_object`: remove a pin under the pin prefix. */
export const unpinObjectTool = defineTool(() => ({
  name: 'unpin_object',
  title: 'Unpin a BPF object',
  version: '1.0.0',
  description:
    "Remove a pin under the server's pin prefix (a relative name or an absolute path inside the prefix). The " +
    'object is released once nothing else holds it: an unpinned link with no holder detaches. Off by default; ' +
    'enabled with --enable-tools.',
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
  grants: ['pin'],
  input: z.strictObject({ path: z.string().min(1).max(512) }),
  output: pinned,
  async run(input, ctx) {
    const path = existingPinPath(ctx.pinPrefix, input.path, 'path');
    const pin = identifyPin(path);
    if (!pin) throw invalid('path', `nothing is pinned at ${path}`);
    rmSync(path);
    ctx.session.forgetPin(path);
    ctx.pins.remove(path, pin.kind, pin.id);
    return { data: pin, summary: `Unpinned ${pin.kind} ${pin.id}.` };
  },
}));
