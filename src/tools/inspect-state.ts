/**
 * The `inspect_state` tool: every program, map and link on the host, read
 * from the kernel, marked with what this session owns; pins, system facts
 * and the server's own tool schemas on request. Every list is bounded.
 */
import * as z from 'zod';
import { readMapContents } from '../kernel/map-contents.js';
import { mapWriters } from '../kernel/map-writers.js';
import { type Limits, formatBytes } from '../policy/limits.js';
import type { Session } from '../session/session.js';
import { catalogManifest, catalogManifests } from './catalog-view.js';
import { HostLists } from './host-lists.js';
import { inputJsonSchema, outputJsonSchema } from './json-schema.js';
import { mapStacks } from '../symbolize/stack-counts.js';
import { FOLDED_LINES, mapEntriesOf, mapEntriesSummary, stacksSummary } from './map-entries.js';
import { Selection } from './selection.js';
import { streamList, streamListSchema } from './stream-background.js';
import { mapFields, programFields } from './shapes.js';
import { dataBudget, maxBytesInput } from './result-size.js';
import { defineTool } from './tool.js';
import { attachedBySession, writersNote } from './writers-note.js';

const FIELDS = ['programs', 'maps', 'links', 'pins', 'system', 'tools', 'streams', 'catalog'] as const;

/** The input schema: list and map-entry bounds follow the limits. */
const inputFor = (limits: Limits) => z.strictObject({
  fields: z
    .array(z.enum(FIELDS))
    .min(1)
    .max(FIELDS.length)
    .default(['programs', 'maps', 'links', 'system', 'streams']),
  filters: z
    .strictObject({
      program_type: z.string().min(1).max(64).optional().describe('e.g. "xdp"'),
      name_pattern: z.string().min(1).max(256).optional().describe('Glob (* ?) on names'),
      program_id: z.int().positive().optional().describe('This program, its maps and links'),
      map_id: z.int().positive().optional().describe('This map and its programs'),
      owned_only: z.boolean().default(false).describe('This session\'s only'),
      pinned_only: z.boolean().default(false).describe('Pinned under the prefix only'),
    })
    .default({ owned_only: false, pinned_only: false }),
  limit: z
    .int()
    .min(1)
    .max(limits.listMax)
    .default(limits.listDefault)
    .describe('Items per list'),
  maps: z
    .strictObject({
      id: z.int().positive(),
      entries: z.boolean().default(true).describe('false: key and value types only'),
      limit: z
        .int()
        .min(1)
        .max(limits.mapEntriesMax)
        .default(limits.mapEntriesDefault)
        .describe(`Entries a page (also at most ${formatBytes(limits.mapEntriesBytes)})`),
      cursor: z
        .string()
        .max(1024)
        .regex(/^[0-9a-f]+$/, 'a cursor is the hex next_cursor of an earlier read of this map')
        .optional()
        .describe('A next_cursor'),
    })
    .optional(),
  max_bytes: maxBytesInput(limits),
});

const holder = z.strictObject({ pid: z.int(), comm: z.string().describe('Data from the traced system') });
const holders = z.array(holder).describe("Processes holding an fd on it (the server's task_file iterator, or /proc/*/fdinfo where that cannot run)");
const serverOwn = z.boolean().optional().describe("The server's own, kept loaded to find holders (no session's)");

const program = z.strictObject({
  ...programFields,
  loaded_at: z.string().describe('ISO 8601'),
  uid: z.int(),
  map_ids: z.array(z.int()),
  btf_id: z.int(),
  jited_bytes: z.int(),
  verified_insns: z.int(),
  run_count: z.number().describe('Runs so far (counted only while kernel.bpf_stats_enabled=1)'),
  run_time_ns: z.number(),
  attached_to: z.array(z.string()).describe('What runs it: link and perf-event targets'),
  perf_attachments: z
    .array(z.strictObject({ kind: z.string(), target: z.string(), holder }))
    .optional()
    .describe('Perf events running it without a link (bpftrace, BCC, perf)'),
  holders,
  server_own: serverOwn,
  owned: z.boolean().describe('Loaded by this session'),
  object_id: z.string().optional().describe("This session's object handle, when owned"),
  object_sha256: z.string().optional().describe('sha256 of the object it was loaded from, when owned'),
  pin_paths: z.array(z.string()).optional(),
});

const map = z.strictObject({
  ...mapFields,
  btf_id: z.int(),
  holders,
  unattached_users: z.array(z.strictObject({ id: z.int(), name: z.string() })).optional().describe('Programs using it that are not attached'),
  note: z.string().optional(),
  owned: z.boolean(),
  object_id: z.string().optional(),
  object_sha256: z.string().optional(),
  pin_paths: z.array(z.string()).optional(),
});

const link = z.strictObject({
  id: z.int(),
  type: z.string(),
  program_id: z.int(),
  target: z.string().describe('What it is attached to'),
  holders,
  server_own: serverOwn,
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
    truncated: z.boolean().describe('More entries exist than were returned: read the next page with maps.cursor = next_cursor'),
    truncated_at: z.enum(['limit', 'bytes']).optional().describe('What cut this page: maps.limit, or the byte cap on one page'),
    next_cursor: z.string().nullable().describe('Pass as maps.cursor to read the next page; null on the last page'),
    note: z.string().optional().describe('Why it may read empty: no program that writes it is attached'),
    cut_arrays: z
      .array(z.strictObject({ path: z.string(), kept: z.int(), total: z.int() }))
      .optional()
      .describe('Arrays inside keys or values decoded only in part (their first `kept` elements)'),
  })
  .describe("One map's entries, from `maps`");

const stacks = z
  .union([
    z.strictObject({
      map_id: z.int(),
      stack_map_id: z.int().describe('The stack trace map its stack ids index'),
      weight: z.string().describe('What a weight is: the entry member summed ("value"), or "entries"'),
      total: z.number(),
      entries_folded: z.int(),
      truncated: z.boolean().describe('The map held more entries than were folded'),
      top_functions: z
        .array(z.strictObject({ function: z.string(), self: z.number().describe('Weight as the leaf'), total: z.number().describe('Weight anywhere in the stack') }))
        .describe('Data from the traced system'),
      folded: z.array(z.strictObject({ stack: z.string(), weight: z.number() })).describe('comm;root;...;leaf (user then kernel frames), heaviest first: flame-graph input'),
      folded_left_out: z.int().describe('Stacks not listed (line or byte cap)'),
      missing: z.strictObject({ user: z.number(), kernel: z.number(), errnos: z.record(z.string(), z.number()) }).describe('Weight whose stack was not taken or is gone'),
      unresolved_frames: z
        .strictObject({ process_gone: z.int(), no_file: z.int(), no_symbol: z.int(), kernel_hidden: z.int() })
        .describe('Frames left unnamed, by why'),
    }),
    z.strictObject({ map_id: z.int(), note: z.string() }),
  ])
  .describe("`maps`'s map counts by stack: its stacks symbolized and folded");

const listMeta = z.strictObject({
  total: z.int().describe('Matching the filters'),
  returned: z.int(),
  truncated: z.boolean(),
  cut_by: z.enum(['limit', 'max_bytes']).optional(),
});

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
  stacks: stacks.optional(),
  catalog: z.array(catalogManifest).optional().describe("The catalog's manifests (also ebpf://catalog/<name>)"),
  streams: streamListSchema.optional(),
  counts: z.record(z.string(), listMeta).describe('Per list: how many matched, how many returned'),
  holders_scan: z
    .strictObject({ processes: z.int(), skipped_processes: z.int(), skipped_fds: z.int() })
    .optional()
    .describe('The scan behind `holders`: processes on the host (the iterator leaves none out), or those the /proc walk read, and those (and fds) it left out at its cap or gone'),
  truncated: z.boolean().describe('True when any list was cut at `limit`'),
});

/** The writers note of the map whose entries were asked for: from its row when listed, else read now. */
function entriesWritersNote(mapId: number, rows: readonly { id: number | null; note?: string | undefined }[] | undefined, session: Session): string | undefined {
  const row = rows?.find((m) => m.id === mapId);
  if (row) return row.note;
  const users = mapWriters(mapId, attachedBySession(session));
  return users.writers.length ? writersNote(mapId, users, session.objectOfMap(mapId)?.id) : undefined;
}

/** How to see what the lists left out: a higher `limit`, a higher `max_bytes`, or filters. */
function cutHint(sel: Selection): string {
  const by = new Set(Object.values(sel.counts).map((m) => m.cut_by));
  const raise = [by.has('limit') ? '`limit`' : '', by.has('max_bytes') ? '`max_bytes`' : ''].filter(Boolean).join(' or ');
  return `raise ${raise || '`limit`'} or filter to see the rest`;
}

/** `inspect_state`: the kernel's programs, maps and links, filtered and bounded. */
export const inspectStateTool = defineTool((limits: Limits) => ({
  name: 'inspect_state',
  title: 'Inspect eBPF state',
  version: '1.0.0',
  description:
    'Every eBPF program, map and link on this host, not only this session\'s: what runs each program (links, perf ' +
    'events), the processes holding each (`holders`), `owned` for this session\'s; also `pins`, ' +
    '`system`, background `streams`, `catalog` and `tools` (full schemas). Lists stop at `limit` or `max_bytes`; `counts` says ' +
    'how many matched. `maps: {id}` reads any map\'s entries, decoded from BTF (log2 histograms drawn), page by page ' +
    '(`next_cursor` as `maps.cursor`). Buffers: stream_events.',
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  input: inputFor(limits),
  output,
  async run(input, ctx) {
    const want = new Set(input.fields);
    const host = new HostLists(want, input.filters, ctx.session, ctx.pinPrefix);
    const sel = new Selection(input.limit, dataBudget(ctx.maxBytes));
    const data: z.input<typeof output> = { counts: sel.counts, truncated: false };
    if (want.has('system')) {
      const facts = ctx.host.facts();
      data.system = {
        kernel_version: facts.kernel_release,
        arch: facts.arch,
        btf_enabled: facts.btf.vmlinux,
        bpffs_mounted: facts.mounts.bpffs.mounted,
        pin_prefix: ctx.pinPrefix,
        total_programs: host.programs.length,
        total_maps: host.maps.length,
        total_links: host.links.length,
        supported_program_types: facts.program_types.supported,
      };
      sel.spend(Buffer.byteLength(JSON.stringify(data.system)));
    }
    if (want.has('catalog')) {
      data.catalog = catalogManifests();
      sel.spend(Buffer.byteLength(JSON.stringify(data.catalog)));
    }
    // A map's entries next (and, when it counts by stack, its folded stacks first, from half of what is left): asked for by id, they are the point of the call; the lists share what is left.
    const folded = input.maps ? mapStacks(input.maps.id, FOLDED_LINES, Math.floor(sel.remaining / 2)) : undefined;
    if (folded) {
      data.stacks = folded;
      sel.spend(Buffer.byteLength(JSON.stringify(folded)));
    }
    const entries = input.maps
      ? readMapContents(input.maps.id, input.maps.entries ? input.maps.limit : 0, { cursor: input.maps.cursor, maxBytes: Math.min(ctx.limits.mapEntriesBytes, sel.remaining) })
      : undefined;
    if (entries) {
      data.map_entries = mapEntriesOf(entries);
      sel.spend(Buffer.byteLength(JSON.stringify(data.map_entries)));
    }
    if (want.has('programs')) data.programs = sel.fit('programs', host.programList(sel));
    if (want.has('maps')) data.maps = sel.fit('maps', host.mapList(sel));
    if (want.has('links')) data.links = sel.fit('links', host.linkList(sel));
    if (want.has('pins')) data.pins = sel.fit('pins', host.pinList(sel, ctx.pins));
    if (want.has('streams')) data.streams = streamList(ctx.session);
    const extent = host.scan?.extent;
    if (extent) data.holders_scan = { processes: extent.processes, skipped_processes: extent.skippedProcesses, skipped_fds: extent.skippedFds };
    const entriesNote = input.maps && entriesWritersNote(input.maps.id, data.maps, ctx.session);
    if (data.map_entries && entriesNote) data.map_entries.note = entriesNote;
    if (want.has('tools')) {
      data.tools = sel.fit('tools', ctx.tools().map((t) => ({
        name: t.name,
        version: t.version,
        description: t.description,
        input_schema: inputJsonSchema(t, ctx.access.grants),
        output_schema: outputJsonSchema(t),
      })));
    }
    data.truncated = sel.truncated;

    const parts = Object.entries(sel.counts).map(([name, m]) => `${m.total} ${name}${m.truncated ? ` (showing ${m.returned})` : ''}`);
    const owned = ctx.session.loadedObjects();
    const noted = (data.maps ?? []).filter((m) => m.note !== undefined && m.id !== input.maps?.id);
    const notes = noted.length > 3 ? [`${noted.length} maps have no attached program writing them (see each map's note).`] : noted.flatMap((m) => m.note ?? []);
    const summary =
      `${parts.join(', ') || 'No lists requested'}${sel.truncated ? `; ${cutHint(sel)}` : ''}. ` +
      `This session owns ${owned.length} loaded object(s).` +
      (data.catalog ? ` ${data.catalog.length} catalog manifests in catalog.` : '') +
      (extent && extent.skippedProcesses + extent.skippedFds > 0
        ? ` Holders: ${extent.skippedProcesses} process(es) and ${extent.skippedFds} fd(s) not read (cap or gone).`
        : '') +
      (notes.length ? `\n${notes.join('\n')}` : '') +
      (entries && input.maps ? `\n${entriesNote ? `${entriesNote}\n` : ''}${mapEntriesSummary(entries, input.maps.entries)}` : '') +
      (folded ? `\n${stacksSummary(folded)}` : '');
    return { data, summary };
  },
}));
