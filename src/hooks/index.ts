/**
 * Every attach kind the server offers, and what is built from that list: the
 * `attachment` schema of attach_program, the attach kinds `info` reports, the
 * targets `inspect_state` shows for links, and the one entry point that
 * attaches a program. A new kind is one file in this folder and one line here.
 */
import * as z from 'zod';
import type { AttachTarget } from '../kernel/attach.js';
import { InvalidRequest } from '../kernel/errors.js';
import type { Availability } from '../kernel/features.js';
import type { PerfAttachment } from '../kernel/holders.js';
import { type KernelLink, interfacesByIndex, linkInfo } from '../kernel/inventory.js';
import { auto } from './auto.js';
import { cgroup } from './cgroup.js';
import { iter } from './iter.js';
import { netfilter } from './netfilter.js';
import { flowDissector, skLookup } from './netns.js';
import { skMsg, skSkb } from './sockmap.js';
import { sockops } from './sockops.js';
import type { AnyHook, Attached, HookClass } from './hook.js';
import { kprobe } from './kprobe.js';
import { perfEvent } from './perf-event.js';
import { rawTracepoint } from './raw-tracepoint.js';
import { tc } from './tc.js';
import { tracepoint } from './tracepoint.js';
import { fentry, fexit, fmodRet } from './trampoline.js';
import { uprobe } from './uprobe.js';
import { usdt } from './usdt.js';
import { xdp } from './xdp.js';

export type { AnyHook, Attached, HookClass, IteratorOutput } from './hook.js';

/** The kinds, in the order the schema and `info` list them. */
export const HOOKS: readonly AnyHook[] = [
  tracepoint,
  rawTracepoint,
  kprobe,
  uprobe,
  usdt,
  perfEvent,
  fentry,
  fexit,
  fmodRet,
  iter,
  xdp,
  tc,
  netfilter,
  skLookup,
  flowDissector,
  sockops,
  skMsg,
  skSkb,
  cgroup,
  auto,
];

const byKind = new Map(HOOKS.map((h) => [h.kind, h]));

/** The program types a kind takes, said where they are not the kind's own name. */
function programTypesNote(h: AnyHook): string {
  if (h.programTypes.length === 0 || (h.programTypes.length === 1 && h.programTypes[0] === h.kind)) return '';
  return `; program type${h.programTypes.length > 1 ? 's' : ''} ${h.programTypes.join(', ')}`;
}

/**
 * attach_program's `attachment`: exactly one key, naming the kind, whose value holds its settings; `mark`
 * may annotate each kind's field (the tool marks what a role needs to attach that kind).
 */
export function attachmentSchemaWith(mark: (field: z.ZodType, hook: AnyHook) => z.ZodType) {
  return z
    .strictObject(Object.fromEntries(HOOKS.map((h) => [h.kind, mark(h.settings.optional().describe(`${h.summary}${programTypesNote(h)}`), h)])))
    .refine((a) => Object.keys(a).length === 1, { message: 'give exactly one attachment kind, e.g. {"tracepoint": {...}}' })
    .meta({ minProperties: 1, maxProperties: 1 });
}

/** The attachment schema unmarked, as attachProgram checks it. */
export const attachmentSchema = attachmentSchemaWith((field) => field);

/** An attachment as a client writes it, e.g. `{tracepoint: {category: "syscalls", name: "sys_enter_getpid"}}`. */
export type Attachment = z.input<typeof attachmentSchema>;

/** The kind an attachment names. */
function kindOf(attachment: Record<string, unknown>): { hook: AnyHook; settings: unknown } {
  const [kind, settings] = Object.entries(attachment)[0] ?? [];
  const hook = kind === undefined ? undefined : byKind.get(kind);
  if (!hook) throw new InvalidRequest('attachment', 'give exactly one attachment kind', { kinds: HOOKS.map((h) => h.kind) });
  return { hook, settings };
}

/** The class of an attachment of `program`: its kind's, or for auto the class of the kind its program type belongs to. */
export function attachmentClass(kind: string, programType: string): HookClass | undefined {
  return byKind.get(kind)?.class ?? HOOKS.find((h) => h.programTypes.includes(programType))?.class;
}

/**
 * Attaches the program as `attachment` says: the settings are validated
 * (defaults applied), the program's type must fit the kind, the kind checks
 * its target and attaches. Errors are domain errors or ToolErrors whose
 * fields are relative to the kind's settings (the tool adds the path).
 */
export function attachProgram(target: AttachTarget, attachment: Attachment): Attached & { kind: string } {
  const parsed = attachmentSchema.safeParse(attachment);
  if (!parsed.success) throw new InvalidRequest('attachment', parsed.error.issues[0]?.message ?? 'invalid attachment');
  const { hook, settings } = kindOf(parsed.data);
  const type = target.program.typeName;
  if (hook.programTypes.length && !hook.programTypes.includes(type)) {
    throw new InvalidRequest(undefined, `program ${target.program.id} is of type ${type}, which cannot attach as ${hook.kind}`, {
      program_type: type,
      fits: hook.programTypes,
    });
  }
  return { ...hook.attach(target, settings as z.output<typeof hook.settings>), kind: hook.kind };
}

/** Whether each kind works on this kernel, for `info`. */
export function hookAvailability(): (Availability & { kind: string; class: HookClass | 'by program type'; program_types: string[] })[] {
  return HOOKS.map((h) => ({ kind: h.kind, class: h.class ?? 'by program type', program_types: [...h.programTypes], ...h.available() }));
}

/** What a kernel link is attached to, in one line, e.g. `tracepoint/sys_enter_getpid` or `xdp/veth0`. */
export function describeLink(link: KernelLink): string {
  for (const h of HOOKS) {
    if (!h.links?.types.includes(link.type)) continue;
    const target = h.links.describe(link);
    if (target !== undefined) return target;
  }
  return link.type;
}

/** What a program behind a perf event (no link: bpftrace, BCC, perf) is attached to, in the form a link's target takes. */
export function describePerfAttachment(a: PerfAttachment): string {
  const name = a.name || `0x${a.addr.toString(16)}`;
  if (a.kind === 'raw_tracepoint') return describeLink({ id: 0, type: 'raw_tracepoint', programId: a.programId, name });
  return describeLink({ id: 0, type: 'perf_event', programId: a.programId, perfEventType: a.kind, name, offset: a.offset });
}

/** A link as inspect_state lists it. */
export interface LinkInfo {
  id: number;
  type: string;
  programId: number;
  /** What it is attached to (describeLink). */
  target: string;
}

/** One link by id with its target described, or undefined when it is gone. */
export function describedLink(id: number, ifnames: () => Map<number, string> = interfacesByIndex): LinkInfo | undefined {
  const l = linkInfo(id, ifnames);
  return l && { id: l.id, type: l.type, programId: l.programId, target: describeLink(l) };
}
