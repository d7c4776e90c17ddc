/** The optional `map_batch_op` tool: look up, update or delete entries of a map by key, several in one call. */
import * as z from 'zod';
import { ERROR_TYPES, type ErrorType, invalid } from '../errors.js';
import { errnoName } from '../kernel/errno.js';
import { type ElemOp, type ElemResult, type ElemsOutcome, mapElems } from '../kernel/map-elems.js';
import { defineTool } from './tool.js';

/** Most entries in one call. */
const MAX_ENTRIES = 1000;

/** A key or a value as JSON: a number, a string, a boolean, an array or an object, checked against the map's BTF. */
const json = () => z.unknown().meta({ type: ['number', 'string', 'boolean', 'array', 'object'] });

const entry = z.strictObject({
  key: json(),
  value: json().optional().describe('update only; struct fields left out are zero'),
});

const input = z.strictObject({
  map_id: z.int().positive(),
  op: z.enum(['lookup', 'update', 'delete']),
  entries: z.array(entry).min(1).max(MAX_ENTRIES),
  flags: z.enum(['any', 'noexist', 'exist']).optional().describe('update only: any key (default), new keys only, existing keys only'),
});

const elemError = z.strictObject({
  type: z.enum(ERROR_TYPES),
  message: z.string(),
  errno_name: z.string(),
  syscall_errno: z.int(),
  max_entries: z.int().optional(),
});

const output = z.strictObject({
  map_id: z.int(),
  name: z.string(),
  type: z.string(),
  op: z.enum(['lookup', 'update', 'delete']),
  per_cpu: z.boolean(),
  encoding: z.strictObject({ key: z.enum(['btf', 'index', 'hex']), value: z.enum(['btf', 'hex']) }),
  results: z.array(
    z.strictObject({
      key: z.unknown(),
      ok: z.boolean(),
      value: z.unknown().optional(),
      values: z.array(z.unknown()).optional().describe('Per-CPU maps: one value per possible CPU'),
      error: elemError.optional(),
    }),
  ),
  succeeded: z.int(),
  failed: z.int(),
});

/** What one refused key means, by errno: its type and a message a model can act on. */
function elemFailure(op: ElemOp, m: ElemsOutcome, errno: number): z.infer<typeof elemError> {
  const name = errnoName(errno);
  const array = m.type === 'array' || m.type === 'percpu_array';
  let type: ErrorType = 'MAP_ACCESS_ERROR';
  let message: string;
  let extra = {};
  switch (name) {
    case 'ENOENT':
      message = array ? `no such index: the array has ${m.maxEntries}` : op === 'update' ? 'no entry with this key (flags exist updates existing keys only)' : 'no entry with this key';
      break;
    case 'EEXIST':
      message = 'an entry with this key exists (flags noexist adds new keys only)';
      break;
    case 'E2BIG':
      if (array) {
        message = `no such index: the array has ${m.maxEntries}`;
      } else {
        type = 'RESOURCE_LIMIT_EXCEEDED';
        message = `the map is full: it holds at most ${m.maxEntries} entries; delete some first`;
      }
      extra = { max_entries: m.maxEntries };
      break;
    case 'EPERM':
    case 'EACCES':
      message = `the kernel refused to ${op} it (${name}): the map does not allow it from user space`;
      break;
    default:
      message = `the kernel refused to ${op} it (${name})`;
  }
  return { type, message, errno_name: name, syscall_errno: errno, ...extra };
}

/** One key's result on the wire. */
function wireResult(op: ElemOp, m: ElemsOutcome, r: ElemResult) {
  if (r.errno !== 0) return { key: r.key, ok: false, error: elemFailure(op, m, r.errno) };
  return { key: r.key, ok: true, ...(r.values ? { values: r.values } : 'value' in r ? { value: r.value } : {}) };
}

/** `map_batch_op`: lookup, update or delete of several keys of one map, each with its own result. Admin only. */
export const mapBatchOpTool = defineTool(() => ({
  name: 'map_batch_op',
  title: 'Look up, update or delete map entries',
  version: '1.0.0',
  description:
    `Look up, update or delete map entries by key, up to ${MAX_ENTRIES} per call. Keys and values are JSON as ` +
    "inspect_state shows them (from the map's BTF; an array's key is its index; hex without BTF). Per-CPU maps: an " +
    "update's value is an array, one per possible CPU; lookup returns `values`. Each entry reports ok or its own " +
    'error (missing key, full map, EEXIST with flags noexist). Off by default; enabled with --enable-tools.',
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
  grants: ['map_write'],
  input,
  output,
  async run(input, ctx) {
    if (!ctx.session.objectOfMap(input.map_id)) ctx.access.require('foreign', 'map_id', `${input.op} on map ${input.map_id}, which this session did not create`);
    if (input.flags !== undefined && input.op !== 'update') throw invalid('flags', `flags apply to update only, not ${input.op}`);
    const extra = input.op === 'update' ? -1 : input.entries.findIndex((e) => e.value !== undefined);
    if (extra >= 0) throw invalid(`entries[${extra}].value`, `only update takes a value, not ${input.op}`);
    const flags = input.flags ?? 'any';
    const m = mapElems(input.map_id, input.op, input.entries, flags);
    const results = m.results.map((r) => wireResult(input.op, m, r));
    const failed = results.filter((r) => !r.ok).length;
    const byErrno = [...new Set(results.flatMap((r) => (r.error ? [r.error.errno_name] : [])))].join(', ');
    return {
      data: {
        map_id: m.id,
        name: m.name,
        type: m.type,
        op: input.op,
        per_cpu: m.perCpu,
        encoding: m.encoding,
        results,
        succeeded: results.length - failed,
        failed,
      },
      summary: `${input.op} on map ${m.id} (${m.type}): ${results.length - failed} of ${results.length} entries ok${failed ? `; ${failed} failed (${byErrno}): see results[].error` : ''}.`,
    };
  },
}));
