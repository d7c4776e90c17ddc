/**
 * A memo from the raw bytes of one fixed field of a record (a comm's 16
 * bytes) to what they were found to mean, so a record whose bytes were seen
 * before is handled without decoding it: an open-addressing table of the
 * bytes, read as 32-bit words where they allow. Bounded: once full it
 * remembers nothing more (callers go the slow way). Pure: no kernel.
 */

/** Initial slots (a power of two). */
const INITIAL_SLOTS = 256;

/** Raw field bytes to values of type T. */
export class RawKeys<T> {
  private slots = INITIAL_SLOTS;
  private keys: Uint8Array;
  private keyView: DataView;
  private values: (T | undefined)[];
  private used: Uint8Array;
  private count = 0;
  private readonly words: number;

  /** Keys of `size` bytes at `byte` of each record; at most `maxKeys` kept. */
  constructor(
    private readonly byte: number,
    private readonly size: number,
    private readonly maxKeys: number,
  ) {
    this.words = size % 4 === 0 ? size >> 2 : 0;
    this.keys = new Uint8Array(this.slots * size);
    this.keyView = new DataView(this.keys.buffer);
    this.used = new Uint8Array(this.slots);
    this.values = new Array<T | undefined>(this.slots).fill(undefined);
  }

  /** Whether no more keys are kept. */
  get full(): boolean {
    return this.count >= this.maxKeys;
  }

  private hash(b: Uint8Array, view: DataView, p: number): number {
    let h = 0x811c9dc5;
    if (this.words) for (let i = 0; i < this.words; i++) h = Math.imul(h ^ view.getUint32(p + 4 * i, true), 0x01000193);
    else for (let i = 0; i < this.size; i++) h = Math.imul(h ^ (b[p + i] as number), 0x01000193);
    return (h ^ (h >>> 15)) >>> 0;
  }

  private same(slot: number, b: Uint8Array, view: DataView, p: number): boolean {
    const k = slot * this.size;
    if (this.words) {
      for (let i = 0; i < this.words; i++) if (this.keyView.getUint32(k + 4 * i, true) !== view.getUint32(p + 4 * i, true)) return false;
      return true;
    }
    for (let i = 0; i < this.size; i++) if (this.keys[k + i] !== b[p + i]) return false;
    return true;
  }

  /** The slot of the record at `offset` (its key's bytes), or of the empty slot where it would go. */
  private slotOf(b: Uint8Array, view: DataView, offset: number): number {
    const p = offset + this.byte;
    const mask = this.slots - 1;
    for (let s = this.hash(b, view, p) & mask; ; s = (s + 1) & mask) {
      if (!this.used[s] || this.same(s, b, view, p)) return s;
    }
  }

  /** What the record's key bytes were given with {@link set}, or undefined when they were not. */
  get(b: Uint8Array, view: DataView, offset: number): T | undefined {
    return this.values[this.slotOf(b, view, offset)];
  }

  /** Remembers `value` for the record's key bytes (nothing once full). */
  set(b: Uint8Array, view: DataView, offset: number, value: T): void {
    if (this.full) return;
    if ((this.count + 1) * 2 > this.slots) this.grow();
    const s = this.slotOf(b, view, offset);
    if (!this.used[s]) {
      this.used[s] = 1;
      this.count++;
      this.keys.set(b.subarray(offset + this.byte, offset + this.byte + this.size), s * this.size);
    }
    this.values[s] = value;
  }

  /** Doubles the slots, placing every key again. */
  private grow(): void {
    const { keys, used, values, size } = this;
    this.slots *= 2;
    this.keys = new Uint8Array(this.slots * size);
    this.keyView = new DataView(this.keys.buffer);
    this.used = new Uint8Array(this.slots);
    this.values = new Array<T | undefined>(this.slots).fill(undefined);
    const oldView = new DataView(keys.buffer);
    for (let s = 0; s < used.length; s++) {
      if (!used[s]) continue;
      const n = this.freeSlot(keys, oldView, s * size);
      this.used[n] = 1;
      this.keys.set(keys.subarray(s * size, (s + 1) * size), n * size);
      this.values[n] = values[s];
    }
  }

  /** The empty slot for key bytes at `p` of `b` (used while growing: every key is new). */
  private freeSlot(b: Uint8Array, view: DataView, p: number): number {
    const mask = this.slots - 1;
    let s = this.hash(b, view, p) & mask;
    while (this.used[s]) s = (s + 1) & mask;
    return s;
  }
}
