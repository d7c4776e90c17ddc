/** The tools this server offers, in the order tools/list shows them, built for the limits in force. */
import { DEFAULT_LIMITS, type Limits } from '../policy/limits.js';
import { attachProgramTool } from './attach-program.js';
import { detachLinkTool } from './detach-link.js';
import { infoTool } from './info.js';
import { inspectStateTool } from './inspect-state.js';
import { loadProgramTool } from './load-program.js';
import { streamEventsTool } from './stream-events.js';
import { pinObjectTool, unpinObjectTool } from './pin-object.js';
import type { AnyTool, ToolFactory } from './tool.js';
import { unloadProgramTool } from './unload-program.js';

/** The tools every server offers. */
const CORE: readonly ToolFactory[] = [infoTool, loadProgramTool, attachProgramTool, inspectStateTool, streamEventsTool];

/** Tools that change or remove objects by hand; offered only when --enable-tools names them. */
const OPTIONAL: readonly ToolFactory[] = [detachLinkTool, unloadProgramTool, pinObjectTool, unpinObjectTool];

/** A server's tools for `limits`: the core ones, and the optional ones to offer when named. */
export function toolsFor(limits: Limits): { core: AnyTool[]; optional: AnyTool[] } {
  return { core: CORE.map((make) => make(limits)), optional: OPTIONAL.map((make) => make(limits)) };
}

/** Every tool the server knows, with the default limits: what schemas/ and docs/TOOL_SPECS.md document. */
export function allTools(): AnyTool[] {
  const { core, optional } = toolsFor(DEFAULT_LIMITS);
  return [...core, ...optional];
}
