/**
 * Maps that count by stack (profile, offcputime, any program keying counts
 * by bpf_get_stackid ids) folded into the flame-graph input: one line per
 * distinct stack, `comm;root;...;leaf`, with its weight, plus the functions
 * that weigh most. The stack-id fields are recognised by name in the
 * decoded entries (user_stack_id, kern_stack_id, ustack, kstack, stack_id);
 * the stack trace map is the one the same programs use.
 */
import { readMapContents } from '../kernel/map-contents.js';
import type { MapInfo } from '../kernel/inventory.js';
import { readStacks, stackMapsBeside } from '../kernel/stack-traces.js';
import { type Frame, Symbolizer, type Unresolved, isKernelAddress } from './symbolizer.js';

/** Entries folded at most (a map larger than this is folded in part, and says so). */
const MAX_FOLDED_ENTRIES = 65_536;
/** Functions listed in top_functions. */
const TOP_FUNCTIONS = 15;
/** Errnos a program stores for a stack it did not take, by number. */
const STACK_ERRNO: Record<number, string> = { 14: 'EFAULT', 17: 'EEXIST', 12: 'ENOMEM', 22: 'EINVAL' };

type Row = Record<string, unknown>;

/** Where in an entry the stack ids, the process, the comm and the weight are. */
interface StackFields {
  /** Paths like "key.user_stack_id", by what the id is of ("stack" when the name does not say). */
  user?: string;
  kernel?: string;
  stack?: string;
  pid?: string;
  comm?: string;
  /** The weight's path ("value", "value.delta"); undefined: each entry weighs 1. */
  weight?: string;
}

const USER = /^(u|usr|user)_?stack(_?id)?$/;
const KERNEL = /^(k|kern|kernel)_?stack(_?id)?$/;
const ANY_STACK = /^stack_?id$/;
const NOT_WEIGHT = /pid|tgid|tid|stack|cpu|comm|uid|cgroup|id$/;
/** The tracer's own frames at a kernel stack's leaf (the BPF program and what ran it), left out of the stacks. */
const TRACER = /^(bpf_prog_[0-9a-f]{16}_|bpf_trace_run\d+$|__bpf_trace_|__traceiter_|bpf_trampoline_|trace_call_bpf$|perf_trace_|bpf_overflow_handler$|__perf_event_overflow$|perf_swevent_|perf_event_overflow$)/;

/** A kernel stack without the tracer's frames at its leaf. */
function withoutTracer(frames: Frame[]): Frame[] {
  const first = frames.findIndex((f) => !TRACER.test(f.name));
  return first < 0 ? [] : frames.slice(first);
}

/** The stack fields of an entry (its decoded key and value), or undefined when no member is named like a stack id. */
function stackFields(entry: { key: unknown; value?: unknown }): StackFields | undefined {
  const f: StackFields = {};
  const members = (side: 'key' | 'value'): [string, unknown][] => {
    const v = entry[side];
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? Object.entries(v as Row) : [];
  };
  for (const side of ['key', 'value'] as const) {
    for (const [name, v] of members(side)) {
      const path = `${side}.${name}`;
      if (typeof v === 'number') {
        if (USER.test(name)) f.user ??= path;
        else if (KERNEL.test(name)) f.kernel ??= path;
        else if (ANY_STACK.test(name)) f.stack ??= path;
        else if (name === 'tgid' || (name === 'pid' && !f.pid)) f.pid = path;
      }
      if (typeof v === 'string' && /^(comm|task|name)$/.test(name)) f.comm ??= path;
    }
  }
  if (!f.user && !f.kernel && !f.stack) return undefined;
  const value = entry.value;
  if (typeof value === 'number' || (typeof value === 'string' && /^\d+$/.test(value))) f.weight = 'value';
  else f.weight = members('value').find(([name, v]) => (typeof v === 'number' || /^\d+$/.test(String(v))) && !NOT_WEIGHT.test(name))?.[0]?.replace(/^/, 'value.');
  return f;
}

/** The member at a path like "key.pid". */
const at = (entry: Row, path: string | undefined): unknown => {
  if (!path) return undefined;
  const [side, name] = path.split('.') as [string, string | undefined];
  const v = entry[side];
  return name === undefined ? v : (v as Row | undefined)?.[name];
};

/** The folded stacks of a map that counts by stack. */
export interface FoldedStacks {
  map_id: number;
  stack_map_id: number;
  /** What a weight is: the entries' `weight` member; "entries" when each entry counts 1. */
  weight: string;
  /** Sum of the weights folded. */
  total: number;
  entries_folded: number;
  /** The map held more entries than were folded. */
  truncated: boolean;
  /** The functions weighing most: `self` where the function is the leaf, `total` where it is anywhere in the stack. */
  top_functions: { function: string; self: number; total: number }[];
  /** Distinct folded stacks, heaviest first: `comm;root;...;leaf`, user frames then kernel ones (without the tracer's own frames at the leaf). */
  folded: { stack: string; weight: number }[];
  /** Distinct stacks not listed in `folded` (the byte or line cap). */
  folded_left_out: number;
  /** Weight whose stack was not taken (its id was an errno) or no longer in the stack map. */
  missing: { user: number; kernel: number; errnos: Record<string, number> };
  unresolved_frames: Unresolved;
}

/** A frame name as one folded component: no separators or line ends inside it. */
const component = (name: string): string => name.replace(/[;\r\n]/g, '_');

/** A map whose entries count by stack that cannot be folded, and why. */
export interface UnfoldableStacks {
  map_id: number;
  note: string;
}

/**
 * The folded stacks of map `mapId` when its entries count by stack (undefined when they do not, or it is empty);
 * `lines` and `bytes` bound the folded list.
 */
export function mapStacks(mapId: number, lines: number, bytes: number): FoldedStacks | UnfoldableStacks | undefined {
  const [sample] = readMapContents(mapId, 1).entries;
  const fields = sample && 'value' in sample ? stackFields(sample) : undefined;
  if (!fields) return undefined;
  const maps = stackMapsBeside(mapId);
  if (maps.length !== 1) {
    const note = maps.length === 0
      ? `no program using map ${mapId} also uses a stack trace map, so its stack ids cannot be read`
      : `the programs using map ${mapId} use ${maps.length} stack trace maps (${maps.map((m) => m.id).join(', ')}): which one its ids index is not known`;
    return { map_id: mapId, note };
  }
  return foldStacks(mapId, maps[0] as MapInfo, fields, lines, bytes);
}

/** Reads map `mapId` whole (to MAX_FOLDED_ENTRIES) and folds it: stacks from `stackMap`, named by a Symbolizer. */
function foldStacks(mapId: number, stackMap: MapInfo, fields: StackFields, lines: number, bytes: number): FoldedStacks {
  const contents = readMapContents(mapId, MAX_FOLDED_ENTRIES);
  const entries = contents.entries.filter((e): e is { key: unknown; value: unknown } => 'value' in e) as Row[];
  const idsOf = (path: string | undefined) => entries.map((e) => at(e, path)).filter((v): v is number => typeof v === 'number' && v >= 0);
  const ids = [...new Set([...idsOf(fields.user), ...idsOf(fields.kernel), ...idsOf(fields.stack)])];
  const stacks = readStacks(stackMap, ids) ?? new Map<number, bigint[]>();
  const symbolizer = new Symbolizer();
  const missing: FoldedStacks['missing'] = { user: 0, kernel: 0, errnos: {} };
  const weights = new Map<string, number>();
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let total = 0;

  /** The frames of one stack id, or the marker of a missing one (its weight counted as missing). */
  const framesOf = (id: unknown, side: 'user' | 'kernel' | 'either', pid: number, weight: number): Frame[] => {
    const kind = side === 'kernel' ? 'kernel' : 'user';
    if (typeof id !== 'number') return [];
    if (id < 0) {
      // A kernel thread has no user stack, a user-mode sample no kernel one: -EFAULT there is not a loss.
      if (-id === 14) return [];
      const name = STACK_ERRNO[-id] ?? `errno ${-id}`;
      missing[kind] += weight;
      missing.errnos[name] = (missing.errnos[name] ?? 0) + weight;
      return [{ address: '', name: `[${kind} stack not taken: ${name}]`, resolved: false }];
    }
    const ips = stacks.get(id);
    if (!ips) {
      missing[kind] += weight;
      return [{ address: '', name: `[${kind} stack ${id} gone from map ${stackMap.id}]`, resolved: false }];
    }
    const user = side === 'user' || (side === 'either' && !isKernelAddress(ips[0] ?? 0n));
    return user ? symbolizer.userFrames(pid, ips) : withoutTracer(symbolizer.kernelFrames(ips));
  };

  for (const e of entries) {
    const w = fields.weight ? Number(at(e, fields.weight)) : 1;
    if (!Number.isFinite(w) || w <= 0) continue;
    const pid = Number(at(e, fields.pid) ?? 0);
    const leafFirst = [
      ...framesOf(at(e, fields.kernel), 'kernel', pid, w),
      ...framesOf(at(e, fields.stack), 'either', pid, w),
      ...framesOf(at(e, fields.user), 'user', pid, w),
    ];
    const comm = at(e, fields.comm);
    const names = leafFirst.map((f) => component(f.name));
    const line = [...(typeof comm === 'string' ? [component(comm)] : []), ...names.slice().reverse()].join(';');
    weights.set(line, (weights.get(line) ?? 0) + w);
    total += w;
    const leaf = names[0];
    if (leaf !== undefined) self.set(leaf, (self.get(leaf) ?? 0) + w);
    for (const n of new Set(names)) inclusive.set(n, (inclusive.get(n) ?? 0) + w);
  }

  const sorted = [...weights].sort((a, b) => b[1] - a[1]);
  const folded: FoldedStacks['folded'] = [];
  let spent = 0;
  for (const [stack, weight] of sorted) {
    spent += Buffer.byteLength(stack) + 24;
    if (folded.length >= lines || (spent > bytes && folded.length > 0)) break;
    folded.push({ stack, weight });
  }
  const top = [...inclusive.keys()]
    .map((fn) => ({ function: fn, self: self.get(fn) ?? 0, total: inclusive.get(fn) ?? 0 }))
    .sort((a, b) => b.self - a.self || b.total - a.total)
    .slice(0, TOP_FUNCTIONS);
  return {
    map_id: mapId,
    stack_map_id: stackMap.id,
    weight: fields.weight ?? 'entries',
    total,
    entries_folded: entries.length,
    truncated: contents.truncated,
    top_functions: top,
    folded,
    folded_left_out: sorted.length - folded.length,
    missing,
    unresolved_frames: symbolizer.unresolved,
  };
}
