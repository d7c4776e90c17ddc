/**
 * The server's limits: sizes, list lengths and per-session quotas. Every
 * list and stream a tool returns is bounded by one of these.
 */

/** Limits in force for a server; defaults below, overridable from the command line. */
export interface Limits {
  /** Largest BPF object accepted, from a file or inline. */
  maxObjectBytes: number;
  /** Objects one session may hold loaded at once. */
  maxObjectsPerSession: number;
  /** Programs and maps one session may hold loaded at once. */
  maxProgramsPerSession: number;
  maxMapsPerSession: number;
  /** Kernel memory the maps of one session may take once full (estimated before they are created). */
  maxMapBytesPerSession: number;
  /** Attachments one session may hold at once. */
  maxLinksPerSession: number;
  /** Event streams one session may run at once. */
  maxReadersPerSession: number;
  /** Longest lease (ttl_seconds) an attachment may have. */
  maxLeaseSeconds: number;
  /** Default and hard maximum of items per list in inspect_state (and of groups an aggregation returns). */
  listDefault: number;
  listMax: number;
  /** Default and hard maximum of map entries inspect_state returns. */
  mapEntriesDefault: number;
  mapEntriesMax: number;
  /** Most bytes of decoded map entries (as JSON) in one page of inspect_state's map_entries. */
  mapEntriesBytes: number;
  /** Most bytes of one serialized tool result by default; the tools that build large results stop early to fit, a larger one is refused with RESOURCE_LIMIT_EXCEEDED. */
  maxResultBytes: number;
  /** Most a call may raise that to with its `max_bytes` input. */
  maxResultBytesMax: number;
  /** Tool calls one session may have running at once; the excess is refused at once. */
  maxRequestsInFlight: number;
  /** Longest a stream runs, and the most events it returns. */
  streamMaxMs: number;
  streamMaxEvents: number;
  /** Most distinct groups an aggregating stream counts (later groups are counted as overflow). */
  streamMaxGroups: number;
  /** Longest stream one call may wait for (clients commonly time a request out at 60 s); longer ones run in the background. */
  streamForegroundMaxMs: number;
  /** Most records, and bytes of them as JSON, a background stream keeps queued for its reader (the oldest go first). */
  streamQueueEvents: number;
  streamQueueBytes: number;
  /** Bytes of verifier log returned in a result (the log kept is larger); half the default result size, so it fits. */
  verifierLogBytes: number;
}

/** The limits used unless configured otherwise. */
export const DEFAULT_LIMITS: Limits = {
  maxObjectBytes: 16 << 20,
  maxObjectsPerSession: 64,
  maxProgramsPerSession: 256,
  maxMapsPerSession: 256,
  maxMapBytesPerSession: 512 << 20,
  maxLinksPerSession: 64,
  maxReadersPerSession: 8,
  maxLeaseSeconds: 86_400,
  listDefault: 100,
  listMax: 1000,
  mapEntriesDefault: 100,
  mapEntriesMax: 10_000,
  mapEntriesBytes: 256 << 10,
  maxResultBytes: 64 << 10,
  maxResultBytesMax: 1 << 20,
  maxRequestsInFlight: 32,
  streamMaxMs: 300_000,
  streamMaxEvents: 10_000,
  streamMaxGroups: 10_000,
  streamForegroundMaxMs: 55_000,
  streamQueueEvents: 10_000,
  streamQueueBytes: 4 << 20,
  verifierLogBytes: 32 << 10,
};

/** A size as a model reads it: "16 MiB" or "64 KiB" when it is whole mebibytes or kibibytes, else bytes. */
export function formatBytes(bytes: number): string {
  if (bytes > 0 && bytes % (1 << 20) === 0) return `${bytes / (1 << 20)} MiB`;
  return bytes > 0 && bytes % 1024 === 0 ? `${bytes / 1024} KiB` : `${bytes} bytes`;
}

/**
 * Longest base64 text accepted for an inline object: that of an object twice the size limit, so an
 * object over the limit still arrives and is refused with a typed error naming the limit.
 */
export function maxInlineObjectChars(maxObjectBytes: number): number {
  return 2 * Math.ceil(maxObjectBytes / 3) * 4;
}

/** Keeps the end of a long text (where the verifier explains itself), marking the cut. */
export function tailBytes(text: string, max: number): { text: string; truncated: boolean } {
  if (Buffer.byteLength(text) <= max) return { text, truncated: false };
  const buf = Buffer.from(text);
  const tail = buf.subarray(buf.length - max).toString('utf8').replace(/^[^\n]*\n/, '');
  return { text: `[... ${buf.length - Buffer.byteLength(tail)} bytes cut ...]\n${tail}`, truncated: true };
}
