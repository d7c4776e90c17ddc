/**
 * The `inspect_state` tool: every program, map and link on the host, read
 * from the kernel, marked with what this session owns; pins, system facts
 * and the server's own tool schemas on request. Every list is bounded.
 */
import { z } from 'zod';
import { invalid } from '../errors.js';
import { globToRegExp } from '../glob.js';
import { type LinkInfo, describedLink } from '../hooks/index.js';
import { type MapInfo, type ProgramInfo, interfacesByIndex, listIds, mapInfo, programInfo } from '../kernel/inventory.js';
import { type MapContents, readMapContents } from '../kernel/map-contents.js';
import { ObjKind, TypeNameKind } from '../kernel/native.js';
import { listPinned, type PinnedObject } from '../kernel/pins.js';
import { typeName, typeValue } from '../kernel/types.js';
import { inputJsonSchema, outputJsonSchema } from './json-schema.js';
import { defineTool } from './tool.js';

const FIELDS = ['programs', 'maps', 'links', 'pins', 'system', 'tools'] as const;

const input = z.strictObject({
  fields: z
    .array(z.enum(FIELDS))
    .min(1)
    .max(FIELDS.length)
    .default(['programs', 'maps', 'links', 'system'])
    .describe('What to return: programs, maps, links, pins (objects pinned under the pin prefix), system, tools'),
  filters: z
    .strictObject({
      program_type: z.string().min(1).max(64).optional().describe('Only programs of this type, e.g. "xdp", "tracepoint"'),
      name_pattern: z.string().min(1).max(256).optional().describe('Glob on program and map names: * any run, ? one character'),
      program_id: z.int().positive().optional().describe('Only this program, its maps and its links'),
      map_id: z.int().positive().optional().describe('Only this map and the programs using it'),
      owned_only: z.boolean().default(false).describe('Only what this session created'),
      pinned_only: z.boolean().default(false).describe('Only objects pinned under the pin prefix'),
    })
    .default({ owned_only: false, pinned_only: false }),
  limit: z.int().min(1).max(1000).default(100).describe('Most items per list (default 100, max 1000)'),
  maps: z
    .strictObject({
      id: z.int().positive().describe('Kernel id of the map (from the maps list or load_program)'),
      entries: z.boolean().default(true).describe('Return the entries (false: only the key and value types, and whether it has entries)'),
      limit: z.int().min(1).max(10_000).default(100).describe('Most entries returned (default 100, max 10000)'),
    })
    .optional()
    .describe("Read one map's contents into `map_entries`, keys and values decoded from the map's BTF"),
});

const program = z.strictObject({
  id: z.int(),
  name: z.string(),
  type: z.string(),
  tag: z.string(),
  loaded_at: z.string().describe('ISO 8601'),
  uid: z.int(),
  map_ids: z.array(z.int()),
  btf_id: z.int(),
  instructions: z.int().describe('Instructions after verification'),
  jited_bytes: z.int(),
  verified_insns: z.int(),
  run_count: z.number().describe('Runs so far (counted only while kernel.bpf_stats_enabled=1)'),
  run_time_ns: z.number(),
  attached_to: z.array(z.string()).describe('Targets of the links running this program'),
  owned: z.boolean().describe('Loaded by this session'),
  object_id: z.string().optional().describe("This session's object handle, when owned"),
  pin_paths: z.array(z.string()).optional(),
});

const map = z.strictObject({
  id: z.int(),
  name: z.string(),
  type: z.string(),
  key_size: z.int(),
  value_size: z.int(),
  max_entries: z.int(),
  flags: z.int(),
  btf_id: z.int(),
  owned: z.boolean(),
  object_id: z.string().optional(),
  pin_paths: z.array(z.string()).optional(),
});

const link = z.strictObject({
  id: z.int(),
  type: z.string(),
  program_id: z.int(),
  target: z.string().describe('What it is attached to'),
  owned: z.boolean().describe('Attached by this session'),
  link_handle: z.string().optional().describe("This session's handle, when owned"),
  expires_at: z.string().optional().describe('When its lease detaches it'),
  pin_paths: z.array(z.string()).optional(),
});

const pin = z.strictObject({
  path: z.string(),
  kind: z.enum(['program', 'map', 'link']),
  id: z.int(),
  pinned_by_session: z.string().optional().describe('The session that pinned it through this server'),
  pinned_at: z.string().optional(),
  this_session: z.boolean(),
});

const exactNumber = z.union([z.number(), z.string()]).describe('A number; a decimal string past 2^53');

const histogram = z
  .strictObject({
    buckets: z
      .array(z.strictObject({ low: exactNumber, high: exactNumber, count: z.number() }))
      .describe('Slot i counts values from low to high (inclusive): 0-1, 2-3, 4-7, ...; trailing empty slots left out'),
    total: z.number(),
    drawing: z.string().describe('The histogram drawn as libbpf-tools print it: rows "low -> high : count |****|"'),
  })
  .describe('The value read as a libbpf-tools log2 histogram (an array of slot counts, or a struct with one named `slots`)');

const decoded = z.unknown().describe('Decoded from BTF: a number, a string (text, or a decimal past 2^53), an object or an array; hex without BTF');

const mapEntry = z.union([
  z.strictObject({ key: decoded, value: decoded, histogram: histogram.optional() }),
  z.strictObject({ key: decoded, values: z.array(decoded).describe('One value per possible CPU, CPU 0 first') }),
]);

const mapEntries = z
  .strictObject({
    map_id: z.int(),
    name: z.string(),
    type: z.string(),
    key_type: z.string().nullable().describe("C type of the keys from the map's BTF; null without usable BTF (keys are then hex strings of the raw bytes)"),
    value_type: z
      .string()
      .nullable()
      .describe("C type of the values from the map's BTF, or \"program id\" / \"map id\" for program arrays and maps of maps; null without usable BTF (values are then hex strings)"),
    per_cpu: z.boolean().describe('Each entry has `values`, one per possible CPU, instead of `value`'),
    entries: z.array(mapEntry).describe('Each entry: its key and `value`, or `values` (one per CPU) in a per-CPU map'),
    count: z.int().describe('Entries returned'),
    truncated: z.boolean().describe('More entries exist than were returned: raise maps.limit'),
    cut_arrays: z
      .array(z.strictObject({ path: z.string(), kept: z.int(), total: z.int() }))
      .optional()
      .describe('Arrays inside keys or values decoded only in part (their first `kept` elements)'),
  })
  .describe("One map's entries, from `maps`");

const listMeta = z.strictObject({ total: z.int().describe('Matching the filters'), returned: z.int(), truncated: z.boolean() });

const output = z.strictObject({
  programs: z.array(program).optional(),
  maps: z.array(map).optional(),
  links: z.array(link).optional(),
  pins: z.array(pin).optional(),
  system: z
    .strictObject({
      kernel_version: z.string(),
      arch: z.string(),
      btf_enabled: z.boolean(),
      bpffs_mounted: z.boolean(),
      pin_prefix: z.string(),
      total_programs: z.int(),
      total_maps: z.int(),
      total_links: z.int(),
      supported_program_types: z.array(z.string()),
    })
    .optional(),
  tools: z
    .array(
      z.strictObject({
        name: z.string(),
        version: z.string(),
        description: z.string(),
        input_schema: z.record(z.string(), z.unknown()),
        output_schema: z.record(z.string(), z.unknown()),
      }),
    )
    .optional(),
  map_entries: mapEntries.optional(),
  counts: z.record(z.string(), listMeta).describe('Per list: how many matched, how many returned'),
  truncated: z.boolean().describe('True when any list was cut at `limit`'),
});

/** Reads every object of a kind; ones that vanish while reading are skipped. */
function readAll<T>(kind: ObjKind, read: (id: number) => T | undefined): T[] {
  return listIds(kind)
    .map(read)
    .filter((x): x is T => x !== undefined);
}

/** The map_entries result member of a map's contents. */
function mapEntriesOf(m: MapContents): z.input<typeof mapEntries> {
  return {
    map_id: m.id,
    name: m.name,
    type: m.type,
    key_type: m.keyType,
    value_type: m.valueType,
    per_cpu: m.perCpu,
    entries: m.entries,
    count: m.entries.length,
    truncated: m.truncated,
    ...(m.cutArrays.length ? { cut_arrays: m.cutArrays } : {}),
  };
}

/** Histograms drawn in full in a summary; the others are in the structured result only. */
const SUMMARY_HISTOGRAMS = 4;

/** The summary lines of map_entries: counts and drawn histograms, numbers only. */
function mapEntriesSummary(m: MapContents, read: boolean): string {
  const what = read ? `${m.entries.length} entr${m.entries.length === 1 ? 'y' : 'ies'}` : 'types only';
  const more = m.truncated ? `; it holds more${read ? ': raise maps.limit' : ''}` : read ? '' : '; it is empty';
  const lines = [`Map ${m.id} (${m.type}): ${what}${m.keyType === null && m.valueType === null ? ' as hex (no BTF)' : ''}${more}.`];
  const drawn = m.entries.flatMap((e, i) => ('histogram' in e && e.histogram ? [{ i, h: e.histogram }] : []));
  for (const { i, h } of drawn.slice(0, SUMMARY_HISTOGRAMS)) {
    lines.push(h.total === 0 ? `Histogram of entry ${i + 1}: empty.` : `Histogram of entry ${i + 1} (total ${h.total}):\n${h.drawing}`);
  }
  if (drawn.length > SUMMARY_HISTOGRAMS) lines.push(`${drawn.length - SUMMARY_HISTOGRAMS} more histogram(s) in map_entries.`);
  return lines.join('\n');
}

function bounded<T>(items: T[], limit: number): { items: T[]; meta: z.infer<typeof listMeta> } {
  return { items: items.slice(0, limit), meta: { total: items.length, returned: Math.min(items.length, limit), truncated: items.length > limit } };
}

/** `inspect_state`: the kernel's programs, maps and links, filtered and bounded. */
export const inspectStateTool = defineTool({
  name: 'inspect_state',
  title: 'Inspect eBPF state',
  version: '1.0.0',
  description:
    'List the eBPF programs, maps and links loaded on this host — all of them, not only this session\'s — as the ' +
    'kernel reports them (ids, names, types, tags, load times, map ids, what each program is attached to), each ' +
    'marked `owned` when this session created it. Also: objects pinned under the server\'s pin prefix (`pins`), ' +
    'kernel facts (`system`), and this server\'s tools with their schemas (`tools`). Filter by program type, name ' +
    'glob, program id (that program, its maps and links), map id, owned_only or pinned_only. Each list returns at ' +
    'most `limit` items (default 100, max 1000) and `counts` says how many matched. ' +
    'Map contents: `maps: {id}` returns that map\'s entries in `map_entries` (any map on the host, up to ' +
    '`maps.limit`, default 100, max 10000; `truncated` says more exist), keys and values decoded into named JSON ' +
    'fields from the map\'s BTF (hex without BTF), per-CPU maps with one value per CPU, and libbpf-tools log2 ' +
    'histograms (an array of slot counts) as buckets plus a drawing, also shown in the text. Ring and perf buffers ' +
    'have no entries: read them with stream_events. For the entries alone, pass fields ["maps"] and filters.map_id ' +
    'with the same id. Read-only.',
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  input,
  output,
  async run(input, ctx) {
    const want = new Set(input.fields);
    const f = input.filters;
    const nameOk = f.name_pattern ? ((re) => (n: string) => re.test(n))(globToRegExp(f.name_pattern)) : () => true;
    if (f.program_type !== undefined && typeValue(TypeNameKind.Prog, f.program_type) === undefined) {
      throw invalid('filters.program_type', `unknown program type ${JSON.stringify(f.program_type)}`);
    }
    const progType = f.program_type === undefined ? undefined : typeName(TypeNameKind.Prog, typeValue(TypeNameKind.Prog, f.program_type) ?? 0);

    const needPins = want.has('pins') || f.pinned_only || want.has('programs') || want.has('maps') || want.has('links');
    const pinned = needPins ? listPinned(ctx.pinPrefix).pins : [];
    const pinPaths = (kind: PinnedObject['kind'], id: number) => {
      const paths = pinned.filter((p) => p.kind === kind && p.id === id).map((p) => p.path);
      return paths.length ? { pin_paths: paths } : {};
    };
    const isPinned = (kind: PinnedObject['kind'], id: number) => pinned.some((p) => p.kind === kind && p.id === id);

    const needLinks = want.has('links') || want.has('programs') || want.has('system');
    const ifnames = (() => {
      let cache: Map<number, string> | undefined;
      return () => (cache ??= interfacesByIndex());
    })();
    const allLinks: LinkInfo[] = needLinks ? readAll(ObjKind.Link, (id) => describedLink(id, ifnames)) : [];
    const allPrograms: ProgramInfo[] = want.has('programs') || want.has('maps') || want.has('system') ? readAll(ObjKind.Prog, programInfo) : [];
    const allMaps: MapInfo[] = want.has('maps') || want.has('system') ? readAll(ObjKind.Map, mapInfo) : [];

    const ofProgram = f.program_id === undefined ? undefined : allPrograms.find((p) => p.id === f.program_id);
    const data: z.input<typeof output> = { counts: {}, truncated: false };
    const take = <T>(name: string, items: T[]): T[] => {
      const { items: kept, meta } = bounded(items, input.limit);
      data.counts[name] = meta;
      data.truncated ||= meta.truncated;
      return kept;
    };

    if (want.has('programs')) {
      const matched = allPrograms.filter(
        (p) =>
          (progType === undefined || p.type === progType) &&
          nameOk(p.name) &&
          (f.program_id === undefined || p.id === f.program_id) &&
          (f.map_id === undefined || p.mapIds.includes(f.map_id)) &&
          (!f.owned_only || ctx.session.objectOfProgram(p.id)) &&
          (!f.pinned_only || isPinned('program', p.id)),
      );
      data.programs = take('programs', matched).map((p) => {
        const owner = ctx.session.objectOfProgram(p.id);
        return {
          id: p.id,
          name: p.name,
          type: p.type,
          tag: p.tag,
          loaded_at: p.loadedAt,
          uid: p.uid,
          map_ids: p.mapIds,
          btf_id: p.btfId,
          instructions: p.xlatedInsns,
          jited_bytes: p.jitedBytes,
          verified_insns: p.verifiedInsns,
          run_count: p.runCount,
          run_time_ns: p.runTimeNs,
          attached_to: allLinks.filter((l) => l.programId === p.id).map((l) => l.target),
          owned: owner !== undefined,
          ...(owner ? { object_id: owner.id } : {}),
          ...pinPaths('program', p.id),
        };
      });
    }
    if (want.has('maps')) {
      const matched = allMaps.filter(
        (m) =>
          nameOk(m.name) &&
          (f.map_id === undefined || m.id === f.map_id) &&
          (f.program_id === undefined || (ofProgram?.mapIds.includes(m.id) ?? false)) &&
          (!f.owned_only || ctx.session.objectOfMap(m.id)) &&
          (!f.pinned_only || isPinned('map', m.id)),
      );
      data.maps = take('maps', matched).map((m) => {
        const owner = ctx.session.objectOfMap(m.id);
        return {
          id: m.id,
          name: m.name,
          type: m.type,
          key_size: m.keySize,
          value_size: m.valueSize,
          max_entries: m.maxEntries,
          flags: m.flags,
          btf_id: m.btfId,
          owned: owner !== undefined,
          ...(owner ? { object_id: owner.id } : {}),
          ...pinPaths('map', m.id),
        };
      });
    }
    if (want.has('links')) {
      const matched = allLinks.filter(
        (l) =>
          (f.program_id === undefined || l.programId === f.program_id) &&
          (!f.owned_only || ctx.session.findLink(l.id)) &&
          (!f.pinned_only || isPinned('link', l.id)),
      );
      data.links = take('links', matched).map((l) => {
        const held = ctx.session.findLink(l.id);
        return {
          id: l.id,
          type: l.type,
          program_id: l.programId,
          target: l.target,
          owned: held !== undefined,
          ...(held ? { link_handle: held.handle } : {}),
          ...(held?.expiresAt ? { expires_at: held.expiresAt.toISOString() } : {}),
          ...pinPaths('link', l.id),
        };
      });
    }
    if (want.has('pins')) {
      const record = ctx.pins.snapshot();
      data.pins = take('pins', pinned).map((p) => {
        const r = record(p.path, p.kind, p.id);
        return {
          ...p,
          ...(r ? { pinned_by_session: r.session, pinned_at: r.pinned_at } : {}),
          this_session: r?.session === ctx.session.id,
        };
      });
    }
    if (want.has('system')) {
      const facts = ctx.host.facts();
      data.system = {
        kernel_version: facts.kernel_release,
        arch: facts.arch,
        btf_enabled: facts.btf.vmlinux,
        bpffs_mounted: facts.mounts.bpffs.mounted,
        pin_prefix: ctx.pinPrefix,
        total_programs: allPrograms.length,
        total_maps: allMaps.length,
        total_links: allLinks.length,
        supported_program_types: facts.program_types.supported,
      };
    }
    let entries: MapContents | undefined;
    if (input.maps) {
      entries = readMapContents(input.maps.id, input.maps.entries ? input.maps.limit : 0);
      data.map_entries = mapEntriesOf(entries);
    }
    if (want.has('tools')) {
      data.tools = ctx.tools().map((t) => ({
        name: t.name,
        version: t.version,
        description: t.description,
        input_schema: inputJsonSchema(t),
        output_schema: outputJsonSchema(t),
      }));
    }

    const parts = Object.entries(data.counts).map(([name, m]) => `${m.total} ${name}${m.truncated ? ` (showing ${m.returned})` : ''}`);
    const owned = ctx.session.loadedObjects();
    const summary =
      `${parts.join(', ') || 'No lists requested'}${data.truncated ? '; raise `limit` or filter to see the rest' : ''}. ` +
      `This session owns ${owned.length} loaded object(s).` +
      (entries && input.maps ? `\n${mapEntriesSummary(entries, input.maps.entries)}` : '');
    return { data, summary };
  },
});
