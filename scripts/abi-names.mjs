#!/usr/bin/env node
// Writes the architecture's syscall names and open(2) flags as JSON, from the macros the C preprocessor
// prints for the kernel's UAPI headers (`cc -dM -E`: <asm/unistd.h>, <asm/fcntl.h>) read on stdin.
// The Makefile runs it at build time (bpf/.output/abi_names.json), so the table is this machine's.
import { readFileSync } from 'node:fs';
import { arch } from 'node:process';

const macros = new Map();
for (const line of readFileSync(0, 'utf8').split('\n')) {
  const m = /^#define (\w+) (.+)$/.exec(line);
  if (m) macros.set(m[1], m[2].trim());
}

/** A macro's value when it is a number, a macro or an expression of them with | and +; undefined otherwise. */
function value(name, depth = 0) {
  const body = macros.get(name);
  if (body === undefined || depth > 16) return undefined;
  let total;
  for (const term of body.replace(/[()]/g, ' ').split(/([|+])/)) {
    const t = term.trim();
    if (t === '|' || t === '+') {
      total = { op: t, acc: total };
      continue;
    }
    const n = /^0[0-7]*$/.test(t) ? parseInt(t, 8) : /^(0x[0-9a-f]+|[1-9][0-9]*)[ul]*$/i.test(t) ? Number(t.replace(/[ul]+$/i, '')) : /^\w+$/.test(t) ? value(t, depth + 1) : undefined;
    if (n === undefined) return undefined;
    total = total === undefined ? n : total.op === '|' ? total.acc | n : total.acc + n;
  }
  return typeof total === 'number' ? total : undefined;
}

const syscalls = {};
for (const name of macros.keys()) {
  const m = /^__NR_(\w+)$/.exec(name);
  const nr = m && value(name);
  if (m && nr !== undefined && !(nr in syscalls)) syscalls[nr] = m[1];
}
const openFlags = {};
for (const name of macros.keys()) {
  const v = /^O_\w+$/.test(name) ? value(name) : undefined;
  if (v !== undefined) openFlags[name] = v;
}
if (Object.keys(syscalls).length < 100 || openFlags.O_CLOEXEC === undefined) {
  process.stderr.write(`abi-names: only ${Object.keys(syscalls).length} syscalls and ${Object.keys(openFlags).length} open flags found in the headers\n`);
  process.exit(1);
}
process.stdout.write(JSON.stringify({ arch, syscalls, open_flags: openFlags }, null, 1) + '\n');
