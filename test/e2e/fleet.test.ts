/**
 * `ebpf-mcp --fleet` against a simulated cluster the test builds and removes: four network namespaces, each
 * joined to this one by a veth pair (10.231.X.1 here, 10.231.X.2 inside), a `-t http` server in each with its own
 * address, token file and --node-name; a fifth URL where nothing listens; the fourth server SIGSTOPped (it accepts
 * connections, answers nothing). The namespaces share this host's kernel and PIDs, so every node sees the same
 * exec: the merged answers are checked node by node, scoped to what the test made.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { createServer } from 'node:net';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { loadCatalog } from '../helpers/catalog.js';
import { connect } from '../helpers/client.js';
import { type HttpServer, startHttp } from '../helpers/http.js';
import { type VethPair, vethPair, waitingShell } from '../helpers/kernel.js';

const CLI = join(PACKAGE_ROOT, 'bin', 'ebpf-mcp');

/** The answering nodes' names. */
const NAMES = ['node-1', 'node-2', 'node-3'];

/** A third octet of 10.231.X.0/24 per node, apart from another run's (by pid). */
const base = 1 + 4 * (process.pid % 60);

let dir: string;
let tokens: string;
const pairs: VethPair[] = [];
const servers: HttpServer[] = [];
/** The URLs of node-1..3, the one down, and the stopped one. */
let up: string[] = [];
let down: string;
let stopped: string;

/** Runs `ebpf-mcp --fleet ...args` to its end (with `env` beside the test's); `waitFor.then` runs once its stderr matches `waitFor.re`. */
async function fleet(
  args: string[],
  waitFor?: { re: RegExp; then: () => Promise<void> },
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const started = Date.now();
  const proc = spawn(process.execPath, [CLI, '--fleet', '--token-file', tokens, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let out = '';
  let err = '';
  let fired = false;
  let acting: Promise<void> = Promise.resolve();
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => {
    err += d.toString();
    if (waitFor && !fired && waitFor.re.test(err)) {
      fired = true;
      acting = waitFor.then();
    }
  });
  const timer = setTimeout(() => proc.kill('SIGKILL'), 60_000);
  const code = await new Promise<number | null>((resolve) => proc.once('close', (c) => resolve(c)));
  clearTimeout(timer);
  await acting;
  return { code, stdout: out, stderr: err, ms: Date.now() - started };
}

/** A TCP port on 127.0.0.1 nothing listens on (picked, then closed). */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const p = (srv.address() as { port: number }).port;
      srv.close(() => resolve(p));
    });
  });
}

/** Removes what the cluster made: servers (a stopped one woken first), veths and namespaces. */
async function teardown(): Promise<void> {
  for (const s of servers) {
    s.proc.kill('SIGCONT');
    await s.stop();
  }
  for (const p of pairs) p.cleanup();
  rmSync(dir, { recursive: true, force: true });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'emcp-fleet-'));
  tokens = join(dir, 'tokens');
  writeFileSync(tokens, `fleet operator ${randomBytes(24).toString('hex')}\n`, { mode: 0o600 });
  try {
    for (let i = 0; i < 4; i++) {
      const x = base + i;
      const pair = vethPair(`fl${i}`, { hostAddr: `10.231.${x}.1`, nsAddr: `10.231.${x}.2`, prefix: 24 });
      pairs.push(pair);
      servers.push(await startHttp(['--host', pair.nsAddr, '--token-file', tokens, '--node-name', i < 3 ? (NAMES[i] as string) : 'node-stopped'], { netns: pair.ns, timeoutMs: 20_000 }));
    }
  } catch (e) {
    await teardown();
    throw e;
  }
  up = servers.slice(0, 3).map((s) => s.url.href);
  stopped = (servers[3] as HttpServer).url.href;
  (servers[3] as HttpServer).proc.kill('SIGSTOP');
  down = `http://127.0.0.1:${await closedPort()}/mcp`;
});
after(teardown);

test('info --json: the three nodes answer with their names and this kernel; the one down is listed failed, exit 0', async () => {
  const r = await fleet(['--nodes', [...up, down].join(','), 'info', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.deepEqual(out.nodes.map((n: { node: string; ok: boolean }) => [n.node, n.ok]), [...NAMES.map((n) => [n, true]), [down, false]]);
  assert.match(out.nodes[3].error, /ECONNREFUSED/);
  assert.deepEqual(out.rows.map((r: { node: string }) => r.node).sort(), NAMES);
  for (const row of out.rows) {
    assert.equal(row.server.node, row.node);
    assert.equal(row.kernel.release, release());
  }
  assert.match(r.stderr, /^ebpf-mcp: node http:\/\/127\.0\.0\.1:\d+\/mcp \(.*\): .*ECONNREFUSED/m);
  assert.match(r.stderr, /^3 of 4 nodes answered$/m);
  const text = await fleet(['--nodes', up.join(','), 'info']);
  assert.equal(text.code, 0, text.stderr);
  for (const n of NAMES) assert.match(text.stdout, new RegExp(`^${n}\\s+${release().replace(/[.+]/g, '\\$&')} `, 'm'));
});

test('ps -o json: a program another session loaded is listed once per node, every row with its node and kind', async () => {
  const c = await connect();
  try {
    const id = (await loadCatalog(c, 'execsnoop')).programs[0].id as number;
    const r = await fleet(['--nodes', up.join(','), 'ps', '-o', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const { rows } = JSON.parse(r.stdout);
    assert.ok(rows.every((row: { node: string; kind: string }) => NAMES.includes(row.node) && ['program', 'map', 'link'].includes(row.kind)));
    const mine = rows.filter((row: { kind: string; id: number }) => row.kind === 'program' && row.id === id);
    assert.deepEqual(mine.map((row: { node: string }) => row.node).sort(), NAMES);
    const table = await fleet(['--nodes', up.join(','), 'ps', '--pid', String(c.pid)]);
    assert.equal(table.code, 0, table.stderr);
    for (const n of NAMES) assert.match(table.stdout, new RegExp(`^${n}\\s+${id}\\s+tracepoint\\s`, 'm'));
  } finally {
    await c.close();
  }
});

test('trace execsnoop -p -o ndjson on three nodes: the shell\'s exec once per node, with its node', async () => {
  const marker = `fleet-${randomBytes(4).toString('hex')}`;
  const { sh, go } = await waitingShell(`exec /bin/echo ${marker}`);
  try {
    const r = await fleet(['--nodes', [...up, down].join(','), 'trace', 'execsnoop', '-p', String(sh.pid), '-d', '3', '-o', 'ndjson'], { re: /^Tracing execsnoop on 3 of 4 nodes/m, then: go });
    assert.equal(r.code, 0, r.stderr);
    const events = r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
    const echo = events.filter((e) => e.pid === sh.pid && e.comm === 'echo' && e.args === `/bin/echo ${marker}`);
    assert.deepEqual(echo.map((e) => e.node).sort(), NAMES, r.stdout);
    assert.ok(events.every((e) => e.pid === sh.pid && NAMES.includes(e.node)), 'only the shell, each event with its node');
    for (const n of NAMES) assert.match(r.stderr, new RegExp(`^${n}: \\d+ events in \\d+\\.\\d s`, 'm'));
  } finally {
    sh.kill('SIGKILL');
  }
});

test('call: a read-only tool runs on every node; load_program is refused with exit 2 before any node runs it', async () => {
  const ok = await fleet(['--nodes', up.join(','), 'call', 'info', '--json']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.deepEqual(JSON.parse(ok.stdout).rows.map((r: { node: string; server: { node: string } }) => [r.node, r.server.node]), NAMES.map((n) => [n, n]));
  const refused = await fleet(['--nodes', up.join(','), 'call', 'load_program', '--arg', 'source.type=catalog', '--arg', 'source.name=execsnoop']);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /^ebpf-mcp: --fleet calls read-only tools only, and load_program changes the host/m);
  assert.equal(refused.stdout, '');
});

test('--node-timeout 1: a node that accepts but never answers is reported as a timeout within about a second; names from --nodes-file', async () => {
  const file = join(dir, 'nodes');
  writeFileSync(file, `# the fleet\nfirst=${up[0]}\nsilent=${stopped}\n`);
  const r = await fleet(['--nodes-file', file, '--node-timeout', '1', 'info', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const { nodes } = JSON.parse(r.stdout);
  assert.deepEqual(nodes.map((n: { node: string; ok: boolean }) => [n.node, n.ok]), [['first', true], ['silent', false]]);
  assert.match(nodes[1].error, /no answer within 1 s \(timeout\)/);
  // Well under the default 10 s: the 1 s timeout, not the default, ended the silent node (with room for a busy host).
  assert.ok(r.ms < 9000, `took ${r.ms} ms`);
  console.log(`a silent node timed out; the command took ${r.ms} ms`);
});

test('--k8s-service: the nodes are the ready endpoints of the Service\'s EndpointSlices with a port "mcp", named by nodeName, from the API server KUBECONFIG names', async () => {
  // A stand-in for the Kubernetes API server, answering the one list the CLI makes, as the API does.
  const requests: { url: string; auth: string | undefined }[] = [];
  const slice = (name: string, ports: { name: string; port: number }[], endpoints: Record<string, unknown>[]) => ({ metadata: { name }, addressType: 'IPv4', ports, endpoints });
  const items = [
    ...up.map((u, i) => {
      const url = new URL(u);
      return slice(`ebpf-mcp-${i}`, [{ name: 'mcp', port: Number(url.port) }], [{ addresses: [url.hostname], conditions: { ready: true }, nodeName: NAMES[i] }]);
    }),
    slice('ebpf-mcp-starting', [{ name: 'mcp', port: 1 }], [{ addresses: ['10.231.0.9'], conditions: { ready: false }, nodeName: 'node-starting' }]),
    slice('ebpf-mcp-other', [{ name: 'metrics', port: 2 }], [{ addresses: ['10.231.0.10'], conditions: { ready: true }, nodeName: 'node-other-port' }]),
  ];
  // Over TLS, as an API server is: a certificate for 127.0.0.1 made for the test, which the kubeconfig trusts.
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'api.key'), '-out', join(dir, 'api.crt')], { stdio: 'ignore' });
  const cert = readFileSync(join(dir, 'api.crt'));
  const api = createHttpsServer({ key: readFileSync(join(dir, 'api.key')), cert }, (req, res) => {
    requests.push({ url: req.url ?? '', auth: req.headers.authorization });
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ kind: 'EndpointSliceList', apiVersion: 'discovery.k8s.io/v1', metadata: { resourceVersion: '1' }, items }));
  });
  await new Promise<void>((r) => api.listen(0, '127.0.0.1', r));
  try {
    const kubeconfig = join(dir, 'kubeconfig');
    const server = `https://127.0.0.1:${(api.address() as { port: number }).port}`;
    writeFileSync(kubeconfig, `apiVersion: v1\nkind: Config\nclusters: [{name: sim, cluster: {server: "${server}", certificate-authority-data: ${cert.toString('base64')}}}]\nusers: [{name: cli, user: {token: fleet-reader}}]\ncontexts: [{name: sim, context: {cluster: sim, user: cli}}]\ncurrent-context: sim\n`);
    const r = await fleet(['--k8s-service', 'ebpf-mcp/ebpf-mcp', 'info', '--json'], undefined, { KUBECONFIG: kubeconfig });
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.deepEqual(out.nodes.map((n: { node: string; url: string; ok: boolean }) => [n.node, n.url, n.ok]), NAMES.map((n, i) => [n, up[i], true]));
    for (const row of out.rows) assert.equal(row.server.node, row.node);
    assert.deepEqual(requests, [{ url: '/apis/discovery.k8s.io/v1/namespaces/ebpf-mcp/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3Debpf-mcp', auth: 'Bearer fleet-reader' }]);
  } finally {
    await new Promise((r) => api.close(r));
  }
});

test('every node failing exits 5; fleet flags without --fleet, and --fleet with catalog, are usage errors (2)', async () => {
  const none = await fleet(['--nodes', down, 'info']);
  assert.equal(none.code, 5);
  assert.match(none.stderr, /^0 of 1 nodes answered$/m);
  const catalog = await fleet(['--nodes', up[0] as string, 'catalog']);
  assert.equal(catalog.code, 2);
  assert.match(catalog.stderr, /--fleet runs info, ps, trace, call, not catalog/);
  const plain = spawn(process.execPath, [CLI, '--nodes', up[0] as string, 'info'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  plain.stderr.on('data', (d: Buffer) => (err += d.toString()));
  assert.equal(await new Promise((resolve) => plain.once('close', resolve)), 2);
  assert.match(err, /--nodes goes with --fleet/);
});
