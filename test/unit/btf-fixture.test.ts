import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { compileDecoder, elfSection, parseBtf, schemaFor } from '../../src/btf/index.js';
import { RecordWriter, schemaViolation } from './btf-builder.js';

// dist/test/unit/ → repository root.
const objectPath = fileURLToPath(new URL('../../../bpf/.output/fixtures/btf_kinds.bpf.o', import.meta.url));
const skip = existsSync(objectPath) ? false : `${objectPath} is not built (make bpf/.output/fixtures/btf_kinds.bpf.o)`;

describe('BTF of the compiled fixture bpf/fixtures/btf_kinds.bpf.c', { skip }, () => {
  const load = () => {
    const btf = parseBtf(elfSection(readFileSync(objectPath), '.BTF')!);
    const event = btf.findByName('btf_fixture_event', 'struct');
    assert.ok(event, 'struct btf_fixture_event is in .BTF');
    return { btf, event };
  };

  it('has the members, offsets and sizes of the C source', () => {
    const { btf, event } = load();
    assert.equal(event.size, 112);
    const layout = event.members.map((m) => [m.name, m.bitOffset, m.bitfieldSize, btf.format(m.type), m.bitfieldSize ? null : btf.sizeof(m.type)]);
    assert.deepEqual(layout, [
      ['pid', 0, 0, '__u32', 4],
      ['delta', 32, 0, '__s16', 2],
      ['flags', 48, 3, '__u8', null],
      ['level', 51, 5, '__u8', null],
      ['ts', 64, 0, '__u64', 8],
      ['comm', 128, 0, 'char[16]', 16],
      ['state', 256, 0, 'enum btf_fixture_state', 4],
      ['word', 288, 0, 'union (anon)', 4],
      ['origin', 320, 0, 'struct btf_fixture_point', 8],
      ['path', 384, 0, 'struct btf_fixture_point[3]', 24],
      ['name', 576, 0, 'const char *', 8],
      ['ratio', 640, 0, 'float', 4],
      ['mean', 704, 0, 'double', 8],
      ['', 768, 0, 'union (anon)', 8],
      ['opaque', 832, 0, 'struct btf_fixture_opaque *', 8],
    ]);
  });

  it('has the kinds clang emits for them', () => {
    const { btf, event } = load();
    const member = (name: string) => event.members.find((m) => m.name === name)!;
    const namePtr = btf.type(member('name').type);
    assert.equal(namePtr.kind, 'ptr');
    const tag = namePtr.kind === 'ptr' ? btf.type(namePtr.type) : undefined;
    assert.deepEqual(tag && { kind: tag.kind, name: tag.name }, { kind: 'type_tag', name: 'user' });
    const opaque = btf.type(member('opaque').type);
    assert.equal(opaque.kind === 'ptr' && btf.type(opaque.type).kind, 'fwd');
    const decl = btf.findByName('fixture_mean', 'decl_tag');
    assert.deepEqual(decl && [decl.type, decl.componentIdx], [event.id, 12]);
    assert.deepEqual(btf.enumValues(member('state').type).map((v) => v.name), ['BTF_FIXTURE_IDLE', 'BTF_FIXTURE_RUNNING', 'BTF_FIXTURE_DEAD']);
    assert.equal(btf.findByName('btf_fixture_fill', 'func')?.linkage, 'global');
    assert.equal(btf.findByName('.maps', 'datasec')?.vars.length, 1);
  });

  it('decodes a record laid out as the C compiler lays it out', () => {
    const { btf, event } = load();
    const rec = new RecordWriter(112)
      .u32(0, 4242).u16(4, -7).u8(6, 5 | (17 << 3)).u64(8, 2n ** 63n + 5n).text(16, 'bash')
      .u32(32, -1).u16(36, 1).u16(38, 2).u32(40, -1).u32(44, 2)
      .u32(48, 10).u32(52, 11).u32(56, 20).u32(60, 21).u32(64, 30).u32(68, 31)
      .u64(72, 0xffff888000001000n).f32(80, 0.5).f64(88, 3.25).u64(96, 2n ** 64n - 1n);
    const decode = compileDecoder(btf, event.id);
    assert.deepEqual(decode(rec.bytes), {
      pid: 4242,
      delta: -7,
      flags: 5,
      level: 17,
      ts: '9223372036854775813',
      comm: 'bash',
      state: 'BTF_FIXTURE_DEAD',
      word: { raw: 0x00020001, parts: { lo: 1, hi: 2 } },
      origin: { x: -1, y: 2 },
      path: [{ x: 10, y: 11 }, { x: 20, y: 21 }, { x: 30, y: 31 }],
      name: '0xffff888000001000',
      ratio: 0.5,
      mean: 3.25,
      cookie: '18446744073709551615',
      signed_cookie: -1,
      opaque: '0x0',
    });
  });

  it('has a schema that every decoded record satisfies', () => {
    const { btf, event } = load();
    const schema = schemaFor(btf, event.id);
    const decode = compileDecoder(btf, event.id);
    const bytes = new Uint8Array(112);
    for (let i = 0; i < 200; i++) {
      for (let j = 0; j < bytes.length; j++) bytes[j] = (i * 131 + j * 17 + (i * j) % 251) & 0xff;
      if (i % 2) bytes.set(new TextEncoder().encode('comm\0'), 16);
      const value = decode(bytes);
      assert.equal(schemaViolation(schema, value), undefined, JSON.stringify(value));
    }
    assert.deepEqual(Object.keys(schema.properties!), Object.keys(decode(bytes) as object));
  });
});
