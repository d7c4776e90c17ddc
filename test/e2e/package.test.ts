/**
 * The installable package (`make pack`, dist/pack/ebpf-mcp-<version>.tgz), installed the way an operator does:
 * `npm install -g` into an empty prefix, offline, then run from a scratch directory with nothing but node on PATH
 * (no compiler, no checkout): it prints its version, answers tools/list, and traces with the catalog through its
 * prebuilt addon, object probe and BPF objects, all from the prefix.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { SERVER_VERSION } from '../../src/version.js';
import { connect } from '../helpers/client.js';
import { execsSeen, loadCatalog } from '../helpers/catalog.js';

const TARBALL = join(PACKAGE_ROOT, 'dist', 'pack', `ebpf-mcp-${SERVER_VERSION}.tgz`);
const skip = existsSync(TARBALL) ? false : `${TARBALL} is not there: make pack`;

/** The scratch tree: the npm prefix, npm's cache, a bin directory holding node alone, and a working directory. */
const scratch = mkdtempSync(join(tmpdir(), 'ebpf-mcp-package-'));
const prefix = join(scratch, 'prefix');
const nodeOnly = join(scratch, 'node-only');
const cwd = join(scratch, 'cwd');
const installed = join(prefix, 'lib', 'node_modules', 'ebpf-mcp');
/** What the installed executables run with: the prefix's bin and node, nothing else. */
const PATH = `${join(prefix, 'bin')}:${nodeOnly}`;

after(() => rmSync(scratch, { recursive: true, force: true }));

before(() => {
  if (skip) return;
  for (const d of [prefix, nodeOnly, cwd]) mkdirSync(d);
  symlinkSync(process.execPath, join(nodeOnly, 'node'));
  const start = Date.now();
  // Offline, with a registry nobody listens on: a request for anything at all would fail the install.
  // npm may or may not run the install script here (npm 11 asks for --allow-scripts); the last test runs it.
  execFileSync('npm', ['install', '-g', '--prefix', prefix, '--offline', '--cache', join(scratch, 'npm-cache'), '--no-audit', '--no-fund', TARBALL], {
    cwd,
    env: { ...process.env, npm_config_registry: 'http://127.0.0.1:9/' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  console.log(`npm install -g of ${TARBALL} (${(statSync(TARBALL).size / 1024).toFixed(0)} KiB): ${Date.now() - start} ms`);
});

/** Every file under `dir`. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

test('the installed package: executables on PATH, the prebuilt addon and probe, no dependencies, nothing naming the checkout', { skip }, () => {
  const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8'));
  assert.equal(manifest.version, SERVER_VERSION);
  assert.equal(manifest.dependencies, undefined);
  assert.ok(!existsSync(join(installed, 'node_modules')), 'the package installed dependencies');
  assert.deepEqual(readdirSync(join(prefix, 'bin')).sort(), Object.keys(manifest.bin).sort());
  assert.ok(Object.keys(manifest.bin).includes('ebpf-mcp-server'));
  // The CLI is listed exactly when its bundle was built (branch cli).
  assert.equal('ebpf-mcp' in manifest.bin, existsSync(join(PACKAGE_ROOT, 'dist', 'ebpf-mcp.mjs')) && existsSync(join(PACKAGE_ROOT, 'bin', 'ebpf-mcp')));
  const prebuilt = join(installed, 'prebuilds', `${process.platform}-${process.arch}`);
  assert.deepEqual(readdirSync(prebuilt).sort(), ['ebpf_native.node', 'open-probe']);
  assert.doesNotMatch(execFileSync('ldd', [join(prebuilt, 'ebpf_native.node')], { encoding: 'utf8' }), /libbpf/);
  assert.ok(!existsSync(join(installed, 'build')), 'an addon was built at install');
  assert.ok(readdirSync(join(installed, 'bpf', '.output', 'catalog')).includes('exec_events.bpf.o'));
  const naming = filesUnder(installed).filter((f) => readFileSync(f).includes(PACKAGE_ROOT));
  assert.deepEqual(naming, [], `installed files that name ${PACKAGE_ROOT}`);
});

test('ebpf-mcp-server --version, from a scratch directory with node alone on PATH', { skip }, () => {
  assert.throws(() => execFileSync('cc', ['--version'], { env: { PATH }, stdio: 'ignore' }), /ENOENT/);
  const out = execFileSync('ebpf-mcp-server', ['--version'], { cwd, env: { PATH }, encoding: 'utf8' });
  assert.equal(out, `ebpf-mcp-server ${SERVER_VERSION}\n`);
});

test('the installed server lists the default tools and traces an exec with the catalog, all from the prefix', { skip }, async () => {
  const c = await connect(['-t', 'stdio'], { bin: 'ebpf-mcp-server', cwd, env: { PATH } });
  try {
    const { tools } = await c.client.listTools();
    assert.deepEqual(tools.map((t) => t.name), ['info', 'load_program', 'attach_program', 'inspect_state', 'stream_events']);
    const info = (await c.call('info')).structuredContent;
    assert.equal(info.server.version, SERVER_VERSION);
    assert.equal(info.server.libbpf_linked, 'static');

    const loaded = await loadCatalog(c, 'execsnoop');
    // The addon this server runs is the prefix's prebuilt, and nothing it mapped comes from the checkout.
    const mapped = readFileSync(`/proc/${c.pid}/maps`, 'utf8');
    assert.ok(mapped.includes(join(installed, 'prebuilds', `${process.platform}-${process.arch}`, 'ebpf_native.node')), 'the prebuilt addon is not mapped');
    assert.ok(!mapped.includes(PACKAGE_ROOT), `the server mapped a file of ${PACKAGE_ROOT}`);

    const marker = `installed-${process.pid}`;
    const { pid, records } = await execsSeen(c, loaded.object_id, '/bin/echo', [marker]);
    assert.ok(records.some((d) => d.pid === pid && d.args === `/bin/echo ${marker}` && d.filename === '/bin/echo'), JSON.stringify(records));
  } finally {
    await c.close();
  }
});

test('the installed systemd unit verifies (systemd-analyze verify, its ExecStart pointed at the prefix)', { skip: skip || (existsSync('/usr/bin/systemd-analyze') ? false : 'systemd-analyze is not installed') }, () => {
  const unit = readFileSync(join(installed, 'packaging', 'systemd', 'ebpf-mcp.service'), 'utf8');
  assert.match(unit, /^ExecStart=\/usr\/local\/bin\/ebpf-mcp-server /m);
  const dir = join(scratch, 'unit');
  mkdirSync(dir);
  const file = join(dir, 'ebpf-mcp.service');
  writeFileSync(file, unit.replace('ExecStart=/usr/local/bin/ebpf-mcp-server', `ExecStart=${join(prefix, 'bin', 'ebpf-mcp-server')}`));
  const out = execFileSync('systemd-analyze', ['verify', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  assert.equal(out, '');
});

test('the install script does nothing where the prebuilt loads; without a loadable addon, a call says how to build one', { skip }, async () => {
  // Last: it takes the prebuilt addon out of the installed package.
  const out = execFileSync(process.execPath, [join(installed, 'scripts', 'install-native.mjs')], { cwd, env: { PATH }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  assert.equal(out, '');
  assert.ok(!existsSync(join(installed, 'build')));

  const addon = join(installed, 'prebuilds', `${process.platform}-${process.arch}`, 'ebpf_native.node');
  rmSync(addon);
  const c = await connect(['-t', 'stdio'], { bin: 'ebpf-mcp-server', cwd, env: { PATH } });
  try {
    const e = (await c.call('info')).structuredContent.error;
    assert.equal(e?.type, 'SYSTEM_ERROR');
    assert.ok(e.message.includes(`no native addon loads on ${process.platform}-${process.arch} (${addon}: not there; ${join(installed, 'build', 'Release', 'ebpf_native.node')}: not there)`), e.message);
    assert.ok(e.message.includes('`node scripts/install-native.mjs` in its directory'), e.message);
  } finally {
    await c.close();
  }
});
