/**
 * A client's session: everything it created in the kernel, released as one
 * when the client goes away. Objects stay loaded between tool calls.
 */
import { randomUUID } from 'node:crypto';
import type { BpfObject } from '../kernel/object.js';
import { log } from '../log.js';

/** A program of a loaded object, with the kernel's id for it. */
export interface LoadedProgram {
  name: string;
  section: string;
  type: string;
  id: number;
  tag: string;
  insnCnt: number;
}

/** A map of a loaded object, with the kernel's id for it. */
export interface LoadedMap {
  name: string;
  id: number;
  type: string;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  /** libbpf's own map for global data. */
  internal: boolean;
}

/** An object this session loaded, with its programs and maps as loaded. */
export interface LoadedObject {
  /** The session's handle for it (obj-1, obj-2, ...). */
  id: string;
  name: string;
  sha256: string;
  loadedAt: Date;
  object: BpfObject;
  programs: LoadedProgram[];
  maps: LoadedMap[];
}

/** What a session owns, and its release. */
export class Session {
  /** Unique id of the session, for logs and pin records. */
  readonly id = randomUUID();
  private readonly objects = new Map<string, LoadedObject>();
  private nextObject = 1;
  private closed = false;

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
    return owned;
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
    for (const entry of this.objects.values()) {
      try {
        entry.object.close();
      } catch (e) {
        log.error('releasing object failed', { object: entry.id, error: String(e) });
      }
    }
    log.info('session released', { session: this.id, objects: this.objects.size });
    this.objects.clear();
  }
}
