/**
 * Reading BPF instructions before load: how many there are and which helper
 * functions they call, so limits can be enforced before the verifier runs.
 */

/** Size of one instruction slot. */
const INSN_SIZE = 8;

const BPF_JMP_CALL = 0x85; // BPF_JMP | BPF_CALL
const BPF_LD_IMM64 = 0x18; // BPF_LD | BPF_DW | BPF_IMM, two slots
const PSEUDO_HELPER = 0;
const PSEUDO_CALL = 1;
const PSEUDO_KFUNC_CALL = 2;

/** What a stretch of instructions does that a policy may care about. */
export interface InsnSummary {
  /** Instruction slots, as the kernel counts them (ld_imm64 takes two). */
  count: number;
  /** Helper function id to the instruction offsets that call it. */
  helperCalls: Map<number, number[]>;
  /** Calls into other BPF functions (subprograms). */
  subprogramCalls: number;
  /** Calls to kernel functions (kfuncs). */
  kfuncCalls: number;
}

/** Scans raw instructions; a trailing partial slot is ignored. */
export function scanInsns(insns: Uint8Array): InsnSummary {
  const view = new DataView(insns.buffer, insns.byteOffset, insns.byteLength);
  const count = Math.floor(insns.byteLength / INSN_SIZE);
  const helperCalls = new Map<number, number[]>();
  let subprogramCalls = 0;
  let kfuncCalls = 0;
  for (let i = 0; i < count; i++) {
    const code = view.getUint8(i * INSN_SIZE);
    if (code === BPF_LD_IMM64) {
      i++;
      continue;
    }
    if (code !== BPF_JMP_CALL) continue;
    const src = view.getUint8(i * INSN_SIZE + 1) >> 4;
    const imm = view.getInt32(i * INSN_SIZE + 4, true);
    if (src === PSEUDO_HELPER) {
      const at = helperCalls.get(imm);
      if (at) at.push(i);
      else helperCalls.set(imm, [i]);
    } else if (src === PSEUDO_CALL) {
      subprogramCalls++;
    } else if (src === PSEUDO_KFUNC_CALL) {
      kfuncCalls++;
    }
  }
  return { count, helperCalls, subprogramCalls, kfuncCalls };
}
