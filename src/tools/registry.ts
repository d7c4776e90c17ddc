/** The tools this server offers, in the order tools/list shows them. */
import { attachProgramTool } from './attach-program.js';
import { infoTool } from './info.js';
import { inspectStateTool } from './inspect-state.js';
import { loadProgramTool } from './load-program.js';
import type { AnyTool } from './tool.js';

/** Every tool, enabled by default. */
export const TOOLS: readonly AnyTool[] = [infoTool, loadProgramTool, attachProgramTool, inspectStateTool];
