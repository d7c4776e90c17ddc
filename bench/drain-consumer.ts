/**
 * One JavaScript consumer of the drain benchmark in a process of its own, as
 * bench/c/ringbuf_drain.c is for C: loads the ring object, then fills and
 * drains it ROUNDS times through the server's EventReader, visiting (raw) or
 * decoding (decoded) every record. Prints one JSON line per round on stdout.
 *
 * usage: node dist/bench/drain-consumer.js raw|decoded COUNT ROUNDS
 */
import { drainRounds, loadRing } from './ring.js';

const [mode, count, rounds] = process.argv.slice(2);
if ((mode !== 'raw' && mode !== 'decoded') || !count || !rounds) {
  process.stderr.write('usage: drain-consumer raw|decoded COUNT ROUNDS\n');
  process.exit(2);
}
const records = Number(count);
const ring = loadRing(records);
try {
  for (const rate of drainRounds(ring, records, mode, Number(rounds))) process.stdout.write(`${JSON.stringify({ records, rate })}\n`);
} finally {
  ring.obj.close();
}
