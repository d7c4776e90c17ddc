/**
 * A memo from the raw bytes of one fixed field of a record (a comm's 16
 * bytes) to what they were found to mean, so a record whose bytes were seen
 * before is handled without decoding it: an open-addressing table of the
 * bytes, read as native 32-bit words where they are aligned. Bounded: once full it
 * remembers nothing more (callers go the slow way). Pure: no kernel.
 */

/** Initial slots (a power of two). */
const INITIAL_SLOTS = 256;

/** Raw field bytes to values of type T. */
export class RawKeys<T> {
  private slots = INITIAL_SLOTS;
  private keys: Uint8Array;
  /** The same memory as words, for keys of whole words. */
  private keyWords: Uint32Array;
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
    this.keyWords = new Uint32Array(this.keys.buffer, 0, (this.slots * size) >> 2);
    this.used = new Uint8Array(this.slots);
    this.values = new Array<T | undefined>(this.slots).fill(undefined);
  }

  /** Whether no more keys are kept. */
  get full(): boolean {
    return this.count >= this.maxKeys;
  }

  /** The word of `w` the key at byte `p` of `b` starts at, or -1 when it cannot be read as words (`w` is `b`'s memory as native words, `b` starting on a word). */
  private wordAt(w: Uint32Array | undefined, p: number): number {
    return this.words > 0 && w !== undefined && (p & 3) === 0 ? p >> 2 : -1;
  }

  /** The hash of the key at byte `p` of `b`, or at word `q` of `w` when q >= 0. */
  private hash(b: Uint8Array, w: Uint32Array | undefined, p: number, q: number): number {
    let h = 0x811c9dc5;
    // Words are mixed with their high bits folded down (a multiply alone leaves the low bits, which pick the slot, blind to them).
    if (q >= 0) for (let i = 0; i < this.words; i++) h = Math.imul(h ^ ((w as Uint32Array)[q + i] as number), 0x9e3779b1) ^ (h >>> 16);
    else for (let i = 0; i < this.size; i++) h = Math.imul(h ^ (b[p + i] as number), 0x01000193);
    // murmur3's finalizer: every input bit reaches the low bits.
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    return (h ^ (h >>> 16)) >>> 0;
  }

  private same(slot: number, b: Uint8Array, w: Uint32Array | undefined, p: number, q: number): boolean {
    if (q >= 0) {
      const k = slot * this.words;
      for (let i = 0; i < this.words; i++) if (this.keyWords[k + i] !== (w as Uint32Array)[q + i]) return false;
      return true;
    }
    const k = slot * this.size;
    for (let i = 0; i < this.size; i++) if (this.keys[k + i] !== b[p + i]) return false;
    return true;
  }

  /** The slot of the record at `offset` (its key's bytes), or of the empty slot where it would go. */
  private slotOf(b: Uint8Array, w: Uint32Array | undefined, offset: number): number {
    const p = offset + this.byte;
    const q = this.wordAt(w, p);
    const mask = this.slots - 1;
    for (let s = this.hash(b, w, p, q) & mask; ; s = (s + 1) & mask) {
      if (!this.used[s] || this.same(s, b, w, p, q)) return s;
    }
  }

  /**
   * What the key bytes of the record at `offset` of `b` were given with {@link set}, or undefined
   * when they were not; `w` is `b`'s memory as native 32-bit words when `b` starts on a word.
   */
  get(b: Uint8Array, w: Uint32Array | undefined, offset: number): T | undefined {
    return this.values[this.slotOf(b, w, offset)];
  }

  /** Remembers `value` for the key bytes of the record at `offset` of `b` (nothing once full); `w` as for {@link get}. */
  set(b: Uint8Array, w: Uint32Array | undefined, offset: number, value: T): void {
    if (this.full) return;
    if ((this.count + 1) * 2 > this.slots) this.grow();
    const s = this.slotOf(b, w, offset);
    if (!this.used[s]) {
      this.used[s] = 1;
      this.count++;
      this.keys.set(b.subarray(offset + this.byte, offset + this.byte + this.size), s * this.size);
    }
    this.values[s] = value;
  }

  /** Doubles the slots, placing every key again. */
  private grow(): void {
    const { keys, keyWords, used, values, size } = this;
    this.slots *= 2;
    this.keys = new Uint8Array(this.slots * size);
    this.keyWords = new Uint32Array(this.keys.buffer, 0, (this.slots * size) >> 2);
    this.used = new Uint8Array(this.slots);
    this.values = new Array<T | undefined>(this.slots).fill(undefined);
    for (let s = 0; s < used.length; s++) {
      if (!used[s]) continue;
      const n = this.freeSlot(keys, keyWords, s * size);
      this.used[n] = 1;
      this.keys.set(keys.subarray(s * size, (s + 1) * size), n * size);
      this.values[n] = values[s];
    }
  }

  /** The empty slot for the key at byte `p` of `b` (used while growing: every key is new). */
  private freeSlot(b: Uint8Array, w: Uint32Array | undefined, p: number): number {
    const mask = this.slots - 1;
    let s = this.hash(b, w, p, this.wordAt(w, p)) & mask;
    while (this.used[s]) s = (s + 1) & mask;
    return s;
  }
}
