/**
 * `make demo`: a live session with the server through the MCP SDK's client,
 * as an AI agent would run it. Every figure printed comes from the kernel.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { BPF_OBJECT_DIR, PACKAGE_ROOT } from '../src/paths.js';

type Result = { structuredContent?: Record<string, any>; content?: { type: string; text?: string }[]; isError?: boolean };

const say = (text: string) => process.stdout.write(`${text}\n`);
const step = (text: string) => say(`\n\x1b[1m▶ ${text}\x1b[0m`);
const summary = (r: Result) => r.content?.find((c) => c.type === 'text')?.text ?? '';

function bpftoolHas(id: number): boolean {
  const list = JSON.parse(execFileSync('bpftool', ['-j', 'prog', 'show'], { encoding: 'utf8' })) as { id: number }[];
  return list.some((p) => p.id === id);
}

async function main(): Promise<void> {
  const transport = new StdioClientTransport({ command: join(PACKAGE_ROOT, 'bin', 'ebpf-mcp-server'), args: ['-t', 'stdio'], stderr: 'ignore' });
  const client = new Client({ name: 'ebpf-mcp-demo', version: '1.0.0' });
  await client.connect(transport);
  const call = async (name: string, args: Record<string, unknown> = {}) => (await client.callTool({ name, arguments: args })) as Result;

  step('tools/list');
  const { tools } = await client.listTools();
  for (const t of tools) say(`  ${t.name.padEnd(15)} ${t.title ?? ''}`);

  step('info: what this kernel supports (probed live)');
  const info = await call('info');
  say(summary(info).replace(/^/gm, '  '));

  step('load_program: the bundled exec_events object (CO-RE, ring buffer)');
  const exec = await call('load_program', { source: { type: 'file', path: join(BPF_OBJECT_DIR, 'catalog', 'exec_events.bpf.o') } });
  say('  ' + summary(exec));
  for (const p of exec.structuredContent?.programs ?? []) say(`    program ${p.id} ${p.name} (${p.type}, ${p.instructions} insns, helpers: ${p.helpers.join(', ')})`);
  for (const m of exec.structuredContent?.maps ?? []) say(`    map ${m.id} ${m.name} (${m.type}, max_entries ${m.max_entries})`);
  const execId = exec.structuredContent?.program_id as number;
  say(`  bpftool prog show sees program ${execId}: ${bpftoolHas(execId)}`);

  step('attach_program: run it on every exec (auto: as its section says)');
  const attached = await call('attach_program', { program_id: execId, attachment: { auto: {} } });
  say('  ' + summary(attached));
  say(`    attachment_point ${attached.structuredContent?.attachment_point}, kernel link id ${attached.structuredContent?.link_id}`);

  step('stream_events: exec a few commands and read the ring buffer, decoded from BTF');
  const streaming = call('stream_events', { source: { object_id: exec.structuredContent?.object_id, map: 'events' }, duration_ms: 2000, max_events: 5 });
  await new Promise((r) => setTimeout(r, 300));
  execFileSync('sh', ['-c', '/bin/true; /bin/echo hi >/dev/null; /bin/ls / >/dev/null; /bin/uname -r >/dev/null']);
  const events = await streaming;
  say('  ' + summary(events));
  say(`    decoded as ${events.structuredContent?.decoded_type}; fields: ${Object.keys(events.structuredContent?.schema?.properties ?? {}).join(', ')}`);
  for (const e of events.structuredContent?.events ?? []) say(`    ${JSON.stringify(e.data)}`);

  step('inspect_state maps: system-call latency for half a second, a log2 histogram decoded from BTF');
  const latency = await call('load_program', { source: { type: 'file', path: join(BPF_OBJECT_DIR, 'catalog', 'syscall_latency.bpf.o') } });
  for (const p of latency.structuredContent?.programs ?? []) await call('attach_program', { program_id: p.id, attachment: { auto: {} } });
  await new Promise((r) => setTimeout(r, 500));
  const histogramMap = latency.structuredContent?.maps.find((m: { name: string }) => m.name === 'latency_us');
  const histogram = await call('inspect_state', { fields: ['maps'], filters: { map_id: histogramMap.id }, maps: { id: histogramMap.id } });
  say(`    value type ${histogram.structuredContent?.map_entries.value_type}; microseconds:`);
  say(summary(histogram).split('\n').slice(2).join('\n').replace(/^/gm, '  '));

  step('load_program: a program the verifier rejects');
  const rejected = await call('load_program', { source: { type: 'file', path: join(BPF_OBJECT_DIR, 'fixtures', 'rejected.bpf.o') } });
  const err = rejected.structuredContent?.error;
  say(`  ${err.type}: ${err.message}`);
  say(`  failing instruction ${err.context.instruction_offset}: ${err.context.instruction}   (${err.context.source_line})`);

  step('load_program with constraints: allowed_helpers refuses a helper before the kernel sees it');
  const denied = await call('load_program', {
    source: { type: 'file', path: join(BPF_OBJECT_DIR, 'fixtures', 'multi.bpf.o') },
    constraints: { allowed_helpers: ['bpf_map_lookup_elem'] },
  });
  say(`  ${denied.structuredContent?.error.type}: ${denied.structuredContent?.error.message}`);

  step('inspect_state: what this session owns, from the kernel');
  const owned = await call('inspect_state', { fields: ['programs', 'maps', 'links', 'system'], filters: { owned_only: true } });
  say('  ' + summary(owned));
  for (const p of owned.structuredContent?.programs ?? []) say(`    program ${p.id} ${p.name} ${p.type} tag ${p.tag} loaded ${p.loaded_at} maps [${p.map_ids.join(', ')}]`);
  for (const l of owned.structuredContent?.links ?? []) say(`    link ${l.id} ${l.type} → ${l.target} (program ${l.program_id})`);
  const sys = owned.structuredContent?.system;
  say(`  host: ${sys.total_programs} programs, ${sys.total_maps} maps, ${sys.total_links} links in the kernel`);

  step('disconnect: the session ends and its objects are released');
  await client.close();
  const deadline = Date.now() + 2000;
  while (bpftoolHas(execId) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  say(`  program ${execId} still loaded after disconnect: ${bpftoolHas(execId)}`);
}

main().catch((e: unknown) => {
  process.stderr.write(`demo failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
