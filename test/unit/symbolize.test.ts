/**
 * Symbolization without the kernel: mangled names made readable (checked
 * against c++filt's output, parameter lists left out), kallsyms text parsed
 * and looked up, an ELF binary's functions, segments and build id, and a
 * process's mappings.
 */
import assert from 'node:assert/strict';
import { readFileSync, realpathSync } from 'node:fs';
import { test } from 'node:test';
import { elfImage } from '../../src/obj/elf-symbols.js';
import { demangle } from '../../src/symbolize/demangle.js';
import { KernelSymbols } from '../../src/symbolize/kallsyms.js';
import { mappingAt, processMaps } from '../../src/symbolize/process-maps.js';

test('C++ names demangle to their qualified names with template arguments; Rust legacy names lose their hash', () => {
  const cases: [string, string][] = [
    ['_ZNSt6vectorIiSaIiEE9push_backERKi', 'std::vector<int, std::allocator<int> >::push_back'],
    ['_ZN3foo3barEv', 'foo::bar'],
    ['_Z3maxIiET_S0_S0_', 'max<int>'],
    ['_ZN3FooC2Ev', 'Foo::Foo'],
    ['_ZN3FooD1Ev', 'Foo::~Foo'],
    ['_ZN3FoopLERKS_', 'Foo::operator+='],
    ['_ZN12_GLOBAL__N_14funcEv', '(anonymous namespace)::func'],
    ['_ZZ4mainENKUlvE_clEv', 'main::{lambda#1}::operator()'],
    ['_ZNK3Foo3getEv', 'Foo::get'],
    ['_ZN5outer5innerIJidEE3runEv', 'outer::inner<int, double>::run'],
    ['_ZNSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEE6appendEPKc', 'std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> >::append'],
    ['_ZN3foo3barEv.cold', 'foo::bar'],
    ['_ZN4core3fmt5write17h0123456789abcdefE', 'core::fmt::write'],
    ['_ZN4core3ptr42drop_in_place$LT$alloc..string..String$GT$17h0123456789abcdefE', 'core::ptr::drop_in_place<alloc::string::String>'],
  ];
  for (const [mangled, readable] of cases) assert.equal(demangle(mangled), readable, mangled);
  // What is not mangled, or not understood, stays as it is.
  for (const name of ['main', 'ebpf_mcp_hot_function', '_Zfoo', '_ZN3foo', '_RNvCs1234_7mycrate4main', '_Z']) assert.equal(demangle(name), name);
});

test('kallsyms: text symbols only, sorted when modules and BPF programs come out of order, looked up with their offsets', () => {
  const text = [
    'ffffffff81000000 T _stext',
    'ffffffff81000100 t helper',
    'ffffffff81800000 D some_data',
    'ffffffffc0002000 t bpf_prog_0123456789abcdef_handler\t[bpf]',
    'ffffffffc0001000 t mod_fn\t[some_module]',
    'ffffffff81000200 W weak_fn',
    '',
  ].join('\n');
  const k = KernelSymbols.parse(text);
  assert.equal(k.hidden, false);
  assert.deepEqual(k.lookup(0xffffffff81000010n), { name: '_stext', offset: 0x10 });
  assert.deepEqual(k.lookup(0xffffffff81000150n), { name: 'helper', offset: 0x50 });
  assert.deepEqual(k.lookup(0xffffffff81800004n), { name: 'weak_fn', offset: 0x7ffe04 }, 'data symbols are not functions');
  assert.deepEqual(k.lookup(0xffffffffc0001008n), { name: 'mod_fn', module: 'some_module', offset: 8 });
  assert.deepEqual(k.lookup(0xffffffffc0002004n), { name: 'bpf_prog_0123456789abcdef_handler', module: 'bpf', offset: 4 });
  assert.equal(k.lookup(0xffffffff80000000n), undefined, 'below the first symbol');
  const hidden = KernelSymbols.parse('0000000000000000 T _stext\n0000000000000000 t helper\n');
  assert.equal(hidden.hidden, true);
  assert.equal(hidden.lookup(0xffffffff81000010n), undefined);
});

test("an ELF binary's functions lie in its loadable segments, with the build id of its note", () => {
  const libc = realpathSync('/lib/x86_64-linux-gnu/libc.so.6');
  const bytes = readFileSync(libc);
  const image = elfImage((o, l) => bytes.subarray(o, o + l), bytes.length);
  assert.ok(image);
  assert.match(image.buildId ?? '', /^[0-9a-f]{40}$/);
  const fn = image.functions.find((f) => f.name === 'clock_nanosleep');
  assert.ok(fn && fn.size > 0, 'libc defines clock_nanosleep');
  const text = image.segments.find((s) => fn.address >= s.vaddr && fn.address < s.vaddr + s.filesz);
  assert.ok(text, 'in a PT_LOAD segment');
  assert.deepEqual(image.functions, [...image.functions].sort((a, b) => a.address - b.address), 'sorted by address');
  assert.equal(new Set(image.functions.map((f) => f.address)).size, image.functions.length, 'one name per address');
});

test("a process's mappings: this process's own executable maps the address of its code", () => {
  const maps = processMaps(process.pid);
  assert.ok(maps && maps.length > 0);
  const exe = realpathSync('/proc/self/exe');
  const mine = maps.filter((m) => m.path === exe);
  assert.ok(mine.length > 0, `${exe} is mapped`);
  const first = mine[0]!;
  assert.equal(mappingAt(maps, first.start + 1), first);
  assert.equal(mappingAt(maps, 0), undefined);
  assert.equal(processMaps(2 ** 22 + 1), undefined, 'a pid that cannot exist has no maps');
});
