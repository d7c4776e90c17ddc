import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { connect } from '../helpers/client.js';
import { SERVER_BIN, catalogObject } from '../helpers/fixtures.js';

const run = promisify(execFile);
const INSPECTOR = join(PACKAGE_ROOT, 'node_modules', '@modelcontextprotocol', 'inspector');
const skip = existsSync(INSPECTOR) ? false : 'the MCP Inspector (devDependency @modelcontextprotocol/inspector) is not installed: run npm ci';

/** One request through the Inspector's CLI mode (one session each), the server started as docs/CLIENTS.md configures it: `-t stdio`. */
async function inspector(args: string[]): Promise<Record<string, any>> {
  const { stdout } = await run('npx', ['--no-install', '@modelcontextprotocol/inspector', '--cli', SERVER_BIN, '-t', 'stdio', ...args], {
    cwd: PACKAGE_ROOT,
    timeout: 60_000,
    maxBuffer: 16 << 20,
  });
  return JSON.parse(stdout) as Record<string, any>;
}

/** One tools/call, `args` as the Inspector's `--tool-arg key=value` pairs. */
function inspectorCall(tool: string, args: Record<string, string>): Promise<Record<string, any>> {
  const pairs = Object.entries(args).flatMap(([k, v]) => ['--tool-arg', `${k}=${v}`]);
  return inspector(['--method', 'tools/call', '--tool-name', tool, ...pairs]);
}

test('the MCP Inspector CLI (Node 20) lists the tools and calls info: the kernel release is this host\'s', { skip }, async () => {
  const listed = await inspector(['--method', 'tools/list']);
  assert.deepEqual(
    listed.tools.map((t: { name: string }) => t.name),
    ['info', 'load_program', 'attach_program', 'inspect_state', 'stream_events'],
  );
  const r = await inspectorCall('info', {});
  assert.equal(r.isError, undefined, JSON.stringify(r.structuredContent?.error));
  assert.equal(r.structuredContent.success, true);
  assert.equal(r.structuredContent.kernel.release, release());
  assert.equal(r.structuredContent.policy.role, 'admin');
});

test('the MCP Inspector CLI (Node 20) loads a program by path: `source` is sent as an object', { skip }, async () => {
  const path = catalogObject('exec_events');
  const r = await inspectorCall('load_program', { source: JSON.stringify({ type: 'file', path }) });
  const s = r.structuredContent;
  assert.equal(r.isError, undefined, JSON.stringify(s?.error));
  assert.equal(s.success, true);
  assert.equal(s.object_name, 'exec_events');
  assert.equal(s.programs[0].name, 'handle_exec');
  assert.ok(Number.isInteger(s.program_id) && s.program_id > 0, `program id ${s.program_id}`);
  assert.equal(s.programs[0].id, s.program_id);
});

test('the MCP Inspector CLI passes object and array arguments to inspect_state', { skip }, async () => {
  // The Inspector's server ends with its call, so the program it looks for is held by a session of the test's own.
  const c = await connect();
  try {
    const loaded = (await c.call('load_program', { source: { type: 'file', path: catalogObject('exec_events') } })).structuredContent;
    const r = await inspectorCall('inspect_state', {
      fields: JSON.stringify(['programs']),
      filters: JSON.stringify({ program_id: loaded.program_id }),
      limit: '5',
    });
    const s = r.structuredContent;
    assert.equal(r.isError, undefined, JSON.stringify(s?.error));
    assert.equal(s.programs.length, 1);
    assert.equal(s.programs[0].id, loaded.program_id);
    assert.equal(s.programs[0].name, 'handle_exec');
    assert.equal(s.programs[0].owned, false, "another session's program is not owned by the Inspector's");
    assert.deepEqual(s.counts.programs, { total: 1, returned: 1, truncated: false });
  } finally {
    await c.close();
  }
});
