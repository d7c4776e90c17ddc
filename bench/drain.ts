/**
 * Ring buffer drain: a 64 MiB ring pre-filled with `records` 48-byte records by
 * a BPF program (bench/bpf/ringbuf.bpf.c, one BPF_PROG_TEST_RUN), drained by
 * (a) the plain C libbpf consumer (bench/c/ringbuf_drain.c), (b) the server's
 * EventReader visiting every record, (c) the same decoding every record into a
 * JavaScript object with the BTF decoder, (d) stream_events in aggregate mode
 * through a real MCP client, (e) stream_events' pipeline with a where clause
 * matching 1%, (f) the C consumer counting per comm (bench/c/ringbuf_comm.c)
 * and (g) the pipeline doing the same, (h) the C consumer rendering every
 * record with btf_dump__dump_type_data (bench/c/ringbuf_btf_dump.c).
 */
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../src/paths.js';
import { type Server, benchBinary, benchObject, median, note, sleep, timedRun } from './lib.js';
import { type Section, rateRow } from './report.js';
import { type DrainMode, FILTER_WHERE, loadRing } from './ring.js';

/** Sizes of the drain benchmark. */
export interface DrainConfig {
  /** Records per fill (about a million for the real run). */
  records: number;
  /** Timed rounds of (a), (b) and (c). */
  rounds: number;
  /** Rounds of (d). */
  aggregateRounds: number;
  /** duration_ms of each stream_events call of (d). */
  aggregateMs: number;
  /** Records per fill and timed rounds of (h): btf_dump renders about 150 k records/s, so fewer. */
  btfDumpRecords: number;
  btfDumpRounds: number;
}

/**
 * Fills before the timed one: two cover every page of the 64 MiB ring (a million records take 56 MB); the filter's
 * path runs for 1% of the records, so V8 has optimized it only after about five (its rate climbs until then).
 */
const WARMUP_FILLS = 5;

/** Milliseconds of quiet before each consumer process. */
const SETTLE_MS = 250;

/** A consumer's rates: of its first fill (a fresh mapping, page faults) and of its last (timed), and what the last computed. */
interface Rates {
  cold: number;
  warm: number;
  last: Round;
}

/** One line a consumer prints per fill: records drained and the rate, and what it computed (matched, groups, counted, text_bytes). */
interface Round {
  records: number;
  rate: number;
  matched?: number;
  groups?: number;
  counted?: number;
  text_bytes?: number;
  failed?: number;
}

/** The rates of a consumer's JSON lines, checking it drained every one of `fills` fills. */
function rates(stdout: string, records: number, fills: number, who: string): Rates {
  const rounds = stdout.trim().split('\n').map((l) => JSON.parse(l) as Round);
  const first = rounds[0];
  const last = rounds[rounds.length - 1];
  if (!first || !last || rounds.some((r) => r.records !== records) || rounds.length !== fills) throw new Error(`${who} printed ${stdout.trim()}`);
  return { cold: first.rate, warm: last.rate, last };
}

/** One round of a C consumer (bench/c/<name>.c) in its own process. */
async function cDrain(name: string, records: number, fills = WARMUP_FILLS + 1): Promise<Rates> {
  const { stdout } = await timedRun(benchBinary(name), [benchObject('ringbuf'), String(records), String(fills)]);
  return rates(stdout, records, fills, name);
}

/** One round of the server's reader in a Node process of its own (bench/drain-consumer.ts). */
async function jsDrain(mode: DrainMode, records: number): Promise<Rates> {
  const script = join(PACKAGE_ROOT, 'dist', 'bench', 'drain-consumer.js');
  const { stdout } = await timedRun(process.execPath, [script, mode, String(records), String(WARMUP_FILLS + 1)]);
  return rates(stdout, records, WARMUP_FILLS + 1, `drain-consumer ${mode}`);
}

/** Comm groups of the fill (COMMS in bench/bpf/ringbuf.bpf.c). */
const COMMS = 64;

/** Checks what a filter or aggregate round computed: 1% matched; every record counted in the fill's groups. */
function checkComputed(r: Rates, records: number, who: string): void {
  const { matched, groups, counted } = r.last;
  if (matched !== undefined && matched !== Math.ceil(records / 100)) throw new Error(`${who} matched ${matched} of ${records} records, expected 1%`);
  if (counted !== undefined && (counted !== records || groups !== Math.min(COMMS, records))) throw new Error(`${who} counted ${counted} records in ${groups} groups, expected ${records} in ${COMMS}`);
}

/** stream_events aggregate over a freshly filled ring: records per second between the first and last record seen. */
async function aggregateRounds(cfg: DrainConfig, server: Server): Promise<{ rates: number[]; details: string[] }> {
  const ring = loadRing(cfg.records);
  const rates: number[] = [];
  const details: string[] = [];
  try {
    for (let r = 0; r < cfg.aggregateRounds; r++) {
      ring.fill();
      const s = await server.call('stream_events', {
        source: { map_id: ring.mapId },
        duration_ms: cfg.aggregateMs,
        aggregate: { group_by: ['comm'], top: 10 },
      });
      const groups = s.groups as { first_seen_ms: number; last_seen_ms: number }[];
      const first = Math.min(...groups.map((g) => g.first_seen_ms));
      const last = Math.max(...groups.map((g) => g.last_seen_ms));
      const received = s.stats.events_received as number;
      if (received !== cfg.records) throw new Error(`stream_events received ${received} of ${cfg.records} records in ${cfg.aggregateMs} ms`);
      rates.push(received / (Math.max(last - first, 1) / 1000));
      details.push(`first record at ${first} ms, last at ${last} ms`);
      note(`aggregate round ${r + 1}/${cfg.aggregateRounds}: ${Math.round(rates[r]!)} records/s`);
    }
  } finally {
    ring.obj.close();
  }
  return { rates, details };
}

/** Runs (a) to (h) and returns the drain rows. */
export async function ringbufDrain(cfg: DrainConfig, server: Server): Promise<Section> {
  const c: Rates[] = [];
  const taken: Rates[] = [];
  const raw: Rates[] = [];
  const decoded: Rates[] = [];
  const filter: Rates[] = [];
  const cComm: Rates[] = [];
  const aggregate: Rates[] = [];
  const btfDump: Rates[] = [];
  const perS = (xs: number[]) => xs.map((x) => `${(x / 1e6).toFixed(2)} M`).join(', ');
  for (let r = 0; r < cfg.rounds; r++) {
    // A pause before each consumer lets the kernel finish freeing the previous one's 64 MiB ring.
    const steps: [Rates[], () => Promise<Rates>][] = [
      [c, () => cDrain('ringbuf_drain', cfg.records)],
      [taken, () => jsDrain('taken', cfg.records)],
      [raw, () => jsDrain('raw', cfg.records)],
      [decoded, () => jsDrain('decoded', cfg.records)],
      [filter, () => jsDrain('filter', cfg.records)],
      [cComm, () => cDrain('ringbuf_comm', cfg.records)],
      [aggregate, () => jsDrain('aggregate', cfg.records)],
    ];
    for (const [into, run] of steps) {
      await sleep(SETTLE_MS);
      into.push(await run());
    }
    checkComputed(filter[r]!, cfg.records, 'the filter drain');
    checkComputed(cComm[r]!, cfg.records, 'ringbuf_comm');
    checkComputed(aggregate[r]!, cfg.records, 'the aggregate drain');
    note(`drain round ${r + 1}/${cfg.rounds}: C ${perS([c[r]!.warm])}, taken ${perS([taken[r]!.warm])}, raw ${perS([raw[r]!.warm])}, decoded ${perS([decoded[r]!.warm])}, filter ${perS([filter[r]!.warm])}, C comm ${perS([cComm[r]!.warm])}, aggregate ${perS([aggregate[r]!.warm])} records/s`);
  }
  for (let r = 0; r < cfg.btfDumpRounds; r++) {
    await sleep(SETTLE_MS);
    btfDump.push(await cDrain('ringbuf_btf_dump', cfg.btfDumpRecords, 2));
    if (btfDump[r]!.last.failed) throw new Error(`btf_dump failed on ${btfDump[r]!.last.failed} records`);
    note(`btf_dump round ${r + 1}/${cfg.btfDumpRounds}: ${perS([btfDump[r]!.warm])} records/s`);
  }
  const agg = await aggregateRounds(cfg, server);

  const anchor = 'C libbpf consumer (`ring_buffer__consume`, counting callback)';
  const warm = (xs: Rates[]) => xs.map((x) => x.warm);
  const cold = (xs: Rates[]) => median(xs.map((x) => x.cold));
  const coldRatio = (xs: Rates[]) => (cold(xs) / cold(c)).toFixed(2);
  /** The ratio of two consumers' medians, and what `slow` costs per record beyond `base`, in record times of `anchor`. */
  const ratio = (ours: Rates[], of: Rates[]) => (median(warm(ours)) / median(warm(of))).toFixed(2);
  const extra = (anchorOf: Rates[], slow: Rates[], base: Rates[]) =>
    (median(warm(anchorOf)) / median(warm(slow)) - median(warm(anchorOf)) / median(warm(base))).toFixed(2);
  const filterRow = rateRow('ringbuf_filter', median(warm(filter)), 'records/s', anchor, median(warm(c)), '>= 0.5 x C', 0.5);
  const aggRow = rateRow('ringbuf_aggregate_raw', median(warm(aggregate)), 'records/s', 'C libbpf consumer counting per comm in a hash table (bench/c/ringbuf_comm.c)', median(warm(cComm)), '>= 0.5 x C', 0.5);
  const textBytes = btfDump[btfDump.length - 1]?.last.text_bytes ?? 0;
  return {
    title: 'Ring buffer drain (`ringbuf_*`)',
    rows: [
      rateRow('ringbuf_drain_raw', median(warm(raw)), 'records/s', anchor, median(warm(c)), '>= 0.8 x C', 0.8),
      rateRow('ringbuf_drain_decoded', median(warm(decoded)), 'records/s', anchor, median(warm(c)), '>= 0.3 x C', 0.3),
      rateRow('ringbuf_drain_aggregate', median(agg.rates), 'records/s', anchor, median(warm(c)), 'none in the issue (reported)'),
      filterRow,
      aggRow,
      rateRow('ringbuf_decoded_vs_btf_dump', median(warm(decoded)), 'records/s', 'C libbpf consumer rendering each record with `btf_dump__dump_type_data` (bench/c/ringbuf_btf_dump.c)', median(warm(btfDump)), '>= 1 x C', 1),
    ],
    misses: {
      ringbuf_drain_raw:
        `the addon's one walk of the kernel's headers, which indexes the records, and the handing over of each batch reach ${ratio(taken, c)} x C alone ` +
        `((i), JavaScript touching no record); visiting each record in JavaScript, a call of the visitor per record, costs ${extra(c, raw, taken)} C-record times more. ` +
        'The C consumer walks once with a callback that does nothing.',
      ringbuf_filter:
        `the reader runs the where clause in the addon's walk, as one range check on each record it takes (the walk and handover alone reach ${ratio(taken, c)} x C, (i)); ` +
        `the records kept add ${extra(c, filter, taken)} C-record times per record: the 1% that match are decoded, rendered and kept as events, and ` +
        'their allocation and garbage collection is most of it. The counting C callback keeps nothing.',
      ringbuf_aggregate_raw:
        `the walk and handover alone (i) reach ${ratio(taken, cComm)} x the hash consumer; keying each record by its comm's raw bytes in the addon's table and ` +
        `counting adds ${extra(cComm, aggregate, taken)} hash-consumer record times per record: ours keys a batch in a second pass over records the walk left ` +
        'in cache, where C hashes in the walk\'s own callback.',
      ringbuf_drain_decoded:
        'every record becomes a JavaScript object of 7 fields with a string (comm) and a bigint-safe ts_ns, an allocation per record that the counting C callback does not make; ' +
        `the same decode is ${(median(warm(decoded)) / median(warm(btfDump))).toFixed(1)} x libbpf's own typed rendering (ringbuf_decoded_vs_btf_dump). Not worked on here.`,
    },
    how:
      `A BPF syscall program (bench/bpf/ringbuf.bpf.c) fills a 64 MiB ring buffer with ${cfg.records} records of 48 bytes ` +
      '(pid, tgid, ts, comm[16], seq, cpu, flags; record i has seq i, flags i % 100 and comm "comm-NN" with NN = i % 64) in ' +
      'one BPF_PROG_TEST_RUN, using bpf_loop; a consumer then drains the ' +
      'whole ring, timed from its first consume call to the last record. Each of (a), (i), (b), (c), (e), (f), (g) is a process of its own ' +
      `that loads its own copy of the object and fills and drains it ${WARMUP_FILLS + 1} times; only the last is timed, ` +
      'so every page of the ring is mapped and the JIT is warm on both sides (a fresh mapping drains about 3x slower, ' +
      'from page faults, in C as in JavaScript; the filter, whose kept records are 1%, climbs for about five fills). ' +
      '(a) bench/c/ringbuf_drain.c: plain libbpf, `ring_buffer__consume` with a callback that only counts. ' +
      "(i) bench/drain-consumer.ts taken: the server's EventReader handing over each batch, walked and indexed by the addon, with JavaScript touching no record (the batches' counts summed): the floor under (b), (c), (e) and (g). " +
      "(b) bench/drain-consumer.ts raw: the server's EventReader (native/src/reader.c + src/kernel/reader.ts), " +
      '`consume()` until the ring is empty, every record visited with RecordBatch.forEach (its size summed), not decoded. ' +
      '(c) the same, every record decoded into a JavaScript object by compileDecoder of the BTF record type, the decoder ' +
      'stream_events uses (the decoded `seq` fields summed and checked). ' +
      '(d) stream_events with aggregate group_by ["comm"] through the SDK client on the real server, over a ring filled ' +
      "the same way: rate = events_received / (last_seen_ms - first_seen_ms), the server's own clock at the first and " +
      `last record (ms resolution); ${cfg.aggregateRounds} rounds, median. The issue sets no target for (d); it is ` +
      'compared with the same C figure. ' +
      `(e) ringbuf_filter: the reader feeding stream_events' own Pipeline (src/stream/pipeline.ts, as src/stream/run.ts feeds it, the where clause given to the reader, ` +
      'which tests each record as the addon walks it: EventReader.select) with filters.where ' +
      `[${JSON.stringify(FILTER_WHERE)}], format json: 1% of the records match and are decoded and kept as events (checked: exactly ${Math.ceil(cfg.records / 100)} each round); anchor (a). ` +
      `(f) bench/c/ringbuf_comm.c: libbpf, a callback counting per comm (bytes up to the NUL, FNV-1a) in an open-addressing hash table (checked: ${COMMS} groups summing to the records). ` +
      '(g) ringbuf_aggregate_raw: the reader feeding the Pipeline with aggregate group_by ["comm"], counted per raw comm bytes by the addon\'s key table (checked like (f)); anchor (f). ' +
      `(h) bench/c/ringbuf_btf_dump.c: libbpf, a callback rendering every record as struct event with \`btf_dump__dump_type_data\` (emit_zeroes) into a memory buffer; ` +
      `it renders about 150 k records/s, so its fills hold ${cfg.btfDumpRecords} records (one warm-up fill, then the timed one; ${cfg.btfDumpRounds} rounds, median); ` +
      'ringbuf_decoded_vs_btf_dump compares (c), every record decoded to typed fields, with it. ' +
      `${cfg.rounds} rounds of (a), (i), (b), (c), (e), (f), (g) in turn; medians.`,
    details: [
      `(a) C per round: ${perS(warm(c))} records/s`,
      `(i) taken per round: ${perS(warm(taken))} records/s`,
      `(b) raw per round: ${perS(warm(raw))} records/s`,
      `(c) decoded per round: ${perS(warm(decoded))} records/s`,
      `(d) aggregate per round: ${perS(agg.rates)} records/s (${agg.details.join('; ')})`,
      `(e) filter per round: ${perS(warm(filter))} records/s; matched per round: ${filter.map((x) => x.last.matched).join(', ')}`,
      `(f) C per comm per round: ${perS(warm(cComm))} records/s; groups ${cComm[0]?.last.groups}, counted ${cComm[0]?.last.counted}`,
      `(g) aggregate per round: ${perS(warm(aggregate))} records/s; groups ${aggregate[0]?.last.groups}, counted ${aggregate[0]?.last.counted}`,
      `(h) btf_dump per round: ${perS(warm(btfDump))} records/s; ${textBytes} bytes of text for ${cfg.btfDumpRecords} records`,
      `first fill on a fresh mapping (not in the rows), medians: C ${perS([cold(c)])}, raw ${perS([cold(raw)])} (${coldRatio(raw)} x C), ` +
        `decoded ${perS([cold(decoded)])} (${coldRatio(decoded)} x C) records/s`,
    ],
  };
}
