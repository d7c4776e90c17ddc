/**
 * `format: "table"`: a stream's records as one list of column names and a
 * row of values per record, instead of an object per record that repeats
 * every name. Columns are the record's fields, a struct's members as
 * `struct.member` (one level), from the record schema. Pure: no kernel.
 */

/** Events as columns and rows; `decode_errors` names rows whose record did not decode (their cells are null). */
export interface EventTable {
  columns: string[];
  rows: unknown[][];
  decode_errors?: { row: number; decode_error: string; raw: string }[];
}

/** One column: its name and how its cell is read from a decoded record. */
interface Column {
  name: string;
  get: (data: Record<string, unknown>) => unknown;
}

/** The columns of records described by `schema` (null: raw records, one `raw` column of hex). */
export function columnsOf(schema: Record<string, unknown> | null): Column[] {
  const props = (schema?.properties ?? {}) as Record<string, { properties?: Record<string, unknown> }>;
  return Object.entries(props).flatMap(([k, s]): Column[] =>
    s?.properties
      ? Object.keys(s.properties).map((m) => ({ name: `${k}.${m}`, get: (d) => (d[k] as Record<string, unknown> | undefined)?.[m] ?? null }))
      : [{ name: k, get: (d) => d[k] ?? null }],
  );
}

/** Builds a table record by record; a perf buffer's cpu comes first, as `cpu` (`buffer_cpu` if a field is named cpu). */
export class TableBuilder {
  readonly table: EventTable;
  private readonly cells: Column[];
  private readonly withCpu: boolean;

  constructor(schema: Record<string, unknown> | null, cpu: number | null) {
    this.cells = schema ? columnsOf(schema) : [];
    this.withCpu = cpu !== null;
    const names = this.cells.map((c) => c.name);
    const cpuName = names.includes('cpu') ? 'buffer_cpu' : 'cpu';
    this.table = { columns: [...(this.withCpu ? [cpuName] : []), ...names, ...(schema ? [] : ['raw'])], rows: [] };
  }

  /** The row of one record: its decoded data (null cells when it did not decode), or its raw bytes as hex for raw records. */
  row(data: Record<string, unknown> | undefined, cpu: number | null, raw: () => string): unknown[] {
    const head = this.withCpu ? [cpu] : [];
    if (this.cells.length === 0) return [...head, raw()];
    return [...head, ...this.cells.map((c) => (data ? c.get(data) : null))];
  }

  /** Appends a row made by {@link row}, noting a record that did not decode. */
  push(row: unknown[], raw: () => string, decodeError: string | undefined): void {
    if (decodeError !== undefined) (this.table.decode_errors ??= []).push({ row: this.table.rows.length, decode_error: decodeError, raw: raw() });
    this.table.rows.push(row);
  }
}
