#!/usr/bin/env node
// The installed package's "install" script (and `npm rebuild ebpf-mcp`): does nothing when the prebuilt addon for
// this platform loads. Where it does not (another libc, another architecture), builds the addon and the object
// probe here against a static libbpf: scripts/libbpf.sh (Debian's libbpf source, through apt-get), node-gyp (npm
// puts its own on PATH for scripts), a C compiler, and the libelf and zlib headers. Messages go to stderr.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const prebuilt = join(root, 'prebuilds', `${process.platform}-${process.arch}`, 'ebpf_native.node');
try {
  createRequire(import.meta.url)(prebuilt);
  process.exit(0);
} catch (e) {
  process.stderr.write(`ebpf-mcp: the prebuilt addon does not load here (${e instanceof Error ? e.message : String(e)}): building it\n`);
}

const run = (command, args) => execFileSync(command, args, { cwd: root, stdio: ['ignore', process.stderr, 'inherit'] });
try {
  run('bash', ['scripts/libbpf.sh']);
  run('node-gyp', ['rebuild']);
  mkdirSync(join(root, 'native', '.output'), { recursive: true });
  run('cc', ['-O2', '-o', 'native/.output/open-probe', 'native/probe/open-probe.c', '-I.deps/libbpf/include', '.deps/libbpf/lib/libbpf.a', '-lelf', '-lz']);
} catch (e) {
  process.stderr.write(`ebpf-mcp: the fallback build failed (${e instanceof Error ? e.message : String(e)}); it needs bash, apt-get with a Debian mirror, cc, make, node-gyp, and libelf-dev and zlib1g-dev\n`);
  process.exit(1);
}
