/** What a command is and what it runs with. */
import type { Options } from './args.js';
import type { Session } from './connection.js';
import type { Style } from './output.js';

/** What a command's run gets. */
export interface Context {
  /** Every flag, the global ones included, as parsed. */
  values: Record<string, unknown>;
  positionals: string[];
  /** How stdout looks (terminal, colours, width). */
  style: Style;
  /** Aborted on SIGINT or SIGTERM. */
  signal: AbortSignal;
  /** The session, connected on first use. */
  session(): Promise<Session>;
}

/** One `ebpf-mcp <command>`. */
export interface Command {
  name: string;
  /** One line for the command list. */
  summary: string;
  /** The whole --help text of the command. */
  usage: string;
  /** Its flags (besides the global ones). */
  options: Options;
  /** How many arguments it takes. */
  positionals: { min: number; max: number };
  /** Runs it; resolves with the exit code. */
  run(ctx: Context): Promise<number>;
}

/** The JSON output was asked for: --json, or -o json where the command has -o. */
export const wantsJson = (ctx: Context): boolean => ctx.values.json === true || ctx.values.output === 'json';
