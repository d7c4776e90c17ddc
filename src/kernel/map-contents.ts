/**
 * A map's entries, read from the kernel by map id (any map on the host, not
 * only this session's) and decoded into JSON from the map's own BTF: keys and
 * values as named fields, made readable (src/btf/render.ts), per-CPU values
 * per CPU, and log2 histograms in the libbpf-tools shape recognised and
 * turned into buckets. Without BTF, keys and values are hex.
 */
import { endianness } from 'node:os';
import { type Btf, BtfError, type Decoder, type TruncatedArray, compileDecoder, compileRenderer } from '../btf/index.js';
import { possibleCpus } from './cpus.js';
import { InvalidRequest, KernelError, kernelFailure } from './errors.js';
import { btfById } from './kernel-btf.js';
import { type Log2Histogram, MAX_LOG2_SLOTS, log2Histogram } from '../obj/log2-histogram.js';
import { type NativeMapInfo, ObjKind, native } from './native.js';
import { withObjectFd } from './object-fd.js';
import { mapTypeName } from './types.js';

/** One entry: a value, or one value per possible CPU for per-CPU maps; a histogram when the value is one. */
export type MapEntry = ({ key: unknown; value: unknown } | { key: unknown; values: unknown[] }) & { histogram?: Log2Histogram };

/** A map's entries and how they were decoded. */
export interface MapContents {
  id: number;
  name: string;
  type: string;
  /** C spelling of the key and value types from the map's BTF; null when it cannot decode them (hex then). */
  keyType: string | null;
  valueType: string | null;
  perCpu: boolean;
  entries: MapEntry[];
  /** More entries exist than were returned. */
  truncated: boolean;
  /** What cut the page short: the entry limit, or the byte budget; null when not truncated. */
  cutAt: 'limit' | 'bytes' | null;
  /** Where the next page starts (the last key returned, as hex): pass it back as the cursor; null on the last page. */
  nextCursor: string | null;
  /** Arrays inside keys or values that the decoder's bounds cut short. */
  cutArrays: TruncatedArray[];
}

/** Maps whose contents are not key/value entries, with where to look instead. */
const UNREADABLE: Record<string, string> = {
  ringbuf: 'a ring buffer holds a stream of records, not entries: read them with the stream_events tool',
  perf_event_array: 'a perf event array holds per-CPU perf buffers, not entries: read their records with the stream_events tool',
  user_ringbuf: 'a user ring buffer is written by user space and drained by BPF programs: it has no entries to read',
  queue: 'a queue can only be read by popping its elements, which would change it',
  stack: 'a stack can only be read by popping its elements, which would change it',
  bloom_filter: 'a bloom filter only answers membership queries: it cannot be listed',
  cgroup_array: 'a cgroup array holds cgroup references the kernel does not return to user space',
  sockmap: 'a sockmap holds sockets, which the kernel does not return as values',
  sockhash: 'a sockhash holds sockets, which the kernel does not return as values',
  reuseport_sockarray: 'a reuseport array holds sockets, which the kernel does not return as values',
  xskmap: 'an XSK map holds AF_XDP sockets, which the kernel does not return as values',
  sk_storage: 'socket local storage is keyed by socket fds and cannot be listed',
  inode_storage: 'inode local storage is keyed by file fds and cannot be listed',
  task_storage: 'task local storage is keyed by pidfds and cannot be listed',
  cgrp_storage: 'cgroup local storage is keyed by cgroup fds and cannot be listed',
  struct_ops: 'a struct_ops map holds kernel callbacks: inspect its programs instead',
  arena: 'an arena is memory shared by BPF programs and user space, not a key/value map',
};

/** Maps holding one value per possible CPU. */
export const PER_CPU = new Set(['percpu_hash', 'percpu_array', 'lru_percpu_hash', 'percpu_cgroup_storage']);

/** Maps whose values the kernel returns as ids of the objects they hold. */
const ID_VALUES: Record<string, string> = { prog_array: 'program id', array_of_maps: 'map id', hash_of_maps: 'map id' };

/** Maps indexed by a __u32 from 0, whatever their BTF says (libbpf gives some of them no key type). */
export const INDEXED = new Set(['array', 'percpu_array', 'prog_array', 'array_of_maps', 'devmap', 'cpumap']);

/** Maps where a libbpf-tools log2 histogram is recognised. */
const HISTOGRAM_MAPS = new Set(['array', 'hash', 'lru_hash']);

/** Raw bytes read in one call at most: bounds memory whatever the limit and the value size. */
const MAX_READ_BYTES = 8 << 20;

/** How one side (key or value) of an entry turns into JSON. */
export type Read = (bytes: Uint8Array, offset: number) => unknown;

/** Reads `size` bytes as hex. */
export function hexReader(size: number): Read {
  return (b, o) => Buffer.from(b.buffer, b.byteOffset + o, size).toString('hex');
}

/** The map's BTF, or undefined when it has none or it cannot be parsed. */
export function mapBtf(btfId: number): Btf | undefined {
  if (btfId === 0) return undefined;
  try {
    return btfById(btfId);
  } catch (e) {
    if (e instanceof BtfError) return undefined;
    throw e;
  }
}

/** A decoder for `typeId` when the BTF describes exactly `size` bytes, else undefined. */
export function btfDecoder(btf: Btf | undefined, typeId: number, size: number): Decoder | undefined {
  if (!btf || typeId === 0) return undefined;
  try {
    return btf.sizeof(typeId) === size ? compileDecoder(btf, typeId) : undefined;
  } catch (e) {
    if (e instanceof BtfError) return undefined;
    throw e;
  }
}

/** The decoder's values made readable (addresses as text, syscall ids as names: src/btf/render.ts) where the type asks for it. */
export function readable(btf: Btf | undefined, typeId: number, decoder: Decoder | undefined): Read | undefined {
  const render = btf && decoder ? compileRenderer(btf, typeId) : undefined;
  return render && decoder ? (b, o) => render(decoder(b, o), b, o) : decoder;
}

/**
 * Where a value holds log2 slot counts, as a function from the decoded value to the counts:
 * the value itself or its `slots` member, an array of 2 to 64 u32/u64 counters.
 */
function histogramSlots(btf: Btf, typeId: number): ((value: unknown) => number[]) | undefined {
  const isSlots = (id: number): boolean => {
    const t = btf.resolve(id);
    if (t.kind !== 'array' || t.nelems < 2 || t.nelems > MAX_LOG2_SLOTS) return false;
    const elem = btf.resolve(t.type);
    return elem.kind === 'int' && (elem.size === 4 || elem.size === 8) && elem.bits === elem.size * 8 && !elem.bool && !elem.char;
  };
  const counts = (v: unknown) => (v as (number | string)[]).map(Number);
  if (isSlots(typeId)) return counts;
  const t = btf.resolve(typeId);
  const member = t.kind === 'struct' ? t.members.find((m) => m.name === 'slots') : undefined;
  if (member && member.bitfieldSize === 0 && isSlots(member.type)) return (v) => counts((v as { slots: unknown }).slots);
  return undefined;
}

/** The arrays a decoder cuts short, with paths from the key or value. */
function cut(side: 'key' | 'value', decoder: Decoder | undefined): TruncatedArray[] {
  return (decoder?.truncated ?? []).map((t) => ({ ...t, path: t.path === '(top)' ? side : `${side}.${t.path}` }));
}

/** Refuses maps that have no entries to read, saying how to read them instead. */
function assertReadable(info: NativeMapInfo, type: string): void {
  const why = UNREADABLE[type];
  if (why) {
    throw new KernelError(`map ${info.id} (${type}) cannot be listed: ${why}`, 'map_access', {
      map_id: info.id,
      map_type: type,
      ...(type === 'ringbuf' || type === 'perf_event_array' ? { use_tool: 'stream_events' } : {}),
    });
  }
  if (info.keySize === 0) {
    throw new KernelError(`map ${info.id} (${type}) has no keys, so its entries cannot be listed`, 'map_access', { map_id: info.id, map_type: type });
  }
}

/** Which page of a map to read. */
export interface MapPage {
  /** A `nextCursor` from the page before: the walk goes on after that key. */
  cursor?: string;
  /** Most bytes of decoded entries (as JSON) in the page; at least one entry is returned whatever its size. */
  maxBytes?: number;
}

/** The key bytes a cursor names, checked against the map's key size. */
function cursorKey(cursor: string, keySize: number, id: number): Uint8Array {
  if (cursor.length !== keySize * 2 || !/^[0-9a-f]*$/.test(cursor)) {
    throw new InvalidRequest('maps.cursor', `not a cursor of map ${id}: pass the next_cursor a read of this map returned (${keySize * 2} hex digits)`, { map_id: id });
  }
  return Buffer.from(cursor, 'hex');
}

/**
 * Reads up to `limit` entries of the map with kernel id `id` and decodes them, from the start
 * or after `page.cursor`, stopping early at `page.maxBytes` of JSON. Throws MAP_ACCESS_ERROR when
 * the map does not exist, has no entries to list (ring and perf buffers: use stream_events) or the
 * kernel refuses the read.
 */
export function readMapContents(id: number, limit: number, page: MapPage = {}): MapContents {
  const contents = withObjectFd(ObjKind.Map, id, (fd): MapContents => {
    const info = native.mapInfo(fd);
    const type = mapTypeName(info.type);
    assertReadable(info, type);
    const perCpu = PER_CPU.has(type);
    const cpus = perCpu ? possibleCpus().length : 1;
    const cpuStride = (info.valueSize + 7) & ~7;
    const valueStride = perCpu ? cpuStride * cpus : info.valueSize;
    const btf = mapBtf(info.btfId);
    const keyDecoder = btfDecoder(btf, info.btfKeyTypeId, info.keySize);
    const idKind = ID_VALUES[type];
    const valueDecoder = idKind ? undefined : btfDecoder(btf, info.btfValueTypeId, info.valueSize);
    const little = endianness() === 'LE';
    const u32: Read = (b, o) => new DataView(b.buffer, b.byteOffset + o, 4).getUint32(0, little);
    const indexed = !keyDecoder && INDEXED.has(type) && info.keySize === 4;
    const readKey: Read = readable(btf, info.btfKeyTypeId, keyDecoder) ?? (indexed ? u32 : hexReader(info.keySize));
    const readValue: Read = idKind ? u32 : (readable(btf, info.btfValueTypeId, valueDecoder) ?? hexReader(info.valueSize));
    const slots = btf && valueDecoder && HISTOGRAM_MAPS.has(type) ? histogramSlots(btf, info.btfValueTypeId) : undefined;

    const after = page.cursor === undefined ? null : cursorKey(page.cursor, info.keySize, info.id);
    const fits = Math.max(1, Math.floor(MAX_READ_BYTES / (info.keySize + valueStride)));
    let dump: ReturnType<typeof native.mapDump>;
    try {
      // A map that churns loses entries under the walk; past as many misses as entries asked for, stop and say there is more.
      const want = Math.min(limit, fits);
      dump = native.mapDump(fd, info.keySize, info.valueSize, perCpu, want, want, after);
    } catch (e) {
      throw kernelFailure(e, `reading map ${id} (${type})`, { map_id: id, map_type: type }, 'map_access');
    }
    const entries: MapEntry[] = [];
    const budget = page.maxBytes ?? Infinity;
    let bytes = 0;
    let cutAt: MapContents['cutAt'] = dump.more ? 'limit' : null;
    for (let i = 0; i < dump.count; i++) {
      const key = readKey(dump.keys, i * info.keySize);
      const at = i * valueStride;
      let entry: MapEntry;
      if (perCpu) {
        const values: unknown[] = [];
        for (let cpu = 0; cpu < cpus; cpu++) values.push(readValue(dump.values, at + cpu * cpuStride));
        entry = { key, values };
      } else {
        const value = readValue(dump.values, at);
        entry = slots ? { key, value, histogram: log2Histogram(slots(value)) } : { key, value };
      }
      if (budget !== Infinity) {
        bytes += Buffer.byteLength(JSON.stringify(entry)) + 1;
        if (bytes > budget && entries.length > 0) {
          cutAt = 'bytes';
          break;
        }
      }
      entries.push(entry);
    }
    const lastKey = entries.length > 0 ? Buffer.from(dump.keys.buffer, dump.keys.byteOffset + (entries.length - 1) * info.keySize, info.keySize) : null;
    const typeOf = (decoder: Decoder | undefined, typeId: number): string | null => (btf && decoder ? btf.format(typeId) : null);
    return {
      id: info.id,
      name: info.name,
      type,
      keyType: indexed ? '__u32' : typeOf(keyDecoder, info.btfKeyTypeId),
      valueType: idKind ?? typeOf(valueDecoder, info.btfValueTypeId),
      perCpu,
      entries,
      truncated: cutAt !== null,
      cutAt,
      nextCursor: cutAt !== null && lastKey ? lastKey.toString('hex') : null,
      cutArrays: [...cut('key', keyDecoder), ...cut('value', valueDecoder)],
    };
  });
  if (!contents) throw new KernelError(`no map with id ${id}: it does not exist or was freed`, 'map_access', { map_id: id, syscall_errno: 2, errno_name: 'ENOENT' });
  return contents;
}
