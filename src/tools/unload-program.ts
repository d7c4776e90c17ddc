/** The optional `unload_program` tool: release a loaded object before the session ends. */
import * as z from 'zod';
import { ToolError } from '../errors.js';
import { defineTool } from './tool.js';

const input = z
  .strictObject({
    object_id: z.string().min(1).max(64).optional().describe('The handle load_program returned (obj-1, ...)'),
    program_id: z.int().positive().optional().describe('Any program of the object'),
  })
  .refine((i) => (i.object_id === undefined) !== (i.program_id === undefined), { message: 'give object_id or program_id, not both' });

const output = z.strictObject({
  object_id: z.string(),
  program_ids: z.array(z.int()),
  map_ids: z.array(z.int()),
});

/** `unload_program`: unload one of this session's objects and detach its programs. */
export const unloadProgramTool = defineTool(() => ({
  name: 'unload_program',
  title: 'Unload a BPF object',
  version: '1.0.0',
  description:
    'Unload an object this session loaded (by object_id, or by the id of any of its programs): its attachments ' +
    'made by this session are detached, and its programs and maps are released (a pinned program, map or link ' +
    'lives on until unpinned). Off by default; enabled with --enable-tools.',
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
  grants: ['unload'],
  input,
  output,
  async run(input, ctx) {
    const entry = input.object_id !== undefined ? ctx.session.loadedObjects().find((o) => o.id === input.object_id) : ctx.session.objectOfProgram(input.program_id as number);
    if (!entry) {
      throw new ToolError('PROGRAM_NOT_FOUND', `this session holds no object ${input.object_id ?? `with program ${input.program_id}`}`, {
        objects: ctx.session.loadedObjects().map((o) => ({ object_id: o.id, program_ids: o.programs.map((p) => p.id) })),
      });
    }
    ctx.session.releaseObject(entry.id);
    const data = { object_id: entry.id, program_ids: entry.programs.map((p) => p.id), map_ids: entry.maps.map((m) => m.id) };
    return { data, summary: `Unloaded ${entry.id}: ${data.program_ids.length} program(s) and ${data.map_ids.length} map(s) released.` };
  },
}));
