/**
 * The background streams a session owns: server-made ids (s1, s2, ...), a
 * lease per stream that each read renews, and release of them all when the
 * session ends. An ended stream's id is remembered (a few dozen) so a late
 * read is told why it is gone.
 */
import { log } from '../log.js';
import type { BackgroundStream } from '../stream/background.js';

/** A background stream held by a session. */
export interface HeldStream {
  /** The session's handle for it (s1, s2, ...). */
  id: string;
  mapId: number;
  stream: BackgroundStream;
  /** Lease length, renewed by each read. */
  ttlSeconds: number;
  expiresAt: Date;
  timer?: NodeJS.Timeout;
}

/** How many ended stream ids keep their reason. */
const REMEMBERED = 32;

/** The background streams of one session. */
export class BackgroundStreams {
  private readonly held = new Map<string, HeldStream>();
  private readonly ended = new Map<string, string>();
  private next = 1;

  /** Takes ownership of a started stream under a lease of `ttlSeconds`. */
  add(mapId: number, stream: BackgroundStream, ttlSeconds: number): HeldStream {
    const id = `s${this.next++}`;
    const held: HeldStream = { id, mapId, stream, ttlSeconds, expiresAt: new Date() };
    this.held.set(id, held);
    this.renew(held);
    return held;
  }

  /** Starts the lease over: it now ends `ttlSeconds` from now. */
  renew(held: HeldStream): void {
    clearTimeout(held.timer);
    held.expiresAt = new Date(Date.now() + held.ttlSeconds * 1000);
    held.timer = setTimeout(() => {
      log.info('stream lease expired', { stream: held.id, map: held.mapId });
      void this.release(held.id, `its lease expired at ${held.expiresAt.toISOString()}`);
    }, held.ttlSeconds * 1000);
    held.timer.unref();
  }

  /** The stream with this id, if held. */
  get(id: string): HeldStream | undefined {
    return this.held.get(id);
  }

  /** Why a stream with this id is no longer held, when it was one of this session's. */
  whyGone(id: string): string | undefined {
    return this.ended.get(id);
  }

  /** Stops the stream and lets it go, remembering `why`; resolves once its reader is released. */
  async release(id: string, why: string): Promise<void> {
    const held = this.held.get(id);
    if (!held) return;
    clearTimeout(held.timer);
    this.held.delete(id);
    this.ended.set(id, why);
    if (this.ended.size > REMEMBERED) this.ended.delete(this.ended.keys().next().value as string);
    await held.stream.stop();
  }

  /** The streams held, oldest first. */
  list(): HeldStream[] {
    return [...this.held.values()];
  }

  /** How many are held (each counts in the session's stream quota, running or not). */
  get size(): number {
    return this.held.size;
  }

  /** Stops them all (the session is ending). */
  closeAll(): void {
    for (const held of this.list()) {
      clearTimeout(held.timer);
      this.held.delete(held.id);
      void held.stream.stop('session_closed');
    }
  }
}
