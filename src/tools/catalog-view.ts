/**
 * The catalog as the server shows it: the brief list (info, ebpf://catalog)
 * and whole manifests with their parameters as JSON Schema (inspect_state's
 * `catalog`, ebpf://catalog/<name>).
 */
import { z } from 'zod';
import { CATALOG, type CatalogEntry } from '../catalog/index.js';
import { toJson } from './json-schema.js';

/** One entry in brief. */
export const catalogBrief = z.strictObject({ name: z.string(), question: z.string() });

/** One whole manifest. */
export const catalogManifest = z.strictObject({
  name: z.string(),
  object: z.string().describe('The file in the catalog directory'),
  question: z.string(),
  parameters: z.record(z.string(), z.unknown()).describe('JSON Schema of source.parameters'),
  read: z.union([z.strictObject({ buffer: z.string() }), z.strictObject({ map: z.string(), shape: z.enum(['histogram', 'counts', 'stacks']) })]),
  attach: z.literal('auto'),
  how: z.array(z.string()).describe('The calls in order'),
});

/** Every entry in brief. */
export const catalogList = (): z.output<typeof catalogBrief>[] => CATALOG.map(({ name, question }) => ({ name, question }));

/** An entry's whole manifest, parameters as JSON Schema. */
export function manifestOf(e: CatalogEntry): z.output<typeof catalogManifest> {
  return { name: e.name, object: e.object, question: e.question, parameters: toJson(e.parameters, 'input'), read: e.read, attach: e.attach, how: e.how };
}

/** Every entry's whole manifest. */
export const catalogManifests = (): z.output<typeof catalogManifest>[] => (CATALOG as readonly CatalogEntry[]).map(manifestOf);
