import assert from 'node:assert/strict';
import { PassThrough, Writable } from 'node:stream';
import { test } from 'node:test';
import type { JSONRPCMessage } from '@modelcontextprotocol/server';
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
  assert.match(h.errors[0] ?? '', /^not JSON: Expected property name/);
  assert.equal(h.errors[1], 'not a JSON-RPC message');
  assert.equal(h.written(), '', 'a line without an id gets no answer');
  h.input.end();
  await tick();
  assert.equal(h.closed(), true);
});

test('JSON that is not JSON-RPC but names an id is answered with InvalidRequest for that id', async () => {
  const h = harness();
  await h.t.start();
  h.input.write('{"id":"q1","method":42}\n[1,2]\n{"id":{"x":1}}\n');
  await tick();
  assert.equal(h.messages.length, 0);
  const replies = h.written().trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(replies.length, 1);
  assert.equal(replies[0].id, 'q1');
  assert.equal(replies[0].error.code, -32600);
});

test('while the output is not drained, no more input is read; draining resumes it', async () => {
  const input = new PassThrough();
  const output = new PassThrough({ highWaterMark: 64 });
  const t = new LineTransport(input, output, 1024);
  const messages: JSONRPCMessage[] = [];
  t.onmessage = (m) => {
    messages.push(m);
    void t.send({ jsonrpc: '2.0', id: (m as { id: number }).id, result: { pad: 'y'.repeat(100) } });
  };
  await t.start();
  const req = (id: number) => JSON.stringify({ jsonrpc: '2.0', id, method: 'ping' }) + '\n';
  input.write(req(1));
  await tick();
  assert.equal(messages.length, 1);
  assert.equal(input.isPaused(), true, 'input reading stops while the answer is not read');
  input.write(req(2));
  await tick();
  assert.equal(messages.length, 1, 'a request arriving while the output is full waits');
  output.resume();
  await tick();
  await tick();
  assert.equal(messages.length, 2);
  assert.equal(input.isPaused(), false);
});

test('an output that fails (EPIPE) closes the transport instead of throwing', async () => {
  const input = new PassThrough();
  const output = new Writable({ write: (_c, _e, cb) => cb(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' })) });
  const t = new LineTransport(input, output, 1024);
  const errors: string[] = [];
  let closed = false;
  t.onerror = (e) => errors.push(e.message);
  t.onclose = () => (closed = true);
  await t.start();
  await t.send({ jsonrpc: '2.0', id: 1, result: {} });
  await tick();
  assert.equal(closed, true);
  assert.deepEqual(errors, ['output failed: write EPIPE']);
  await t.send({ jsonrpc: '2.0', id: 2, result: {} });
});
