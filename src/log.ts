/**
 * Logging to stderr only: stdout belongs to the stdio protocol. One line per
 * message, levels filtered by EBPF_MCP_LOG (error, warn, info, debug).
 */
const LEVELS = ['error', 'warn', 'info', 'debug'] as const;

/** A log level, most severe first. */
export type LogLevel = (typeof LEVELS)[number];

let threshold = LEVELS.indexOf((process.env.EBPF_MCP_LOG as LogLevel) ?? 'info');
if (threshold < 0) threshold = LEVELS.indexOf('info');

/** Sets the most verbose level that is still written. */
export function setLogLevel(level: LogLevel): void {
  threshold = LEVELS.indexOf(level);
}

function write(level: LogLevel, message: string, fields?: Record<string, unknown>): void {
  if (LEVELS.indexOf(level) > threshold) return;
  const extra = fields ? ' ' + JSON.stringify(fields, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)) : '';
  process.stderr.write(`${new Date().toISOString()} ${level} ${message}${extra}\n`);
}

/** The server's logger. */
export const log = {
  error: (m: string, f?: Record<string, unknown>) => write('error', m, f),
  warn: (m: string, f?: Record<string, unknown>) => write('warn', m, f),
  info: (m: string, f?: Record<string, unknown>) => write('info', m, f),
  debug: (m: string, f?: Record<string, unknown>) => write('debug', m, f),
};
