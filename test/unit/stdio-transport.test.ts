import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { LineTransport } from '../../src/server/stdio-transport.js';

function harness(max = 1024) {
  const input = new PassThrough();
  const output = new PassThrough();
  const t = new LineTransport(input, output, max);
  const messages: JSONRPCMessage[] = [];
  const errors: string[] = [];
  let written = '';
  let closed = false;
  t.onmessage = (m) => messages.push(m);
  t.onerror = (e) => errors.push(e.message);
  t.onclose = () => (closed = true);
  output.on('data', (d: Buffer) => (written += d));
  return { t, input, messages, errors, written: () => written, closed: () => closed };
}

const tick = () => new Promise((r) => setImmediate(r));

test('messages split across chunks and several in one chunk are framed exactly', async () => {
  const h = harness();
  await h.t.start();
  const a = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' });
  const b = JSON.stringify({ jsonrpc: '2.0', id: 'two', method: 'tools/list' });
  h.input.write(a.slice(0, 10));
  h.input.write(a.slice(10) + '\n' + b + '\r\n' + '\n');
  await tick();
  assert.deepEqual(h.messages, [JSON.parse(a), JSON.parse(b)]);
  assert.deepEqual(h.errors, []);
});

test('an oversized message is answered with an error for its id, and the next one still works', async () => {
  const h = harness(200);
  await h.t.start();
  const big = JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { blob: 'x'.repeat(500) } });
  h.input.write(big.slice(0, 150));
  h.input.write(big.slice(150) + '\n');
  h.input.write(JSON.stringify({ jsonrpc: '2.0', id: 8, method: 'ping' }) + '\n');
  await tick();
  assert.deepEqual(h.messages, [{ jsonrpc: '2.0', id: 8, method: 'ping' }]);
  const reply = JSON.parse(h.written().trim());
  assert.equal(reply.id, 7);
  assert.equal(reply.error.code, -32600);
  assert.match(reply.error.message, /200-byte limit/);
});

test('a line that is not JSON-RPC is reported, not delivered; end of input closes', async () => {
  const h = harness();
  await h.t.start();
  h.input.write('{not json\n');
  h.input.write(JSON.stringify({ hello: 'world' }) + '\n');
  await tick();
  assert.equal(h.messages.length, 0);
  assert.equal(h.errors.length, 2);
  h.input.end();
  await tick();
  assert.equal(h.closed(), true);
});
