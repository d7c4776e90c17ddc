/**
 * The `load_program` tool: loads a BPF object into the kernel through
 * libbpf and keeps it loaded, owned by the session, until the session ends.
 */
import { join } from 'node:path';
import * as z from 'zod';
import { elfSection } from '../btf/index.js';
import { CATALOG_NAMES, type CatalogEntry, catalogEntry, objectOf } from '../catalog/index.js';
import { invalid, limitExceeded } from '../errors.js';
import { ClientFile } from '../kernel/client-file.js';
import { type MapShape, mapMemoryBytes } from '../kernel/map-memory.js';
import { BpfObject, type ProgramSpec } from '../kernel/object.js';
import { programTypeNames, programTypeValue } from '../kernel/types.js';
import { CATALOG_DIR } from '../paths.js';
import type { Access } from '../policy/access.js';
import { enforceConstraints, type ProgramUsage } from '../policy/constraints.js';
import { type Limits, formatBytes, maxInlineObjectChars, tailBytes } from '../policy/limits.js';
import { type ObjectSource, readObjectSource } from '../policy/object-source.js';
import { allowedSourceDirs, checkSourceDigest, checkSourcePath, isCatalogObject } from '../policy/source-rules.js';
import { catalogManifest } from './catalog-view.js';
import { granted } from './grant-fields.js';
import { applyParameters } from './object-parameters.js';
import { mapFields, mapRow, programFields } from './shapes.js';
import { type ToolContext, defineTool } from './tool.js';

const checksum = z
  .string()
  .regex(/^sha256:[a-f0-9]{64}$/, 'must be sha256:<64 lowercase hex digits>')
  .optional()
  .describe('Must match');

/** Where a role may load files from, as the path's description says it. */
function pathNote(access: Access): string {
  return access.has('any_source') ? 'Absolute path on the server host' : `Absolute path under ${allowedSourceDirs(access).join(', ')}`;
}

/** The input schema: the inline object's bound follows the object size limit; paths and sources say what the role may use. */
const inputFor = (limits: Limits, access: Access) => z.strictObject({
  source: z
    .discriminatedUnion('type', [
      z.strictObject({
        type: z.literal('file'),
        path: z.string().min(1).max(4096).describe(pathNote(access)),
        checksum,
      }),
      granted(
        z.strictObject({
          type: z.literal('data'),
          blob: z
            .string()
            .min(1)
            .max(maxInlineObjectChars(limits.maxObjectBytes))
            .describe(`Base64; at most ${formatBytes(limits.maxObjectBytes)} once decoded`),
          checksum,
        }),
        'inline',
      ),
      z.strictObject({
        type: z.literal('catalog'),
        name: z.enum(CATALOG_NAMES),
        parameters: z.record(z.string().max(128), z.unknown()).optional().describe('As ebpf://catalog/<name> says'),
      }),
    ])
    .describe('The ELF object'),
  programs: z
    .array(z.string().min(1).max(128))
    .min(1)
    .max(64)
    .optional()
    .describe('Only these (default: all)'),
  section: z.string().min(1).max(256).optional().describe('Only this ELF section\'s'),
  program_type: z
    .string()
    .min(1)
    .max(64)
    .optional()
    .describe('Instead of the section\'s, e.g. "xdp"'),
  parameters: z
    .record(z.string().min(1).max(128), z.union([z.number(), z.string(), z.boolean(), z.array(z.union([z.number(), z.string()])).max(4096)]))
    .optional()
    .describe('const volatile globals, e.g. {"target_tgid": 1234}'),
  btf_path: z.string().min(1).max(4096).optional().describe('Kernel BTF for CO-RE, without /sys/kernel/btf/vmlinux'),
  constraints: z
    .strictObject({
      verify_only: z.boolean().default(false).describe('Verify, report, unload'),
      max_instructions: z.int().min(1).max(1_000_000).optional().describe('Refuse programs longer than this'),
      allowed_helpers: z
        .array(z.string().min(1).max(64))
        .max(256)
        .optional()
        .describe('Refuse programs calling others (names or ids)'),
      permit_helpers: granted(
        z
          .array(z.string().min(1).max(64))
          .max(16)
          .optional()
          .describe('Denied helpers this load may call'),
        'lift_helpers',
      ),
    })
    .default({ verify_only: false })
    .describe('Checked before load'),
  verifier_log: z.boolean().default(false).describe('Return the verifier log (always on a rejection)'),
});

const output = z.strictObject({
  object_id: z.string().nullable().describe("This session's handle for the loaded object; null after verify_only"),
  object_name: z.string(),
  sha256: z.string(),
  verify_only: z.boolean(),
  program_id: z.int().nullable().describe('Kernel id of the first loaded program (use with attach_program)'),
  programs: z.array(
    z.strictObject({
      ...programFields,
      section: z.string(),
      loaded: z.boolean(),
      helpers: z.array(z.string()).describe('Helper functions the program calls'),
    }),
  ),
  unattached: z
    .array(z.strictObject({ id: z.int(), name: z.string(), section: z.string() }))
    .describe('Loaded programs not attached yet (all, after a load): each runs only once attached'),
  maps: z.array(z.strictObject({ ...mapFields, internal: z.boolean().describe("libbpf's own map for global data (.rodata, .bss, ...)") })),
  parameters: z
    .array(z.strictObject({ name: z.string(), type: z.string(), value: z.unknown() }))
    .describe("The object's const volatile globals (set with `parameters`) and the values in force"),
  catalog: z
    .strictObject({ name: z.string(), read: catalogManifest.shape.read, how: z.array(z.string()) })
    .optional()
    .describe('The catalog entry loaded, and how to read its answer'),
  verifier_log: z.string().optional(),
});

type Input = z.output<ReturnType<typeof inputFor>>;

/** What a catalog source's parameters choose: the entry's object, the globals they set, and the frequency its perf_event programs sample at. */
interface CatalogChoice {
  object: string;
  globals: Record<string, unknown>;
  /** The parameters as the entry's schema parsed them. */
  parsed: Record<string, unknown>;
  sampleFrequency?: number;
}

/**
 * What a catalog entry's `source.parameters` choose, checked against the entry's schema (VALIDATION_ERROR at
 * `source.parameters.<field>`, listing the entry's parameters); top-level `parameters` beside them are refused.
 */
function catalogGlobals(entry: CatalogEntry, given: Readonly<Record<string, unknown>> | undefined, raw: Input['parameters']): CatalogChoice {
  if (raw !== undefined) throw invalid('parameters', `a catalog source takes its parameters in source.parameters (see ebpf://catalog/${entry.name})`);
  const parsed = entry.parameters.safeParse(given ?? {});
  const listed = Object.entries(entry.parameters.shape).map(([name, s]) => ({ name, description: (s as z.ZodType).description ?? '' }));
  if (parsed.success) {
    const { data } = parsed;
    return { object: objectOf(entry, data), globals: entry.globals(data), parsed: data, ...(entry.frequency ? { sampleFrequency: entry.frequency(data) } : {}) };
  }
  const issue = parsed.error.issues[0]!;
  const path = issue.code === 'unrecognized_keys' ? [issue.keys[0]] : issue.path;
  const message = issue.code === 'unrecognized_keys' ? `${entry.name} has no parameter ${issue.keys[0]}` : issue.message;
  throw invalid(['source.parameters', ...path].join('.'), message, { parameters: listed });
}

/** What a source resolves to: the file, the globals to set, and for a catalog entry the entry, its parsed parameters and its sampling frequency. */
interface Resolved {
  source: ObjectSource;
  entry?: CatalogEntry;
  catalog?: { name: string; parameters: Record<string, unknown> };
  parameters: Readonly<Record<string, unknown>> | undefined;
  sampleFrequency?: number;
}

/** The file a source names (a catalog entry's object for its parameters' hook), the globals its parameters set and its sampling frequency. */
function resolveSource(input: Input): Resolved {
  if (input.source.type !== 'catalog') return { source: input.source, parameters: input.parameters };
  const entry = catalogEntry(input.source.name)!;
  const { object, globals, parsed, sampleFrequency } = catalogGlobals(entry, input.source.parameters, input.parameters);
  return {
    source: { type: 'file', path: join(CATALOG_DIR, object) },
    entry,
    catalog: { name: entry.name, parameters: parsed },
    parameters: globals,
    ...(sampleFrequency ? { sampleFrequency } : {}),
  };
}

/** Refuses programs whose type (as they would load) the policy does not allow. */
function checkProgramTypes(access: Access, chosen: readonly ProgramSpec[], override: string | undefined): void {
  const allowed = access.policy.allowedProgramTypes;
  if (allowed === null) return;
  const refused = chosen.find((p) => !allowed.includes(override ?? p.typeName));
  if (refused) {
    const type = override ?? refused.typeName;
    throw access.denial('policy.allowed_program_types', override ? 'program_type' : 'source', `loading a program (context.program) of type ${type}`, {
      program: refused.name,
      program_type: type,
      allowed_program_types: allowed,
    });
  }
}

/** The programs of the object the input asks for, refusing names and sections that are not there. */
function selectPrograms(all: readonly ProgramSpec[], input: Input): readonly ProgramSpec[] {
  if (all.length === 0) throw invalid('source', 'the object contains no BPF programs');
  const names = all.map((p) => p.name);
  for (const [i, name] of (input.programs ?? []).entries()) {
    if (!names.includes(name)) throw invalid(`programs[${i}]`, `no program ${JSON.stringify(name)} in the object`, { available: names });
  }
  let chosen = input.programs ? all.filter((p) => input.programs?.includes(p.name)) : all;
  if (input.section !== undefined) {
    chosen = chosen.filter((p) => p.section === input.section);
    if (chosen.length === 0) throw invalid('section', `no selected program is in section ${JSON.stringify(input.section)}`, { sections: all.map((p) => p.section) });
  }
  return chosen;
}

function programTypeOf(name: string | undefined): number | undefined {
  if (name === undefined) return undefined;
  const value = programTypeValue(name);
  if (value === undefined || value === 0) {
    throw invalid('program_type', `unknown program type ${JSON.stringify(name)}`, { known: programTypeNames().filter((n) => n !== 'unspec') });
  }
  return value;
}

/** The most bytes of a raw BTF file, which libbpf reads whole (vmlinux's is a few MB); an ELF file it maps instead. */
const MAX_RAW_BTF_BYTES = 64 << 20;

/** The btf_path as libbpf is to open it (resolved): a regular file or the kernel's own BTF in sysfs, never blocking, starting as ELF or raw BTF does. */
function checkBtfPath(path: string | undefined): string | undefined {
  if (path === undefined) return undefined;
  return ClientFile.with(path, 'btf_path', (file) => {
    const head = file.read(0, 4);
    const elf = head.length === 4 && head[0] === 0x7f && head[1] === 0x45 && head[2] === 0x4c && head[3] === 0x46;
    const raw = head.length >= 2 && ((head[0] === 0x9f && head[1] === 0xeb) || (head[0] === 0xeb && head[1] === 0x9f));
    if (!elf && !raw) throw invalid('btf_path', `${path} is neither an ELF file nor raw BTF`, { path });
    if (raw && file.size > MAX_RAW_BTF_BYTES) {
      throw limitExceeded(`${path} is ${file.size} bytes of raw BTF, over the ${MAX_RAW_BTF_BYTES}-byte limit`, 'btf_bytes', MAX_RAW_BTF_BYTES, file.size, { path });
    }
    return file.path;
  }, true);
}

/** The object's programs as load_program reports them, loaded or not (`kept`: still loaded after the call). */
function programRows(obj: BpfObject, usage: ProgramUsage[], kept: boolean) {
  return obj.programs().map((p) => {
    const used = usage.find((u) => u.name === p.name);
    const loaded = p.fd >= 0;
    return {
      id: loaded && kept ? p.id : null,
      name: p.name,
      type: p.typeName,
      tag: loaded ? p.tag : null,
      instructions: loaded ? p.xlatedInsns : (used?.instructions ?? p.insns.length / 8),
      section: p.section,
      loaded: loaded && kept,
      helpers: used?.helpers ?? [],
    };
  });
}

/** The estimated kernel memory of maps, summed. */
const mapBytes = (maps: readonly MapShape[]): number => maps.reduce((n, m) => n + mapMemoryBytes(m), 0);

/**
 * Refuses a load that would take the session past its program, map or map-memory quota. A load that
 * is not kept (verify_only) still creates its maps for a moment, so their memory counts.
 */
function checkQuota(ctx: ToolContext, programs: number, maps: readonly MapShape[], kept: boolean): void {
  const held = ctx.session.loadedObjects();
  const usage = {
    objects: held.length,
    programs: held.reduce((n, o) => n + o.programs.length, 0),
    maps: held.reduce((n, o) => n + o.maps.length, 0),
    map_bytes: held.reduce((n, o) => n + mapBytes(o.maps), 0),
  };
  // [resource, what this load adds, limit]
  const rows: [keyof typeof usage, number, number][] = [
    ['objects', 1, ctx.limits.maxObjectsPerSession],
    ['programs', programs, ctx.limits.maxProgramsPerSession],
    ['maps', maps.length, ctx.limits.maxMapsPerSession],
    ['map_bytes', mapBytes(maps), ctx.limits.maxMapBytesPerSession],
  ];
  const hit = rows.find(([resource, adds, limit]) => (kept || resource === 'map_bytes') && usage[resource] + adds > limit);
  if (hit) {
    const [resource, adds, limit] = hit;
    const what = resource === 'map_bytes' ? "bytes of map memory (estimated from the maps' sizes)" : resource;
    throw limitExceeded(`loading this object would take the session to ${usage[resource] + adds} ${what}, over its limit of ${limit}`, resource, limit, usage[resource], {
      current_usage: usage,
      requested: adds,
    });
  }
}

/** What to call next: none of the programs runs until attached, and an object's programs often work only together. */
function attachHint(objectId: string | null, loaded: readonly ProgramSpec[]): string {
  if (loaded.length === 1) return `None is attached yet: attach_program {program_id: ${loaded[0]?.id}, attachment: {auto: {}}}.`;
  return `None is attached yet; attach all ${loaded.length}: attach_program {object_id: "${objectId}", attachment: {auto: {}}}.`;
}

/** `load_program`: open, check, load and keep a BPF object. */
export const loadProgramTool = defineTool((limits: Limits, access: Access) => ({
  name: 'load_program',
  title: 'Load a BPF object',
  version: '1.0.0',
  grants: ['load'],
  description:
    `Load a BPF object (ELF .o, CO-RE): a catalog entry by name, a path on the server host${access.has('inline') ? ' or base64' : ''}. The verifier checks every program ` +
    '(a rejection is VERIFIER_ERROR with reason, instruction and log). Programs and maps stay loaded, owned by this ' +
    'session, until it ends; the result lists the programs still to attach. ' +
    `Per session: ${limits.maxObjectsPerSession} objects, ${limits.maxProgramsPerSession} programs, ` +
    `${limits.maxMapsPerSession} maps, ${formatBytes(limits.maxMapBytesPerSession)} of map memory; ` +
    `${formatBytes(limits.maxObjectBytes)} per object.`,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  input: inputFor(limits, access),
  output,
  async run(input, ctx) {
    const btfPath = checkBtfPath(input.btf_path);
    const programType = programTypeOf(input.program_type);
    const { source: from, entry, catalog, parameters: given, sampleFrequency } = resolveSource(input);
    const source = readObjectSource(from, ctx.limits.maxObjectBytes, (resolved) => checkSourcePath(ctx.access, resolved));
    checkSourceDigest(ctx.access, source.sha256, source.path);
    // The catalog's objects are the package's own build, trusted as its addon is: no throwaway-process probe (10 to 20 ms).
    const trusted = source.path !== undefined && isCatalogObject(source.path);
    const obj = trusted ? BpfObject.open(source.bytes, source.name, btfPath) : await BpfObject.openUntrusted(source.bytes, source.name, btfPath);
    let adopted = false;
    try {
      const chosen = selectPrograms(obj.programs(), input);
      checkProgramTypes(ctx.access, chosen, input.program_type);
      checkQuota(ctx, chosen.length, obj.maps(), !input.constraints.verify_only);
      const usage = enforceConstraints(chosen, elfSection(source.bytes, '.text'), input.constraints, ctx.access);
      const parameters = applyParameters(obj, source.bytes, given);
      obj.load({ programs: chosen.map((p) => p.name), ...(programType !== undefined ? { programType } : {}), logLevel: input.verifier_log ? 1 : 0 });
      const kept = !input.constraints.verify_only;
      const loaded = obj.programs().filter((p) => p.fd >= 0);
      const log = input.verifier_log
        ? tailBytes(loaded.map((p) => `== ${p.name} ==\n${obj.verifierLog(p.name)}`).join('\n'), ctx.limits.verifierLogBytes).text
        : undefined;
      const held = { name: obj.name, sha256: source.sha256, loadedAt: new Date(), object: obj, programs: loaded, maps: obj.maps(), ...(catalog ? { catalog } : {}) };
      const objectId = kept ? ctx.session.adoptObject({ ...held, ...(sampleFrequency ? { sampleFrequency } : {}) }).id : null;
      adopted = kept;
      const maps = obj.maps().map((m) => ({ ...mapRow(m, m.typeName, kept ? m.id : null), internal: m.internal }));
      const data = {
        object_id: objectId,
        object_name: obj.name,
        sha256: source.sha256,
        verify_only: !kept,
        program_id: kept ? (loaded[0]?.id ?? null) : null,
        programs: programRows(obj, usage, kept),
        unattached: kept ? loaded.map((p) => ({ id: p.id, name: p.name, section: p.section })) : [],
        maps,
        parameters,
        ...(entry ? { catalog: { name: entry.name, read: entry.read, how: entry.how } } : {}),
        ...(log !== undefined ? { verifier_log: log } : {}),
      };
      const summary = kept
        ? `Loaded the object as ${objectId}: ${loaded.length} program(s) (ids ${loaded.map((p) => p.id).join(', ')}) and ` +
          `${maps.length} map(s) (ids ${maps.map((m) => m.id).join(', ')}). They stay loaded until this session ends. ${attachHint(objectId, loaded)}`
        : `Verified ${loaded.length} program(s) of the object: the verifier accepted them; they were unloaded (verify_only).`;
      const withParameters = parameters.length ? ` The object has ${parameters.length} parameter(s); their values in force are in parameters.` : '';
      // An entry's `how` starts with its load and attach; what follows reads the answer.
      const reading = entry && kept ? ` ${entry.name}: then ${entry.how.slice(2).join('; ')}.` : '';
      return { data, summary: summary + withParameters + reading };
    } finally {
      if (!adopted) obj.close();
    }
  },
}));
