/** The tools this server offers, in the order tools/list shows them. */
import { attachProgramTool } from './attach-program.js';
import { detachLinkTool } from './detach-link.js';
import { infoTool } from './info.js';
import { inspectStateTool } from './inspect-state.js';
import { loadProgramTool } from './load-program.js';
import { streamEventsTool } from './stream-events.js';
import { pinObjectTool, unpinObjectTool } from './pin-object.js';
import type { AnyTool } from './tool.js';
import { unloadProgramTool } from './unload-program.js';

/** The tools every server offers. */
export const TOOLS: readonly AnyTool[] = [infoTool, loadProgramTool, attachProgramTool, inspectStateTool, streamEventsTool];

/** Tools that change or remove objects by hand; offered only when --enable-tools names them. */
export const OPTIONAL_TOOLS: readonly AnyTool[] = [detachLinkTool, unloadProgramTool, pinObjectTool, unpinObjectTool];

/** Every tool the server knows, for schemas and docs. */
export const ALL_TOOLS: readonly AnyTool[] = [...TOOLS, ...OPTIONAL_TOOLS];
