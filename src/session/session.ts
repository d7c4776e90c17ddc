/**
 * A client's session: everything it created in the kernel, released as one
 * when the client goes away. Objects stay loaded between tool calls.
 */
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import type { BpfLink } from '../kernel/link.js';
import type { BpfObject, MapSpec, ProgramSpec } from '../kernel/object.js';
import { log } from '../log.js';
import { BackgroundStreams } from './background-streams.js';

/** An object this session loaded, with its programs and maps as loaded. */
export interface LoadedObject {
  /** The session's handle for it (obj-1, obj-2, ...). */
  id: string;
  name: string;
  sha256: string;
  loadedAt: Date;
  object: BpfObject;
  /** Its programs that are loaded (with kernel ids). */
  programs: readonly ProgramSpec[];
  maps: readonly MapSpec[];
  /** The cpu-clock frequency (Hz) an auto attachment samples its perf_event programs at (a catalog entry's). */
  sampleFrequency?: number;
  /** The catalog entry it was loaded as, with its parameters as the entry parsed them (`hook` among them). */
  catalog?: { name: string; parameters: Readonly<Record<string, unknown>> };
}

/** An attachment this session made: one or more kernel links (perf events per CPU) to one point. */
export interface HeldLink {
  /** The session's handle for it (link-1, link-2, ...). */
  handle: string;
  links: BpfLink[];
  /** Kernel link ids; null for a netlink tc filter. */
  linkIds: (number | null)[];
  programId: number;
  objectId: string;
  point: string;
  createdAt: Date;
  /** Where the (first) link is pinned, if it is. */
  pinPath?: string;
  /** When a lease detaches it. */
  expiresAt?: Date;
  timer?: NodeJS.Timeout;
  /** Called when its lease ends it (by time, or with the session). */
  onExpire?: (l: HeldLink) => void;
}

/** Kernel objects a session took or let go of, by id, and why: in a tool call, at a lease's end, or with the session. */
export interface SessionChange {
  change: 'created' | 'released';
  cause: 'call' | 'lease' | 'close';
  programs: number[];
  maps: number[];
  links: (number | null)[];
}

/** What a session owns, and its release. */
export class Session {
  /** Unique id of the session, for logs and pin records. */
  readonly id = randomUUID();
  private readonly objects = new Map<string, LoadedObject>();
  private readonly held = new Map<string, HeldLink>();
  private readonly streams = new Set<() => void>();
  /** The background streams it owns (stream_events mode "background"). */
  readonly backgroundStreams = new BackgroundStreams();
  private nextObject = 1;
  private nextLink = 1;
  private closed = false;
  /** Why objects are being released right now, when not in a call. */
  private releasing: SessionChange['cause'] = 'call';
  private readonly watchers: ((c: SessionChange) => void)[] = [];

  /** Calls `watcher` with every change of what the session holds (the audit log's created and released ids). */
  watch(watcher: (c: SessionChange) => void): void {
    this.watchers.push(watcher);
  }

  private tell(change: SessionChange['change'], ids: Partial<Pick<SessionChange, 'programs' | 'maps' | 'links'>>): void {
    const c = { change, cause: change === 'created' ? 'call' : this.releasing, programs: ids.programs ?? [], maps: ids.maps ?? [], links: ids.links ?? [] } as const;
    for (const w of this.watchers) w(c);
  }

  /** Whether close() has run. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Takes ownership of a loaded object and returns its session handle. */
  adoptObject(entry: Omit<LoadedObject, 'id'>): LoadedObject {
    if (this.closed) {
      entry.object.close();
      throw new Error('session is closed');
    }
    const owned = { ...entry, id: `obj-${this.nextObject++}` };
    this.objects.set(owned.id, owned);
    this.tell('created', { programs: owned.programs.map((p) => p.id), maps: owned.maps.map((m) => m.id) });
    return owned;
  }

  /**
   * Takes ownership of an attachment. With `ttlSeconds` it is a lease:
   * released and unpinned when the time runs out, or when the session ends
   * first (no server is left to end it later).
   */
  adoptLink(entry: Omit<HeldLink, 'handle' | 'expiresAt' | 'timer' | 'onExpire'>, ttlSeconds?: number, onExpire?: (l: HeldLink) => void): HeldLink {
    if (this.closed) {
      for (const l of entry.links) l.destroy();
      throw new Error('session is closed');
    }
    const held: HeldLink = { ...entry, handle: `link-${this.nextLink++}`, ...(onExpire ? { onExpire } : {}) };
    if (ttlSeconds !== undefined) {
      held.expiresAt = new Date(Date.now() + ttlSeconds * 1000);
      held.timer = setTimeout(() => {
        log.info('lease expired', { link: held.handle, point: held.point });
        this.endLease(held);
      }, ttlSeconds * 1000);
      held.timer.unref();
    }
    this.held.set(held.handle, held);
    this.tell('created', { links: held.linkIds });
    return held;
  }

  /** Ends a lease: the link detached and unpinned, and its owner told. */
  private endLease(held: HeldLink): void {
    const cause = this.releasing;
    if (cause === 'call') this.releasing = 'lease';
    try {
      if (this.releaseLink(held.handle, true)) held.onExpire?.(held);
    } finally {
      this.releasing = cause;
    }
  }

  /** The attachments this session holds, oldest first. */
  heldLinks(): HeldLink[] {
    return [...this.held.values()];
  }

  /** The attachment with this session handle or kernel link id. */
  findLink(ref: string | number): HeldLink | undefined {
    return typeof ref === 'string' ? this.held.get(ref) : this.heldLinks().find((h) => h.linkIds.includes(ref));
  }

  /**
   * Releases an attachment: drops the session's hold, and with `unpin` also
   * removes its pin so nothing keeps it attached. Returns whether it was held.
   */
  releaseLink(handle: string, unpin: boolean): boolean {
    const held = this.held.get(handle);
    if (!held) return false;
    clearTimeout(held.timer);
    this.held.delete(handle);
    if (unpin && held.pinPath) rmSync(held.pinPath, { force: true });
    for (const l of held.links) {
      try {
        l.destroy();
      } catch (e) {
        log.error('releasing link failed', { link: handle, error: String(e) });
      }
    }
    this.tell('released', { links: held.linkIds });
    return true;
  }

  /** Registers a running stream; `stop` ends it if the session closes. Returns the unregister function. */
  trackStream(stop: () => void): () => void {
    this.streams.add(stop);
    return () => this.streams.delete(stop);
  }

  /** How many streams it holds: those running in a call, and its background streams. */
  get activeStreams(): number {
    return this.streams.size + this.backgroundStreams.size;
  }

  /** Notes that a pin was removed, so releasing its link later does not try again. */
  forgetPin(path: string): void {
    for (const held of this.held.values()) if (held.pinPath === path) delete held.pinPath;
  }

  /** Releases one loaded object (and the session's attachments of its programs). */
  releaseObject(objectId: string): boolean {
    const entry = this.objects.get(objectId);
    if (!entry) return false;
    for (const l of this.heldLinks()) if (l.objectId === objectId) this.releaseLink(l.handle, false);
    this.objects.delete(objectId);
    entry.object.close();
    this.tell('released', { programs: entry.programs.map((p) => p.id), maps: entry.maps.map((m) => m.id) });
    return true;
  }

  /** The objects this session holds, oldest first. */
  loadedObjects(): LoadedObject[] {
    return [...this.objects.values()];
  }

  /** The object that owns a kernel program id, if this session loaded it. */
  objectOfProgram(progId: number): LoadedObject | undefined {
    return this.loadedObjects().find((o) => o.programs.some((p) => p.id === progId));
  }

  /** The object that owns a kernel map id, if this session created it. */
  objectOfMap(mapId: number): LoadedObject | undefined {
    return this.loadedObjects().find((o) => o.maps.some((m) => m.id === mapId));
  }

  /** Releases everything the session owns. Idempotent; never throws. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.releasing = 'close';
    for (const stop of this.streams) stop();
    this.streams.clear();
    this.backgroundStreams.closeAll();
    // Links first: a pinned link keeps its program alive on its own. A leased one goes with its pin.
    for (const held of this.heldLinks()) {
      if (held.expiresAt) this.endLease(held);
      else this.releaseLink(held.handle, false);
    }
    for (const entry of this.objects.values()) {
      try {
        entry.object.close();
      } catch (e) {
        log.error('releasing object failed', { object: entry.id, error: String(e) });
      }
      this.tell('released', { programs: entry.programs.map((p) => p.id), maps: entry.maps.map((m) => m.id) });
    }
    log.info('session released', { session: this.id, objects: this.objects.size });
    this.objects.clear();
  }
}
