#!/usr/bin/env node
// Stages the installable package in dist/pack/stage and packs it into dist/pack/ebpf-mcp-<version>.tgz (make pack):
// the bundled executables, the addon and the object probe prebuilt for this platform (libbpf linked in, debug
// information stripped), the catalog's BPF objects and the server's own (bpf/internal, CO-RE) and abi_names.json, schemas, docs, and what a fallback
// build needs. Its package.json is generated: no runtime dependencies (the bundles hold them), and "bin" names the
// ebpf-mcp CLI only when its bundle was built. Prints the tarball's path on stdout; everything else goes to stderr.
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const out = join(root, 'dist', 'pack');
const stage = join(out, 'stage');
const source = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const platform = `${process.platform}-${process.arch}`;

/** Copies `path` (relative to the checkout) to the same place in the stage; a missing required file stops the pack. */
function stageFile(path, required = true) {
  const from = join(root, path);
  if (!existsSync(from)) {
    if (required) throw new Error(`pack: ${path} is missing`);
    return false;
  }
  mkdirSync(dirname(join(stage, path)), { recursive: true });
  cpSync(from, join(stage, path), { recursive: true });
  return true;
}

/** Copies a native executable into prebuilds/<platform>/ without its debug information (which names build paths). */
function stagePrebuilt(path, name) {
  const to = join(stage, 'prebuilds', platform, name);
  mkdirSync(dirname(to), { recursive: true });
  if (!existsSync(join(root, path))) throw new Error(`pack: ${path} is missing`);
  execFileSync('strip', ['--strip-debug', '-o', to, join(root, path)]);
  chmodSync(to, 0o755);
}

rmSync(out, { recursive: true, force: true });
mkdirSync(stage, { recursive: true });

const bin = { 'ebpf-mcp-server': 'bin/ebpf-mcp-server' };
stageFile('bin/ebpf-mcp-server');
stageFile('dist/ebpf-mcp-server.mjs');
// The chunks the server imports lazily (the HTTP transport of -t http, the policy file reader of --policy).
stageFile('dist/server-chunks');
if (stageFile('bin/ebpf-mcp', false) && stageFile('dist/ebpf-mcp.mjs')) {
  bin['ebpf-mcp'] = 'bin/ebpf-mcp';
  // The chunks the CLI imports lazily (the Kubernetes client of --fleet --k8s-service).
  stageFile('dist/cli-chunks');
}

stagePrebuilt('build/Release/ebpf_native.node', 'ebpf_native.node');
stagePrebuilt('native/.output/open-probe', 'open-probe');
for (const dir of ['catalog', 'internal']) {
  for (const o of readdirSync(join(root, 'bpf/.output', dir)).filter((n) => n.endsWith('.bpf.o'))) stageFile(`bpf/.output/${dir}/${o}`);
}
stageFile('bpf/.output/abi_names.json');
for (const path of ['schemas', 'docs', 'README.md', 'LICENSE', 'packaging/systemd']) stageFile(path);
// The fallback build (scripts/install-native.mjs) where no prebuilt loads.
for (const path of ['binding.gyp', 'native/src', 'native/probe', 'scripts/libbpf.sh', 'scripts/install-native.mjs']) stageFile(path);

const manifest = {
  name: source.name,
  version: source.version,
  description: source.description,
  type: 'module',
  license: source.license,
  engines: source.engines,
  os: ['linux'],
  cpu: [process.arch],
  bin,
  // binding.gyp is there for the fallback only: npm must not run node-gyp itself at install.
  gypfile: false,
  scripts: { install: 'node scripts/install-native.mjs' },
};
writeFileSync(join(stage, 'package.json'), JSON.stringify(manifest, null, 2) + '\n');

const packed = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', out], { cwd: stage, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }));
const tarball = join(out, packed[0].filename);
process.stderr.write(`pack: ${tarball}: ${packed[0].entryCount} files, ${(packed[0].size / 1024).toFixed(0)} KiB (${(packed[0].unpackedSize / 1024).toFixed(0)} KiB unpacked), bin: ${Object.keys(bin).join(', ')}\n`);
process.stdout.write(tarball + '\n');
