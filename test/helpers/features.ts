/**
 * Feature-gated tests, as cilium/ebpf's testutils: where this kernel has an
 * attach kind (src/kernel/features.ts decides, the one place that probes),
 * the positive case runs; where it does not, the test asserts the typed
 * refusal and is marked skipped with the kernel's reason.
 */
import type { TestContext } from 'node:test';
import { HOOKS } from '../../src/hooks/index.js';

/** Runs `works` where attach kind `kind` is usable here; else runs `refused` (which asserts the typed error) and skips with the reason. */
export async function gatedOn(t: TestContext, kind: string, works: () => Promise<void> | void, refused: () => Promise<void> | void): Promise<void> {
  const hook = HOOKS.find((h) => h.kind === kind);
  if (!hook) throw new Error(`no attach kind ${kind}`);
  const { usable, reason } = hook.available();
  if (usable) return works();
  await refused();
  t.skip(`${kind} is not usable here (${reason}): the refusal was checked, the positive case cannot run`);
}
