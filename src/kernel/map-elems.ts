/**
 * Lookup, update and delete of given keys of a map, by map id: keys and values
 * encoded from JSON with the map's own BTF (src/btf/encode.ts) and read back
 * with its decoder, per-CPU values per possible CPU, hex without BTF. Each key
 * gets its own result; what stops the whole call (a write to a frozen map, a
 * map without plain entries, a value of the wrong shape) is thrown.
 */
import { readFileSync } from 'node:fs';
import { endianness } from 'node:os';
import { type Btf, EncodeError, encodeValue } from '../btf/index.js';
import { possibleCpus } from './cpus.js';
import { InvalidRequest, KernelError, kernelFailure } from './errors.js';
import { INDEXED, PER_CPU, type Read, btfDecoder, hexReader, mapBtf, readable } from './map-contents.js';
import { type NativeMapInfo, ObjKind, native } from './native.js';
import { withObjectFd } from './object-fd.js';
import { mapTypeName } from './types.js';

/** What to do with each key. */
export type ElemOp = 'lookup' | 'update' | 'delete';

/** How an update treats a key: BPF_ANY, BPF_NOEXIST (only new keys), BPF_EXIST (only existing keys). */
export type UpdateFlags = 'any' | 'noexist' | 'exist';

/** One key, and for update its value (an array of one value per possible CPU on per-CPU maps). */
export interface ElemRequest {
  key: unknown;
  value?: unknown;
}

/** One key's outcome: the errno when the kernel refused it, the value (or per-CPU values) a lookup read. */
export interface ElemResult {
  key: unknown;
  errno: number;
  value?: unknown;
  values?: unknown[];
}

/** The outcome of one call on one map. */
export interface ElemsOutcome {
  id: number;
  name: string;
  type: string;
  maxEntries: number;
  perCpu: boolean;
  /** How keys and values were read and written: with the map's BTF, as an array's index, or as hex. */
  encoding: Encoding;
  results: ElemResult[];
}

/** Map types whose entries are plain bytes both ways. */
const PLAIN = new Set(['hash', 'array', 'percpu_hash', 'percpu_array', 'lru_hash', 'lru_percpu_hash', 'lpm_trie']);

/** Arrays: every index exists, so entries cannot be deleted. */
const ARRAYS = new Set(['array', 'percpu_array']);

const FLAGS: Record<UpdateFlags, number> = { any: 0, noexist: 1, exist: 2 };
const OPS: Record<ElemOp, 0 | 1 | 2> = { lookup: 0, update: 1, delete: 2 };

/** Most bytes of keys and values in one call. */
const MAX_ELEM_BYTES = 4 << 20;

/** Whether the kernel says the map behind `fd` is frozen (bpf_map_freeze): its fdinfo's `frozen` line; false when fdinfo cannot be read. */
function frozen(fd: number): boolean {
  try {
    return /^frozen:\s*1$/m.test(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
  } catch {
    return false;
  }
}

/** Turns one side's JSON into bytes at an offset, or throws InvalidRequest naming the field. */
type Write = (value: unknown, bytes: Uint8Array, offset: number, field: string) => void;

/** Encodes with the map's BTF (src/btf/encode.ts), the encoder's path appended to the field. */
function btfWriter(btf: Btf, typeId: number): Write {
  return (value, bytes, offset, field) => {
    if (value === undefined) throw new InvalidRequest(field, 'missing');
    try {
      encodeValue(btf, typeId, value, bytes, offset);
    } catch (e) {
      if (e instanceof EncodeError) throw new InvalidRequest(`${field}${e.path}`, e.message, { ctype: e.ctype, ...e.details });
      throw e;
    }
  };
}

/** Takes exactly `size` bytes as hex, for a side without BTF. */
function hexWriter(size: number): Write {
  return (value, bytes, offset, field) => {
    if (typeof value !== 'string' || value.length !== size * 2 || !/^[0-9a-fA-F]*$/.test(value)) {
      throw new InvalidRequest(field, `this map has no BTF for it: give ${size} bytes as ${size * 2} hex digits`, { bytes: size });
    }
    bytes.set(Buffer.from(value, 'hex'), offset);
  };
}

/** Takes an array's index as a number, for an array whose key has no BTF. */
function indexWriter(maxEntries: number): Write {
  const little = endianness() === 'LE';
  return (value, bytes, offset, field) => {
    if (!Number.isInteger(value) || (value as number) < 0 || (value as number) > 0xffffffff) {
      throw new InvalidRequest(field, `an array's key is its index, an integer from 0 to ${maxEntries - 1}`, { max_entries: maxEntries });
    }
    new DataView(bytes.buffer, bytes.byteOffset + offset, 4).setUint32(0, value as number, little);
  };
}

/** How the keys and the values of a map are encoded. */
export interface Encoding {
  key: 'btf' | 'index' | 'hex';
  value: 'btf' | 'hex';
}

/** How keys and values of a map are written and read. */
interface Codec {
  writeKey: Write;
  writeValue: Write;
  readValue: Read;
  encoding: Encoding;
}

/** The map's codec: BTF where it describes exactly the key or value size, else an index or hex. */
function codecOf(info: NativeMapInfo, type: string): Codec {
  const btf = mapBtf(info.btfId);
  const keyDecoder = btfDecoder(btf, info.btfKeyTypeId, info.keySize);
  const valueDecoder = btfDecoder(btf, info.btfValueTypeId, info.valueSize);
  const indexed = !keyDecoder && INDEXED.has(type) && info.keySize === 4;
  return {
    writeKey: btf && keyDecoder ? btfWriter(btf, info.btfKeyTypeId) : indexed ? indexWriter(info.maxEntries) : hexWriter(info.keySize),
    writeValue: btf && valueDecoder ? btfWriter(btf, info.btfValueTypeId) : hexWriter(info.valueSize),
    readValue: readable(btf, info.btfValueTypeId, valueDecoder) ?? hexReader(info.valueSize),
    encoding: { key: keyDecoder ? 'btf' : indexed ? 'index' : 'hex', value: valueDecoder ? 'btf' : 'hex' },
  };
}

/** Refuses what the map cannot do at all, before any key is tried. */
function assertAllowed(fd: number, info: NativeMapInfo, type: string, op: ElemOp): void {
  const refuse = (why: string, details: Record<string, unknown> = {}) => {
    throw new KernelError(`map ${info.id} (${type}) cannot ${op}: ${why}`, 'map_access', { map_id: info.id, map_type: type, ...details });
  };
  if (!PLAIN.has(type)) refuse(`only maps of plain entries take it (${[...PLAIN].join(', ')})`);
  if (op === 'delete' && ARRAYS.has(type)) refuse('every index of an array exists, so its entries cannot be deleted; update them instead');
  // BPF_F_RDONLY and BPF_F_WRONLY bind the creator's fd only (the kernel keeps them out of map_flags): a frozen map is the one refusing every fd.
  if (op !== 'lookup' && frozen(fd)) refuse('it is frozen (bpf_map_freeze): user space can no longer change it', { frozen: true });
}

/**
 * Runs `op` on each of `entries` of the map with kernel id `id`, one kernel call per key, with `flags` for update.
 * Keys and values are JSON for the map's BTF types (hex of exactly their size without BTF; an index for arrays without
 * key BTF); struct fields an update leaves out are zero; on per-CPU maps an update's value is an array of one value per
 * possible CPU. Throws InvalidRequest (field `entries[i].key`, `entries[i].value...`) for a value that does not fit,
 * and KernelError (map_access) when the map does not exist or cannot take `op` at all (a write to a frozen map, a
 * delete on an array, not a map of plain entries).
 */
export function mapElems(id: number, op: ElemOp, entries: readonly ElemRequest[], flags: UpdateFlags = 'any'): ElemsOutcome {
  const outcome = withObjectFd(ObjKind.Map, id, (fd): ElemsOutcome => {
    const info = native.mapInfo(fd);
    const type = mapTypeName(info.type);
    assertAllowed(fd, info, type, op);
    const perCpu = PER_CPU.has(type);
    const cpus = perCpu ? possibleCpus().length : 1;
    const cpuStride = perCpu ? (info.valueSize + 7) & ~7 : info.valueSize;
    const stride = cpuStride * cpus;
    const n = entries.length;
    const bytes = n * (info.keySize + (op === 'delete' ? 0 : stride));
    if (bytes > MAX_ELEM_BYTES) {
      throw new InvalidRequest('entries', `${n} entries of map ${id} take ${bytes} bytes, past ${MAX_ELEM_BYTES}: send fewer per call`, { bytes, max_bytes: MAX_ELEM_BYTES });
    }
    const codec = codecOf(info, type);
    const keys = new Uint8Array(n * info.keySize);
    const values = op === 'update' ? new Uint8Array(n * stride) : null;
    entries.forEach((e, i) => {
      codec.writeKey(e.key, keys, i * info.keySize, `entries[${i}].key`);
      if (!values) return;
      const field = `entries[${i}].value`;
      if (e.value === undefined) throw new InvalidRequest(field, 'update needs a value for every key');
      if (!perCpu) return codec.writeValue(e.value, values, i * stride, field);
      if (!Array.isArray(e.value) || e.value.length !== cpus) {
        throw new InvalidRequest(field, `a per-CPU map takes an array of ${cpus} values, one per possible CPU`, { possible_cpus: cpus });
      }
      e.value.forEach((v, cpu) => codec.writeValue(v, values, i * stride + cpu * cpuStride, `${field}[${cpu}]`));
    });
    let done: ReturnType<typeof native.mapElems>;
    try {
      done = native.mapElems(fd, OPS[op], info.keySize, stride, n, keys, values, FLAGS[flags]);
    } catch (e) {
      throw kernelFailure(e, `${op} on map ${id} (${type})`, { map_id: id, map_type: type }, 'map_access');
    }
    const results = entries.map((e, i): ElemResult => {
      const errno = done.errnos[i] ?? 0;
      if (op !== 'lookup' || errno !== 0 || !done.values) return { key: e.key, errno };
      const at = i * stride;
      if (!perCpu) return { key: e.key, errno, value: codec.readValue(done.values, at) };
      return { key: e.key, errno, values: Array.from({ length: cpus }, (_, cpu) => codec.readValue(done.values as Buffer, at + cpu * cpuStride)) };
    });
    return { id: info.id, name: info.name, type, maxEntries: info.maxEntries, perCpu, encoding: codec.encoding, results };
  });
  if (!outcome) throw new KernelError(`no map with id ${id}: it does not exist or was freed`, 'map_access', { map_id: id, syscall_errno: 2, errno_name: 'ENOENT' });
  return outcome;
}
