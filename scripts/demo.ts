/**
 * `make demo`: the project's main job, as a newcomer first sees it. A session with the server through the MCP
 * SDK's client, as an AI agent would run it: what the host offers, process starts traced with the catalog while
 * the demo runs a few commands, a latency histogram, a CPU profile of a busy child, what the session holds, and,
 * once the session ends, bpftool's word that nothing was left in the kernel. Every figure comes from the kernel.
 * Colour only on a terminal without NO_COLOR; any failed step ends it with one line on stderr and exit status 1.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { PACKAGE_ROOT } from '../src/paths.js';

type Data = Record<string, any>;
type Result = { structuredContent?: Data; content?: { type: string; text?: string }[]; isError?: boolean };

/** A step that failed: its message is the one line the demo prints. */
class StepFailed extends Error {}

const tty = process.stdout.isTTY === true && !process.env.NO_COLOR;
const style = (code: string) => (text: string) => (tty ? `\x1b[${code}m${text}\x1b[0m` : text);
const bold = style('1');
const dim = style('2');
const green = style('32');

const say = (text = '') => process.stdout.write(`${text}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Control, invisible and bidi characters of a host string as \uXXXX, so nothing from the host drives the terminal. */
const printable = (s: unknown) => String(s).replace(/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

/** At most `max` characters, cut with an ellipsis. */
const cut = (s: string, max: number) => (s.length > max ? `${s.slice(0, max - 1)}…` : s);

/** Rows as columns padded to their widest cell; the last column is not padded. */
function table(header: string[], rows: (string | number)[][]): void {
  const cells = [header, ...rows.map((r) => r.map((c) => printable(c)))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  cells.forEach((r, n) => {
    const line = `    ${r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ')}`;
    say(n === 0 ? bold(line) : line);
  });
}

/** Every program id bpftool lists now. */
function bpftoolProgramIds(): Set<number> {
  const list = JSON.parse(execFileSync('bpftool', ['-j', 'prog', 'show'], { encoding: 'utf8' }) || '[]') as { id: number }[];
  return new Set(list.map((p) => p.id));
}

/** Runs `argv` to its end; resolves with its pid, fails unless it exits 0. */
function run(argv: [string, ...string[]]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: 'ignore' });
    child.on('error', (e) => reject(new StepFailed(`${argv.join(' ')}: ${e.message}`)));
    child.on('exit', (code, signal) =>
      code === 0 ? resolve(child.pid as number) : reject(new StepFailed(`${argv.join(' ')} exited with ${signal ?? `status ${code}`}`)),
    );
  });
}

async function main(): Promise<void> {
  const started = Date.now();
  const serverLog: string[] = [];
  const children: ChildProcess[] = [];
  let transport: StdioClientTransport | undefined;
  const client = new Client({ name: 'ebpf-mcp-demo', version: '1.0.0' });
  let current = 'start';

  const stage = (title: string) => {
    current = title;
    say();
    say(bold(`▶ ${title}`));
  };
  const call = async (name: string, args: Data = {}): Promise<Data> => {
    say(dim(`  → ${name} ${cut(JSON.stringify(args), 110)}`));
    const r = (await client.callTool({ name, arguments: args })) as Result;
    const s = r.structuredContent ?? {};
    if (r.isError || s.success === false) {
      const e = s.error as { type?: string; message?: string } | undefined;
      throw new StepFailed(`${name}: ${e ? `${e.type}: ${e.message}` : (r.content?.find((c) => c.type === 'text')?.text ?? 'failed')}`);
    }
    return s;
  };

  try {
    say(bold('ebpf-mcp demo') + ': one MCP session, as an AI agent runs it; every figure below comes from the kernel.');

    stage('Start the server and list its tools');
    say(dim('  → spawn bin/ebpf-mcp-server -t stdio'));
    transport = new StdioClientTransport({ command: join(PACKAGE_ROOT, 'bin', 'ebpf-mcp-server'), args: ['-t', 'stdio'], stderr: 'pipe' });
    transport.stderr?.on('data', (chunk: Buffer) => serverLog.push(...chunk.toString('utf8').split('\n').filter(Boolean)));
    try {
      await client.connect(transport);
    } catch (e) {
      const last = serverLog.at(-1);
      throw new StepFailed(`the server did not start: ${e instanceof Error ? e.message : String(e)}${last ? ` (its log: ${last})` : ''}`);
    }
    const serverPid = transport.pid;
    say(dim('  → tools/list'));
    const { tools } = await client.listTools();
    say(`  server pid ${serverPid}, ${tools.length} tools: ${tools.map((t) => t.name).join(', ')}`);

    stage('What this host offers');
    const info = await call('info');
    say(`  kernel   Linux ${printable(info.kernel.release)} (${printable(info.kernel.arch)}), BTF ${info.btf.vmlinux ? `at ${printable(info.btf.path)}` : 'missing: CO-RE programs need kernel BTF'}`);
    say(`  libbpf   ${printable(info.server.libbpf_version)} (${printable(info.server.libbpf_linked)}), ebpf-mcp ${printable(info.server.version)}`);
    const missing = (info.missing_capabilities ?? []) as string[];
    say(`  role     ${printable(info.policy.role)}; capabilities ${missing.length ? `missing: ${missing.join(', ')} (info says how to grant them)` : 'none missing'}`);
    say(`  catalog  ${info.catalog.length} programs: ${info.catalog.map((c: { name: string }) => c.name).join(', ')}`);

    stage('Trace process starts (catalog: execsnoop) while the demo runs a few commands');
    const exec = await call('load_program', { source: { type: 'catalog', name: 'execsnoop' } });
    const execProg = exec.programs[0] as Data;
    say(`  loaded ${exec.object_id}: program ${execProg.id} ${printable(execProg.name)} (${execProg.type}, ${execProg.instructions} instructions), ${exec.maps.length} maps`);
    const execLink = await call('attach_program', { object_id: exec.object_id, attachment: { auto: {} } });
    say(`  attached to ${printable(execLink.attachments[0].attachment_point)}, kernel link ${execLink.attachments[0].link_id}`);
    const streamMs = 1500;
    const stream = call('stream_events', {
      source: { object_id: exec.object_id, map: 'events' },
      duration_ms: streamMs,
      max_events: 2000,
      fields: ['pid', 'ppid', 'comm', 'args'],
      max_bytes: 1 << 20,
    });
    stream.catch(() => undefined);
    await sleep(200);
    const commands: [string, ...string[]][] = [['uname', '-r'], ['ls', '/'], ['sleep', '0.1'], ['sh', '-c', 'cat /etc/hostname']];
    const ran: string[] = [];
    const ours = new Set<number>();
    for (const argv of commands) {
      const pid = await run(argv);
      ours.add(pid);
      ran.push(`${argv.map((a) => (/\s/.test(a) ? `'${a}'` : a)).join(' ')} (pid ${pid})`);
    }
    say(`  the demo ran: ${ran.join(', ')}`);
    const events = await stream;
    const mine: Data[] = [];
    for (const e of (events.events ?? []) as { data?: Data }[]) {
      const d = e.data;
      if (!d || !(ours.has(d.pid) || ours.has(d.ppid))) continue;
      ours.add(d.pid);
      mine.push(d);
    }
    const st = events.stats as Data;
    say(
      `  ${st.events_received} execs on the whole host in ${(st.duration_ms / 1000).toFixed(1)} s (${st.lost} lost${events.truncated ? ', cut at a limit' : ''}); ` +
        `these ${mine.length} are the demo's (it is pid ${process.pid}), decoded from BTF as ${printable(events.decoded_type)}:`,
    );
    if (mine.length === 0) throw new StepFailed("stream_events: none of the demo's commands was seen");
    table(['PID', 'PPID', 'COMM', 'ARGS'], mine.map((d) => [d.pid, d.ppid, d.comm, d.args]));

    stage('Run-queue latency for 1 s (catalog: runqlat), a log2 histogram');
    const runq = await call('load_program', { source: { type: 'catalog', name: 'runqlat' } });
    await call('attach_program', { object_id: runq.object_id, attachment: { auto: {} } });
    await sleep(1000);
    const histMap = (runq.maps as Data[]).find((m) => m.name === 'latency_us') as Data;
    const hist = await call('inspect_state', { fields: ['maps'], filters: { map_id: histMap.id }, maps: { id: histMap.id } });
    const h = (hist.map_entries.entries as Data[]).find((e) => e.histogram)?.histogram as Data | undefined;
    if (!h) throw new StepFailed(`inspect_state: map ${histMap.id} holds no histogram after 1 s`);
    say(`  ${h.total} times a task waited to run, in microseconds from wakeup to running:`);
    for (const line of String(h.drawing).split('\n')) say(`  ${line}`);

    stage('Where a busy process spends its CPU (catalog: profile)');
    say(dim('  → spawn dd if=/dev/zero of=/dev/null bs=4k'));
    const busy = spawn('dd', ['if=/dev/zero', 'of=/dev/null', 'bs=4k'], { stdio: 'ignore' });
    busy.once('error', () => undefined);
    children.push(busy);
    const busyPid = busy.pid;
    if (busyPid === undefined) throw new StepFailed('dd did not start');
    const prof = await call('load_program', { source: { type: 'catalog', name: 'profile', parameters: { pid: busyPid, frequency: 199 } } });
    await call('attach_program', { object_id: prof.object_id, attachment: { auto: {} } });
    await sleep(1200);
    const countsMap = (prof.maps as Data[]).find((m) => m.name === 'counts') as Data;
    const stacks = (await call('inspect_state', { fields: ['maps'], filters: { map_id: countsMap.id }, maps: { id: countsMap.id, entries: false } })).stacks as Data | undefined;
    busy.kill();
    if (!stacks?.top_functions?.length) throw new StepFailed(`inspect_state: no stacks sampled from dd (pid ${busyPid}) in 1.2 s`);
    say(`  ${stacks.total} samples of dd (pid ${busyPid}) at 199 Hz, kernel and user frames symbolized; the top functions:`);
    const pct = (n: number) => `${Math.round((100 * n) / stacks.total)}%`;
    table(['SELF', 'TOTAL', 'FUNCTION'], (stacks.top_functions as Data[]).slice(0, 8).map((f) => [pct(f.self), pct(f.total), f.function]));
    const heaviest = stacks.folded?.[0] as Data | undefined;
    if (heaviest) say(`  heaviest stack (${pct(heaviest.weight)}): ${printable(cut(heaviest.stack, 150))}`);

    stage('What this session holds in the kernel (as `ebpf-mcp ps` shows it)');
    const held = await call('inspect_state', { fields: ['programs', 'links'], filters: { owned_only: true } });
    const programs = held.programs as Data[];
    const hooks = (list: string[]) =>
      [...new Set(list)]
        .map((t) => {
          const n = list.filter((x) => x === t).length;
          return n > 1 ? `${t} ×${n}` : t;
        })
        .join(', ') || '-';
    const holders = (list: Data[]) => list.map((x) => `${x.comm}(${x.pid})${x.pid === serverPid ? ' = the server' : ''}`).join(', ');
    table(['PROG', 'TYPE', 'NAME', 'ATTACHED TO', 'HELD BY'], programs.map((p) => [p.id, p.type, p.name, hooks(p.attached_to ?? []), holders(p.holders ?? [])]));
    say(`  ${programs.length} programs and ${held.links.length} links, held by the server for this session alone.`);
    if (programs.some((p) => String(p.name).length === 15)) say(dim('  (the kernel keeps the first 15 characters of a program name)'));

    stage('End the session');
    say(dim('  → close (the server sees stdin end and releases the session)'));
    await client.close();
    transport = undefined;
    const ids = programs.map((p) => p.id as number);
    say(dim('  → bpftool -j prog show'));
    const deadline = Date.now() + 3000;
    let left = ids.filter((id) => bpftoolProgramIds().has(id));
    while (left.length && Date.now() < deadline) {
      await sleep(50);
      left = ids.filter((id) => bpftoolProgramIds().has(id));
    }
    if (left.length) throw new StepFailed(`programs ${left.join(', ')} are still in the kernel 3 s after the session ended`);
    say(green(`  nothing left in the kernel: programs ${ids.join(', ')} are gone`));
    say();
    say(`Done in ${((Date.now() - started) / 1000).toFixed(1)} s. Next: README.md (tools, catalog, CLI), docs/CLIENTS.md (Claude, Cursor, VS Code, ...).`);
  } catch (e) {
    const why = e instanceof StepFailed ? e.message : e instanceof Error ? e.message : String(e);
    process.stderr.write(`demo failed at "${current}": ${why}\n`);
    process.exitCode = 1;
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill();
    if (transport) await client.close().catch(() => undefined);
  }
}

await main();
