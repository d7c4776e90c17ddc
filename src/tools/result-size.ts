/**
 * Results sized for a context window: one call's byte budget (its
 * `max_bytes`, or the server's default), how it is shared between the text
 * rendering and the structured data, and the `max_bytes` input the tools
 * with large results take.
 */
import * as z from 'zod';
import { type Limits, formatBytes } from '../policy/limits.js';

/** Most bytes of the text rendering of a result's data. */
const TEXT_BYTES = 16 << 10;

/** Room kept for the summary, the envelope and the fields a tool adds after its large lists. */
const OVERHEAD_BYTES = 2 << 10;

/** The `max_bytes` input of a tool whose results can be large. */
export const maxBytesInput = (limits: Limits) =>
  z
    .int()
    .min(4096)
    .max(limits.maxResultBytesMax)
    .optional()
    .describe(`Result size cap (default ${formatBytes(limits.maxResultBytes)})`);

/** The byte budget of one call: its `max_bytes` input when it has one, else the server's default. */
export function callBudget(input: unknown, limits: Limits): number {
  const asked = (input as { max_bytes?: unknown } | undefined)?.max_bytes;
  return typeof asked === 'number' ? asked : limits.maxResultBytes;
}

/** Most bytes of the text rendering of the data in a result of `maxBytes`: a quarter of it, at most 16 KiB. */
export function textBudget(maxBytes: number): number {
  return Math.min(TEXT_BYTES, Math.floor(maxBytes / 4));
}

/** Most bytes the structured data of a result of `maxBytes` may take (as JSON), less what `fixed` parts of it take already. */
export function dataBudget(maxBytes: number, ...fixed: unknown[]): number {
  const taken = fixed.reduce<number>((n, part) => n + (part === undefined ? 0 : Buffer.byteLength(JSON.stringify(part))), 0);
  return Math.max(0, maxBytes - textBudget(maxBytes) - OVERHEAD_BYTES - taken);
}
