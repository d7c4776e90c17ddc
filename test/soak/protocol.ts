/**
 * Protocol abuse on stdio, against the real server binary over raw pipes:
 * junk lines, a 50 MB line, a flood of pipelined requests in one write, a
 * client that stops reading while it keeps sending, duplicate ids and
 * notification floods. The server must answer every request that has an
 * id, stay under 300 MB resident, and answer a normal call afterwards.
 */
import { randomBytes } from 'node:crypto';
import { type Answer, type RawServer, rawServer, toolCall } from '../helpers/raw.js';
import type { Report, Scale, SoakPart } from './soak.js';

/** Most resident memory the server may reach, in bytes. */
const MAX_RSS = 300 << 20;

/** How much of each abuse a scale sends. */
const SIZES: Record<Scale, { junk: number; pipelined: number; paused: number; pauseMs: number; duplicates: number; notifications: number }> = {
  test: { junk: 1000, pipelined: 2000, paused: 2000, pauseMs: 2000, duplicates: 100, notifications: 10_000 },
  soak: { junk: 10_000, pipelined: 20_000, paused: 20_000, pauseMs: 10_000, duplicates: 1000, notifications: 100_000 },
};

/** A line that is not a JSON-RPC message: random bytes, broken JSON, JSON of the wrong shape. */
function junkLine(i: number): string {
  switch (i % 5) {
    case 0:
      return randomBytes(1 + (i % 200)).toString('latin1').replace(/\n/g, ' ');
    case 1:
      return '{"jsonrpc":"2.0","id":' + i + ',"method":"tools/call","params":{';
    case 2:
      return JSON.stringify([1, 2, { id: i }]);
    case 3:
      return JSON.stringify({ jsonrpc: '1.0', id: `junk-${i}`, method: 42 });
    default:
      return JSON.stringify('just a string ' + i);
  }
}

/** Fails unless every answer is a JSON-RPC result or a JSON-RPC error without a zod dump or a stack. */
function assertClean(answers: Answer[]): void {
  for (const a of answers) {
    if (a.jsonrpc !== '2.0') throw new Error(`not a JSON-RPC message on stdout: ${JSON.stringify(a).slice(0, 200)}`);
    const text = JSON.stringify(a);
    if (/invalid_type|"expected":|\n\s+at /.test(text)) throw new Error(`a zod dump or a stack reached the client: ${text.slice(0, 300)}`);
  }
}

/** Whether an answer is a typed tool result, a success or a RESOURCE_LIMIT_EXCEEDED of calls in flight. */
function servedOrRefused(a: Answer): 'served' | 'refused' {
  const s = a.result?.structuredContent;
  if (s?.success === true) return 'served';
  if (s?.error?.type === 'RESOURCE_LIMIT_EXCEEDED' && s.error.context.resource === 'requests_in_flight') return 'refused';
  throw new Error(`an unexpected answer: ${JSON.stringify(a).slice(0, 300)}`);
}

/** Samples the server's VmRSS every 20 ms; `peak` is the largest seen. */
function watchRss(s: RawServer): { peak: () => number; stop: () => void } {
  let peak = s.rss();
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, s.rss());
    } catch {
      // The process has gone: the checks that follow say so.
    }
  }, 20);
  return { peak: () => peak, stop: () => clearInterval(timer) };
}

const mb = (bytes: number) => `${(bytes / (1 << 20)).toFixed(1)} MB`;

/** Sends `n` requests with ids `${tag}-0..n-1` in one write and waits for every answer. */
async function pipelined(s: RawServer, tag: string, n: number, args: Record<string, unknown>, wait = 60_000): Promise<Answer[]> {
  const batch = Array.from({ length: n }, (_, i) => JSON.stringify({ jsonrpc: '2.0', ...toolCall(`${tag}-${i}`, 'inspect_state', args) })).join('\n');
  void s.line(batch);
  return Promise.all(Array.from({ length: n }, (_, i) => s.answer(`${tag}-${i}`, wait)));
}

async function run(scale: Scale, report: Report): Promise<void> {
  const size = SIZES[scale];
  const s = await rawServer();
  const rss = watchRss(s);
  try {
    report('RSS at start', mb(s.rss()));

    for (let i = 0; i < size.junk; i++) await s.line(junkLine(i));
    const junkAnswered = (await Promise.all(Array.from({ length: size.junk / 5 }, (_, k) => s.answer(`junk-${k * 5 + 3}`)))).length;
    report('junk lines sent', size.junk);
    report('junk lines with an id answered (InvalidRequest)', junkAnswered);

    const head = '{"jsonrpc":"2.0","id":"big","method":"tools/call","params":{"name":"load_program","arguments":{"source":{"type":"data","blob":"';
    await s.line(head + 'A'.repeat((50 << 20) - head.length) + '"}}}}');
    const big = await s.answer('big', 30_000);
    if (big.error?.code !== -32600) throw new Error(`the 50 MB line got ${JSON.stringify(big).slice(0, 300)}`);
    report('50 MB line', `refused by id: ${big.error.message}`);
    report('RSS after the 50 MB line', mb(s.rss()));

    const flood = await pipelined(s, 'p', size.pipelined, { fields: ['system'] });
    const kinds = flood.map(servedOrRefused);
    report('pipelined requests in one write', size.pipelined);
    report('  answered', flood.length);
    report('  served / refused (requests_in_flight)', `${kinds.filter((k) => k === 'served').length} / ${kinds.filter((k) => k === 'refused').length}`);

    s.pauseReading();
    const paused = pipelined(s, 'q', size.paused, { fields: ['programs', 'maps', 'links', 'system'] }, 120_000);
    await new Promise((r) => setTimeout(r, size.pauseMs));
    const rssPaused = s.rss();
    s.resumeReading();
    const afterPause = (await paused).map(servedOrRefused);
    report(`client stopped reading for ${size.pauseMs} ms while sending`, `${size.paused} requests`);
    report('  RSS while it did not read', mb(rssPaused));
    report('  answered once it read again', afterPause.length);

    const dupBatch = Array.from({ length: size.duplicates }, () => JSON.stringify({ jsonrpc: '2.0', ...toolCall('dup', 'info', {}) })).join('\n');
    await s.line(dupBatch);
    await s.send(toolCall('after-dup', 'info', {}));
    await s.answer('after-dup', 30_000);
    await new Promise((r) => setTimeout(r, 200));
    const dups = s.answers.filter((a) => a.id === 'dup').length;
    if (dups !== size.duplicates) throw new Error(`${size.duplicates} requests with one id got ${dups} answers`);
    report('requests sharing one id', `${size.duplicates}, each answered`);

    const notes = [
      (i: number) => ({ method: 'notifications/cancelled', params: { requestId: `nobody-${i}`, reason: 'flood' } }),
      (i: number) => ({ method: 'notifications/progress', params: { progressToken: i, progress: i } }),
      (i: number) => ({ method: `notifications/made-up-${i % 7}`, params: { i } }),
      () => ({ method: 'notifications/initialized' }),
    ];
    const noteBatch = Array.from({ length: size.notifications }, (_, i) => JSON.stringify({ jsonrpc: '2.0', ...notes[i % notes.length]?.(i) })).join('\n');
    const before = s.answers.length;
    await s.line(noteBatch);
    await s.send(toolCall('after-notes', 'inspect_state', { fields: ['system'] }));
    if ((await s.answer('after-notes', 60_000)).result?.structuredContent.success !== true) throw new Error('no answer after the notification flood');
    if (s.answers.length !== before + 1) throw new Error(`notifications were answered: ${s.answers.length - before - 1} answers`);
    report('notifications flooded', size.notifications);

    await s.send(toolCall('final', 'inspect_state', { fields: ['system'] }));
    const final = await s.answer('final');
    if (final.result?.structuredContent.success !== true) throw new Error(`the final call failed: ${JSON.stringify(final).slice(0, 300)}`);
    assertClean(s.answers);
    if (s.proc.exitCode !== null || s.proc.signalCode !== null) throw new Error('the server exited during the abuse');
    report('answers on stdout, all JSON-RPC, no zod dump or stack', s.answers.length);
    report('peak RSS', mb(rss.peak()));
    if (rss.peak() > MAX_RSS) throw new Error(`peak RSS ${mb(rss.peak())} over ${mb(MAX_RSS)}`);
    report('final call', 'answered');
  } finally {
    rss.stop();
    s.proc.stdin.end();
    await s.exited;
  }
}

/** Protocol abuse on stdio. */
export const protocolPart: SoakPart = { name: 'protocol abuse on stdio', run };
