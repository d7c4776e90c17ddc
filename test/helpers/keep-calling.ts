/**
 * A child process (forked with an IPC channel, see `keepCalling` in ./http.ts) that keeps sessions of a `-t http`
 * server in use, away from the test process: a test process that drives many clients and runs bpftool stalls on a
 * loaded machine for longer than an idle timeout, and calls made from it then reach the server too late. It joins
 * sessions the test opened (their Mcp-Session-Id; no initialize, request ids of its own) and sends only POSTs, one at
 * a time per session, `everyMs` after the last answer:
 *   - 'add': the session is pinged (a failed ping is counted, not fatal: on a saturated machine a connection can
 *     fail, and a session that goes is caught by the test's own checks);
 *   - 'check': from then on the session calls inspect_state instead, and each answer must be exactly its programs
 *     (a failure is reported at once and ends that session's loop); 'calling' once every checked session has been
 *     answered right;
 *   - 'release': the sessions get no more calls; 'released' once none of theirs is in flight;
 *   - 'stop': every loop ends after its current call; then the tally, and exit.
 * It exits at once when the parent goes (the IPC channel closes).
 */
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';

/** What the parent sends. */
export type KeepCallingCommand =
  | { type: 'add'; index: number; url: string; sessionId: string; token: string; protocolVersion: string; everyMs: number }
  | { type: 'check'; sessions: { index: number; programs: number[] }[] }
  | { type: 'release'; indexes: number[] }
  | { type: 'stop' };

/** What this process reports. */
export type KeepCallingReport =
  | { type: 'calling' }
  | { type: 'released' }
  | { type: 'failed'; index: number; message: string }
  | {
      type: 'stopped';
      /** inspect_state calls answered with exactly the session's programs, by session index (0 where never checked). */
      checks: Record<number, number>;
      /** Pings answered, and pings that failed, over all sessions. */
      pings: number;
      pingFailures: number;
      /** The longest time between the starts of two checks of one session (ms). */
      maxGapMs: number;
      /** What went wrong in a check, per session that failed; its loop stopped. */
      failures: { index: number; message: string }[];
    };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const send = (m: KeepCallingReport) => new Promise<void>((resolve) => (process.send ? process.send(m, undefined, {}, () => resolve()) : resolve()));

interface Kept {
  programs?: number[];
  released: boolean;
  loop: Promise<void>;
  checks: number;
}

const kept = new Map<number, Kept>();
let stopping = false;
let pings = 0;
let pingFailures = 0;
let maxGapMs = 0;
const failures: { index: number; message: string }[] = [];
/** Checked sessions not yet answered right once; 'calling' when it empties. */
const unanswered = new Set<number>();

/**
 * The test's own client of a session numbers its requests from 0, as this one does; the server matches each answer
 * to its request by id within a session, so two requests in flight with one id would get each other's answers (or
 * one none). This client's ids are moved past any the test uses, on the way out and back.
 */
function apartIds(transport: StreamableHTTPClientTransport): void {
  const ID_OFFSET = 1_000_000_000;
  const send = transport.send.bind(transport);
  transport.send = (m, options) => send('method' in m && 'id' in m && typeof m.id === 'number' ? { ...m, id: m.id + ID_OFFSET } : m, options);
  const deliver = transport.onmessage;
  transport.onmessage = (m) => deliver?.(!('method' in m) && 'id' in m && typeof m.id === 'number' ? { ...m, id: m.id - ID_OFFSET } : m);
}

async function loop(cmd: Extract<KeepCallingCommand, { type: 'add' }>, k: Kept): Promise<void> {
  const transport = new StreamableHTTPClientTransport(new URL(cmd.url), {
    sessionId: cmd.sessionId,
    protocolVersion: cmd.protocolVersion,
    requestInit: { headers: { authorization: `Bearer ${cmd.token}` } },
  });
  const client = new Client({ name: `keep-calling-${cmd.index}`, version: '0.0.0' }, { versionNegotiation: { mode: 'legacy' } });
  await client.connect(transport);
  apartIds(transport);
  let lastCheck: number | undefined;
  try {
    while (!stopping && !k.released) {
      if (k.programs === undefined) {
        await client.ping().then(
          () => pings++,
          () => pingFailures++,
        );
      } else {
        const now = Date.now();
        if (lastCheck !== undefined) maxGapMs = Math.max(maxGapMs, now - lastCheck);
        lastCheck = now;
        const r = (await client.callTool({ name: 'inspect_state', arguments: { fields: ['programs'], filters: { owned_only: true } } })) as {
          structuredContent?: { success?: boolean; error?: unknown; programs?: { id: number }[] };
        };
        const sc = r.structuredContent;
        if (sc?.success !== true) throw new Error(`inspect_state failed: ${JSON.stringify(sc?.error ?? r)}`);
        const ids = (sc.programs ?? []).map((p) => p.id);
        if (JSON.stringify(ids) !== JSON.stringify(k.programs)) throw new Error(`inspect_state answered programs ${JSON.stringify(ids)}, not ${JSON.stringify(k.programs)}`);
        k.checks++;
        if (unanswered.delete(cmd.index) && unanswered.size === 0) void send({ type: 'calling' });
      }
      if (!stopping && !k.released) await sleep(cmd.everyMs);
    }
  } catch (e) {
    const failure = { index: cmd.index, message: e instanceof Error ? e.message : String(e) };
    failures.push(failure);
    // Said at once: the session now goes idle, and what the test sees of it later (a 404) does not say why.
    console.error(`keep-calling: session ${cmd.index} stopped calling at ${new Date().toISOString()}: ${failure.message}`);
    void send({ type: 'failed', ...failure });
  }
  // No DELETE: the session is the test's, which ends it (or lets it go idle). close() aborts only this client.
  await client.close().catch(() => undefined);
}

process.on('disconnect', () => process.exit(0));
process.on('message', (cmd: KeepCallingCommand) => {
  switch (cmd.type) {
    case 'add': {
      const k: Kept = { released: false, checks: 0, loop: Promise.resolve() };
      k.loop = loop(cmd, k);
      kept.set(cmd.index, k);
      break;
    }
    case 'check':
      for (const s of cmd.sessions) {
        const k = kept.get(s.index);
        if (!k) throw new Error(`keep-calling: no session ${s.index}`);
        k.programs = s.programs;
        unanswered.add(s.index);
      }
      if (unanswered.size === 0) void send({ type: 'calling' });
      break;
    case 'release': {
      const loops = cmd.indexes.map((i) => {
        const k = kept.get(i);
        if (!k) throw new Error(`keep-calling: no session ${i}`);
        k.released = true;
        return k.loop;
      });
      void Promise.all(loops).then(() => send({ type: 'released' }));
      break;
    }
    case 'stop':
      stopping = true;
      void Promise.all([...kept.values()].map((k) => k.loop)).then(async () => {
        const checks = Object.fromEntries([...kept].map(([i, k]) => [i, k.checks]));
        await send({ type: 'stopped', checks, pings, pingFailures, maxGapMs, failures });
        process.exit(0);
      });
      break;
  }
});
