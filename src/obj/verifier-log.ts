/**
 * Reading a verifier log: where it failed and why, so an error can point at
 * the instruction and source line instead of dumping the whole log.
 */

/** What a failed verification comes down to. */
export interface VerifierFailure {
  /** The verifier's complaint, e.g. "R0 invalid mem access 'map_value_or_null'". */
  reason: string;
  /** Offset of the last instruction the verifier was checking. */
  instruction_offset?: number;
  /** That instruction as the verifier printed it. */
  instruction?: string;
  /** The source line the verifier annotated it with (needs BTF line info). */
  source_line?: string;
  /** The last lines of the log. */
  excerpt: string[];
}

const INSN_LINE = /^(\d+): \(([0-9a-f]{2})\) (.*?)(?:\s+;.*)?$/;
const SOURCE_LINE = /^; (.*)$/;
const TRAILER = /^(processed \d+ insns|verification time|stack depth|-- END|\s*$)/;

/** Reads the failure out of a verifier log; `excerptLines` bounds the excerpt. */
export function parseVerifierFailure(log: string, excerptLines = 30): VerifierFailure {
  const lines = log.split('\n').map((l) => l.trimEnd());
  while (lines.length && TRAILER.test(lines[lines.length - 1] ?? '')) lines.pop();
  const body = lines.filter((l) => !/^processed \d+ insns/.test(l));
  const failure: VerifierFailure = {
    reason: body[body.length - 1]?.trim() || 'the verifier rejected the program (empty log)',
    excerpt: body.slice(-excerptLines),
  };
  for (let i = body.length - 1; i >= 0; i--) {
    const m = INSN_LINE.exec(body[i] ?? '');
    if (!m) continue;
    failure.instruction_offset = Number(m[1]);
    failure.instruction = m[3]?.trim();
    for (let j = i - 1; j >= 0; j--) {
      const s = SOURCE_LINE.exec(body[j] ?? '');
      if (s) {
        failure.source_line = s[1]?.trim();
        break;
      }
      if (INSN_LINE.test(body[j] ?? '')) break;
    }
    break;
  }
  return failure;
}
