/**
 * The audit log: its file is created 0600 whatever the umask, an unfit file
 * is refused, lines are whole JSON records, rotation keeps every line in
 * exactly one file, and writing never throws once open. auditArguments keeps
 * a bounded copy, with an inline object's hash instead of its bytes.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { type AuditRecord, AuditLog, auditArguments } from '../../src/policy/audit-log.js';

const dir = mkdtempSync(join(tmpdir(), 'ebpf-mcp-audit-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let fresh = 0;
/** A new directory under the test's own. */
function subdir(): string {
  const d = join(dir, `d${fresh++}`);
  mkdirSync(d);
  return d;
}

/** A call record whose arguments carry `pad` characters, to size its line. */
function record(i: number, pad = 0): AuditRecord {
  return {
    time: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
    session: 's1',
    principal: { uid: 0, client: { name: 'test-client', version: '1.0' } },
    role: 'operator',
    event: 'call',
    tool: 'load_program',
    arguments: { i, pad: 'x'.repeat(pad) },
    outcome: i % 2 ? { ok: true } : { ok: false, error: 'PERMISSION_DENIED', rule: 'load' },
    created: { programs: [i], maps: [], links: [null] },
    released: { programs: [], maps: [i + 1], links: [] },
    duration_ms: i,
  };
}

const lineOf = (r: AuditRecord) => JSON.stringify(r) + '\n';
const mode = (path: string) => statSync(path).mode & 0o777;

/** The records in a log file, one per line, checking the file ends with a whole line. */
function readRecords(path: string): AuditRecord[] {
  const text = readFileSync(path, 'utf8');
  if (text === '') return [];
  assert.ok(text.endsWith('\n'), `${path} ends in a partial line`);
  return text.slice(0, -1).split('\n').map((l) => JSON.parse(l) as AuditRecord);
}

/** Runs `fn` with process.umask set to `mask`, restoring it after. */
function withUmask<T>(mask: number, fn: () => T): T {
  const old = process.umask(mask);
  try {
    return fn();
  } finally {
    process.umask(old);
  }
}

/** Runs `fn` and returns what it wrote to stderr (where log.error goes), line by line. */
function stderrOf(fn: () => void): string[] {
  const lines: string[] = [];
  const write = process.stderr.write;
  process.stderr.write = ((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  }) as typeof process.stderr.write;
  try {
    fn();
  } finally {
    process.stderr.write = write;
  }
  return lines;
}

/** The flags of this process's open fd on `path`, from /proc/self/fdinfo. */
function fdFlags(path: string): number {
  for (const fd of readdirSync('/proc/self/fd')) {
    let target: string;
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue;
    }
    if (target !== path) continue;
    const flags = /^flags:\s+([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
    return parseInt(flags?.[1] as string, 8);
  }
  throw new Error(`no open fd on ${path}`);
}

test('the file is created 0600 whatever the umask, opened write-only, append-only and close-on-exec', () => {
  for (const mask of [0, 0o077, 0o777, 0o022]) {
    const path = join(subdir(), 'audit.log');
    const audit = withUmask(mask, () => AuditLog.open(path));
    try {
      assert.equal(mode(path), 0o600, `umask ${mask.toString(8)}`);
      assert.equal(audit.path, path);
      const flags = fdFlags(path);
      assert.equal(flags & 0o3, 0o1, 'O_WRONLY');
      assert.equal(flags & 0o2000, 0o2000, 'O_APPEND');
      assert.equal(flags & 0o2000000, 0o2000000, 'O_CLOEXEC');
    } finally {
      audit.close();
    }
  }
});

test('an existing 0600 file is appended to, not truncated', () => {
  const path = join(subdir(), 'audit.log');
  writeFileSync(path, lineOf(record(1)), { mode: 0o600 });
  const audit = AuditLog.open(path);
  audit.write(record(2));
  audit.close();
  assert.deepEqual(readRecords(path), [record(1), record(2)]);
  assert.equal(mode(path), 0o600);
});

test('unfit paths are refused with a message saying why', () => {
  const d = subdir();
  const open644 = join(d, 'open.log');
  writeFileSync(open644, 'keep', { mode: 0o644 });
  chmodSync(open644, 0o644);
  assert.throws(() => AuditLog.open(open644), /readable or writable by group or others \(mode 0644\): chmod 600 it/);
  chmodSync(open644, 0o620);
  assert.throws(() => AuditLog.open(open644), /mode 0620/);
  assert.equal(readFileSync(open644, 'utf8'), 'keep');

  const good = join(d, 'good.log');
  writeFileSync(good, '', { mode: 0o600 });
  const link = join(d, 'link.log');
  symlinkSync(good, link);
  assert.throws(() => AuditLog.open(link), new RegExp(`${link} is a symbolic link`));
  const dangling = join(d, 'dangling.log');
  symlinkSync(join(d, 'target.log'), dangling);
  assert.throws(() => AuditLog.open(dangling), /is a symbolic link/);
  assert.equal(existsSync(join(d, 'target.log')), false, 'the open followed a dangling symbolic link');

  assert.throws(() => AuditLog.open(d), /is not a regular file/);
  const fifo = join(d, 'fifo.log');
  execFileSync('mkfifo', ['-m', '600', fifo]);
  const start = Date.now();
  assert.throws(() => AuditLog.open(fifo), /is not a regular file/);
  assert.ok(Date.now() - start < 1000, 'opening a FIFO blocked');

  const linked = join(d, 'linked.log');
  linkSync(good, linked);
  assert.throws(() => AuditLog.open(linked), /has 2 hard links/);

  assert.throws(() => AuditLog.open(join(d, 'missing', 'audit.log')), new RegExp(`the directory ${join(d, 'missing')} does not exist`));
  assert.throws(() => AuditLog.open('audit.log'), /audit\.log: must be an absolute path/);
  assert.throws(() => AuditLog.open(join(d, 'x.log'), { maxBytes: 0 }), /maxBytes must be a positive integer/);
  assert.throws(() => AuditLog.open(join(d, 'x.log'), { keep: 0 }), /keep must be a positive integer/);
  assert.equal(existsSync(join(d, 'x.log')), false);
});

test("a file not owned by the server's user is refused", { skip: process.geteuid?.() !== 0 && 'needs root to chown' }, () => {
  const path = join(subdir(), 'other.log');
  writeFileSync(path, '', { mode: 0o600 });
  chownSync(path, 65534, 65534);
  assert.throws(() => AuditLog.open(path), /owned by uid 65534, not by the server's uid 0/);
});

test('each write is one line that parses back to the record', () => {
  const path = join(subdir(), 'audit.log');
  const audit = AuditLog.open(path);
  const records: AuditRecord[] = [
    record(1),
    record(2, 10),
    { ...record(3), event: 'session_end', tool: undefined, arguments: undefined, released: { programs: [4, 5], maps: [6], links: [7, null] } },
    { ...record(4), arguments: { text: 'two\nlines\u2028and "quotes"' } },
  ];
  for (const r of records) audit.write(r);
  audit.close();
  const text = readFileSync(path, 'utf8');
  assert.equal(text.split('\n').length, records.length + 1);
  const third = { ...records[2] } as Partial<AuditRecord>;
  delete third.tool;
  delete third.arguments;
  assert.deepEqual(readRecords(path), [records[0], records[1], third, records[3]]);
  assert.equal(audit.lost, 0);
});

/** The files a run of writes of `lines` should leave with maxBytes `max`: each file as its lines, oldest first. */
function expectedFiles(lines: string[], max: number): string[][] {
  const files: string[][] = [[]];
  let size = 0;
  for (const line of lines) {
    if (size > 0 && size + Buffer.byteLength(line) > max) {
      files.push([]);
      size = 0;
    }
    (files.at(-1) as string[]).push(line);
    size += Buffer.byteLength(line);
  }
  return files;
}

test('rotation at 1000 bytes keeping 2: FILE, FILE.1, FILE.2, each line whole in exactly one, all 0600', () => {
  const d = subdir();
  const path = join(d, 'audit.log');
  const audit = AuditLog.open(path, { maxBytes: 1000, keep: 2 });
  const written: AuditRecord[] = [];
  const check = () => {
    const files = expectedFiles(written.map(lineOf), 1000).slice(-3);
    const names = ['audit.log.2', 'audit.log.1', 'audit.log'].slice(3 - files.length);
    assert.deepEqual(readdirSync(d).sort(), [...names].sort());
    for (const [i, name] of names.entries()) {
      const p = join(d, name);
      assert.deepEqual(readRecords(p).map(lineOf), files[i], name);
      assert.ok(statSync(p).size <= 1000, `${name} is over 1000 bytes`);
      assert.equal(mode(p), 0o600, name);
    }
    return files.flat().length;
  };
  try {
    const next = () => record(written.length, (written.length % 3) * 40);
    withUmask(0, () => {
      while (expectedFiles([...written, next()].map(lineOf), 1000).length <= 3) {
        written.push(next());
        audit.write(written.at(-1) as AuditRecord);
      }
    });
    assert.ok(written.length >= 6, `only ${written.length} records fill 3 files`);
    assert.equal(check(), written.length, 'a line was lost before any file was dropped');
    withUmask(0o777, () => {
      while (written.length < 40) {
        written.push(next());
        audit.write(written.at(-1) as AuditRecord);
      }
    });
    const kept = check();
    assert.deepEqual(
      [...readRecords(join(d, 'audit.log.2')), ...readRecords(join(d, 'audit.log.1')), ...readRecords(path)],
      written.slice(written.length - kept),
      'the kept lines are not the newest, in order',
    );
    assert.equal(existsSync(`${path}.3`), false);
    assert.equal(audit.lost, 0);
  } finally {
    audit.close();
  }
});

test('a line longer than maxBytes goes whole into a fresh file, and the next line into another', () => {
  const d = subdir();
  const path = join(d, 'audit.log');
  const audit = AuditLog.open(path, { maxBytes: 1000, keep: 3 });
  const small = record(1);
  const big = record(2, 3000);
  audit.write(big);
  assert.deepEqual(readdirSync(d), ['audit.log'], 'an empty file was rotated');
  audit.write(small);
  audit.write(big);
  audit.write(small);
  audit.close();
  assert.deepEqual(readRecords(`${path}.3`), [big]);
  assert.deepEqual(readRecords(`${path}.2`), [small]);
  assert.deepEqual(readRecords(`${path}.1`), [big]);
  assert.deepEqual(readRecords(path), [small]);
  assert.deepEqual(readdirSync(d).sort(), ['audit.log', 'audit.log.1', 'audit.log.2', 'audit.log.3']);
});

test('an existing file near maxBytes is rotated before the first line would pass it', () => {
  const path = join(subdir(), 'audit.log');
  const old = lineOf(record(1)).repeat(3);
  writeFileSync(path, old, { mode: 0o600 });
  const audit = AuditLog.open(path, { maxBytes: Buffer.byteLength(old) + 10 });
  audit.write(record(2));
  audit.close();
  assert.equal(readFileSync(`${path}.1`, 'utf8'), old);
  assert.deepEqual(readRecords(path), [record(2)]);
  assert.equal(mode(path), 0o600);
});

test('a log file removed while open is created again, 0600, and nothing is lost', () => {
  const path = join(subdir(), 'audit.log');
  const audit = AuditLog.open(path);
  try {
    audit.write(record(1));
    unlinkSync(path);
    const err = stderrOf(() => withUmask(0, () => audit.write(record(2))));
    assert.equal(err.length, 1);
    assert.match(err[0] as string, / warn audit log: the file was removed; creating it again/);
    assert.deepEqual(readRecords(path), [record(2)]);
    assert.equal(mode(path), 0o600);
    assert.equal(audit.lost, 0);
  } finally {
    audit.close();
  }
});

test('writes after the directory is removed do not throw: they are counted lost and logged once per error', () => {
  const d = subdir();
  const path = join(d, 'audit.log');
  const audit = AuditLog.open(path, { maxBytes: 1000 });
  try {
    audit.write(record(1));
    rmSync(d, { recursive: true });
    const err = stderrOf(() => {
      for (let i = 2; i < 12; i++) audit.write(record(i));
    });
    assert.equal(audit.lost, 10);
    const errors = err.filter((l) => / error audit log:/.test(l));
    assert.equal(errors.length, 1, err.join(''));
    assert.match(errors[0] as string, /a line could not be written and is lost .*"code":"ENOENT"/);
    assert.equal(existsSync(d), false, 'the directory was created again');
  } finally {
    audit.close();
  }
});

const hasPrlimit = (() => {
  try {
    execFileSync('prlimit', ['--version']);
    return true;
  } catch {
    return false;
  }
})();

test('a write that fills the file up leaves no partial line: the file is cut back and the line counted lost', { skip: !hasPrlimit && 'needs prlimit' }, () => {
  const path = join(subdir(), 'audit.log');
  const module = new URL('../../src/policy/audit-log.js', import.meta.url).href;
  const script = `
    const { AuditLog } = await import(${JSON.stringify(module)});
    const audit = AuditLog.open(${JSON.stringify(path)});
    const records = ${JSON.stringify(Array.from({ length: 20 }, (_, i) => record(i, 200)))};
    for (const r of records) audit.write(r);
    process.stdout.write(String(audit.lost));`;
  // The file size limit stands in for a full disk; SIGXFSZ ignored, a write past it fails with EFBIG.
  const out = spawnSync('sh', ['-c', `trap '' XFSZ; exec prlimit --fsize=2000 "$0" --input-type=module -e "$1"`, process.execPath, script], { encoding: 'utf8' });
  assert.equal(out.status, 0, out.stderr);
  const kept = readRecords(path);
  assert.ok(kept.length >= 2 && kept.length < 20, `${kept.length} lines kept`);
  assert.deepEqual(kept, Array.from({ length: kept.length }, (_, i) => record(i, 200)));
  assert.equal(statSync(path).size, kept.map(lineOf).join('').length);
  assert.equal(Number(out.stdout), 20 - kept.length);
  const errors = out.stderr.split('\n').filter((l) => / error audit log:/.test(l));
  assert.equal(errors.length, 1, out.stderr);
  assert.match(errors[0] as string, /"code":"EFBIG"/);
});

test('writes after close do not throw and are counted lost', () => {
  const path = join(subdir(), 'audit.log');
  const audit = AuditLog.open(path);
  audit.write(record(1));
  audit.close();
  audit.close();
  const err = stderrOf(() => {
    audit.write(record(2));
    audit.write(record(3));
  });
  assert.equal(audit.lost, 2);
  assert.equal(err.length, 1);
  assert.match(err[0] as string, /"code":"ECLOSED"/);
  assert.deepEqual(readRecords(path), [record(1)]);
});

test('auditArguments keeps the sha256 and size of an inline object instead of its base64, and its checksum', () => {
  const bytes = Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46]), Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 37) & 0xff))]);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const blob = bytes.toString('base64');
  const checksum = `sha256:${sha256}`;
  assert.deepEqual(auditArguments({ source: { type: 'data', blob, checksum }, programs: ['a', 'b'] }), {
    source: { type: 'data', blob_sha256: sha256, blob_bytes: 5004, checksum },
    programs: ['a', 'b'],
  });
  const wrapped = blob.replace(/.{76}/g, '$&\n');
  assert.deepEqual(auditArguments({ source: { type: 'data', blob: wrapped } }), { source: { type: 'data', blob_sha256: sha256, blob_bytes: 5004 } });
  assert.deepEqual(auditArguments([{ type: 'data', blob: 'AAEC' }]), [
    { type: 'data', blob_sha256: createHash('sha256').update(Buffer.from([0, 1, 2])).digest('hex'), blob_bytes: 3 },
  ]);
  assert.deepEqual(auditArguments({ source: { type: 'file', path: '/opt/x.bpf.o', checksum } }), { source: { type: 'file', path: '/opt/x.bpf.o', checksum } });
  assert.deepEqual(auditArguments({ type: 'data', blob: 7 }), { type: 'data', blob: 7 });
});

test('auditArguments cuts long strings and keys to 256 characters, marking how many more there were', () => {
  const long = 'a'.repeat(10_000);
  assert.deepEqual(auditArguments({ s: long, ok: 'b'.repeat(256) }), { s: 'a'.repeat(256) + '…[9744 more chars]', ok: 'b'.repeat(256) });
  assert.deepEqual(auditArguments({ [long]: 1 }), { ['a'.repeat(256) + '…[9744 more chars]']: 1 });
  const emoji = 'a'.repeat(255) + '😀'.repeat(10);
  assert.equal(auditArguments(emoji), 'a'.repeat(255) + '…[20 more chars]', 'a surrogate pair was split');
});

test('auditArguments bounds arrays and objects to 64 items, nesting to 8 levels and the whole to about 32 KiB', () => {
  const items = Array.from({ length: 10_000 }, (_, i) => i);
  assert.deepEqual(auditArguments({ items }), { items: [...items.slice(0, 64), '…[9936 more items]'] });
  const keys = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`k${i}`, i]));
  assert.deepEqual(auditArguments(keys), { ...Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`k${i}`, i])), '…': '…[36 more keys]' });

  let deep: unknown = 'bottom';
  for (let i = 0; i < 10_000; i++) deep = i % 2 ? { a: deep } : [deep];
  let expected: unknown = '…[nested deeper than 8 levels]';
  let v = deep;
  const levels: unknown[] = [];
  for (let i = 0; i < 8; i++) {
    levels.push(v);
    v = Array.isArray(v) ? v[0] : (v as { a: unknown }).a;
  }
  for (const level of levels.reverse()) expected = Array.isArray(level) ? [expected] : { a: expected };
  assert.deepEqual(auditArguments(deep), expected);

  const cycle: Record<string, unknown> = { name: 'c' };
  cycle.self = cycle;
  let c = auditArguments(cycle) as Record<string, unknown>;
  for (let i = 1; i < 8; i++) {
    assert.equal(c.name, 'c');
    c = c.self as Record<string, unknown>;
  }
  assert.deepEqual(c, { name: 'c', self: '…[nested deeper than 8 levels]' });

  const wide = Object.fromEntries(Array.from({ length: 64 }, (_, k) => [`k${k}`, Array.from({ length: 64 }, () => 'z'.repeat(1000))]));
  const json = JSON.stringify(auditArguments(wide));
  assert.ok(json.length > 30_000 && json.length < 34_000, `${json.length} characters`);
  assert.match(json, /…\[\d+ more items\]/);
  assert.match(json, /"…":"…\[\d+ more keys\]"/);
});

test('auditArguments drops or stringifies what JSON cannot hold, and never throws', () => {
  const input = { u: undefined, f: () => 1, sym: Symbol('s'), big: 12345678901234567890n, nan: NaN, inf: -Infinity, list: [undefined, () => 1, 1n], n: null, t: true };
  assert.deepEqual(auditArguments(input), { big: '12345678901234567890', nan: null, inf: null, list: [null, null, '1'], n: null, t: true });
  assert.equal(auditArguments(undefined), undefined);
  assert.equal(auditArguments(42), 42);

  const hostile = new Proxy({}, { ownKeys: () => { throw new Error('no keys'); } });
  assert.deepEqual(auditArguments({ hostile }), { hostile: '…[unreadable]' });
  const getter = Object.defineProperty({ ok: 1 }, 'bad', { enumerable: true, get: () => { throw new Error('no'); } });
  assert.deepEqual(auditArguments(getter), { ok: 1, bad: '…[unreadable]' });
  const sneaky = new Proxy({}, { get: () => { throw new Error('no'); }, has: () => { throw new Error('no'); } });
  assert.deepEqual(auditArguments([sneaky]), ['…[unreadable]']);

  const proto = auditArguments(JSON.parse('{"__proto__": {"polluted": 1}}')) as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(proto), Object.prototype);
  assert.equal(JSON.stringify(proto), '{"__proto__":{"polluted":1}}');
});
