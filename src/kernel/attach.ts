/**
 * The kernel's ways of attaching a loaded program, as typed calls: libbpf's
 * attach functions, bpf_link_create on a target fd, and netlink tc. Mechanism
 * only: which kind to use, what to check first and how to report a failure
 * is decided by the hook kinds (src/hooks/).
 */
import { closeSync, constants, openSync } from 'node:fs';
import { BpfLink } from './link.js';
import { TypeNameKind, native } from './native.js';
import type { BpfObject, ProgramSpec } from './object.js';
import { typeValue } from './types.js';

/** A program of an open object, ready to attach. */
export interface AttachTarget {
  object: BpfObject;
  program: ProgramSpec;
  /** Every object the caller holds (its session's), whose maps a kind may name by kernel id; default: the program's object. */
  objects?: readonly BpfObject[];
}

/** A map a kind can attach to (a sockmap or sockhash), by name and kernel id. */
export interface MapTarget {
  name: string;
  id: number;
  typeName: string;
  fd: number;
}

/** The maps of the target's object (`own`) and of every object the caller holds (`all`), with kernel ids; libbpf's internal maps left out. */
export function targetMaps(t: AttachTarget): { own: MapTarget[]; all: MapTarget[] } {
  const of = (o: BpfObject) =>
    o
      .maps()
      .filter((m) => !m.internal && m.fd >= 0)
      .map((m) => ({ name: m.name, id: native.mapInfo(m.fd).id, typeName: m.typeName, fd: m.fd }));
  return { own: of(t.object), all: (t.objects ?? [t.object]).flatMap(of) };
}

/** Options of bpf_link_create that some kinds need. */
export interface LinkCreateOptions {
  flags?: number;
  netfilter?: { pf: number; hooknum: number; priority: number; flags: number };
}

const args = (t: AttachTarget) => [t.object.nativeHandle(), t.program.name] as const;

/** As the program's section name says (bpf_program__attach). */
export const attachAuto = (t: AttachTarget): BpfLink => new BpfLink(native.attachAuto(...args(t)));

/** A tracefs tracepoint. */
export const attachTracepoint = (t: AttachTarget, category: string, name: string): BpfLink =>
  new BpfLink(native.attachTracepoint(...args(t), category, name));

/** A raw tracepoint by name. */
export const attachRawTracepoint = (t: AttachTarget, name: string): BpfLink => new BpfLink(native.attachRawTracepoint(...args(t), name));

/** A kernel function (kprobe PMU). */
export const attachKprobe = (t: AttachTarget, fn: string, offset: number, retprobe: boolean): BpfLink =>
  new BpfLink(native.attachKprobe(...args(t), fn, offset, retprobe));

/** A user-space function or file offset; pid -1 for every process. */
export const attachUprobe = (t: AttachTarget, binary: string, fn: string | null, offset: number, pid: number, retprobe: boolean): BpfLink =>
  new BpfLink(native.attachUprobe(...args(t), binary, fn, offset, pid, retprobe));

/** Every call site of a USDT probe; pid -1 for every process. */
export const attachUsdt = (t: AttachTarget, binary: string, provider: string, name: string, pid: number): BpfLink =>
  new BpfLink(native.attachUsdt(...args(t), binary, provider, name, pid));

/** A perf event opened on one CPU, sampling `sample` times a second (useFreq) or every `sample` events. */
export const attachPerfEvent = (t: AttachTarget, type: number, config: number, sample: number, useFreq: boolean, pid: number, cpu: number): BpfLink =>
  new BpfLink(native.attachPerfEvent(...args(t), type, config, sample, useFreq, pid, cpu));

/** The kernel's number for an attach type name, or undefined when this kernel lacks it. */
export const attachTypeValue = (name: string): number | undefined => typeValue(TypeNameKind.Attach, name);

/** bpf_link_create on a target fd (an interface index for XDP and tcx) with an attach type by name. */
export function createLink(t: AttachTarget, targetFd: number, attachType: string, opts: LinkCreateOptions = {}): BpfLink {
  const type = attachTypeValue(attachType);
  if (type === undefined) throw new Error(`unknown attach type ${attachType}`);
  return new BpfLink(native.linkCreate(...args(t), targetFd, type, opts));
}

/** bpf_link_create on a file the kernel takes as the target (a cgroup directory, a network namespace), opened read-only for the call. */
export function createLinkOnPath(t: AttachTarget, path: string, attachType: string, opts: LinkCreateOptions = {}, directory = false): BpfLink {
  const fd = openSync(path, constants.O_RDONLY | (directory ? constants.O_DIRECTORY : 0) | constants.O_NOFOLLOW);
  try {
    return createLink(t, fd, attachType, opts);
  } finally {
    closeSync(fd);
  }
}

/**
 * A netlink tc filter (kernels without tcx). The interface's clsact qdisc is
 * created when missing, and then removed with the filter.
 */
export function attachTcFilter(t: AttachTarget, ifindex: number, egress: boolean, priority: number): BpfLink {
  const created = native.tcHookCreate(ifindex);
  const undo = () => created && native.tcHookDestroy(ifindex);
  try {
    return new BpfLink(native.tcAttach(...args(t), ifindex, egress, priority), undo);
  } catch (e) {
    undo();
    throw e;
  }
}
