/**
 * The pre-filled ring of the drain benchmark: bench/bpf/ringbuf.bpf.c loaded
 * through BpfObject, filled by one BPF_PROG_TEST_RUN of its `prefill`
 * program, and drained through the server's EventReader.
 */
import { readFileSync } from 'node:fs';
import { chooseEventType, compileDecoder } from '../src/btf/index.js';
import { btfById } from '../src/kernel/kernel-btf.js';
import { native } from '../src/kernel/native.js';
import { BpfObject } from '../src/kernel/object.js';
import { EventReader } from '../src/kernel/reader.js';
import { benchObject, nowMs, u32Context } from './lib.js';

/** Size of one record of the ring (struct event). */
const RECORD_SIZE = 48;

/** The loaded fill program and its ring. */
export interface Ring {
  obj: BpfObject;
  mapId: number;
  /** The BTF holding the record type. */
  btfId: number;
  /** Fills the ring with `records` records; throws unless all fit. */
  fill(): void;
}

/** Loads the ring object; each fill writes `records` records. */
export function loadRing(records: number): Ring {
  const path = benchObject('ringbuf');
  const obj = BpfObject.open(readFileSync(path), 'ringbuf');
  try {
    obj.load();
    const prog = obj.programs().find((p) => p.name === 'prefill');
    const map = obj.maps().find((m) => m.name === 'ring');
    if (!prog || !map) throw new Error(`${path} lacks the prefill program or the ring map`);
    const info = native.mapInfo(map.fd);
    return {
      obj,
      mapId: info.id,
      // A ring buffer map has no BTF of its own: the record type is in the BTF of the program writing it (as stream_events finds it).
      btfId: info.btfId || native.progInfo(prog.fd).btfId,
      fill() {
        const ctx = u32Context(records, 0);
        native.progTestRun(prog.fd, 0, ctx);
        const written = new DataView(ctx.buffer).getUint32(4, true);
        if (written !== records) throw new Error(`the fill wrote ${written} of ${records} records (ring too small?)`);
      },
    };
  } catch (e) {
    obj.close();
    throw e;
  }
}

/** How a drain treats each record: visit it (raw) or decode it into an object (decoded). */
export type DrainMode = 'raw' | 'decoded';

/**
 * Fills and drains the ring `rounds` times through one EventReader; returns records per second of
 * each round, timed from the first consume() to the last record. Each pass computes something
 * from every record (the sum of sizes, or of decoded `seq` fields) and checks it, so no work is skipped.
 */
export function drainRounds(ring: Ring, records: number, mode: DrainMode, rounds: number): number[] {
  const reader = EventReader.open(ring.mapId, 'ringbuf');
  let seen = 0;
  let sum = 0;
  try {
    if (mode === 'raw') {
      reader.subscribe((batch) =>
        batch.forEach((_off, size) => {
          sum += size;
          seen++;
        }),
      );
    } else {
      const btf = btfById(ring.btfId);
      const choice = chooseEventType(btf, undefined);
      if (choice.typeId === undefined) throw new Error('no record type in the ring object BTF');
      const decode = compileDecoder(btf, choice.typeId);
      reader.subscribe((batch) => {
        const bytes = batch.bytes;
        batch.forEach((off) => {
          sum += (decode(bytes, off) as { seq: number }).seq;
          seen++;
        });
      });
    }
    const expect = mode === 'raw' ? records * RECORD_SIZE : (records * (records - 1)) / 2;
    const rates: number[] = [];
    for (let r = 0; r < rounds; r++) {
      seen = 0;
      sum = 0;
      ring.fill();
      const t0 = nowMs();
      while (seen < records) {
        if (reader.consume() === 0) throw new Error(`the reader stopped after ${seen} of ${records} records`);
      }
      rates.push(seen / ((nowMs() - t0) / 1000));
      if (sum !== expect) throw new Error(`a ${mode} drain computed ${sum} from the records, expected ${expect}`);
    }
    return rates;
  } finally {
    reader.close();
  }
}
