/**
 * As the program's section name says (libbpf's bpf_program__attach): tp/..., uprobe/..., fentry/..., iter/...
 * Before libbpf tries, a section whose hook this kernel lacks is refused as the explicit kind would be, with the
 * alternatives; a section that does not name its target (a bare SEC("uprobe")) says what to give instead.
 */
import * as z from 'zod';
import { type AttachTarget, attachAuto } from '../kernel/attach.js';
import { InvalidRequest, NotSupported } from '../kernel/errors.js';
import { hasPmu, trampolines } from '../kernel/features.js';
import { btfTracingRequirement } from '../kernel/load-errors.js';
import { defineHook } from './hook.js';
import { noKprobes } from './kprobe.js';

/** Section prefixes (before any "/") by the hook they need. */
const KPROBE = ['kprobe', 'kretprobe', 'ksyscall', 'kretsyscall', 'kprobe.multi', 'kretprobe.multi', 'kprobe.session'];
const TRAMPOLINE = ['fentry', 'fexit', 'fmod_ret', 'fentry.s', 'fexit.s', 'fmod_ret.s', 'lsm', 'lsm.s', 'lsm_cgroup'];
const UPROBE = ['uprobe', 'uretprobe', 'uprobe.s', 'uretprobe.s'];

/** What an explicit attachment of a section's kind takes, for a section that does not name its target. */
const EXPLICIT: Record<string, { kind: string; settings: Record<string, string>; needs: string }> = {
  kprobe: { kind: 'kprobe', settings: { function: '<kernel function>' }, needs: 'a kernel function' },
  uprobe: { kind: 'uprobe', settings: { binary: '<absolute path of the executable or library>', function: '<symbol>' }, needs: 'a binary and a function' },
  usdt: { kind: 'usdt', settings: { binary: '<absolute path>', provider: '<provider>', name: '<probe name>' }, needs: 'a binary, a provider and a probe name' },
  perf_event: { kind: 'perf_event', settings: { event: 'cpu-clock', frequency: '<samples per second>' }, needs: 'an event and a sampling rate' },
};

/** Refuses, before libbpf tries, what auto cannot attach here: a hook this kernel lacks, or a section naming no target. */
function checkSection(target: AttachTarget): void {
  const { section, name, id } = target.program;
  const slash = section.indexOf('/');
  const prefix = slash < 0 ? section : section.slice(0, slash);
  const rest = slash < 0 ? '' : section.slice(slash + 1);
  if (KPROBE.includes(prefix) && !hasPmu('kprobe')) throw noKprobes(section, rest);
  if (TRAMPOLINE.includes(prefix)) {
    const t = trampolines();
    if (!t.usable) {
      const { needs, alternatives } = btfTracingRequirement(target.program);
      throw new NotSupported(`${t.reason}; program ${id}'s section (context.section) cannot attach here`, prefix.replace(/\.s$/, ''), needs, alternatives, { program: name, section });
    }
  }
  const kind = KPROBE.includes(prefix) ? 'kprobe' : UPROBE.includes(prefix) ? 'uprobe' : prefix === 'usdt' || prefix === 'perf_event' ? prefix : undefined;
  const explicit = kind === undefined ? undefined : EXPLICIT[kind];
  if (explicit && rest === '') {
    const use = { [explicit.kind]: explicit.settings };
    throw new InvalidRequest(
      undefined,
      `program ${id}'s section (context.section) names no target, so auto cannot attach it: a ${explicit.kind} needs ${explicit.needs}; give them with attachment ${JSON.stringify(use)}`,
      { section, use },
    );
  }
}

/** `{"auto": {}}` */
export const auto = defineHook({
  kind: 'auto',
  class: undefined,
  summary: 'As the section name says',
  settings: z.strictObject({}),
  programTypes: [],
  available: () => ({ usable: true, reason: 'any program whose section names its hook' }),
  attach(target) {
    checkSection(target);
    return { links: [attachAuto(target)], point: target.program.section };
  },
});
