/** As the program's section name says (libbpf's bpf_program__attach): tp/..., uprobe/..., fentry/..., iter/... */
import { z } from 'zod';
import { attachAuto } from '../kernel/attach.js';
import { defineHook } from './hook.js';

/** `{"auto": {}}` */
export const auto = defineHook({
  kind: 'auto',
  class: undefined,
  summary: "Attach as the program's section name says (e.g. SEC(\"tp/sched/sched_process_exec\"))",
  settings: z.strictObject({}),
  programTypes: [],
  available: () => ({ usable: true, reason: 'any program whose section names its hook' }),
  attach: (target) => ({ links: [attachAuto(target)], point: target.program.section }),
});
