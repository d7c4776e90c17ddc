/**
 * The count of records a BPF object failed to write to its ring buffer. A
 * ring keeps no such count, so the catalog's programs (and any program that
 * includes bpf/catalog/lost_events.h) add one to a per-CPU array named
 * `lost_events` each time bpf_ringbuf_reserve or bpf_ringbuf_output fails.
 * A stream reads it at start and end: the difference is what the kernel lost
 * meanwhile, exactly.
 */
import { endianness } from 'node:os';
import { kernelFailure } from './errors.js';
import { mapsBeside } from './inventory.js';
import { ObjKind, native } from './native.js';
import { withObjectFd } from './object-fd.js';

/** The name of the per-CPU counter map (one u64 per CPU at key 0). */
export const LOST_COUNTER_MAP = 'lost_events';

/** A `lost_events` map, read as the sum over CPUs. */
export class LostCounter {
  constructor(
    /** Kernel id of the per-CPU array. */
    readonly mapId: number,
  ) {}

  /** Failed writes counted so far, all CPUs; undefined once the map is gone. */
  read(): number | undefined {
    return withObjectFd(ObjKind.Map, this.mapId, (fd) => {
      let dump: ReturnType<typeof native.mapDump>;
      try {
        dump = native.mapDump(fd, 4, 8, true, 1, 1, null);
      } catch (e) {
        throw kernelFailure(e, `reading map ${this.mapId} (${LOST_COUNTER_MAP})`, { map_id: this.mapId }, 'map_access');
      }
      const view = new DataView(dump.values.buffer, dump.values.byteOffset, dump.values.byteLength);
      const little = endianness() === 'LE';
      let sum = 0n;
      for (let off = 0; off + 8 <= view.byteLength; off += 8) sum += view.getBigUint64(off, little);
      return Number(sum);
    });
  }
}

/**
 * The lost counter of the object writing ring `ringMapId`: a per-CPU array named `lost_events` (u32 key,
 * u64 value) used by a program that also uses the ring; undefined when no such program has one.
 */
export function lostCounterFor(ringMapId: number): LostCounter | undefined {
  const m = mapsBeside(ringMapId).find((info) => info.name === LOST_COUNTER_MAP && info.type === 'percpu_array' && info.keySize === 4 && info.valueSize === 8);
  return m ? new LostCounter(m.id) : undefined;
}
