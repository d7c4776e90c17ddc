/** The tools this server offers, in the order tools/list shows them, built for the limits and the caller's access. */
import { Access } from '../policy/access.js';
import type { Limits } from '../policy/limits.js';
import { defaultPolicy } from '../policy/policy.js';
import { attachProgramTool } from './attach-program.js';
import { detachLinkTool } from './detach-link.js';
import { infoTool } from './info.js';
import { inspectStateTool } from './inspect-state.js';
import { loadProgramTool } from './load-program.js';
import { mapBatchOpTool } from './map-batch-op.js';
import { streamEventsTool } from './stream-events.js';
import { pinObjectTool, unpinObjectTool } from './pin-object.js';
import type { AnyTool, ToolFactory } from './tool.js';
import { unloadProgramTool } from './unload-program.js';

/** The tools every server offers. */
const CORE: readonly ToolFactory[] = [infoTool, loadProgramTool, attachProgramTool, inspectStateTool, streamEventsTool];

/** Tools that change or remove objects by hand; offered only when --enable-tools names them. */
const OPTIONAL: readonly ToolFactory[] = [detachLinkTool, unloadProgramTool, pinObjectTool, unpinObjectTool, mapBatchOpTool];

/** A server's tools for `limits` and `access`: the core ones, and the optional ones to offer when named. */
export function toolsFor(limits: Limits, access: Access): { core: AnyTool[]; optional: AnyTool[] } {
  return { core: CORE.map((make) => make(limits, access)), optional: OPTIONAL.map((make) => make(limits, access)) };
}

/** The names of the optional tools. */
export const OPTIONAL_TOOLS: readonly string[] = OPTIONAL.map((make) => make(defaultPolicy().limits, new Access('admin', defaultPolicy())).name);

/** Every tool the server knows, with the default policy as an admin reads them: what schemas/ and docs/TOOL_SPECS.md document. */
export function allTools(): AnyTool[] {
  const policy = defaultPolicy();
  const { core, optional } = toolsFor(policy.limits, new Access('admin', policy));
  return [...core, ...optional];
}
