import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { arch } from 'node:process';
import { describe, it } from 'node:test';
import { errnoName, familyName, openFlagNames, signalName, syscallName } from '../../src/btf/abi-names.js';
import { type JsonSchema, compileDecoder, compileRenderer, elfSection, parseBtf, schemaFor } from '../../src/btf/index.js';
import { NAME_RULES, recognize } from '../../src/btf/recognize.js';
import { durationText, ipv4Text, ipv6Text } from '../../src/btf/value-text.js';
import { Pipeline } from '../../src/stream/pipeline.js';
import { RecordType } from '../../src/stream/record-type.js';
import { catalogObject } from '../helpers/fixtures.js';
import { BtfBuilder, RecordWriter, schemaViolation } from './btf-builder.js';

/** getpid's number on this architecture (the generated table is checked against it). */
const GETPID = ({ x64: 39, arm64: 172 } as Record<string, number>)[arch];

const O_CLOEXEC = 0o2000000;

/** A little BTF with the usual integer types; `add` declares the record and returns its id. */
function build(add: (b: BtfBuilder, t: { u8: number; u16: number; u32: number; s32: number; s64: number; u64: number }) => number) {
  const b = new BtfBuilder();
  const t = { u8: b.int('unsigned char', 1), u16: b.int('unsigned short', 2), u32: b.int('unsigned int', 4), s32: b.int('int', 4, { signed: true }), s64: b.int('long', 8, { signed: true }), u64: b.int('unsigned long long', 8) };
  const id = add(b, t);
  const btf = parseBtf(b.build());
  const decode = compileDecoder(btf, id);
  const render = compileRenderer(btf, id);
  return {
    btf,
    id,
    render,
    /** The record's bytes decoded, then rendered. */
    read: (bytes: Uint8Array) => (render ? render(decode(bytes), bytes) : decode(bytes)) as Record<string, unknown>,
    schema: () => (render ? render.schema(schemaFor(btf, id)) : schemaFor(btf, id)) as JsonSchema,
  };
}

describe('value renderers', () => {
  it('IPv4 and IPv6 addresses as text (RFC 5952 for IPv6)', () => {
    assert.equal(ipv4Text(Uint8Array.of(9, 127, 0, 0, 1), 1), '127.0.0.1');
    const v6 = (hex: string) => ipv6Text(Buffer.from(hex, 'hex'), 0);
    assert.equal(v6('00000000000000000000000000000001'), '::1');
    assert.equal(v6('00000000000000000000000000000000'), '::');
    assert.equal(v6('20010db8000000000000000000000001'), '2001:db8::1');
    assert.equal(v6('00010000000000010000000000000001'), '1:0:0:1::1', 'the longest zero run is compressed');
    assert.equal(v6('20010db8000100000001000100010001'), '2001:db8:1:0:1:1:1:1', 'a single zero group is not');
    assert.equal(v6('00000000000000000000ffff7f000001'), '::ffff:127.0.0.1');
  });

  it('durations with a unit and three significant digits', () => {
    assert.equal(durationText(1234567), '1.23 ms');
    assert.equal(durationText(999), '999 ns');
    assert.equal(durationText(1500), '1.50 us');
    assert.equal(durationText(12e9), '12.0 s');
    assert.equal(durationText(250e6), '250 ms');
  });

  it('errno values, signals and address families by name', () => {
    assert.equal(errnoName(2), 'ENOENT');
    assert.equal(errnoName(13), 'EACCES');
    assert.equal(signalName(9), 'SIGKILL');
    assert.equal(signalName(15), 'SIGTERM');
    assert.equal(familyName(2), 'AF_INET');
    assert.equal(familyName(10), 'AF_INET6');
    assert.equal(familyName(1), 'AF_UNIX');
    assert.equal(familyName(999), undefined);
  });

  it('open flags as names, access mode first, composite flags whole, unknown bits in hex', () => {
    assert.equal(openFlagNames(O_CLOEXEC), 'O_RDONLY|O_CLOEXEC');
    assert.equal(openFlagNames(0o1 | 0o100 | 0o1000), 'O_WRONLY|O_CREAT|O_TRUNC');
    assert.equal(openFlagNames(0o2 | 0o4010000), 'O_RDWR|O_SYNC', 'O_SYNC includes O_DSYNC: one name');
    assert.equal(openFlagNames(0o2 | 0o10000), 'O_RDWR|O_DSYNC');
    assert.equal(openFlagNames(0x80000000 | O_CLOEXEC), 'O_RDONLY|O_CLOEXEC|0x80000000');
  });

  it('syscall ids as names from the table generated for this architecture', { skip: GETPID === undefined && `no known getpid number for ${arch}` }, () => {
    assert.equal(syscallName(GETPID!), 'getpid');
    assert.equal(syscallName(0x7fffffff), undefined);
  });
});

describe('recognition rules', () => {
  it('a decl tag wins over the name', () => {
    const r = build((b, t) => {
      const s = b.struct('open_event', 8, [['flags', t.u32, 0], ['sport', t.s32, 32]]);
      b.declTag('syscall', s, 0);
      b.declTag('errno', s, 1);
      return s;
    });
    const bytes = new RecordWriter(8).u32(0, GETPID ?? 39).u32(4, -2).bytes;
    const got = r.read(bytes);
    assert.equal(got.flags, GETPID === undefined ? 39 : 'getpid', 'tagged syscall, although an open record names it flags');
    assert.equal(got.sport, '-ENOENT', 'tagged errno, although named like a port');
  });

  it('an address by name needs a family field beside it; with one, 16 bytes read by the family', () => {
    const lone = build((b, t) => b.struct('conn', 4, [['saddr', b.array(t.u8, 4), 0]]));
    const addr = Uint8Array.of(127, 0, 0, 1);
    assert.deepEqual(lone.read(addr).saddr, [127, 0, 0, 1], 'no family field: left as decoded');
    const paired = build((b, t) => b.struct('conn', 36, [['family', t.u16, 0], ['saddr', b.array(t.u8, 16), 32], ['daddr', b.array(t.u8, 16), 160]]));
    const w = new RecordWriter(36).u16(0, 2);
    w.bytes.set([127, 0, 0, 1], 4);
    w.bytes.set([10, 1, 2, 3], 20);
    assert.deepEqual(paired.read(w.bytes), { family: 'AF_INET', saddr: '127.0.0.1', daddr: '10.1.2.3' });
    const v6 = new RecordWriter(36).u16(0, 10).u8(19, 1).u8(35, 1);
    assert.deepEqual(paired.read(v6.bytes), { family: 'AF_INET6', saddr: '::1', daddr: '::1' });
    assert.equal(recognize({ name: 'saddr', tags: [], typeNames: [], shape: 'bytes', size: 16, record: 'x', siblings: [] }), undefined);
  });

  it('struct in6_addr and in_addr by type, __be16 ports swapped to host order, host-order ports kept', () => {
    const r = build((b, t) => {
      const in6 = b.struct('in6_addr', 16, [['u6_addr8', b.array(t.u8, 16), 0]]);
      const be16 = b.typedef('__be16', b.typedef('__u16', t.u16));
      const inAddr = b.struct('in_addr', 4, [['s_addr', t.u32, 0]]);
      return b.struct('sockaddr_in6ish', 28, [['sin6_port', be16, 0], ['lport', t.u16, 16], ['a6', in6, 32], ['a4', inAddr, 160]]);
    });
    const w = new RecordWriter(28).u8(0, 0x1f).u8(1, 0x90).u16(2, 443).u8(19, 1);
    w.bytes.set([192, 168, 0, 1], 20);
    assert.deepEqual(r.read(w.bytes), { sin6_port: 8080, lport: 443, a6: '::1', a4: '192.168.0.1' });
  });

  it('padding is hidden: pad, __pad*, _pad* and unnamed members', () => {
    const r = build((b, t) => b.struct('ev', 16, [['pid', t.u32, 0], ['pad', t.u32, 32], ['__pad1', t.u16, 64], ['_pad_x', t.u8, 80], ['', t.u8, 88], ['padding_ok', t.u32, 96]]));
    assert.deepEqual(Object.keys(r.read(new Uint8Array(16))), ['pid', 'padding_ok']);
    const s = r.schema();
    assert.deepEqual(Object.keys(s.properties ?? {}), ['pid', 'padding_ok']);
    assert.deepEqual(s.required, ['pid', 'padding_ok']);
  });

  it('errno and a syscall-exit return value by name; a return value elsewhere is left alone', () => {
    const exit = build((b, t) => b.struct('sys_exit_event', 12, [['ret', t.s64, 0], ['errno', t.s32, 64]]));
    const bytes = (ret: bigint, errno: number) => new RecordWriter(12).u64(0, ret).u32(8, errno).bytes;
    assert.deepEqual(exit.read(bytes(-2n, 13)), { ret: '-ENOENT', errno: 'EACCES' });
    assert.deepEqual(exit.read(bytes(5n, 0)), { ret: 5, errno: 0 }, 'a count and no error stay numbers');
    const other = build((b, t) => b.struct('lookup', 8, [['ret', t.s64, 0]]));
    assert.deepEqual(other.read(new RecordWriter(8).u64(0, -2n).bytes), { ret: -2 });
  });

  it('signals, open flags in an open record, syscall ids in a syscall record', () => {
    const sig = build((b, t) => b.struct('kill_event', 4, [['sig', t.s32, 0]]));
    assert.deepEqual(sig.read(new RecordWriter(4).u32(0, 9).bytes), { sig: 'SIGKILL' });
    const open = build((b, t) => b.struct('ev', 20, [['flags', t.s32, 0], ['filename', b.array(t.u8, 16), 32]]));
    assert.deepEqual(open.read(new RecordWriter(20).u32(0, O_CLOEXEC).text(4, '/etc').bytes), { flags: 'O_RDONLY|O_CLOEXEC', filename: '/etc' });
    const notOpen = build((b, t) => b.struct('ev', 4, [['flags', t.s32, 0]]));
    assert.deepEqual(notOpen.read(new RecordWriter(4).u32(0, O_CLOEXEC).bytes), { flags: O_CLOEXEC }, 'flags of an unknown record are not open flags');
    if (GETPID !== undefined) {
      const sys = build((b, t) => b.struct('syscall_event', 4, [['id', t.u32, 0]]));
      assert.deepEqual(sys.read(new RecordWriter(4).u32(0, GETPID).bytes), { id: 'getpid' });
    }
  });

  it('durations keep their number and gain a readable twin; timestamps do not', () => {
    const r = build((b, t) => b.struct('ev', 24, [['latency_ns', t.u64, 0], ['ts_ns', t.u64, 64], ['wait_us', t.u64, 128]]));
    const w = new RecordWriter(24).u64(0, 1234567n).u64(8, 5n).u64(16, 2500n);
    assert.deepEqual(r.read(w.bytes), { latency_ns: 1234567, latency: '1.23 ms', ts_ns: 5, wait_us: 2500, wait: '2.50 ms' });
  });

  it('a tagged typedef renders a whole value (a map key)', () => {
    const r = build((b, t) => {
      const id = b.typedef('syscall_id', t.u32);
      b.declTag('syscall', id, -1);
      return id;
    });
    if (GETPID !== undefined) assert.equal(r.render?.(GETPID, new Uint8Array(4)), 'getpid');
    assert.deepEqual(r.btf.declTags(r.id), ['syscall']);
  });

  it('the schema says how each field is rendered, and rendered records conform to it', () => {
    const r = build((b, t) => {
      const s = b.struct('tcp_event', 44, [['family', t.u16, 0], ['sport', t.u16, 16], ['pad', t.u32, 32], ['saddr', b.array(t.u8, 16), 64], ['ret', t.s32, 192], ['delta_ns', t.u64, 256], ['v4', b.array(t.u8, 4), 320]]);
      b.declTag('errno', s, 4);
      b.declTag('ipv4', s, 6);
      return s;
    });
    const s = r.schema();
    const p = s.properties ?? {};
    assert.deepEqual(Object.keys(p), ['family', 'sport', 'saddr', 'ret', 'delta_ns', 'delta', 'v4']);
    assert.equal(p.family?.['x-render'], 'family');
    assert.equal(p.sport?.['x-render'], 'port');
    assert.equal(p.saddr?.['x-render'], 'ip');
    assert.equal(p.ret?.['x-render'], 'errno');
    assert.equal(p.delta_ns?.['x-render'], 'duration_ns');
    assert.equal(p.delta?.['x-render'], 'duration');
    assert.equal(p.v4?.format, 'ipv4');
    const w = new RecordWriter(44).u16(0, 2).u16(2, 80).u32(24, -1).u64(32, 1000n);
    w.bytes.set([1, 2, 3, 4], 8);
    w.bytes.set([8, 8, 8, 8], 40);
    const got = r.read(w.bytes);
    assert.deepEqual(got, { family: 'AF_INET', sport: 80, saddr: '1.2.3.4', ret: '-EPERM', delta_ns: 1000, delta: '1.00 us', v4: '8.8.8.8' });
    assert.equal(schemaViolation(s, got), undefined);
  });

  it('a record with nothing to render has no renderer', () => {
    const r = build((b, t) => b.struct('plain', 8, [['pid', t.u32, 0], ['count', t.u32, 32]]));
    assert.equal(r.render, undefined);
  });

  it('every fallback rule names a rendering recognize() can return', () => {
    const kinds = new Set(NAME_RULES.map((rule) => rule.render));
    assert.ok(kinds.has('hidden') && kinds.has('ip') && kinds.has('syscall') && kinds.size >= 12);
  });
});

describe('the pipeline renders json, and json-raw keeps the decoder values', () => {
  const b = new BtfBuilder();
  const u16 = b.int('unsigned short', 2);
  const u8 = b.int('unsigned char', 1);
  b.struct('conn_event', 20, [['family', u16, 0], ['pad', u16, 16], ['saddr', b.array(u8, 16), 32]]);
  const btf = parseBtf(b.build());
  const record = new RecordWriter(20).u16(0, 2);
  record.bytes.set([127, 0, 0, 1], 4);

  const run = (format: 'json' | 'json-raw') => {
    const recordType = new RecordType(btf, 'conn_event', format === 'json');
    const p = new Pipeline({ recordType, filters: {}, format, maxEvents: 10 });
    p.push(record.bytes, 0, 20, null, 0);
    return { data: p.events[0]?.data, schema: recordType.schema() as JsonSchema };
  };

  it('json: rendered values and schema', () => {
    const { data, schema } = run('json');
    assert.deepEqual(data, { family: 'AF_INET', saddr: '127.0.0.1' });
    assert.equal(schema.properties?.saddr?.['x-render'], 'ip');
  });

  it('json-raw: the decoder output and its schema', () => {
    const { data, schema } = run('json-raw');
    assert.deepEqual(data, { family: 2, pad: 0, saddr: [127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0] });
    assert.equal(schema.properties?.saddr?.['x-render'], undefined);
    assert.ok(schema.properties?.pad);
  });
});

describe("the catalog's btf_decl_tags reach its objects' BTF", () => {
  const btfOf = (name: string) => parseBtf(elfSection(readFileSync(catalogObject(name)), '.BTF') as Uint8Array);

  it('tcp_states: family, ports, addresses and padding tagged on struct tcp_state_event', () => {
    const btf = btfOf('tcp_states');
    const ev = btf.findByName('tcp_state_event', 'struct')!;
    const tags = Object.fromEntries(ev.members.map((m, i) => [m.name, btf.declTags(ev.id, i)]));
    assert.deepEqual(tags, { pid: [], family: ['family'], sport: ['port'], dport: ['port'], pad: ['hidden'], oldstate: [], newstate: [], saddr: ['ip'], daddr: ['ip'], comm: [] });
    const props = compileRenderer(btf, ev.id)!.schema(schemaFor(btf, ev.id)).properties ?? {};
    assert.deepEqual(Object.entries(props).map(([k, v]) => [k, v['x-render'] ?? null]), [
      ['pid', null], ['family', 'family'], ['sport', 'port'], ['dport', 'port'], ['oldstate', null], ['newstate', null], ['saddr', 'ip'], ['daddr', 'ip'], ['comm', null],
    ]);
  });

  it('syscall_counts: the key typedef is tagged syscall', () => {
    const btf = btfOf('syscall_counts');
    const key = btf.findByName('syscall_id', 'typedef')!;
    assert.deepEqual(btf.declTags(key.id), ['syscall']);
    if (GETPID !== undefined) assert.equal(compileRenderer(btf, key.id)?.(GETPID, new Uint8Array(4)), 'getpid');
  });
});
