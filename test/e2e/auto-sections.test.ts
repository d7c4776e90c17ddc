import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HOOKS } from '../../src/hooks/index.js';
import { connect } from '../helpers/client.js';
import { gatedOn } from '../helpers/features.js';
import { fixture } from '../helpers/fixtures.js';

/** The programs of a fixture loaded in `c`, by name. */
async function load(c: Awaited<ReturnType<typeof connect>>, name: string, programs: string[]): Promise<Record<string, number>> {
  const s = (await c.call('load_program', { source: { type: 'file', path: fixture(name) }, programs })).structuredContent;
  assert.equal(s.success, true, JSON.stringify(s.error));
  return Object.fromEntries((s.programs as { name: string; id: number }[]).map((p) => [p.name, p.id]));
}

test('auto on a kprobe or kretprobe section: attaches where the kernel has kprobes, else UNSUPPORTED_BPF_FEATURE with the alternatives', async (t) => {
  const c = await connect();
  try {
    const progs = await load(c, 'auto_sections', ['auto_kprobe', 'auto_kretprobe']);
    for (const [program, section] of [
      ['auto_kprobe', 'kprobe/do_unlinkat'],
      ['auto_kretprobe', 'kretprobe/do_unlinkat'],
    ] as const) {
      await t.test(section, (st) =>
        gatedOn(
          st,
          'kprobe',
          async () => {
            const r = await c.call('attach_program', { program_id: progs[program], attachment: { auto: {} } });
            assert.equal(r.isError, undefined, JSON.stringify(r.structuredContent));
            assert.equal(r.structuredContent.attachment_point, section);
          },
          async () => {
            const r = await c.call('attach_program', { program_id: progs[program], attachment: { auto: {} } });
            const e = r.structuredContent.error;
            assert.equal(e.type, 'UNSUPPORTED_BPF_FEATURE', JSON.stringify(e));
            assert.equal(
              e.message,
              'this kernel cannot attach kprobes (no kprobe PMU), so context.point is not possible here: attach a tracepoint or raw_tracepoint program instead',
            );
            assert.equal(e.context.point, section, "the section, from the object, is in the context, not the message");
            assert.equal(e.context.field, 'attachment.auto');
            assert.equal(e.context.feature, 'kprobe');
            assert.deepEqual(
              e.context.alternatives.filter((a: { kind: string }) => a.kind === 'tracepoint').map((a: { settings: { name: string } }) => a.settings.name).sort(),
              ['sys_enter_unlinkat', 'sys_exit_unlinkat'],
            );
          },
        ),
      );
    }
    const links = (await c.call('inspect_state', { fields: ['links'], filters: { owned_only: true } })).structuredContent;
    const kprobes = HOOKS.find((h) => h.kind === 'kprobe')?.available().usable;
    assert.equal(links.links.length, kprobes ? 2 : 0, 'a refused attach left a link behind, or an attach made none');
  } finally {
    await c.close();
  }
});

test('auto on a bare uprobe section: VALIDATION_ERROR saying a binary and a function are needed, and how to give them', async () => {
  const c = await connect();
  try {
    const progs = await load(c, 'counters', ['uprobe_hit']);
    const r = await c.call('attach_program', { program_id: progs.uprobe_hit, attachment: { auto: {} } });
    const e = r.structuredContent.error;
    assert.equal(e.type, 'VALIDATION_ERROR', JSON.stringify(e));
    assert.equal(
      e.message,
      `program ${progs.uprobe_hit}'s section (context.section) names no target, so auto cannot attach it: a uprobe needs a binary and a function; ` +
        'give them with attachment {"uprobe":{"binary":"<absolute path of the executable or library>","function":"<symbol>"}}',
    );
    assert.equal(e.context.field, 'attachment.auto');
    assert.equal(e.context.section, 'uprobe');
    assert.deepEqual(Object.keys(e.context.use), ['uprobe']);
    const links = (await c.call('inspect_state', { fields: ['links'], filters: { owned_only: true } })).structuredContent;
    assert.deepEqual(links.links, [], 'a refused attach left a link behind');
  } finally {
    await c.close();
  }
});
