/**
 * BPF helper functions by id and name, from the running kernel's
 * `enum bpf_func_id` (BPF_FUNC_map_lookup_elem = 1, ...).
 */
import { kernelEnum } from './kernel-btf.js';

let byId: Map<number, string> | undefined;

/** Helper id to its C name (bpf_map_lookup_elem). */
function helperNames(): Map<number, string> {
  if (!byId) {
    byId = new Map();
    for (const [enumerator, value] of kernelEnum('bpf_func_id')) {
      if (enumerator.startsWith('BPF_FUNC_') && enumerator !== 'BPF_FUNC_unspec' && !enumerator.startsWith('__')) {
        byId.set(value, 'bpf_' + enumerator.slice('BPF_FUNC_'.length));
      }
    }
  }
  return byId;
}

/** The C name of a helper id, or `helper#<id>` when the kernel does not name it. */
export function helperName(id: number): string {
  return helperNames().get(id) ?? `helper#${id}`;
}

/** Every helper name the running kernel knows (none without kernel BTF), for a did-you-mean. */
export function knownHelperNames(): string[] {
  return [...helperNames().values()];
}

/** The id of a helper given as `bpf_ktime_get_ns`, `ktime_get_ns` or its number. */
export function helperId(name: string): number | undefined {
  if (/^\d+$/.test(name)) return Number(name);
  const wanted = name.startsWith('bpf_') ? name : `bpf_${name}`;
  for (const [id, known] of helperNames()) if (known === wanted) return id;
  return undefined;
}
