import assert from 'node:assert/strict';
import { once } from 'node:events';
import { type AddressInfo, connect as tcpConnect, createServer } from 'node:net';
import { after, before, test } from 'node:test';
import { type Connected, connect } from '../helpers/client.js';
import { loadCatalog, streamsDuring } from '../helpers/catalog.js';

let c: Connected;
before(async () => {
  c = await connect();
});
after(async () => {
  await c.close();
});

/** Streams each object's ring while `act` runs, then returns the streams' results. */
const during = <T extends Record<string, any>[]>(loaded: [...T], act: () => Promise<void>) => streamsDuring(c, loaded, act);

/** A server on `host` that closes each connection at once, and its port. */
async function listening(host: string) {
  const server = createServer((sock) => sock.end());
  server.listen(0, host);
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port };
}

/** A port on `host` nothing listens on: one the kernel just gave a server that is closed again. */
async function closedPort(host: string): Promise<number> {
  const { server, port } = await listening(host);
  server.close();
  await once(server, 'close');
  return port;
}

/** Connects from this process to `port`; resolves to the local port once connected and closed, or to the error. */
async function connectTo(host: string, port: number): Promise<{ localPort?: number; error?: string }> {
  const sock = tcpConnect(port, host);
  return new Promise((resolve) => {
    sock.once('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code }));
    sock.once('connect', () => {
      const localPort = sock.localPort;
      sock.once('close', () => resolve({ localPort }));
      sock.end();
    });
  });
}

const data = (s: Record<string, any>) => s.events.map((e: { data: Record<string, any> }) => e.data);

for (const [family, host] of [
  ['AF_INET', '127.0.0.1'],
  ['AF_INET6', '::1'],
] as const) {
  test(`tcpconnect: a connect to ${host} that succeeds and one refused by a closed port, with this process and the latency`, async () => {
    const { server, port } = await listening(host);
    const closed = await closedPort(host);
    try {
      const toServer = await loadCatalog(c, 'tcpconnect', { port });
      const toClosed = await loadCatalog(c, 'tcpconnect', { port: closed });
      let ok: { localPort?: number; error?: string } = {};
      let refused: { localPort?: number; error?: string } = {};
      const started = process.hrtime.bigint();
      let elapsedNs = 0n;
      const [s, r] = await during([toServer, toClosed], async () => {
        ok = await connectTo(host, port);
        refused = await connectTo(host, closed);
        elapsedNs = process.hrtime.bigint() - started;
      });
      assert.equal(refused.error, 'ECONNREFUSED');
      assert.equal(s.decoded_type, 'struct tcp_connect_event');
      const [e] = data(s);
      assert.equal(data(s).length, 1, JSON.stringify(data(s)));
      assert.deepEqual(
        [e.pid, e.comm, e.result, e.error, e.family, e.saddr, e.daddr, e.sport, e.dport],
        [process.pid, 'node', 'CONNECT_ESTABLISHED', 0, family, host, host, ok.localPort, port],
      );
      assert.ok(e.latency_ns > 0 && BigInt(e.latency_ns) < elapsedNs, `latency ${e.latency_ns} ns within the test's ${elapsedNs} ns`);
      assert.equal(typeof e.latency, 'string');
      const [f] = data(r);
      assert.equal(data(r).length, 1, JSON.stringify(data(r)));
      assert.deepEqual(
        [f.pid, f.comm, f.result, f.error, f.family, f.saddr, f.daddr, f.dport],
        [process.pid, 'node', 'CONNECT_REFUSED', 'ECONNREFUSED', family, host, host, closed],
      );
      assert.ok(f.sport > 0 && f.sport < 65536, `the refused connect's local port ${f.sport}`);
      assert.ok(f.latency_ns > 0);
      assert.equal(s.schema.properties.error['x-render'], 'errno');
      assert.equal(s.stats.lost, 0);
      assert.equal(r.stats.lost, 0);
    } finally {
      server.close();
    }
  });
}

test('tcpconnect: min_latency_us and pid leave out a loopback connect', async () => {
  const { server, port } = await listening('127.0.0.1');
  try {
    // A loopback connect is answered within the connect() call, in microseconds: never 10 s.
    const slowOnly = await loadCatalog(c, 'tcpconnect', { port, min_latency_us: 10_000_000 });
    const otherProcess = await loadCatalog(c, 'tcpconnect', { port, pid: c.pid });
    const mine = await loadCatalog(c, 'tcpconnect', { port, pid: process.pid, min_latency_us: 1 });
    const [a, b, m] = await during([slowOnly, otherProcess, mine], async () => void (await connectTo('127.0.0.1', port)));
    assert.deepEqual(data(a), []);
    assert.deepEqual(data(b), []);
    assert.deepEqual(
      data(m).map((e: { pid: number; result: string }) => [e.pid, e.result]),
      [[process.pid, 'CONNECT_ESTABLISHED']],
    );
  } finally {
    server.close();
  }
});
