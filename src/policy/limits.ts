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
  /** Attachments one session may hold at once. */
  maxLinksPerSession: number;
  /** Event streams one session may run at once. */
  maxReadersPerSession: number;
  /** Default and hard maximum of items per list in inspect_state. */
  listDefault: number;
  listMax: number;
  /** Bytes of verifier log returned in a result (the log kept is larger). */
  verifierLogBytes: number;
}

/** The limits used unless configured otherwise. */
export const DEFAULT_LIMITS: Limits = {
  maxObjectBytes: 16 << 20,
  maxObjectsPerSession: 64,
  maxProgramsPerSession: 256,
  maxMapsPerSession: 256,
  maxLinksPerSession: 64,
  maxReadersPerSession: 8,
  listDefault: 100,
  listMax: 1000,
  verifierLogBytes: 64 << 10,
};

/** Keeps the end of a long text (where the verifier explains itself), marking the cut. */
export function tailBytes(text: string, max: number): { text: string; truncated: boolean } {
  if (Buffer.byteLength(text) <= max) return { text, truncated: false };
  const buf = Buffer.from(text);
  const tail = buf.subarray(buf.length - max).toString('utf8').replace(/^[^\n]*\n/, '');
  return { text: `[... ${buf.length - Buffer.byteLength(tail)} bytes cut ...]\n${tail}`, truncated: true };
}
