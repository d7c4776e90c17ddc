import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { type AddressInfo, connect as tcpConnect, createServer } from 'node:net';
import { after, before, test } from 'node:test';
import { type Connected, connect } from '../helpers/client.js';
import { loadCatalog, streamEvents, streamsDuring } from '../helpers/catalog.js';

let c: Connected;
before(async () => {
  c = await connect();
});
after(async () => {
  await c.close();
});

/** The result of streaming the object's ring for 1.5 s. */
const stream = (loaded: Record<string, any>) => streamEvents(c, loaded);

/** Streams the object's ring while `act` runs, then returns the stream's result. */
const during = async (loaded: Record<string, any>, act: () => Promise<void>) => (await streamsDuring(c, [loaded], act))[0];

/** A server on `host` (port chosen by the kernel) that reads `up` bytes, answers with `down` and closes. */
async function listening(host: string, up: number, down: number) {
  const server = createServer((sock) => {
    let got = 0;
    sock.on('data', (d) => {
      got += d.length;
      if (got === up) sock.end(Buffer.alloc(down, 1));
    });
  });
  server.listen(0, host);
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port };
}

/** Connects from this process, sends `up` bytes, reads the answer to its end and closes; resolves to the client's port. */
async function exchange(host: string, port: number, up: number): Promise<{ clientPort: number; received: number }> {
  const sock = tcpConnect(port, host);
  await once(sock, 'connect');
  const clientPort = sock.localPort as number;
  let received = 0;
  sock.on('data', (d) => (received += d.length));
  sock.write(Buffer.alloc(up, 2));
  await once(sock, 'close');
  return { clientPort, received };
}

const data = (s: Record<string, any>) => s.events.map((e: { data: Record<string, any> }) => e.data);

/** The records of the connection between `port` (the server's) and `clientPort`: all, and each end's. */
function ends(s: Record<string, any>, port: number, clientPort: number) {
  const d = data(s);
  return {
    d,
    server: d.find((e: { sport: number }) => e.sport === port),
    client: d.find((e: { sport: number }) => e.sport === clientPort),
  };
}

/*
 * Each end reports its own tcp_sock counters, which count sequence space, not just data (values seen on 6.18, and
 * what tcp_input.c does): bytes_received is the data the end received plus 1 for the peer's FIN (a FIN's skb
 * advances rcv_nxt through tcp_rcv_nxt_update; the SYN does not, rcv_nxt is set from it directly); bytes_acked is
 * its own data the peer acknowledged plus 1 for its FIN, and on the connecting end plus 1 for its SYN (the SYN-ACK
 * advances snd_una through tcp_ack; an accepted socket is created from the ACK of its SYN-ACK, snd_una past it).
 */
for (const [family, host] of [
  ['AF_INET', '127.0.0.1'],
  ['AF_INET6', '::1'],
] as const) {
  test(`tcp_lifetimes: both ends of a ${host} connection, with this process, ports, bytes each way and a duration`, async () => {
    const up = 3000;
    const down = 70000;
    const { server, port } = await listening(host, up, down);
    const other = await listening(host, 10, 10);
    try {
      const loaded = await loadCatalog(c, 'tcplife', { port });
      let clientPort = 0;
      let received = 0;
      const started = process.hrtime.bigint();
      let elapsedNs = 0n;
      const s = await during(loaded, async () => {
        ({ clientPort, received } = await exchange(host, port, up));
        elapsedNs = process.hrtime.bigint() - started;
        await exchange(host, other.port, 10); // another port: left out by target_port
      });
      assert.equal(received, down);
      assert.equal(s.decoded_type, 'struct tcp_life_event');
      const { d, server: srv, client } = ends(s, port, clientPort);
      assert.equal(d.length, 2, JSON.stringify(d));
      assert.ok(srv && client, JSON.stringify(d));
      // The accepting end: owned by the task that closed it (this one); it got `up` and the FIN, sent `down` and its FIN.
      assert.deepEqual(
        [srv.pid, srv.comm, srv.family, srv.saddr, srv.daddr, srv.sport, srv.dport, srv.bytes_received, srv.bytes_acked],
        [process.pid, 'node', family, host, host, port, clientPort, up + 1, down + 1],
      );
      // The connecting end: owned by the task that called connect (this one); its SYN counts in bytes_acked.
      assert.deepEqual(
        [client.pid, client.comm, client.family, client.saddr, client.daddr, client.sport, client.dport, client.bytes_received, client.bytes_acked],
        [process.pid, 'node', family, host, host, clientPort, port, down + 1, up + 2],
      );
      for (const e of d) {
        assert.ok(e.duration_ns > 0 && BigInt(e.duration_ns) < elapsedNs, `duration ${e.duration_ns} ns within the exchange's ${elapsedNs} ns`);
        assert.equal(typeof e.duration, 'string');
      }
      assert.equal(s.schema.properties.saddr['x-render'], 'ip');
      assert.equal(s.schema.properties.sport['x-render'], 'port');
      assert.equal(s.stats.lost, 0);
    } finally {
      server.close();
      other.server.close();
    }
  });
}

test('tcplife: family and pid leave out connections of another family or process', async () => {
  const { server, port } = await listening('::1', 5, 5);
  try {
    const v4only = await loadCatalog(c, 'tcplife', { port, family: 'AF_INET' });
    const otherProcess = await loadCatalog(c, 'tcplife', { port, pid: c.pid });
    const mine = await loadCatalog(c, 'tcplife', { port, pid: process.pid, family: 'AF_INET6' });
    // One connection, seen by all three at once.
    const streams = Promise.all([stream(v4only), stream(otherProcess), stream(mine)]);
    await new Promise((r) => setTimeout(r, 250));
    await exchange('::1', port, 5);
    const [a, b, m] = await streams;
    assert.deepEqual(data(a), []);
    assert.deepEqual(data(b), []);
    assert.deepEqual(
      data(m).map((e: { pid: number; family: string }) => [e.pid, e.family]),
      [
        [process.pid, 'AF_INET6'],
        [process.pid, 'AF_INET6'],
      ],
    );
  } finally {
    server.close();
  }
});

test('tcplife: an accepted connection belongs to the process that closes it, not the one whose SYN made it', async () => {
  // A server in a child process: on loopback its end's SYN_RECV runs in this process (the sender's softirq).
  const script = `const s = require('node:net').createServer((c) => { c.on('data', () => c.end('pong')); s.close(); });
s.listen(0, '127.0.0.1', () => console.log(s.address().port));`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const port = Number(String((await once(child.stdout, 'data'))[0]).trim());
    const all = await loadCatalog(c, 'tcplife', { port });
    const childOnly = await loadCatalog(c, 'tcplife', { port, pid: child.pid });
    const streams = Promise.all([stream(all), stream(childOnly)]);
    await new Promise((r) => setTimeout(r, 250));
    const { clientPort } = await exchange('127.0.0.1', port, 4);
    const [a, o] = await streams;
    const { server: srv, client } = ends(a, port, clientPort);
    assert.ok(srv && client, JSON.stringify(data(a)));
    assert.deepEqual([srv.pid, srv.comm, srv.bytes_received, srv.bytes_acked], [child.pid, 'node', 4 + 1, 4 + 1]);
    assert.deepEqual([client.pid, client.comm, client.bytes_received, client.bytes_acked], [process.pid, 'node', 4 + 1, 4 + 2]);
    assert.deepEqual(
      data(o).map((e: { pid: number; sport: number }) => [e.pid, e.sport]),
      [[child.pid, port]],
    );
  } finally {
    child.kill();
  }
});
