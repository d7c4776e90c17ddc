/**
 * The one error type of the BTF library: malformed ELF or BTF input, an unknown type id, a type the
 * decoder cannot handle, or a record too short for its type. The message says what and where.
 */
export class BtfError extends Error {
  override readonly name = 'BtfError';
}
