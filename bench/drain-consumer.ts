/**
 * One JavaScript consumer of the drain benchmark in a process of its own, as
 * bench/c/ringbuf_drain.c is for C: loads the ring object, then fills and
 * drains it ROUNDS times through the server's EventReader, visiting (raw) or
 * decoding (decoded) every record, or through stream_events' pipeline
 * (filter, aggregate; see ring.ts). Prints one JSON line per round on stdout.
 *
 * usage: node dist/bench/drain-consumer.js raw|decoded|filter|aggregate COUNT ROUNDS
 */
import { DRAIN_MODES, type DrainMode, drainRounds, loadRing } from './ring.js';

const [mode, count, rounds] = process.argv.slice(2);
if (!DRAIN_MODES.includes(mode as DrainMode) || !count || !rounds) {
  process.stderr.write(`usage: drain-consumer ${DRAIN_MODES.join('|')} COUNT ROUNDS\n`);
  process.exit(2);
}
const records = Number(count);
const ring = loadRing(records);
try {
  for (const round of drainRounds(ring, records, mode as DrainMode, Number(rounds))) process.stdout.write(`${JSON.stringify(round)}\n`);
} finally {
  ring.obj.close();
}
