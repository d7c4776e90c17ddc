import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { connect } from '../helpers/client.js';
import { catalogObject } from '../helpers/fixtures.js';

/** How the test drops to the nobody user (65534) with no capabilities: setpriv (util-linux) or runuser. */
const DROP = existsSync('/usr/bin/setpriv')
  ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups']
  : existsSync('/usr/sbin/runuser')
    ? ['runuser', '-u', 'nobody', '--']
    : undefined;
const skip = process.getuid?.() !== 0 ? 'needs root to drop to nobody' : DROP ? false : 'neither setpriv nor runuser is installed';

// CAP_DAC_READ_SEARCH: tracefs (mode 0700 here) is root's, so nobody reads no tracepoint id without it.
const MISSING = ['CAP_BPF', 'CAP_PERFMON', 'CAP_NET_ADMIN', 'CAP_SYS_ADMIN', 'CAP_DAC_READ_SEARCH'];
const GRANT =
  `grant them to node (setcap cap_bpf,cap_perfmon,cap_net_admin,cap_sys_admin,cap_dac_read_search+ep ${process.execPath}), or start the server from a ` +
  'systemd unit with AmbientCapabilities=CAP_BPF CAP_PERFMON CAP_NET_ADMIN CAP_SYS_ADMIN CAP_DAC_READ_SEARCH, or run it as root';

test('as nobody the server starts and answers; info names the missing capabilities and how to grant them; every refusal says the same', { skip }, async () => {
  const c = await connect(['-t', 'stdio'], { exec: DROP });
  try {
    const info = await c.call('info');
    assert.equal(info.structuredContent.success, true, JSON.stringify(info.structuredContent));
    assert.deepEqual(info.structuredContent.capabilities, []);
    assert.deepEqual(info.structuredContent.missing_capabilities, MISSING);
    assert.equal(info.structuredContent.grant, GRANT);
    const text = (info.content[0] as { text: string }).text;
    assert.ok(text.startsWith(`Not privileged: the server lacks ${MISSING.join(', ')}: ${GRANT}.`), text);

    const calls: [string, Record<string, unknown>][] = [
      ['load_program', { source: { type: 'file', path: catalogObject('exec_events') } }],
      ['inspect_state', { fields: ['programs'] }],
      ['stream_events', { source: { map_id: 1 }, duration_ms: 10 }],
      ['attach_program', { program_id: 1, attachment: { auto: {} } }],
    ];
    for (const [tool, args] of calls) {
      const r = await c.call(tool, args);
      const e = r.structuredContent.error;
      assert.equal(e?.type, 'PERMISSION_DENIED', `${tool}: ${JSON.stringify(r.structuredContent)}`);
      assert.ok(e.message.endsWith(`: the server lacks ${MISSING.join(', ')}: ${GRANT}`), `${tool}: ${e.message}`);
      assert.deepEqual(e.context.missing_capabilities, MISSING, tool);
      assert.equal(e.context.grant, GRANT, tool);
      assert.ok(!JSON.stringify(e).includes('RLIMIT_MEMLOCK'), `${tool} still gives libbpf's RLIMIT_MEMLOCK hint: ${JSON.stringify(e)}`);
    }
    const load = (await c.call('load_program', { source: { type: 'file', path: catalogObject('exec_events') } })).structuredContent.error;
    assert.equal(load.message.split(': the server lacks')[0], 'loading the object failed: bpf_object__load: Operation not permitted');
  } finally {
    await c.close();
  }
});

test('as root nothing is missing: info lists no missing capability and no grant', async () => {
  const c = await connect();
  try {
    const info = (await c.call('info')).structuredContent;
    assert.deepEqual(info.missing_capabilities, []);
    assert.equal(info.grant, undefined);
  } finally {
    await c.close();
  }
});
