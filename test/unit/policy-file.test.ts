import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { accessSync, chmodSync, chownSync, constants, existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { NATIVE_ADDON } from '../../src/paths.js';
import { DEFAULT_LIMITS } from '../../src/policy/limits.js';
import { PolicyFileError, readPolicyFile } from '../../src/policy/policy-file.js';
import { defaultPolicy, type Policy } from '../../src/policy/policy.js';

const dir = mkdtempSync(join(tmpdir(), 'ebpf-mcp-policy-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Helper names come from the kernel's BTF. */
const noBtf = ((): string | false => {
  try {
    accessSync('/sys/kernel/btf/vmlinux', constants.R_OK);
    return false;
  } catch (e) {
    return `/sys/kernel/btf/vmlinux is not readable (${(e as NodeJS.ErrnoException).code}): helper names cannot be checked`;
  }
})();

/** Program type names come from libbpf, through the addon. */
const noAddon = existsSync(NATIVE_ADDON) ? false : `${NATIVE_ADDON} is not built (make build): program type names cannot be checked`;

let files = 0;

/** A policy file holding `text`, writable by its owner only. */
function policyFile(text: string | Buffer, ext = 'yaml'): string {
  const path = join(dir, `policy-${++files}.${ext}`);
  writeFileSync(path, text, { mode: 0o600 });
  return path;
}

/** Asserts that reading `path` fails with a PolicyFileError at `line` on `field`, its message matching `what`. */
function refused(path: string, line: number | undefined, field: string | undefined, what: RegExp): void {
  assert.throws(
    () => readPolicyFile(path, defaultPolicy()),
    (e: unknown) => {
      assert.ok(e instanceof PolicyFileError, `a PolicyFileError, not ${String(e)}`);
      assert.equal(e.file, path);
      assert.equal(e.line, line, e.message);
      assert.equal(e.field, field, e.message);
      const prefix = `${path}${line === undefined ? '' : `:${line}`}: ${field === undefined ? '' : `${field}: `}`;
      assert.ok(e.message.startsWith(prefix), `${JSON.stringify(e.message)} starts with ${JSON.stringify(prefix)}`);
      assert.match(e.message.slice(prefix.length), what);
      return true;
    },
  );
}

/** Asserts that `text` as a policy file fails at `line` on `field`. */
const refusedText = (text: string, line: number | undefined, field: string | undefined, what: RegExp, ext = 'yaml') => refused(policyFile(text, ext), line, field, what);

const real = join(dir, 'real-dir');
const other = join(dir, 'other-dir');
const linked = join(dir, 'linked-dir');
mkdirSync(real);
mkdirSync(other);
symlinkSync(real, linked);
const hexA = 'ab'.repeat(32);
const hexB = 'C0'.repeat(32);

const FULL_YAML = `# The policy of a test host.
role: operator
sources:
  allowed_dirs: [${linked}, ${other}/]
  allow_inline: false
  allowed_sha256:
    - ${hexA}
    - "sha256:${hexB}"
max_object_mb: 8
denied_helpers: [bpf_probe_write_user, send_signal]
allowed_program_types: [tracepoint, raw_tracepoint]
quotas:
  objects: 10
  programs: 20
  maps: 30
  map_mb: 256
  links: 40
rate_limits:
  calls_per_second: 20
  concurrent_streams: 4
max_lease_seconds: 3600
pin_prefix: /sys/fs/bpf/test-policy/
`;

const FULL_JSON = JSON.stringify(
  {
    role: 'operator',
    sources: { allowed_dirs: [linked, `${other}/`], allow_inline: false, allowed_sha256: [hexA, `sha256:${hexB}`] },
    max_object_mb: 8,
    denied_helpers: ['bpf_probe_write_user', 'send_signal'],
    allowed_program_types: ['tracepoint', 'raw_tracepoint'],
    quotas: { objects: 10, programs: 20, maps: 30, map_mb: 256, links: 40 },
    rate_limits: { calls_per_second: 20, concurrent_streams: 4 },
    max_lease_seconds: 3600,
    pin_prefix: '/sys/fs/bpf/test-policy/',
  },
  null,
  2,
);

/** What FULL_YAML and FULL_JSON mean over the default policy. */
function expected(file: string): Policy {
  return {
    role: 'operator',
    sources: { allowedDirs: [realpathSync(real), realpathSync(other)], allowInline: false, allowedSha256: [hexA, hexB.toLowerCase()] },
    deniedHelpers: ['bpf_probe_write_user', 'bpf_send_signal'],
    allowedProgramTypes: ['tracepoint', 'raw_tracepoint'],
    callsPerSecond: 20,
    limits: {
      ...DEFAULT_LIMITS,
      maxObjectBytes: 8 << 20,
      maxObjectsPerSession: 10,
      maxProgramsPerSession: 20,
      maxMapsPerSession: 30,
      maxMapBytesPerSession: 256 << 20,
      maxLinksPerSession: 40,
      maxReadersPerSession: 4,
      maxLeaseSeconds: 3600,
    },
    pinPrefix: '/sys/fs/bpf/test-policy',
    auditLog: null,
    file: realpathSync(file),
  };
}

describe('a valid policy file', () => {
  it('in YAML sets every field', { skip: noBtf || noAddon }, () => {
    const path = policyFile(FULL_YAML);
    assert.deepEqual(readPolicyFile(path, defaultPolicy()), expected(path));
  });

  it('in JSON gives the same policy', { skip: noBtf || noAddon }, () => {
    const path = policyFile(FULL_JSON, 'json');
    assert.deepEqual(readPolicyFile(path, defaultPolicy()), expected(path));
  });

  it('keeps what it does not set from the base, without changing the base', () => {
    const base = { ...defaultPolicy(), callsPerSecond: 7, pinPrefix: '/sys/fs/bpf/base' };
    const before = structuredClone(base);
    const policy = readPolicyFile(policyFile('role: observer\nquotas:\n  links: 3\n'), base);
    assert.deepEqual(base, before);
    assert.equal(policy.role, 'observer');
    assert.equal(policy.limits.maxLinksPerSession, 3);
    assert.deepEqual({ ...policy, role: base.role, limits: base.limits, file: null }, base);
    assert.deepEqual({ ...policy.limits, maxLinksPerSession: base.limits.maxLinksPerSession }, base.limits);
    assert.notEqual(policy.deniedHelpers, base.deniedHelpers);
  });

  it('empty, or only comments, gives the base with the file set', () => {
    for (const text of ['', '# nothing set yet\n\n']) {
      const path = policyFile(text);
      assert.deepEqual(readPolicyFile(path, defaultPolicy()), { ...defaultPolicy(), file: realpathSync(path) });
    }
  });

  it('null lists and empty sections: any program type, any sha256, nothing denied', () => {
    const policy = readPolicyFile(policyFile('allowed_program_types: null\ndenied_helpers: []\nquotas:\nsources:\n  allowed_sha256: ~\n'), {
      ...defaultPolicy(),
      allowedProgramTypes: ['xdp'],
      sources: { allowedDirs: [], allowInline: true, allowedSha256: [hexA] },
    });
    assert.equal(policy.allowedProgramTypes, null);
    assert.equal(policy.sources.allowedSha256, null);
    assert.deepEqual(policy.deniedHelpers, []);
    assert.deepEqual(policy.limits, DEFAULT_LIMITS);
  });

  it('read through a symbolic link is recorded by its real path', () => {
    const target = policyFile('role: operator\n');
    const link = join(dir, 'policy-link.yaml');
    symlinkSync(target, link);
    const policy = readPolicyFile(link, defaultPolicy());
    assert.equal(policy.role, 'operator');
    assert.equal(policy.file, realpathSync(target));
  });
});

describe('a bad setting names its line and field', () => {
  it('an unknown key, with the closest known one', () => {
    refusedText('role: operator\nsources:\n  allow_inline: true\n  alowed_dirs: [/tmp]\n', 4, 'sources.alowed_dirs', /^unknown key \(did you mean allowed_dirs\?\); keys here: allowed_dirs, allow_inline, allowed_sha256$/);
    refusedText('\nmax_lease_second: 10\n', 2, 'max_lease_second', /did you mean max_lease_seconds\?/);
    refusedText('role: admin\nfrobnicate: 1\n', 2, 'frobnicate', /^unknown key; keys here: role, sources, /);
    refusedText('role: admin\nsourcse:\n  allowed_dirs: []\n', 2, 'sourcse', /did you mean sources\?/);
    refusedText('quotas:\n  maps: 1\n  links:\n', 3, 'quotas.links', /^must be an integer/);
  });

  it('a role that is not one', () => {
    refusedText('# who\n\nrole: superuser\n', 3, 'role', /^must be one of observer, operator, admin$/);
  });

  it('an unknown helper, with the closest known one', { skip: noBtf }, () => {
    refusedText('denied_helpers:\n  - bpf_send_signal\n  - bpf_probe_write_usr\n', 3, 'denied_helpers[1]', /^unknown helper "bpf_probe_write_usr" \(did you mean bpf_probe_write_user\?\)$/);
  });

  it('an unknown program type, and unspec', { skip: noAddon }, () => {
    refusedText('role: operator\nallowed_program_types: [tracepoint, trace_point]\n', 2, 'allowed_program_types[1]', /^unknown program type "trace_point" \(did you mean tracepoint\?\)$/);
    refusedText('allowed_program_types:\n  - unspec\n', 2, 'allowed_program_types[0]', /^unknown program type "unspec"/);
  });

  it('an integer out of range, not whole, or not a number', () => {
    refusedText('quotas:\n  objects: 1\n  map_mb: 0\n', 3, 'quotas.map_mb', /^must be an integer from 1 to 1048576$/);
    refusedText('max_object_mb: 1025\n', 1, 'max_object_mb', /^must be an integer from 1 to 1024$/);
    refusedText('rate_limits:\n  calls_per_second: 1.5\n', 2, 'rate_limits.calls_per_second', /^must be an integer from 0 to 100000$/);
    refusedText('rate_limits:\n  concurrent_streams: "4"\n', 2, 'rate_limits.concurrent_streams', /^must be an integer from 1 to 1000$/);
    refusedText('max_lease_seconds: 31536001\n', 1, 'max_lease_seconds', /from 1 to 31536000/);
  });

  it('a type that is not the one expected', () => {
    refusedText('sources:\n  allow_inline: yes\n', 2, 'sources.allow_inline', /^must be true or false$/);
    refusedText('quotas: 5\n', 1, 'quotas', /^must be a mapping/);
    refusedText('denied_helpers: bpf_send_signal\n', 1, 'denied_helpers', /^must be a list of helper names/);
  });

  it('a relative directory', () => {
    refusedText(`sources:\n  allowed_dirs:\n    - ${real}\n    - opt/bpf\n`, 4, 'sources.allowed_dirs[1]', /^must be an absolute path$/);
  });

  it('a directory that does not exist', () => {
    const missing = join(dir, 'no-such-dir');
    refusedText(`sources:\n  allowed_dirs:\n    - ${real}\n    - ${missing}\n`, 4, 'sources.allowed_dirs[1]', new RegExp(`^${missing} does not exist$`));
  });

  it('a file where a directory should be', () => {
    const file = policyFile('not a directory');
    refusedText(`sources:\n  allowed_dirs: [${real},\n    ${file}]\n`, 3, 'sources.allowed_dirs[1]', new RegExp(`^${file} is not a directory$`));
  });

  it('more than 64 directories', () => {
    refusedText(`sources:\n  allowed_dirs:\n${`    - ${real}\n`.repeat(65)}`, 2, 'sources.allowed_dirs', /at most 64/);
  });

  it('a sha256 that is not one', () => {
    refusedText(`sources:\n  allowed_sha256:\n    - ${hexA}\n    - "sha256:${hexA.slice(1)}"\n`, 4, 'sources.allowed_sha256[1]', /^must be 64 hex digits/);
    refusedText(`sources:\n  allowed_sha256: [md5:${hexA}]\n`, 2, 'sources.allowed_sha256[0]', /^must be 64 hex digits/);
  });

  it('a pin prefix outside /sys/fs/bpf/, at its root, or with ".."', () => {
    refusedText('role: admin\npin_prefix: /tmp/pins\n', 2, 'pin_prefix', /^must be a directory under \/sys\/fs\/bpf\/$/);
    refusedText('pin_prefix: /sys/fs/bpf/\n', 1, 'pin_prefix', /^must be a directory under \/sys\/fs\/bpf\/$/);
    refusedText('pin_prefix: /sys/fs/bpf/a/../../../etc\n', 1, 'pin_prefix', /"\.\."/);
  });

  it('the first problem in the file is the one reported', () => {
    refusedText('pin_prefix: /tmp\nrole: nobody\nmax_object_mb: 0\n', 1, 'pin_prefix', /under/);
    refusedText('max_object_mb: 0\nsources:\n  allowed_dirs: [relative]\nrole: nobody\n', 1, 'max_object_mb', /integer/);
  });
});

describe('a file that is not a policy', () => {
  it('a YAML syntax error, at its line', () => {
    refusedText('role: operator\nsources:\n  allow_inline: false\n\tallowed_dirs: []\n', 4, undefined, /^Tabs are not allowed as indentation$/);
    refusedText('role: operator\nquotas:\n  objects: 1: 2\n', 3, undefined, /^Nested mappings are not allowed/);
    refusedText('role: operator\nsources:\n  allowed_dirs: [/tmp]]\n', 3, undefined, /flow-seq-end/);
    refusedText('{\n  "role": "operator",\n  "quotas": {\n    "objects": 1\n    "links": 2\n  }\n}\n', 4, undefined, /single line/, 'json');
  });

  it('a duplicate key, at the second one', () => {
    refusedText('role: operator\nquotas:\n  objects: 1\n  objects: 2\n', 4, undefined, /^Map keys must be unique$/);
    refusedText('{\n  "role": "operator",\n  "role": "admin"\n}\n', 3, undefined, /unique/, 'json');
  });

  it('a JSON file with a bad value on line 5', () => {
    refusedText('{\n  "role": "operator",\n  "quotas": {\n    "objects": 1,\n    "links": -1\n  }\n}\n', 5, 'quotas.links', /^must be an integer from 1 to 100000$/, 'json');
    refusedText('{\n  "role": "operator",\n  "quotas": {\n    "objects": 1,\n    "lnks": 2\n  }\n}\n', 5, 'quotas.lnks', /did you mean links\?/, 'json');
  });

  it('a top level that is not a mapping', () => {
    refusedText('- role: operator\n', 1, undefined, /^must be a mapping of settings/);
    refusedText('[]\n', 1, undefined, /^must be a mapping of settings/, 'json');
    refusedText('operator\n', 1, undefined, /^must be a mapping of settings/);
  });

  it('keys that are not names, more than one document, an unknown tag', () => {
    refusedText('role: operator\n? [a, b]\n: 1\n', 2, undefined, /^keys must be names/);
    refusedText('role: operator\n---\nrole: admin\n', 2, undefined, /multiple documents/);
    refusedText('role: !custom operator\n', 1, undefined, /Unresolved tag/);
  });

  it('writable by group or others: refused, naming the mode', () => {
    for (const mode of [0o620, 0o602, 0o666]) {
      const path = policyFile('role: admin\n');
      chmodSync(path, mode);
      refused(path, undefined, undefined, new RegExp(`^is writable by group or others \\(mode 0${mode.toString(8)}\\)`));
    }
    const readable = policyFile('role: observer\n');
    chmodSync(readable, 0o644);
    assert.equal(readPolicyFile(readable, defaultPolicy()).role, 'observer');
  });

  it('owned by another user: refused, naming the uid', (t) => {
    if (process.geteuid?.() !== 0) return t.skip('chown needs root');
    const path = policyFile('role: admin\n');
    chownSync(path, 65534, 65534);
    refused(path, undefined, undefined, /^is owned by uid 65534, who can make themselves admin/);
  });

  it('over 1 MiB: refused', () => {
    refused(policyFile(`# ${'x'.repeat(1 << 20)}\nrole: admin\n`), undefined, undefined, /^is over 1 MiB/);
    assert.equal(readPolicyFile(policyFile(`# ${'x'.repeat((1 << 20) - 20)}\nrole: observer\n`), defaultPolicy()).role, 'observer');
  });

  it('missing, a directory, a FIFO (at once), not UTF-8', () => {
    refused(join(dir, 'no-such.yaml'), undefined, undefined, /^does not exist$/);
    refused(real, undefined, undefined, /^is not a regular file$/);
    const fifo = join(dir, 'policy.fifo');
    execFileSync('mkfifo', ['-m', '600', fifo]);
    const start = Date.now();
    refused(fifo, undefined, undefined, /^is not a regular file$/);
    assert.ok(Date.now() - start < 1000);
    refused(policyFile(Buffer.from([0x72, 0x6f, 0x6c, 0x65, 0x3a, 0x20, 0xff, 0x0a])), undefined, undefined, /^is not UTF-8 text$/);
  });
});
