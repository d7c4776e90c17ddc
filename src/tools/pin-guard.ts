/**
 * Nothing the model cannot remove: a pin outlives the session, so a server
 * pins only when it also offers unpin_object to take the pin away again.
 */
import { ToolError } from '../errors.js';
import type { ToolContext } from './tool.js';

/** Refuses a pin (asked for in input `field`) with PERMISSION_DENIED naming the flag, unless unpin_object is offered. */
export function requireUnpin(ctx: ToolContext, field: string): void {
  if (ctx.tools().some((t) => t.name === 'unpin_object')) return;
  throw new ToolError(
    'PERMISSION_DENIED',
    `${field}: a pin outlives the session and this server offers no unpin_object to remove it; start the server with --enable-tools unpin_object (or all) to pin`,
    { field, enable_with: '--enable-tools unpin_object' },
  );
}
