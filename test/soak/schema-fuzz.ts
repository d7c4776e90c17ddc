/**
 * Schema fuzzing: inputs for every tool, generated from the input schema the
 * server itself publishes in tools/list and then mutated (a field dropped, a
 * value of the wrong type, an unknown key, a huge or odd string, a number
 * out of range). Every call must come back as a result in the typed form,
 * success or a known error type, never a protocol error; the server must
 * stay up and leave nothing loaded once the client is gone.
 */
import { ERROR_TYPES } from '../../src/errors.js';
import { OPTIONAL_TOOLS } from '../../src/tools/registry.js';
import { bpftoolIds, eventually } from '../helpers/bpftool.js';
import { connect } from '../helpers/client.js';
import { type Report, type Scale, type SoakPart, seeded, soakSeed } from './soak.js';

/** A JSON Schema as far as the generator reads it. */
interface Schema {
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  enum?: unknown[];
  const?: unknown;
  anyOf?: Schema[];
  oneOf?: Schema[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
}

const INPUTS_PER_TOOL: Record<Scale, number> = { test: 40, soak: 300 };

/** Values of every kind the schema does not ask for. */
const JUNK: unknown[] = [null, -1, 0, 2 ** 53, -(2 ** 31) - 1, 1.5, '', 'x'.repeat(70_000), '../../etc/passwd', '/dev/zero', 'a\u0000b', '\u202e\ud800', [], [1, 'a', null], {}, { __proto__: { polluted: true } }, true, 'NaN'];

function pick<T>(rand: () => number, items: readonly T[]): T {
  return items[Math.floor(rand() * items.length)] as T;
}

/** A value that fits `schema`, mostly; depth-bounded. */
function generate(schema: Schema, rand: () => number, depth = 0): unknown {
  if (schema.const !== undefined) return schema.const;
  if (schema.enum) return pick(rand, schema.enum);
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives) return generate(pick(rand, alternatives), rand, depth);
  const type = Array.isArray(schema.type) ? pick(rand, schema.type) : schema.type;
  switch (type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      const props = Object.entries(schema.properties ?? {});
      const keyed = props.length && depth < 4 ? props : [];
      // An attachment-style object takes exactly one key: keep one optional key at a time where there is no required one.
      const required = new Set(schema.required ?? []);
      const optional = keyed.filter(([k]) => !required.has(k));
      for (const [k, s] of keyed) if (required.has(k)) out[k] = generate(s, rand, depth + 1);
      if (optional.length) {
        const [k, s] = pick(rand, optional);
        out[k] = generate(s, rand, depth + 1);
      }
      return out;
    }
    case 'array': {
      const n = Math.min(schema.maxItems ?? 3, (schema.minItems ?? 0) + Math.floor(rand() * 3));
      return Array.from({ length: n }, () => generate(schema.items ?? {}, rand, depth + 1));
    }
    case 'string': {
      const len = Math.min(schema.maxLength ?? 16, Math.max(schema.minLength ?? 1, Math.floor(rand() * 12)));
      return 'abcdefghij_/.'.repeat(4).slice(0, len);
    }
    case 'integer':
    case 'number': {
      const lo = schema.minimum ?? 0;
      const hi = Math.min(schema.maximum ?? lo + 1000, lo + 1_000_000);
      return Math.floor(lo + rand() * (hi - lo + 1));
    }
    case 'boolean':
      return rand() < 0.5;
    default:
      return pick(rand, JUNK);
  }
}

/** Every path into a JSON value, for mutating one place of it. */
function paths(value: unknown, at: string[] = []): string[][] {
  if (value === null || typeof value !== 'object') return [at];
  const own = Object.keys(value as object).flatMap((k) => paths((value as Record<string, unknown>)[k], [...at, k]));
  return [at, ...own];
}

/** One mutation of a generated input: replace, drop or add at one place. */
function mutate(input: Record<string, unknown>, rand: () => number): unknown {
  const copy = structuredClone(input) as Record<string, unknown>;
  const roll = rand();
  if (roll < 0.1) return pick(rand, JUNK);
  const path = pick(rand, paths(copy));
  if (path.length === 0) {
    copy[pick(rand, ['unknown', 'constructor', '__proto__', 'x'.repeat(300)])] = pick(rand, JUNK);
    return copy;
  }
  const parent = path.slice(0, -1).reduce<Record<string, unknown>>((o, k) => o[k] as Record<string, unknown>, copy);
  const key = path[path.length - 1] as string;
  if (roll < 0.4) delete parent[key];
  else if (roll < 0.55 && parent[key] !== null && typeof parent[key] === 'object') (parent[key] as Record<string, unknown>).extra_field = 1;
  else parent[key] = pick(rand, JUNK);
  return copy;
}

/** A stream the fuzzer starts must end quickly, whatever else was generated. */
function bounded(tool: string, input: unknown): unknown {
  if (tool !== 'stream_events' || input === null || typeof input !== 'object' || Array.isArray(input)) return input;
  const i = input as Record<string, unknown>;
  return typeof i.duration_ms === 'number' && i.duration_ms > 300 ? { ...i, duration_ms: 300 } : input;
}

async function run(scale: Scale, report: Report): Promise<void> {
  const seed = soakSeed();
  report('seed', seed);
  const rand = seeded(seed);
  const before = bpftoolIds('prog');
  // Every tool but map_batch_op, which as admin writes any map on the host by id: fuzzed, it could change maps
  // other programs of this machine use. Its typed errors are tested on maps of its own (test/e2e/map-batch-op.test.ts).
  const tools = OPTIONAL_TOOLS.filter((t) => t !== 'map_batch_op').join(',');
  const c = await connect(['-t', 'stdio', '--enable-tools', tools, '--pin-prefix', `/sys/fs/bpf/ebpf-mcp-soak-fuzz-${process.pid}`]);
  const reported = new Set<number>();
  const byType = new Map<string, number>();
  let calls = 0;
  try {
    const { tools } = await c.client.listTools();
    for (const tool of tools) {
      for (let i = 0; i < INPUTS_PER_TOOL[scale]; i++) {
        const valid = generate(tool.inputSchema as Schema, rand) as Record<string, unknown>;
        const mutated = bounded(tool.name, i % 4 === 0 ? valid : mutate(valid, rand));
        // Arguments that are not an object are the protocol part's (raw stdio): the SDK client refuses to send them.
        const input = mutated !== null && typeof mutated === 'object' && !Array.isArray(mutated) ? mutated : { arguments_were: mutated };
        const what = `${tool.name} #${i} (seed ${seed}): ${JSON.stringify(input)?.slice(0, 300)}`;
        let s: Record<string, any>;
        try {
          s = (await c.call(tool.name, input as Record<string, unknown>)).structuredContent;
        } catch (e) {
          throw new Error(`${what}: not a typed result: ${e instanceof Error ? e.message : String(e)}\n${c.stderr().slice(-2000)}`);
        }
        calls++;
        if (s?.success === true) {
          byType.set('success', (byType.get('success') ?? 0) + 1);
          for (const p of (s.programs as { id: number | null }[] | undefined) ?? []) if (p.id) reported.add(p.id);
          continue;
        }
        const type = s?.error?.type;
        if (s?.success !== false || !ERROR_TYPES.includes(type)) throw new Error(`${what}: untyped answer ${JSON.stringify(s)?.slice(0, 500)}`);
        if (/ZodError|at .*\.js:\d+/.test(String(s.error.message))) throw new Error(`${what}: a stack or zod dump reached the client: ${s.error.message}`);
        byType.set(type, (byType.get(type) ?? 0) + 1);
      }
    }
    const alive = (await c.call('info')).structuredContent;
    if (alive.success !== true) throw new Error('the server stopped answering after the fuzzing');
  } finally {
    await c.close();
  }
  const left = () => [...reported].filter((id) => bpftoolIds('prog').has(id) && !before.has(id));
  // The kernel frees a program after an RCU grace period, which a loaded machine stretches: a leak is one still there after 5 s.
  await eventually(() => left().length === 0, 5000);
  report('answers by type', [...byType.entries()].map(([k, v]) => `${k} ${v}`).join(', '));
  report('calls, every one a typed result', calls);
  report('programs left after disconnect', left().length);
  if (left().length) throw new Error(`programs left behind: ${left().join(', ')}`);
}

/** The schema fuzzing part of the soak. */
export const schemaFuzzPart: SoakPart = { name: 'schema fuzzing of every tool', run };
