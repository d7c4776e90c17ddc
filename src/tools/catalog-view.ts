/**
 * The catalog as the server shows it: the brief list (info, ebpf://catalog)
 * and whole manifests with their parameters as JSON Schema (inspect_state's
 * `catalog`, ebpf://catalog/<name>). A manifest with variants says whether
 * each one's hook works on this host, so it is built when it is read.
 */
import * as z from 'zod';
import { CATALOG, type CatalogEntry, type CatalogHook, DEFAULT_HOOK } from '../catalog/index.js';
import { HOOKS } from '../hooks/index.js';
import { toJson } from './json-schema.js';

/** What a variant's hook needs of the kernel, where that is more than tracepoints. */
const NEEDS: Partial<Record<CatalogHook, string>> = { kprobe: 'the kprobe PMU (CONFIG_KPROBES, CONFIG_KPROBE_EVENTS)' };

/** One of an entry's objects, for one hook, and whether that hook works here. */
const catalogVariant = z.strictObject({
  hook: z.string().describe('The value of parameters.hook that loads it'),
  default: z.boolean().describe('Loaded when hook is not given'),
  object: z.string(),
  hooks: z.string().describe('What it attaches to'),
  gives: z.string(),
  needs: z.string().optional().describe('What the kernel must have to attach it'),
  available_here: z.boolean().describe('Whether this host can attach it'),
  reason: z.string().describe('Why, as this host is'),
});

/** One entry in brief. */
export const catalogBrief = z.strictObject({ name: z.string(), question: z.string() });

/** One whole manifest. */
export const catalogManifest = z.strictObject({
  name: z.string(),
  object: z.string().describe('The file in the catalog directory'),
  question: z.string(),
  variants: z.array(catalogVariant).optional().describe("Its objects by hook: parameters.hook chooses one; all write the same record"),
  parameters: z.record(z.string(), z.unknown()).describe('JSON Schema of source.parameters'),
  read: z.union([z.strictObject({ buffer: z.string() }), z.strictObject({ map: z.string(), shape: z.enum(['histogram', 'counts', 'stacks']) })]),
  attach: z.literal('auto'),
  how: z.array(z.string()).describe('The calls in order'),
});

/** Every entry in brief. */
export const catalogList = (): z.output<typeof catalogBrief>[] => CATALOG.map(({ name, question }) => ({ name, question }));

/** An entry's variants, with whether this host can attach each (as the attach kind of its hook says now). */
function variantsOf(e: CatalogEntry): z.output<typeof catalogVariant>[] | undefined {
  if (!e.variants) return undefined;
  return Object.entries(e.variants).map(([hook, v]) => {
    const { usable, reason } = HOOKS.find((h) => h.kind === hook)!.available();
    const needs = NEEDS[hook as CatalogHook];
    return { hook, default: hook === DEFAULT_HOOK, ...v, ...(needs ? { needs } : {}), available_here: usable, reason };
  });
}

/** An entry's whole manifest, parameters as JSON Schema, its variants as this host is now. */
export function manifestOf(e: CatalogEntry): z.output<typeof catalogManifest> {
  const variants = variantsOf(e);
  return {
    name: e.name,
    object: e.object,
    question: e.question,
    ...(variants ? { variants } : {}),
    parameters: toJson(e.parameters, 'input'),
    read: e.read,
    attach: e.attach,
    how: e.how,
  };
}

/** Every entry's whole manifest. */
export const catalogManifests = (): z.output<typeof catalogManifest>[] => (CATALOG as readonly CatalogEntry[]).map(manifestOf);
