/**
 * What a failed load means, for the caller's next step: a verifier rejection
 * (with the failing instruction), a BTF-typed tracing program this kernel
 * refuses (fentry, fexit, lsm need trampolines or the BPF LSM), or a target
 * function missing from kernel BTF (with the nearest names). The program has
 * no kernel id yet: messages point at its name in the details (`program`), as
 * they do at the verifier's reason, never quoting what came from the object.
 */
import { closest } from '../suggest.js';
import { type Alternative, KernelError, type NativeError, NotSupported, TargetNotFound, isNativeError, kernelFailure } from './errors.js';
import { effectiveCapabilities } from './host.js';
import { kernelBtf } from './kernel-btf.js';
import type { ProgramSpec } from './object.js';
import { parseVerifierFailure } from '../obj/verifier-log.js';

/** Program types whose load binds to a kernel function through BTF. */
const BTF_TRACING = new Set(['tracing', 'lsm', 'ext']);

/** What a BTF-typed tracing program (fentry, fexit, fmod_ret, lsm) needs from the kernel, and what works instead (tp_btf is a program type that attaches with auto). */
export function btfTracingRequirement(program: ProgramSpec): { needs: string; alternatives: Alternative[] } {
  if (program.typeName === 'lsm') {
    return { needs: 'CONFIG_BPF_LSM and "bpf" in the lsm= boot parameter', alternatives: [{ kind: 'tracepoint' }, { kind: 'raw_tracepoint' }, { kind: 'tp_btf' }] };
  }
  return {
    needs: 'BPF trampolines (CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS on a JIT-enabled kernel)',
    alternatives: [{ kind: 'tp_btf' }, { kind: 'raw_tracepoint' }, { kind: 'tracepoint' }],
  };
}

/** The kernel refused a BTF-typed tracing program although the server holds the capabilities it needs. */
function refusedTracing(e: NativeError, program: ProgramSpec): NotSupported | undefined {
  if (e.code !== 'EPERM' || !BTF_TRACING.has(program.typeName)) return undefined;
  const caps = effectiveCapabilities();
  if (!caps.includes('CAP_SYS_ADMIN') && !(caps.includes('CAP_BPF') && caps.includes('CAP_PERFMON'))) return undefined;
  const { needs, alternatives } = btfTracingRequirement(program);
  const kind = program.section.split('/')[0] ?? program.typeName;
  return new NotSupported(`this kernel refuses ${program.typeName} programs (EPERM with CAP_BPF and CAP_PERFMON held): program context.program cannot load here`, kind, needs, alternatives, {
    program: program.name,
    program_type: program.typeName,
    section: program.section,
    errno_name: e.code,
  });
}

/** The target function of a tracing program is not in the kernel's BTF. */
function missingTarget(e: NativeError, program: ProgramSpec): TargetNotFound | undefined {
  const m = /failed to find kernel BTF type ID of '([^']+)'/.exec(e.libbpfLog);
  if (!m?.[1]) return undefined;
  const btf = kernelBtf();
  const functions: string[] = [];
  for (let id = btf?.firstId ?? 1; btf && id < btf.count; id++) if (btf.type(id).kind === 'func') functions.push(btf.name(id));
  return new TargetNotFound("the kernel's BTF has no function context.function, the target of program context.program", 'function', m[1], closest(m[1], functions), {
    program: program.name,
    section: program.section,
    function: m[1],
    errno_name: e.code,
  });
}

/** What libbpf prints when the object itself stops a load before the kernel sees it (section names, relocations, BTF.ext). */
const OBJECT_DEFECT = /missing BPF prog type|failed to perform CO-RE relocations|failed to patch insn|invalid relo|failed to relocate|missing \.BTF\.ext|no \.text section|isn't a valid program reference/;

/** A typed error for a failed bpf_object__load; `program` is the one that failed, `log` its verifier log. */
export function loadError(e: unknown, program: ProgramSpec | undefined, log: string): Error {
  if (isNativeError(e) && program) {
    const specific = missingTarget(e, program) ?? refusedTracing(e, program);
    if (specific) return specific;
    if (log.length > 0) {
      const failure = parseVerifierFailure(log);
      const reading = {
        program: program.name,
        reason: failure.reason,
        instruction_offset: failure.instruction_offset,
        instruction: failure.instruction,
        source_line: failure.source_line,
        verifier_log: failure.excerpt.join('\n'),
      };
      return new KernelError('the verifier rejected program context.program: see context.reason and context.verifier_log', 'verifier', reading, e);
    }
  }
  // libbpf's own error codes (LIBBPF_RELOC, ...) and its messages about the object's contents mean the object is at fault.
  const malformed = isNativeError(e) && (e.code.startsWith('LIBBPF_') || OBJECT_DEFECT.test(e.libbpfLog));
  return kernelFailure(e, 'loading the object failed', program ? { program: program.name } : {}, malformed ? 'bad_object' : undefined);
}
