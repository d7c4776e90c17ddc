/**
 * Bytes per event of `format: "table"` against JSON objects: the same
 * pre-filled records streamed twice by stream_events through the MCP client,
 * once as columns and rows, once as an object per event.
 */
import { type Server, note } from './lib.js';
import { type Section, costRow } from './report.js';
import { loadRing } from './ring.js';

/** Sizes of the table benchmark. */
export interface TableBytesConfig {
  /** Records per fill, all returned by each call. */
  records: number;
}

/** The result's byte cap for both calls: enough for every record as JSON objects. */
const MAX_BYTES = 1 << 20;

/** Streams the ring once as a table and once as JSON objects; returns the table_bytes_per_event row. */
export async function tableBytes(cfg: TableBytesConfig, server: Server): Promise<Section> {
  const ring = loadRing(cfg.records);
  try {
    const stream = async (format: 'table' | 'json') => {
      ring.fill();
      return server.call('stream_events', { source: { map_id: ring.mapId }, duration_ms: 2000, max_events: cfg.records, max_bytes: MAX_BYTES, format });
    };
    const t = await stream('table');
    const j = await stream('json');
    const table = t.table as { columns: string[]; rows: unknown[][] };
    const events = j.events as { data: { seq: number | string } }[];
    const seqColumn = table.columns.indexOf('seq');
    const tableSeqs = table.rows.map((r) => Number(r[seqColumn]));
    const jsonSeqs = events.map((e) => Number(e.data.seq));
    if (tableSeqs.length !== cfg.records || jsonSeqs.length !== cfg.records || tableSeqs.some((s, i) => s !== i || jsonSeqs[i] !== i)) {
      throw new Error(`the table has ${tableSeqs.length} rows and the JSON ${jsonSeqs.length} events; both should be records 0..${cfg.records - 1}`);
    }
    const tableBytes = Buffer.byteLength(JSON.stringify(table));
    const jsonBytes = Buffer.byteLength(JSON.stringify(events));
    note(`table: ${tableBytes} bytes as a table, ${jsonBytes} as JSON objects, for ${cfg.records} records`);
    return {
      title: 'Table output (`table_bytes_per_event`)',
      rows: [costRow('table_bytes_per_event', tableBytes / cfg.records, 'bytes/event', 'the same records as JSON objects (`format: "json"`, `events`)', jsonBytes / cfg.records, '<= 0.6 x JSON', 1 / 0.6)],
      how:
        `The drain benchmark's ring (bench/bpf/ringbuf.bpf.c) is filled with ${cfg.records} records and streamed by stream_events through the SDK client ` +
        `with max_events ${cfg.records} and max_bytes ${MAX_BYTES} (so nothing is cut), once with format "table", then filled again and streamed with format "json". ` +
        'Bytes are those of the compact JSON text of structuredContent.table ({columns, rows}) and of structuredContent.events (an object per event), ' +
        'each divided by the records it holds. Both hold the same records, checked: seq 0 to N-1 in order (the refill differs only in ts_ns, ' +
        'nanoseconds since boot of the same width). Ratio = JSON / table; the target (table <= 0.6 x JSON) is a ratio >= 1.67.',
      details: [`table: ${tableBytes} bytes for ${table.rows.length} rows (${table.columns.length} columns: ${table.columns.join(', ')}); JSON: ${jsonBytes} bytes for ${events.length} events`],
    };
  } finally {
    ring.obj.close();
  }
}
