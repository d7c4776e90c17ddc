/**
 * The decode stage's choice of a stream's record type, made once per
 * stream: up front from the caller's type name or the one event-named
 * struct, else from the size of the first record that needs decoding. Later
 * records reuse it, even when it found nothing: an ambiguous choice leaves
 * the whole stream raw instead of scanning every struct again per record.
 */
import { type Btf, type Decoder, type EventTypeChoice, type Renderer, chooseEventType, compileDecoder, compileRenderer, schemaFor } from '../btf/index.js';
import { type RecordPlan, planType } from '../btf/layout.js';

/** Types a result lists that might fit the records, at most. */
const MAX_CANDIDATES = 10;

/** The record type of one stream and its decoder. */
export class RecordType {
  /** What was chosen and how; `how: 'none'` until (and unless) a type is found. */
  choice: EventTypeChoice;
  /** Decodes one record; undefined while no type is chosen. */
  decoder: Decoder | undefined;
  /** Turns a decoded record into readable values (src/btf/render.ts); undefined when raw values are asked for or nothing needs it. */
  render: Renderer | undefined;
  private settled: boolean;

  /**
   * Chooses now when it can: by `typeName` when given (check `choice.typeId`), else by name alone.
   * `readable` false keeps the decoder's values as they are (format json-raw).
   */
  constructor(
    private readonly btf: Btf | undefined,
    typeName: string | undefined,
    private readonly readable = true,
  ) {
    this.choice = btf ? chooseEventType(btf, typeName) : { how: 'none' };
    if (btf && this.choice.typeId !== undefined) this.compile(btf, this.choice.typeId);
    this.settled = !btf || typeName !== undefined || this.choice.typeId !== undefined;
  }

  private compile(btf: Btf, typeId: number): void {
    this.decoder = compileDecoder(btf, typeId);
    this.render = this.readable ? compileRenderer(btf, typeId) : undefined;
  }

  /** The decoder for a record of `size` bytes; the first call settles a choice left open. */
  decoderFor(size: number): Decoder | undefined {
    if (!this.settled && this.btf) {
      this.settled = true;
      this.choice = chooseEventType(this.btf, undefined, size);
      if (this.choice.typeId !== undefined) this.compile(this.btf, this.choice.typeId);
    }
    return this.decoder;
  }

  /** C spelling of the type records were decoded as, or null when they were not. */
  get decodedType(): string | null {
    return this.decoder ? (this.choice.typeName ?? null) : null;
  }

  /** JSON Schema of a record as returned (rendered, unless raw values were asked for), or null without a type. */
  schema(): Record<string, unknown> | null {
    if (!this.btf || this.choice.typeId === undefined) return null;
    const decoded = schemaFor(this.btf, this.choice.typeId);
    return (this.render ? this.render.schema(decoded) : decoded) as Record<string, unknown>;
  }

  /** Whether there is BTF to decode records with (false: every record stays raw). */
  get hasBtf(): boolean {
    return this.btf !== undefined;
  }

  /** The decode plan of the type chosen so far (fields, offsets), or undefined without one. */
  plan(): RecordPlan | undefined {
    return this.btf && this.choice.typeId !== undefined ? planType(this.btf, this.choice.typeId) : undefined;
  }

  /**
   * The result fields that say why records were not decoded (none when they were): `decode_note`, and the
   * types that might fit in `decode_candidates` (names from the program's BTF, so not in the note).
   */
  get undecoded(): { decode_note?: string; decode_candidates?: string[] } {
    if (this.decoder) return {};
    if (!this.btf) return { decode_note: 'no BTF for this map: records are raw' };
    const candidates = this.choice.candidates?.slice(0, MAX_CANDIDATES) ?? [];
    return {
      decode_note: `no single BTF type fits the records${candidates.length ? ' (some might: decode_candidates)' : ''}; pass decode.type_name`,
      ...(candidates.length ? { decode_candidates: candidates } : {}),
    };
  }
}
