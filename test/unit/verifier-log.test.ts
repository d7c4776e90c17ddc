import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseVerifierFailure } from '../../src/obj/verifier-log.js';

// A log this kernel printed for bpf/fixtures/rejected.bpf.c.
const LOG = `arg#0 reference type('UNKNOWN ') size cannot be determined: -22
0: R1=ctx() R10=fp0
; int unchecked_lookup(void *ctx) @ rejected.bpf.c:17
0: (b7) r1 = 0                        ; R1=0
; __u32 key = 0; @ rejected.bpf.c:19
1: (63) *(u32 *)(r10 -4) = r1         ; R1=0 R10=fp0 fp-8=0000????
2: (bf) r2 = r10                      ; R2=fp0 R10=fp0
3: (07) r2 += -4                      ; R2=fp-4
; __u64 *count = bpf_map_lookup_elem(&counter, &key); @ rejected.bpf.c:20
4: (18) r1 = 0xffff88810438dc00       ; R1=map_ptr(map=counter,ks=4,vs=8)
6: (85) call bpf_map_lookup_elem#1    ; R0=map_value_or_null(id=1,map=counter,ks=4,vs=8)
; *count += 1; @ rejected.bpf.c:22
7: (79) r1 = *(u64 *)(r0 +0)
R0 invalid mem access 'map_value_or_null'
processed 7 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0
`;

test('parseVerifierFailure finds the reason, the failing instruction and its source line', () => {
  const f = parseVerifierFailure(LOG);
  assert.equal(f.reason, "R0 invalid mem access 'map_value_or_null'");
  assert.equal(f.instruction_offset, 7);
  assert.equal(f.instruction, 'r1 = *(u64 *)(r0 +0)');
  assert.equal(f.source_line, '*count += 1; @ rejected.bpf.c:22');
  assert.equal(f.excerpt.at(-1), "R0 invalid mem access 'map_value_or_null'");
  assert.ok(!f.excerpt.some((l) => l.startsWith('processed')));
});

test('parseVerifierFailure bounds the excerpt and copes with an empty log', () => {
  assert.equal(parseVerifierFailure(LOG, 3).excerpt.length, 3);
  const empty = parseVerifierFailure('');
  assert.match(empty.reason, /empty log/);
  assert.equal(empty.instruction_offset, undefined);
});
