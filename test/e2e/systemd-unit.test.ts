/**
 * packaging/systemd/ebpf-mcp.service grants exactly the capabilities the server needs: run as a user other than
 * root (nobody) with only the unit's capabilities (ambient and bounding, as systemd gives them), info reports none
 * missing and execsnoop loads, attaches and sees an exec; without any one of them, info names that one.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { type Connected, connect } from '../helpers/client.js';
import { execsSeen, loadCatalog } from '../helpers/catalog.js';

const UNIT = readFileSync(join(PACKAGE_ROOT, 'packaging', 'systemd', 'ebpf-mcp.service'), 'utf8');

/** The capabilities a directive of the unit names. */
function directive(name: string): string[] {
  const lines = UNIT.split('\n').filter((l) => l.startsWith(`${name}=`));
  assert.equal(lines.length, 1, `${name}= once in the unit`);
  return (lines[0] as string).slice(name.length + 1).trim().split(/\s+/);
}

const CAPS = directive('AmbientCapabilities');
const skip = process.getuid?.() !== 0 ? 'needs root to drop to nobody with capabilities' : existsSync('/usr/bin/setpriv') ? false : 'setpriv (util-linux) is not installed';

/** The server as nobody holding exactly `caps` (ambient, inheritable, bounding), as the unit's User= and capability lines make it. */
function asNobodyWith(caps: string[]): Promise<Connected> {
  const set = ['-all', ...caps.map((c) => `+${c.replace(/^CAP_/, '').toLowerCase()}`)].join(',');
  return connect(['-t', 'stdio'], {
    exec: ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', `--inh-caps=${set}`, `--ambient-caps=${set}`, `--bounding-set=${set}`],
  });
}

test('the unit bounds the service to the capabilities it grants, and grants no CAP_SYS_RESOURCE (LimitMEMLOCK instead)', () => {
  assert.deepEqual(directive('CapabilityBoundingSet'), CAPS);
  assert.ok(!CAPS.includes('CAP_SYS_RESOURCE'));
  assert.deepEqual(directive('LimitMEMLOCK'), ['infinity']);
  assert.match(UNIT, /^User=ebpf-mcp$/m);
  assert.match(UNIT, /^NoNewPrivileges=yes$/m);
  assert.match(UNIT, /^LoadCredential=tokens:\/etc\/ebpf-mcp\/tokens$/m);
  assert.match(UNIT, /--token-file %d\/tokens /);
});

test("as nobody with exactly the unit's capabilities, nothing is missing and execsnoop sees an exec", { skip }, async () => {
  const c = await asNobodyWith(CAPS);
  try {
    const info = (await c.call('info')).structuredContent;
    assert.deepEqual([...info.capabilities].sort(), [...CAPS].sort());
    assert.deepEqual(info.missing_capabilities, []);
    const loaded = await loadCatalog(c, 'execsnoop');
    const marker = `unit-${process.pid}`;
    const { pid, records } = await execsSeen(c, loaded.object_id, '/bin/echo', [marker]);
    assert.ok(records.some((d) => d.pid === pid && d.args === `/bin/echo ${marker}`), JSON.stringify(records));
  } finally {
    await c.close();
  }
});

test("without CAP_SYS_ADMIN, CAP_NET_ADMIN or CAP_DAC_READ_SEARCH, info names the one dropped; CAP_SYS_ADMIN stands in for CAP_BPF and CAP_PERFMON", { skip }, async () => {
  // The kernel takes CAP_SYS_ADMIN for CAP_BPF and CAP_PERFMON (bpf_capable, perfmon_capable): the unit still names
  // them, so it says what the server does, and the server needs CAP_SYS_ADMIN only to open objects by id.
  for (const dropped of CAPS) {
    const c = await asNobodyWith(CAPS.filter((x) => x !== dropped));
    try {
      const missing = (await c.call('info')).structuredContent.missing_capabilities;
      assert.deepEqual(missing, dropped === 'CAP_BPF' || dropped === 'CAP_PERFMON' ? [] : [dropped], `without ${dropped}`);
    } finally {
      await c.close();
    }
  }
  const c = await asNobodyWith(CAPS.filter((x) => x !== 'CAP_SYS_ADMIN' && x !== 'CAP_PERFMON'));
  try {
    assert.deepEqual((await c.call('info')).structuredContent.missing_capabilities, ['CAP_PERFMON', 'CAP_SYS_ADMIN']);
  } finally {
    await c.close();
  }
});
