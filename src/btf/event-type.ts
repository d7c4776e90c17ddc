/**
 * Which BTF type describes the records of a ring or perf buffer. Those maps
 * carry no value type, so it is chosen from the object's BTF: by the name the
 * caller gives, else the one struct named like an event, else the one struct
 * whose size equals the records' size. Ambiguity means no choice (raw bytes).
 */
import type { Btf } from './parse.js';

/** The choice and how it was made. */
export interface EventTypeChoice {
  /** BTF type id, or undefined for raw records. */
  typeId?: number;
  /** C spelling, e.g. "struct exec_event". */
  typeName?: string;
  how: 'type_name' | 'auto:name' | 'auto:size' | 'none';
  /** Structs that could have been meant, when the choice was ambiguous or failed. */
  candidates?: string[];
}

/** Kernel types a program's BTF picks up from vmlinux.h that are never a record of its own. */
const KERNEL_ISH = /^(trace_event_raw_|trace_entry|bpf_|pt_regs|task_struct|sk_buff|xdp_md|__sk_buff)/;

function structs(btf: Btf): { id: number; name: string; size: number }[] {
  const out: { id: number; name: string; size: number }[] = [];
  for (let id = btf.firstId; id < btf.count; id++) {
    const t = btf.type(id);
    if ((t.kind === 'struct' || t.kind === 'union') && t.name && t.size > 0 && !KERNEL_ISH.test(t.name)) out.push({ id, name: t.name, size: t.size });
  }
  return out;
}

/** Structs and unions that a global variable of the object has as its type, or points at (`struct x *unused_x`). */
function declared(btf: Btf): Set<number> {
  const out = new Set<number>();
  for (let id = btf.firstId; id < btf.count; id++) {
    const v = btf.type(id);
    if (v.kind !== 'var') continue;
    let t = btf.resolve(v.type);
    if (t.kind === 'ptr' && t.type !== 0) t = btf.resolve(t.type);
    if (t.kind === 'struct' || t.kind === 'union') out.add(t.id);
  }
  return out;
}

/** The type named `name` (struct, union or typedef; "struct x" or "x"), if the BTF has it. */
export function findRecordType(btf: Btf, name: string): number | undefined {
  const bare = name.replace(/^(struct|union)\s+/, '');
  const found = btf.findAllByName(bare).find((t) => t.kind === 'struct' || t.kind === 'union' || t.kind === 'typedef');
  return found?.id;
}

/** Chooses the record type; `recordSize` is the size of a record seen, when one has been. */
export function chooseEventType(btf: Btf, typeName: string | undefined, recordSize?: number): EventTypeChoice {
  const all = structs(btf);
  if (typeName !== undefined) {
    const id = findRecordType(btf, typeName);
    return id === undefined ? { how: 'none', candidates: all.map((s) => s.name) } : { typeId: id, typeName: btf.format(id), how: 'type_name' };
  }
  const eventNamed = all.filter((s) => /event/i.test(s.name));
  // Kernel structs named like events come along with the object's own (perf_event, from CO-RE reads of a
  // task): when several are, the ones a global variable of the object points at are its own records.
  const own = eventNamed.length > 1 ? eventNamed.filter((s) => declared(btf).has(s.id)) : [];
  const named = own.length === 1 ? own : eventNamed;
  const fits = (s: { size: number }) => recordSize === undefined || s.size <= recordSize;
  if (named.length === 1 && fits(named[0] as { size: number })) {
    const s = named[0] as { id: number };
    return { typeId: s.id, typeName: btf.format(s.id), how: 'auto:name' };
  }
  if (recordSize !== undefined) {
    const sized = all.filter((s) => s.size === recordSize || (s.size <= recordSize && recordSize - s.size < 8));
    const pick = sized.length === 1 ? sized[0] : sized.filter((s) => /event/i.test(s.name)).length === 1 ? sized.find((s) => /event/i.test(s.name)) : undefined;
    if (pick) return { typeId: pick.id, typeName: btf.format(pick.id), how: 'auto:size' };
    return { how: 'none', candidates: (sized.length ? sized : named).map((s) => s.name) };
  }
  return { how: 'none', candidates: named.map((s) => s.name) };
}
