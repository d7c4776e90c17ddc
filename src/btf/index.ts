/**
 * Pure TypeScript BTF: parse raw BTF (kernel, module or object file), decode raw bytes of a BTF
 * type into JSON-ready values (and encode them back), and describe those values with JSON Schema. No kernel access.
 */
export { BtfError } from './error.js';
export { elfSection } from './elf.js';
export { Btf, parseBtf, type BtfTypeOf } from './parse.js';
export { compileDecoder, type Decoder } from './decode.js';
export { EncodeError, encodeValue } from './encode.js';
export { dataGlobals, type DataGlobal } from './globals.js';
export { schemaFor, type JsonSchema, type JsonSchemaType } from './schema.js';
export type { DecodeOptions, TruncatedArray } from './layout.js';
export * from './types.js';
export { chooseEventType, type EventTypeChoice } from './event-type.js';
export { compileRenderer, type Renderer } from './render.js';
