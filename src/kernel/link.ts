/**
 * An attachment of a program to a hook: a kernel BPF link (with an id that
 * bpftool and inspect_state see), or one with no single kernel link (a
 * netlink tc filter; a USDT attachment, which libbpf makes of one uprobe link
 * per call site). Destroying it detaches, unless a pin still holds the link.
 */
import { KernelError, NotSupported, kernelFailure } from './errors.js';
import { type LinkHandle, native } from './native.js';

/** A held attachment. */
export class BpfLink {
  private handle: LinkHandle | null;
  /** The kernel link id, or null where there is no single kernel link. */
  readonly id: number | null;

  constructor(
    handle: LinkHandle,
    /** Undoes what the attach set up around the link (a qdisc it created), after the link is gone. */
    private readonly afterRelease?: () => void,
  ) {
    this.handle = handle;
    const { fd } = native.linkDescribe(handle);
    this.id = fd >= 0 ? native.linkInfo(fd).id : null;
  }

  /** Adopts the link pinned at `path` (a new hold on it). */
  static fromPin(path: string): BpfLink {
    let fd: number;
    try {
      fd = native.objGet(path);
    } catch (e) {
      throw kernelFailure(e, `opening the pin ${path}`);
    }
    return new BpfLink(native.linkFromFd(fd));
  }

  private get h(): LinkHandle {
    if (!this.handle) throw new KernelError('the link is released', 'released');
    return this.handle;
  }

  /** Whether destroy() has run. */
  get released(): boolean {
    return this.handle === null;
  }

  /** The link's fd while held (-1 where there is no single kernel link). */
  get fd(): number {
    return native.linkDescribe(this.h).fd;
  }

  /** The tc filter's handle and priority, for netlink tc attachments. */
  get tc(): { handle: number; priority: number } | undefined {
    return native.linkDescribe(this.h).tc;
  }

  /** Pins the link on bpffs: it then outlives this process. */
  pin(path: string): void {
    const fd = this.fd;
    if (fd < 0) {
      throw new NotSupported('this attachment is not a single BPF link (netlink tc filter or USDT), so it cannot be pinned', 'link pinning', 'one kernel BPF link');
    }
    try {
      native.objPin(fd, path);
    } catch (e) {
      throw kernelFailure(e, `pinning link at ${path}`);
    }
  }

  /** One run of an iterator link: its output, cut at `maxBytes` (then `truncated`). */
  iterate(maxBytes: number): { data: Buffer; truncated: boolean } {
    try {
      return native.iterRead(this.h, maxBytes);
    } catch (e) {
      throw kernelFailure(e, 'running the iterator');
    }
  }

  /** Detaches from the hook now, even while pinned (the link stays as a defunct object until released). */
  detach(): void {
    try {
      native.linkDetach(this.h);
    } catch (e) {
      throw kernelFailure(e, 'detaching link');
    }
  }

  /** Releases this hold: detaches unless a pin keeps the link. Idempotent. */
  destroy(): void {
    if (!this.handle) return;
    native.linkDestroy(this.handle);
    this.handle = null;
    this.afterRelease?.();
  }
}
