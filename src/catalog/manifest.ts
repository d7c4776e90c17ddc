/**
 * A catalog manifest: what one bundled BPF object answers, its parameters
 * under friendly, typed names, and how to read its answer. The parameters map
 * onto the object's `const volatile` globals, which load_program sets before load.
 */
import type { z } from 'zod';

/** Where a loaded entry's answer is: a ring buffer to stream, or a map to read (log2 histograms, counts by key, or weights by stack, which inspect_state folds). */
export type CatalogRead = { buffer: 'events' } | { map: string; shape: 'histogram' | 'counts' | 'stacks' };

/** The value of a `const volatile` global, as load_program's parameters take it. */
export type GlobalValue = number | boolean;

/** The hooks an entry's objects are written for, as its `hook` parameter names them. */
export type CatalogHook = 'tracepoint' | 'kprobe';

/** The hook of an entry's default object (`object`), when its `hook` parameter is not given. */
export const DEFAULT_HOOK: CatalogHook = 'tracepoint';

/** One of an entry's objects, written for one hook; the record it writes is the entry's, whichever. */
export interface CatalogVariant {
  /** The object file under the catalog directory. */
  object: string;
  /** What it attaches to. */
  hooks: string;
  /** What its answer has that the other's has not, or lacks. */
  gives: string;
}

/** One catalog entry. */
export interface CatalogEntry<P extends z.ZodObject = z.ZodObject> {
  /** The libbpf-tools name of the same tool where one exists (execsnoop), else the object's. */
  name: string;
  /** The object file under the catalog directory. */
  object: string;
  /** Its objects by hook, one chosen by the parameter `hook` (absent: DEFAULT_HOOK's, which is `object`). */
  variants?: Record<CatalogHook, CatalogVariant>;
  /** One line: the question it answers. */
  question: string;
  /** The parameters: a strict object of typed, described fields, all optional. */
  parameters: P;
  /** The globals (name → value) that valid parameters set; a parameter not given sets nothing. */
  globals: (parameters: z.output<P>) => Record<string, GlobalValue>;
  /** How to read the answer. */
  read: CatalogRead;
  /** How its programs attach: attach_program {object_id, attachment: {auto: {}}} attaches them all. */
  attach: 'auto';
  /** For an entry that samples: the cpu-clock frequency (Hz) its perf_event programs attach at, on every CPU, under auto. */
  frequency?: (parameters: z.output<P>) => number;
  /** The calls in order, briefly. */
  how: string[];
}

/** An entry, typed by its own parameters (so `globals` sees their types). */
export const entry = <P extends z.ZodObject>(e: CatalogEntry<P>): CatalogEntry<P> => e;

/** The globals of `values` whose value is defined: a parameter not given leaves its global's default. */
export function defined(values: Record<string, GlobalValue | undefined>): Record<string, GlobalValue> {
  return Object.fromEntries(Object.entries(values).filter((kv): kv is [string, GlobalValue] => kv[1] !== undefined));
}

/** The object file of `e` that parsed parameters choose: their `hook`'s variant, else the default. */
export function objectOf(e: CatalogEntry, parameters: Readonly<Record<string, unknown>>): string {
  return e.variants?.[(parameters.hook as CatalogHook | undefined) ?? DEFAULT_HOOK].object ?? e.object;
}
