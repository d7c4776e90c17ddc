/**
 * Stack traces a BPF program took with bpf_get_stackid: the
 * BPF_MAP_TYPE_STACK_TRACE map a program keeps beside the map it counts
 * stacks into, and the instruction pointers stored under each stack id.
 */
import { endianness } from 'node:os';
import { kernelFailure } from './errors.js';
import { type MapInfo, mapsBeside } from './inventory.js';
import { ObjKind, native } from './native.js';
import { withObjectFd } from './object-fd.js';

/** The most stack ids looked up in one call. */
const MAX_IDS_PER_CALL = 4096;

/** The stack trace maps used by the programs that use map `mapId`. */
export function stackMapsBeside(mapId: number): MapInfo[] {
  return mapsBeside(mapId).filter((m) => m.type === 'stack_trace' && m.keySize === 4 && m.valueSize % 8 === 0);
}

/**
 * The instruction pointers of each stack id in stack trace map `map` (leaf first, up to the first zero), by id;
 * an id the map no longer holds is absent. Undefined when the map is gone.
 */
export function readStacks(map: MapInfo, ids: readonly number[]): Map<number, bigint[]> | undefined {
  return withObjectFd(ObjKind.Map, map.id, (fd) => {
    const stacks = new Map<number, bigint[]>();
    const little = endianness() === 'LE';
    for (let from = 0; from < ids.length; from += MAX_IDS_PER_CALL) {
      const batch = ids.slice(from, from + MAX_IDS_PER_CALL);
      const keys = new Uint8Array(batch.length * 4);
      const kv = new DataView(keys.buffer);
      batch.forEach((id, i) => kv.setUint32(i * 4, id, little));
      let done: ReturnType<typeof native.mapElems>;
      try {
        done = native.mapElems(fd, 0, 4, map.valueSize, batch.length, keys, null, 0);
      } catch (e) {
        throw kernelFailure(e, `reading stack trace map ${map.id}`, { map_id: map.id }, 'map_access');
      }
      const values = done.values;
      if (!values) continue;
      const view = new DataView(values.buffer, values.byteOffset, values.byteLength);
      batch.forEach((id, i) => {
        if (done.errnos[i] !== 0) return;
        const ips: bigint[] = [];
        for (let off = i * map.valueSize; off < (i + 1) * map.valueSize; off += 8) {
          const ip = view.getBigUint64(off, little);
          if (ip === 0n) break;
          ips.push(ip);
        }
        stacks.set(id, ips);
      });
    }
    return stacks;
  });
}
