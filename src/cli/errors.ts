/**
 * What ends the CLI early, each with its exit code: a usage error (2), a
 * typed error a tool returned (3), a connection that failed or was lost (4),
 * in fleet mode no node answering (5).
 * main prints one line for each, never a stack trace.
 */

/** The CLI's exit codes. */
export const EXIT = {
  /** Done. */
  ok: 0,
  /** Anything unexpected (a bug): still one line. */
  failure: 1,
  /** Bad flags, arguments or JSON. */
  usage: 2,
  /** A tool answered with a typed error (VALIDATION_ERROR, ...). */
  tool: 3,
  /** The server could not be reached, or the connection to it was lost. */
  connection: 4,
  /** Fleet mode: no node answered (each node's failure is listed). */
  noNode: 5,
  /** Interrupted by SIGINT (128 + 2). */
  interrupted: 130,
  /** Ended by SIGTERM (128 + 15). */
  terminated: 143,
} as const;

/** An error the CLI reports as one line and an exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    /** The process exit code. */
    readonly exitCode: number,
    /** What the line starts with after `ebpf-mcp: ` (an error type), if anything. */
    readonly label?: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** Bad usage: the flags, arguments or JSON given on the command line. */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, EXIT.usage);
    this.name = 'UsageError';
  }
}

/** A tool's typed error result: `error: {type, message, context}`. */
export class ToolError extends CliError {
  constructor(
    /** The error type, e.g. VALIDATION_ERROR. */
    readonly type: string,
    message: string,
    /** The error's context as the tool gave it. */
    readonly context: unknown,
    /** The whole structuredContent of the failed result. */
    readonly structured: unknown,
  ) {
    super(message, EXIT.tool, type);
    this.name = 'ToolError';
  }
}

/** The server could not be started or reached, or it went away. */
export class ConnectionError extends CliError {
  constructor(message: string) {
    super(message, EXIT.connection);
    this.name = 'ConnectionError';
  }
}
