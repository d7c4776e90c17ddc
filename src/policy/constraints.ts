/**
 * load_program's constraints, enforced before the verifier runs: a cap on
 * instructions, a list of allowed helper functions and the policy's denied
 * helpers, checked against the instructions each program will load (its
 * subprograms included), so the kernel never sees a program they refuse.
 */
import { ToolError, invalid, limitExceeded } from '../errors.js';
import type { Access } from './access.js';
import { helperId, helperName } from '../kernel/helpers.js';
import { type InsnSummary, scanInsns } from '../obj/insn.js';

/** What the caller allows. */
export interface LoadConstraints {
  max_instructions?: number | undefined;
  allowed_helpers?: string[] | undefined;
  /** Denied helpers this load may call (an admin's explicit lift). */
  permit_helpers?: string[] | undefined;
}

/** A program about to load, with the instructions it will bring. */
export interface ProgramCode {
  name: string;
  insns: Uint8Array;
}

/** What one program calls and how big it is. */
export interface ProgramUsage {
  name: string;
  instructions: number;
  helpers: string[];
}

/** Adds the subprogram code (.text) to a program's own when it calls into it. */
function usage(program: ProgramCode, subprograms: InsnSummary | undefined): { summary: InsnSummary; count: number } {
  const own = scanInsns(program.insns);
  if (!own.subprogramCalls || !subprograms) return { summary: own, count: own.count };
  const merged = new Map(own.helperCalls);
  for (const [id, at] of subprograms.helperCalls) merged.set(id, [...(merged.get(id) ?? []), ...at.map((i) => own.count + i)]);
  return { summary: { ...own, helperCalls: merged }, count: own.count + subprograms.count };
}

/** Helper ids of the names in `field`, refusing unknown names. */
function helperIds(names: readonly string[] | undefined, field: string): number[] | undefined {
  return names?.map((name, i) => {
    const id = helperId(name);
    if (id === undefined) throw invalid(`${field}[${i}]`, `unknown helper ${JSON.stringify(name)}`, { helper: name });
    return id;
  });
}

/**
 * Checks every program against the constraints and the policy's denied
 * helpers, and returns what each uses. Over max_instructions:
 * RESOURCE_LIMIT_EXCEEDED. A helper outside allowed_helpers, or a denied one
 * not in permit_helpers: PERMISSION_DENIED naming it and where it is called.
 */
export function enforceConstraints(programs: readonly ProgramCode[], subprogramInsns: Uint8Array | undefined, c: LoadConstraints, access: Access): ProgramUsage[] {
  const allowed = helperIds(c.allowed_helpers, 'constraints.allowed_helpers');
  const permitted = helperIds(c.permit_helpers, 'constraints.permit_helpers') ?? [];
  const denied = (helperIds(access.policy.deniedHelpers, 'policy.denied_helpers') ?? []).filter((id) => !permitted.includes(id));
  const subprograms = subprogramInsns?.length ? scanInsns(subprogramInsns) : undefined;
  return programs.map((program) => {
    const { summary, count } = usage(program, subprograms);
    if (c.max_instructions !== undefined && count > c.max_instructions) {
      throw limitExceeded(`program context.program has ${count} instructions, over max_instructions ${c.max_instructions}`, 'instructions', c.max_instructions, count, {
        program: program.name,
      });
    }
    for (const [id, at] of summary.helperCalls) {
      if (!denied.includes(id)) continue;
      const next = access.has('lift_helpers')
        ? 'To load it anyway, name the helper in constraints.permit_helpers'
        : 'Role admin may lift it for one load (constraints.permit_helpers)';
      throw access.denial(
        'policy.denied_helpers',
        'source',
        `a program (context.program) calling ${helperName(id)} (instruction ${at[0]})`,
        { program: program.name, helper: helperName(id), helper_id: id, instruction_offset: at[0], denied_helpers: access.policy.deniedHelpers },
        next,
      );
    }
    if (allowed) {
      for (const [id, at] of summary.helperCalls) {
        if (!allowed.includes(id)) {
          throw new ToolError('PERMISSION_DENIED', `program context.program calls ${helperName(id)}, which allowed_helpers does not allow`, {
            program: program.name,
            helper: helperName(id),
            helper_id: id,
            instruction_offset: at[0],
            allowed_helpers: allowed.map(helperName),
          });
        }
      }
    }
    return { name: program.name, instructions: count, helpers: [...summary.helperCalls.keys()].sort((a, b) => a - b).map(helperName) };
  });
}
