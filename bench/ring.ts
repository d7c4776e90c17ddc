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
import { EventReader, type RecordBatch } from '../src/kernel/reader.js';
import { Pipeline } from '../src/stream/pipeline.js';
import { RecordType } from '../src/stream/record-type.js';
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

/**
 * How a drain treats each record: only take its batch from the addon, which walked and indexed it (taken),
 * visit it (raw), decode it into an object (decoded), or feed it to
 * stream_events' pipeline (src/stream/pipeline.ts) with a where clause matching 1% of the records
 * (filter: `flags` eq 0), or counting it per comm (aggregate).
 */
export type DrainMode = 'taken' | 'raw' | 'decoded' | 'filter' | 'aggregate';

/** The drain modes. */
export const DRAIN_MODES: readonly DrainMode[] = ['taken', 'raw', 'decoded', 'filter', 'aggregate'];

/** The where clause of the filter drain: record i has flags i % 100 (bench/bpf/ringbuf.bpf.c). */
export const FILTER_WHERE = { field: 'flags', op: 'eq', value: 0 } as const;

/** One round of a drain: its rate and what it computed (filter: records matched; aggregate: groups and their counts' sum). */
export interface DrainRound {
  records: number;
  rate: number;
  matched?: number;
  groups?: number;
  counted?: number;
}

/** The pipeline stream_events would build for this mode over the ring's records (no byte cap, never full). */
function pipelineFor(ring: Ring, mode: 'filter' | 'aggregate'): Pipeline {
  const recordType = new RecordType(btfById(ring.btfId), undefined);
  return new Pipeline({
    recordType,
    filters: mode === 'filter' ? { where: [FILTER_WHERE] } : {},
    format: 'json',
    maxEvents: Infinity,
    bufferCpu: false,
    ...(mode === 'aggregate' ? { aggregate: { groupBy: ['comm'], maxGroups: 10_000 } } : {}),
  });
}

/** Fills and drains the ring `rounds` times through stream_events' pipeline, fed as src/stream/run.ts feeds it. */
function pipelineRounds(ring: Ring, records: number, mode: 'filter' | 'aggregate', rounds: number): DrainRound[] {
  const reader = EventReader.open(ring.mapId, 'ringbuf');
  let pipeline = pipelineFor(ring, mode);
  try {
    const onBatch = (batch: RecordBatch) => pipeline.pushBatch(batch, 0);
    reader.subscribe(onBatch);
    const out: DrainRound[] = [];
    for (let r = 0; r < rounds; r++) {
      pipeline = pipelineFor(ring, mode);
      reader.select(onBatch, pipeline.program);
      ring.fill();
      const t0 = nowMs();
      while (pipeline.received < records) {
        if (reader.consume() === 0) throw new Error(`the reader stopped after ${pipeline.received} of ${records} records`);
      }
      const rate = pipeline.received / ((nowMs() - t0) / 1000);
      if (mode === 'filter') out.push({ records: pipeline.received, rate, matched: pipeline.events.length });
      else {
        const groups = pipeline.groups?.top(Infinity) ?? [];
        out.push({ records: pipeline.received, rate, groups: groups.length, counted: groups.reduce((a, g) => a + g.count, 0) });
      }
    }
    return out;
  } finally {
    reader.close();
  }
}

/**
 * Fills and drains the ring `rounds` times through one EventReader; returns records per second of
 * each round, timed from the first consume() to the last record. Each pass computes something
 * from every record (the sum of sizes, or of decoded `seq` fields; the records' count when only taken)
 * and checks it, so no work is skipped.
 */
export function drainRounds(ring: Ring, records: number, mode: DrainMode, rounds: number): DrainRound[] {
  if (mode === 'filter' || mode === 'aggregate') return pipelineRounds(ring, records, mode, rounds);
  const reader = EventReader.open(ring.mapId, 'ringbuf');
  let seen = 0;
  let sum = 0;
  try {
    if (mode === 'taken') {
      reader.subscribe((batch) => {
        seen += batch.count;
        sum = seen;
      });
    } else if (mode === 'raw') {
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
    const expect = mode === 'taken' ? records : mode === 'raw' ? records * RECORD_SIZE : (records * (records - 1)) / 2;
    const rates: DrainRound[] = [];
    for (let r = 0; r < rounds; r++) {
      seen = 0;
      sum = 0;
      ring.fill();
      const t0 = nowMs();
      while (seen < records) {
        if (reader.consume() === 0) throw new Error(`the reader stopped after ${seen} of ${records} records`);
      }
      rates.push({ records: seen, rate: seen / ((nowMs() - t0) / 1000) });
      if (sum !== expect) throw new Error(`a ${mode} drain computed ${sum} from the records, expected ${expect}`);
    }
    return rates;
  } finally {
    reader.close();
  }
}
