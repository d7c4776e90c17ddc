/**
 * What this kernel can do, probed once and cached, never assumed: program,
 * map, attach and link types, PMUs, BPF trampolines, tracefs and cgroup2.
 * `info`, the hook kinds and the tests all ask here, so a feature is probed
 * in exactly one place.
 */
import { existsSync } from 'node:fs';
import { errnoName } from './errno.js';
import { kernelBtf } from './kernel-btf.js';
import { TypeNameKind, native } from './native.js';
import { typeNames, typeValue } from './types.js';

/** Whether something works here, and the evidence for a person or a model. */
export interface Availability {
  usable: boolean;
  reason: string;
}

/** What each probe of a type namespace found. */
export interface TypeSupport {
  supported: string[];
  unsupported: string[];
  /** Types libbpf cannot probe (newer than it, or needing a target). */
  not_probed: string[];
}

/** Where tracefs is mounted by convention. */
export const TRACEFS = '/sys/kernel/tracing';

const cache = new Map<string, unknown>();

function once<T>(key: string, probe: () => T): T {
  if (!cache.has(key)) cache.set(key, probe());
  return cache.get(key) as T;
}

function probeTypes(kind: TypeNameKind.Prog | TypeNameKind.Map): TypeSupport {
  const out: TypeSupport = { supported: [], unsupported: [], not_probed: [] };
  for (const [value, name] of typeNames(kind)) {
    if (value === 0) continue;
    try {
      const ok = kind === TypeNameKind.Prog ? native.probeProgType(value) : native.probeMapType(value);
      (ok ? out.supported : out.unsupported).push(name);
    } catch {
      out.not_probed.push(name);
    }
  }
  return out;
}

/** Program types that load here, probed with libbpf's type probes. */
export const programTypes = (): TypeSupport => once('prog-types', () => probeTypes(TypeNameKind.Prog));

/** Map types that can be created here. */
export const mapTypes = (): TypeSupport => once('map-types', () => probeTypes(TypeNameKind.Map));

/** Whether programs of this type (libbpf's name, e.g. "xdp") load here. */
export const hasProgramType = (name: string): boolean => programTypes().supported.includes(name);

/** Whether the kernel knows this attach type (from its BTF; e.g. "netfilter", "tcx_ingress"). */
export const hasAttachType = (name: string): boolean => typeValue(TypeNameKind.Attach, name) !== undefined;

/** Whether the kernel knows this link type (e.g. "tcx", "netfilter", "sockmap"). */
export const hasLinkType = (name: string): boolean => [...typeNames(TypeNameKind.Link).values()].includes(name);

/** Whether the kernel registers a perf event source (PMU) of this name: kprobe, uprobe, tracepoint, software, cpu. */
export const hasPmu = (name: string): boolean => once(`pmu:${name}`, () => existsSync(`/sys/bus/event_source/devices/${name}`));

/** Whether tracefs is mounted where the server looks for it. */
export const hasTracefs = (): boolean => existsSync(`${TRACEFS}/events`);

/**
 * Whether BPF trampolines work (fentry, fexit, fmod_ret): an fentry program on
 * a kernel function from BTF is loaded and released. Some kernels refuse it
 * with EPERM although the server holds every capability.
 */
export function trampolines(): Availability {
  return once('trampolines', () => {
    const btf = kernelBtf();
    if (!btf) return { usable: false, reason: 'no kernel BTF, so no BTF-typed tracing' };
    const target = btf.findByName('bpf_fentry_test1', 'func') ?? btf.findByName('do_unlinkat', 'func');
    const fentry = typeValue(TypeNameKind.Attach, 'trace_fentry');
    const tracing = typeValue(TypeNameKind.Prog, 'tracing');
    if (!target || fentry === undefined || tracing === undefined) return { usable: false, reason: 'the kernel has no fentry attach type' };
    const errno = native.progLoadProbe(tracing, fentry, target.id);
    return errno === 0
      ? { usable: true, reason: 'an fentry program loads' }
      : { usable: false, reason: `this kernel refuses fentry programs (${errnoName(errno)}): it has no BPF trampolines` };
  });
}

/**
 * Whether BPF iterators load: a task iterator program (SEC("iter/task"), its
 * BTF target bpf_iter_task) is loaded and released. libbpf's probe of the
 * tracing type cannot say, as it needs trampolines.
 */
export function iterators(): Availability {
  return once('iterators', () => {
    const target = kernelBtf()?.findByName('bpf_iter_task', 'func');
    const iter = typeValue(TypeNameKind.Attach, 'trace_iter');
    const tracing = typeValue(TypeNameKind.Prog, 'tracing');
    if (!target || iter === undefined || tracing === undefined || !hasLinkType('iter')) return { usable: false, reason: 'the kernel has no BPF iterators (Linux 5.8+ with BTF)' };
    const errno = native.progLoadProbe(tracing, iter, target.id);
    return errno === 0 ? { usable: true, reason: 'a task iterator program loads' } : { usable: false, reason: `this kernel refuses iterator programs (${errnoName(errno)})` };
  });
}
