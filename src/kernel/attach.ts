/**
 * Attaching a loaded program to a hook. Each kind checks its target first
 * (targets.ts), checks that the program's type fits, then attaches through
 * libbpf or bpf_link_create; failures become typed errors that say why.
 */
import { closeSync, constants, openSync } from 'node:fs';
import { ToolError, invalid } from '../errors.js';
import { onlineCpus } from './cpus.js';
import { isNativeError, kernelError } from './errno.js';
import { BpfLink } from './link.js';
import { TypeNameKind, native } from './native.js';
import type { BpfObject, ProgramSpec } from './object.js';
import {
  cgroupDirectory,
  checkBinary,
  checkRawTracepoint,
  checkTracepoint,
  interfaceIndex,
  kprobesAvailable,
  tracepointAlternatives,
} from './targets.js';
import { typeNames, typeValue } from './types.js';

/** Where to attach, one member per kind. */
export type AttachSpec =
  | { kind: 'tracepoint'; category: string; name: string }
  | { kind: 'raw_tracepoint'; name: string }
  | { kind: 'kprobe'; function: string; offset: number; retprobe: boolean }
  | { kind: 'uprobe'; binary: string; function?: string | undefined; offset: number; pid: number; retprobe: boolean }
  | { kind: 'usdt'; binary: string; provider: string; name: string; pid: number }
  | { kind: 'perf_event'; event: PerfEventName; frequency?: number | undefined; period?: number | undefined; cpu: number | 'all'; pid: number }
  | { kind: 'xdp'; interface: string; mode: 'native' | 'generic' | 'offload' }
  | { kind: 'tc'; interface: string; direction: 'ingress' | 'egress'; priority: number }
  | { kind: 'cgroup'; path: string; attach_type?: string | undefined }
  | { kind: 'auto' };

/** What an attach produced. */
export interface Attached {
  links: BpfLink[];
  /** Exactly what it is attached to, in one line. */
  point: string;
  /** Something the caller should know (e.g. why there is no link id). */
  note?: string;
}

/** perf events by name: [perf type, config]. Software events work in VMs; hardware ones need a PMU. */
export const PERF_EVENTS = {
  'cpu-clock': [1, 0],
  'task-clock': [1, 1],
  'page-faults': [1, 2],
  'context-switches': [1, 3],
  'cpu-migrations': [1, 4],
  'cpu-cycles': [0, 0],
  instructions: [0, 1],
  'cache-references': [0, 2],
  'cache-misses': [0, 3],
  'branch-instructions': [0, 4],
  'branch-misses': [0, 5],
} as const satisfies Record<string, readonly [number, number]>;

/** A perf event name. */
export type PerfEventName = keyof typeof PERF_EVENTS;

/** Program types each attachment kind takes. */
const FITS: Record<Exclude<AttachSpec['kind'], 'auto'>, string[]> = {
  tracepoint: ['tracepoint'],
  raw_tracepoint: ['raw_tracepoint', 'raw_tracepoint_writable'],
  kprobe: ['kprobe'],
  uprobe: ['kprobe'],
  usdt: ['kprobe'],
  perf_event: ['perf_event'],
  xdp: ['xdp'],
  tc: ['sched_cls', 'sched_act'],
  cgroup: ['cgroup_skb', 'cgroup_sock', 'cgroup_sock_addr', 'cgroup_sockopt', 'cgroup_sysctl', 'cgroup_device', 'sock_ops'],
};

const XDP_MODE_FLAGS = { generic: 1 << 1, native: 1 << 2, offload: 1 << 3 } as const;

function attachType(name: string): number {
  const value = typeValue(TypeNameKind.Attach, name);
  if (value === undefined) throw new ToolError('UNSUPPORTED_BPF_FEATURE', `this kernel has no attach type ${name}`, { kernel_requirement: name });
  return value;
}

/** A typed error for a failed attach call. */
function attachError(e: unknown, point: string, extra: Record<string, unknown> = {}): ToolError {
  if (e instanceof ToolError) return e;
  const errno = isNativeError(e) ? e.errno : 0;
  const type = errno === 95 || errno === 524 ? 'UNSUPPORTED_BPF_FEATURE' : errno === 1 || errno === 13 ? 'PERMISSION_DENIED' : 'ATTACHMENT_FAILED';
  const hint = errno === 17 ? { hint: 'this program is already attached there; a program attaches once per hook' } : {};
  return kernelError(e, `attaching to ${point} failed`, { attachment_point: point, ...hint, ...extra }, type);
}

function tryAttach(point: string, attach: () => BpfLink[], extra: Record<string, unknown> = {}): BpfLink[] {
  try {
    return attach();
  } catch (e) {
    throw attachError(e, point, extra);
  }
}

/** Attaches `program` of `obj` as `spec` says. */
export function attachProgram(obj: BpfObject, program: ProgramSpec, spec: AttachSpec): Attached {
  if (spec.kind !== 'auto' && !FITS[spec.kind].includes(program.typeName)) {
    throw invalid('attachment', `program ${program.name} is of type ${program.typeName}, which cannot attach as ${spec.kind}`, {
      program_type: program.typeName,
      fits: FITS[spec.kind],
    });
  }
  const h = obj.nativeHandle();
  const p = program.name;
  const link = (handle: Parameters<typeof native.linkDestroy>[0]) => new BpfLink(handle);
  switch (spec.kind) {
    case 'auto': {
      const point = `auto (section ${program.section})`;
      return { links: tryAttach(point, () => [link(native.attachAuto(h, p))], { section: program.section }), point: `${program.section}` };
    }
    case 'tracepoint': {
      checkTracepoint(spec.category, spec.name);
      const point = `tracepoint/${spec.category}/${spec.name}`;
      return { links: tryAttach(point, () => [link(native.attachTracepoint(h, p, spec.category, spec.name))]), point };
    }
    case 'raw_tracepoint': {
      checkRawTracepoint(spec.name);
      const point = `raw_tracepoint/${spec.name}`;
      return { links: tryAttach(point, () => [link(native.attachRawTracepoint(h, p, spec.name))]), point };
    }
    case 'kprobe': {
      const point = `${spec.retprobe ? 'kretprobe' : 'kprobe'}/${spec.function}${spec.offset ? `+${spec.offset}` : ''}`;
      if (!kprobesAvailable()) {
        throw new ToolError('UNSUPPORTED_BPF_FEATURE', `this kernel cannot attach kprobes (no kprobe PMU); ${point} is not possible here`, {
          kernel_requirement: 'CONFIG_KPROBES and CONFIG_KPROBE_EVENTS',
          alternatives: tracepointAlternatives(spec.function).map((t) => ({ tracepoint: { category: t.split(':')[0], name: t.split(':')[1] } })),
          hint: 'attach a tracepoint or raw_tracepoint program instead (load one whose section is tracepoint/<category>/<name>)',
        });
      }
      return { links: tryAttach(point, () => [link(native.attachKprobe(h, p, spec.function, spec.offset, spec.retprobe))]), point };
    }
    case 'uprobe': {
      if (spec.function === undefined && spec.offset === 0) throw invalid('attachment.uprobe', 'give a function or an offset');
      checkBinary(spec.binary, spec.function, 'attachment.uprobe');
      const where = `${spec.binary}:${spec.function ?? ''}${spec.offset ? `+0x${spec.offset.toString(16)}` : ''}`;
      const point = `${spec.retprobe ? 'uretprobe' : 'uprobe'}/${where}${spec.pid > 0 ? ` pid ${spec.pid}` : ''}`;
      return {
        links: tryAttach(point, () => [link(native.attachUprobe(h, p, spec.binary, spec.function ?? null, spec.offset, spec.pid, spec.retprobe))]),
        point,
      };
    }
    case 'usdt': {
      checkBinary(spec.binary, undefined, 'attachment.usdt');
      const point = `usdt/${spec.binary}:${spec.provider}:${spec.name}${spec.pid > 0 ? ` pid ${spec.pid}` : ''}`;
      return {
        links: tryAttach(point, () => [link(native.attachUsdt(h, p, spec.binary, spec.provider, spec.name, spec.pid))]),
        point,
        note: 'libbpf attaches USDT as one uprobe link per call site, so there is no single kernel link id',
      };
    }
    case 'perf_event': {
      const [type, config] = PERF_EVENTS[spec.event];
      const useFreq = spec.period === undefined;
      const sample = spec.period ?? spec.frequency ?? 99;
      const cpus = spec.cpu === 'all' ? onlineCpus() : [spec.cpu];
      const point = `perf_event/${spec.event} ${useFreq ? `${sample} Hz` : `every ${sample}`} on cpu ${spec.cpu}${spec.pid > 0 ? ` pid ${spec.pid}` : ''}`;
      const links: BpfLink[] = [];
      try {
        for (const cpu of cpus) links.push(link(native.attachPerfEvent(h, p, type, config, sample, useFreq, spec.pid, cpu)));
      } catch (e) {
        for (const l of links) l.destroy();
        const err = attachError(e, point, type === 0 ? { alternatives: ['cpu-clock', 'task-clock'] } : {});
        if (isNativeError(e) && (e.errno === 2 || e.errno === 19) && type === 0) {
          throw new ToolError('UNSUPPORTED_BPF_FEATURE', `this machine has no hardware PMU for ${spec.event}`, { ...err.context, kernel_requirement: 'a hardware PMU' });
        }
        throw err;
      }
      return { links, point };
    }
    case 'xdp': {
      const ifindex = interfaceIndex(spec.interface, 'attachment.xdp.interface');
      const point = `xdp/${spec.interface} (${spec.mode})`;
      return { links: tryAttach(point, () => [link(native.linkCreate(h, p, ifindex, attachType('xdp'), XDP_MODE_FLAGS[spec.mode]))]), point };
    }
    case 'tc': {
      const ifindex = interfaceIndex(spec.interface, 'attachment.tc.interface');
      if ([...typeNames(TypeNameKind.Link).values()].includes('tcx')) {
        const point = `tcx/${spec.interface} ${spec.direction}`;
        return {
          links: tryAttach(point, () => [link(native.linkCreate(h, p, ifindex, attachType(`tcx_${spec.direction}`), 0))]),
          point,
          note: 'attached with tcx (a BPF link); priority applies only to netlink tc on kernels without tcx',
        };
      }
      const point = `tc/${spec.interface} ${spec.direction} priority ${spec.priority}`;
      return {
        links: tryAttach(point, () => [link(native.tcAttach(h, p, ifindex, spec.direction === 'egress', spec.priority))]),
        point,
        note: 'attached as a netlink tc filter: this kernel has no tcx, so there is no kernel link id',
      };
    }
    case 'cgroup': {
      const dir = cgroupDirectory(spec.path, 'attachment.cgroup.path');
      const typeName = spec.attach_type ?? program.expectedAttachType;
      if (typeValue(TypeNameKind.Attach, typeName) === undefined) {
        throw invalid('attachment.cgroup.attach_type', `unknown attach type ${typeName}`, {
          known: [...typeNames(TypeNameKind.Attach).values()].filter((n) => n.startsWith('cgroup_')),
        });
      }
      const point = `cgroup/${dir} ${typeName}`;
      const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
      try {
        return { links: tryAttach(point, () => [link(native.linkCreate(h, p, fd, attachType(typeName), 0))]), point };
      } finally {
        closeSync(fd);
      }
    }
  }
}
