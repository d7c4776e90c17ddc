/**
 * One wire shape per kernel concept: every tool that returns a program or a
 * map returns these fields, spelled the same, and adds only what it alone
 * knows (load_program: whether libbpf made the map; inspect_state: owner, pins).
 */
import * as z from 'zod';

/** A map as every tool shows it. */
export const mapFields = {
  id: z.int().nullable().describe('Kernel map id (null where it is not in the kernel: verify_only)'),
  name: z.string(),
  type: z.string(),
  key_size: z.int(),
  value_size: z.int(),
  max_entries: z.int(),
  flags: z.int(),
};

/** A program as every tool shows it. */
export const programFields = {
  id: z.int().nullable().describe('Kernel program id (null where it is not loaded)'),
  name: z.string(),
  type: z.string(),
  tag: z.string().nullable(),
  instructions: z.int().describe('Instructions as the kernel holds them after verification (before load: as in the object)'),
};

/** What the kernel layer knows of any map, from an object or from the kernel. */
interface MapFacts {
  id: number;
  name: string;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
}

/** A map's common fields; `type` is its type's name. */
export function mapRow(m: MapFacts, type: string, id: number | null = m.id): z.input<z.ZodObject<typeof mapFields>> {
  return { id, name: m.name, type, key_size: m.keySize, value_size: m.valueSize, max_entries: m.maxEntries, flags: m.flags };
}
