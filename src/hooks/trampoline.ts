/**
 * BTF-typed tracing on BPF trampolines: fentry, fexit and fmod_ret on a
 * kernel function, which the program's section names (SEC("fexit/do_unlinkat")).
 * Kernels without trampolines refuse these programs at load already.
 */
import * as z from 'zod';
import { attachAuto } from '../kernel/attach.js';
import { InvalidRequest } from '../kernel/errors.js';
import { trampolines } from '../kernel/features.js';
import { vmlinuxTypeName } from '../kernel/kernel-btf.js';
import { type AnyHook, defineHook } from './hook.js';

const KINDS = {
  fentry: { attachType: 'trace_fentry', when: 'its entry' },
  fexit: { attachType: 'trace_fexit', when: 'its return' },
  fmod_ret: { attachType: 'modify_return', when: 'its entry, changing its return' },
} as const;

function trampolineHook(kind: keyof typeof KINDS): AnyHook {
  const { attachType, when } = KINDS[kind];
  return defineHook({
    kind,
    class: 'tracing',
    summary: `SEC("${kind}/<function>"): ${when}`,
    settings: z.strictObject({}),
    programTypes: ['tracing'],
    available: trampolines,
    attach(target) {
      if (target.program.expectedAttachType !== attachType) {
        throw new InvalidRequest(undefined, `program ${target.program.id} attaches as ${target.program.expectedAttachType}, not ${kind}: use {"auto": {}}`, {
          expected_attach_type: target.program.expectedAttachType,
        });
      }
      return { links: [attachAuto(target)], point: target.program.section };
    },
    links: {
      types: ['tracing'],
      describe(l) {
        if (l.attachType !== attachType) return undefined;
        const fn = l.targetObjId && l.targetBtfId ? vmlinuxTypeName(l.targetObjId, l.targetBtfId) : undefined;
        return `${kind}/${fn ?? `btf ${l.targetObjId}:${l.targetBtfId}`}`;
      },
    },
  });
}

/** `{"fentry": {}}`, `{"fexit": {}}`, `{"fmod_ret": {}}` */
export const fentry = trampolineHook('fentry');
export const fexit = trampolineHook('fexit');
export const fmodRet = trampolineHook('fmod_ret');
