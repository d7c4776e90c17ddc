/**
 * Holds loaded programs for the inspect benchmark in a process of its own:
 * loads bench/bpf/nop.bpf.c COUNT times (a socket filter and a one-entry array
 * map each, through BpfObject), prints "ready SECONDS" (the load time), and
 * keeps them until its stdin ends. Each object holds three file descriptors, so
 * ten thousand are spread over a few of these processes, each under its own
 * RLIMIT_NOFILE.
 *
 * usage: node dist/bench/hold-programs.js COUNT
 */
import { readFileSync } from 'node:fs';
import { BpfObject } from '../src/kernel/object.js';
import { benchObject, nowMs } from './lib.js';

const count = Number(process.argv[2]);
if (!Number.isInteger(count) || count < 1) {
  process.stderr.write('usage: hold-programs COUNT\n');
  process.exit(2);
}
const elf = readFileSync(benchObject('nop'));
const objects: BpfObject[] = [];
const t0 = nowMs();
for (let i = 0; i < count; i++) {
  const obj = BpfObject.open(elf, `nop${i}`);
  objects.push(obj);
  obj.load();
}
process.stdout.write(`ready ${((nowMs() - t0) / 1000).toFixed(2)}\n`);
process.stdin.resume();
process.stdin.once('end', () => {
  for (const o of objects) o.close();
  process.exit(0);
});
