/**
 * The decode stage's choice of a stream's record type, made once per
 * stream: up front from the caller's type name or the one event-named
 * struct, else from the size of the first record that needs decoding. Later
 * records reuse it, even when it found nothing: an ambiguous choice leaves
 * the whole stream raw instead of scanning every struct again per record.
 */
import { type Btf, type Decoder, type EventTypeChoice, type Renderer, chooseEventType, compileDecoder, compileRenderer, schemaFor } from '../btf/index.js';
import { type RecordPlan, planType } from '../btf/layout.js';

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

  /** Why records were not decoded, or undefined when they were. */
  get note(): string | undefined {
    if (this.decoder) return undefined;
    if (!this.btf) return 'no BTF for this map: records are raw';
    const candidates = this.choice.candidates?.length ? ` (candidates: ${this.choice.candidates.slice(0, 10).join(', ')})` : '';
    return `no single BTF type fits the records${candidates}; pass decode.type_name`;
  }
}
