/**
 * inspect_state's lists: every program, map and link the kernel holds, and
 * the pins under the prefix, each marked with what this session owns. One
 * rule filters every kind (name glob, owned_only, pinned_only), each kind
 * adds its own tie to program_id, map_id or program_type, and one Selection
 * bounds them all. Each program, map and link carries the processes that
 * hold it (one holders scan per call), each program what perf events run it,
 * and the server's own holders iterator (its program and link) is marked so.
 */
import { invalid } from '../errors.js';
import { globToRegExp } from '../glob.js';
import { type LinkInfo, describePerfAttachment, describedLink } from '../hooks/index.js';
import { type Holder, type HolderScan, type PerfAttachment, ownIterator, scanHolders } from '../kernel/holders.js';
import { type MapInfo, type ProgramInfo, allMaps, allPrograms, interfacesByIndex, readAll } from '../kernel/inventory.js';
import { type ProgramRef, classifyWriters, usersByMap } from '../kernel/map-writers.js';
import { type PinnedObject, listPinned } from '../kernel/pins.js';
import { canonicalProgramType } from '../kernel/types.js';
import type { PinRegistry } from '../session/pin-registry.js';
import type { Session } from '../session/session.js';
import type { Selection } from './selection.js';
import { mapRow } from './shapes.js';
import { writersNote } from './writers-note.js';

/** A map programs cannot write (.rodata, .kconfig): no note that its writers are not attached. */
const BPF_F_RDONLY_PROG = 1 << 7;

/** The filters inspect_state takes, as validated. */
export interface ListFilters {
  program_type?: string | undefined;
  name_pattern?: string | undefined;
  program_id?: number | undefined;
  map_id?: number | undefined;
  owned_only: boolean;
  pinned_only: boolean;
}

/** The kernel's objects, read once for the fields asked for, filtered and bounded on request. */
export class HostLists {
  /** Every program, map and link on the host (empty when no field asked needs them). */
  readonly programs: ProgramInfo[];
  readonly maps: MapInfo[];
  readonly links: LinkInfo[];
  /** Who holds what, and the perf-event attachments; undefined when no list was asked for. */
  readonly scan: HolderScan | undefined;
  /** The server's own holders iterator, when loaded. */
  private readonly own: { programId: number; linkId: number } | undefined;
  private readonly pinned: PinnedObject[];
  private readonly nameOk: (name: string) => boolean;
  private readonly programType: string | undefined;

  constructor(
    want: ReadonlySet<string>,
    private readonly filters: ListFilters,
    private readonly session: Session,
    pinPrefix: string,
  ) {
    const f = filters;
    this.programType = f.program_type === undefined ? undefined : canonicalProgramType(f.program_type);
    if (f.program_type !== undefined && this.programType === undefined) {
      throw invalid('filters.program_type', `unknown program type ${JSON.stringify(f.program_type)}`);
    }
    const re = f.name_pattern === undefined ? undefined : globToRegExp(f.name_pattern);
    this.nameOk = re ? (n) => re.test(n) : () => true;
    const lists = ['programs', 'maps', 'links'].some((k) => want.has(k));
    // The scan first: on the first call it loads the server's iterator, which the lists below then include.
    this.scan = lists ? scanHolders() : undefined;
    this.own = ownIterator();
    this.pinned = want.has('pins') || f.pinned_only || lists ? listPinned(pinPrefix).pins : [];
    let ifnames: Map<number, string> | undefined;
    const needLinks = want.has('links') || want.has('programs') || want.has('maps') || want.has('system');
    this.links = needLinks ? readAll('link', (id) => describedLink(id, () => (ifnames ??= interfacesByIndex()))) : [];
    this.programs = want.has('programs') || want.has('maps') || want.has('system') ? allPrograms() : [];
    this.maps = want.has('maps') || want.has('system') ? allMaps() : [];
  }

  private holders(kind: 'programs' | 'maps' | 'links', id: number): Holder[] {
    return this.scan?.[kind].get(id) ?? [];
  }

  /**
   * The perf events that run a program without a link of their own (bpftrace, BCC, perf), once each:
   * a perf link's event is held by the same process as the link, so it is left to the link.
   */
  private perfAttachments(programId: number): (PerfAttachment & { target: string })[] {
    const linked = this.links.filter((l) => l.programId === programId);
    const out: (PerfAttachment & { target: string })[] = [];
    for (const a of this.scan?.perf ?? []) {
      if (a.programId !== programId) continue;
      const target = describePerfAttachment(a);
      const viaLink = linked.some((l) => l.target === target && this.holders('links', l.id).some((h) => h.pid === a.holder.pid));
      if (!viaLink && !out.some((o) => o.target === target && o.holder.pid === a.holder.pid)) out.push({ ...a, target });
    }
    return out;
  }

  private running: Set<number> | undefined;
  /** The programs using each map (built at the first map listed). */
  private mapUsers: Map<number, ProgramRef[]> | undefined;

  /** Whether a program runs: a link, a perf event, or this session's own attachment holds it. */
  private readonly isAttached = (programId: number): boolean => {
    this.running ??= new Set([
      ...this.links.map((l) => l.programId),
      ...(this.scan?.perf ?? []).map((a) => a.programId),
      ...this.session.heldLinks().map((l) => l.programId),
    ]);
    return this.running.has(programId);
  };

  /** The rule every kind shares: its name matches the glob (kinds without names pass), owned_only, pinned_only. */
  private shared(kind: PinnedObject['kind'], id: number, name: string | undefined, owned: boolean): boolean {
    return (name === undefined || this.nameOk(name)) && (!this.filters.owned_only || owned) && (!this.filters.pinned_only || this.isPinned(kind, id));
  }

  private isPinned(kind: PinnedObject['kind'], id: number): boolean {
    return this.pinned.some((p) => p.kind === kind && p.id === id);
  }

  private pinPaths(kind: PinnedObject['kind'], id: number): { pin_paths?: string[] } {
    const paths = this.pinned.filter((p) => p.kind === kind && p.id === id).map((p) => p.path);
    return paths.length ? { pin_paths: paths } : {};
  }

  /** The marks a program or map row carries: owned (with this session's object handle and the object's sha256) and its pins. */
  private objectMarks(kind: 'program' | 'map', id: number, owner: { id: string; sha256: string } | undefined) {
    return Object.assign({ owned: owner !== undefined }, owner ? { object_id: owner.id, object_sha256: owner.sha256 } : {}, this.pinPaths(kind, id));
  }

  /** The programs list: type, name, program_id, map_id (the programs using it), ownership, pins. */
  programList(sel: Selection) {
    const f = this.filters;
    const matches = (p: ProgramInfo) =>
      (this.programType === undefined || p.type === this.programType) &&
      (f.program_id === undefined || p.id === f.program_id) &&
      (f.map_id === undefined || p.mapIds.includes(f.map_id)) &&
      this.shared('program', p.id, p.name, this.session.objectOfProgram(p.id) !== undefined);
    // Rows are built with Object.assign, not object spreads: a thousand rows with spreads took three times as long.
    return sel.take('programs', this.programs, matches).map((p) => {
      const perf = this.perfAttachments(p.id);
      const row = {
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
        attached_to: [...this.links.filter((l) => l.programId === p.id).map((l) => l.target), ...perf.map((a) => a.target)],
      };
      const held = Object.assign(
        row,
        perf.length ? { perf_attachments: perf.map((a) => ({ kind: a.kind, target: a.target, holder: a.holder })) } : {},
        { holders: this.holders('programs', p.id) },
        p.id === this.own?.programId ? { server_own: true } : {},
      );
      return Object.assign(held, this.objectMarks('program', p.id, this.session.objectOfProgram(p.id)));
    });
  }

  /** The maps list: name, map_id, program_id (the maps it uses), ownership, pins. */
  mapList(sel: Selection) {
    const f = this.filters;
    const ofProgram = f.program_id === undefined ? undefined : this.programs.find((p) => p.id === f.program_id);
    const matches = (m: MapInfo) =>
      (f.map_id === undefined || m.id === f.map_id) &&
      (f.program_id === undefined || (ofProgram?.mapIds.includes(m.id) ?? false)) &&
      this.shared('map', m.id, m.name, this.session.objectOfMap(m.id) !== undefined);
    return sel.take('maps', this.maps, matches).map((m) => {
      const users = classifyWriters(m.id, (this.mapUsers ??= usersByMap(this.programs)), this.isAttached);
      const note = users.writers.length && !(m.flags & BPF_F_RDONLY_PROG) ? writersNote(m.id, users, this.session.objectOfMap(m.id)?.id) : undefined;
      const row = Object.assign(
        mapRow(m, m.type),
        { btf_id: m.btfId, holders: this.holders('maps', m.id) },
        users.unattached.length ? { unattached_users: users.unattached } : {},
        note ? { note } : {},
      );
      return Object.assign(row, this.objectMarks('map', m.id, this.session.objectOfMap(m.id)));
    });
  }

  /** The links list: program_id, ownership (with the session's handle and lease), pins. */
  linkList(sel: Selection) {
    const f = this.filters;
    const matches = (l: LinkInfo) => (f.program_id === undefined || l.programId === f.program_id) && this.shared('link', l.id, undefined, this.session.findLink(l.id) !== undefined);
    return sel.take('links', this.links, matches).map((l) => {
      const held = this.session.findLink(l.id);
      return {
        id: l.id,
        type: l.type,
        program_id: l.programId,
        target: l.target,
        holders: this.holders('links', l.id),
        ...(l.id === this.own?.linkId ? { server_own: true } : {}),
        owned: held !== undefined,
        ...(held ? { link_handle: held.handle } : {}),
        ...(held?.expiresAt ? { expires_at: held.expiresAt.toISOString() } : {}),
        ...this.pinPaths('link', l.id),
      };
    });
  }

  /** The pins under the prefix, with who pinned each through this server and when. */
  pinList(sel: Selection, pins: PinRegistry) {
    const record = pins.snapshot();
    return sel.take('pins', this.pinned).map((p) => {
      const r = record(p.path, p.kind, p.id);
      return {
        ...p,
        ...(r ? { pinned_by_session: r.session, pinned_at: r.pinned_at } : {}),
        this_session: r?.session === this.session.id,
      };
    });
  }
}
