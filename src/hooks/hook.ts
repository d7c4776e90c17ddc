/**
 * What an attach kind is, in one place: its settings (the value of its key in
 * attach_program's `attachment`), the program types that attach that way,
 * its class (what a role may be granted), whether this kernel has it, how
 * its target is checked and the program attached, and how a kernel link of
 * its making is described. One file per kind in this folder; index.ts lists
 * them, and the attachment schema, info's attach kinds and inspect_state's
 * link targets are all built from that list.
 */
import type { z } from 'zod';
import type { AttachTarget } from '../kernel/attach.js';
import type { Availability } from '../kernel/features.js';
import type { KernelLink } from '../kernel/inventory.js';
import type { BpfLink } from '../kernel/link.js';

/** What a kind touches: tracing reads the kernel or processes; network sees or changes packets; cgroup acts on a group of processes. */
export type HookClass = 'tracing' | 'network' | 'cgroup';

/** What an attach produced. */
export interface Attached {
  links: BpfLink[];
  /** Exactly what it is attached to, in one line. */
  point: string;
  /** Something the caller should know (e.g. why there is no link id). */
  note?: string;
  /** What an iterator wrote on its first run. */
  iterator?: IteratorOutput;
}

/** An iterator's text output, cut at a byte limit. */
export interface IteratorOutput {
  output: string;
  /** Bytes of `output`. */
  bytes: number;
  /** Whether the iterator had more than the limit. */
  truncated: boolean;
}

/** An attach kind. `S` is the zod schema of its settings. */
export interface Hook<S extends z.ZodObject = z.ZodObject> {
  /** Its key in `attachment`, e.g. "tracepoint". */
  readonly kind: string;
  /** Its class; undefined for `auto`, whose class is that of the program's type. */
  readonly class: HookClass | undefined;
  /** One line for a model: what it attaches to. */
  readonly summary: string;
  /** Its settings, strict. */
  readonly settings: S;
  /** Program types (libbpf names) that attach this way; empty when any type may (auto). */
  readonly programTypes: readonly string[];
  /** Whether this kernel has what the kind needs, probed (src/kernel/features.ts). */
  available(): Availability;
  /** Checks the target, then attaches; throws a domain error (NotSupported, TargetNotFound) or the addon's. */
  attach(target: AttachTarget, settings: z.output<S>): Attached;
  /** Link types (libbpf names) whose links this kind makes, and what such a link is attached to; undefined when it is not one of this kind's. */
  readonly links?: { types: readonly string[]; describe(link: KernelLink): string | undefined };
}

/** Any kind, for the registry. */
export type AnyHook = Hook<z.ZodObject>;

/** Defines a kind with its settings' types checked. */
export function defineHook<S extends z.ZodObject>(hook: Hook<S>): AnyHook {
  return hook as unknown as AnyHook;
}
