/**
 * The typed errors every tool returns. The names come from the seed's error
 * schema; `context` carries whatever helps the caller take the next step.
 */

/** Every error type a tool can return. */
export const ERROR_TYPES = [
  'VALIDATION_ERROR',
  'PERMISSION_DENIED',
  'SYSTEM_ERROR',
  'VERIFIER_ERROR',
  'UNSUPPORTED_BPF_FEATURE',
  'RESOURCE_LIMIT_EXCEEDED',
  'ATTACHMENT_FAILED',
  'PROGRAM_NOT_FOUND',
  'MAP_ACCESS_ERROR',
] as const;

/** One of {@link ERROR_TYPES}. */
export type ErrorType = (typeof ERROR_TYPES)[number];

/** Machine-readable details of an error: errno, verifier log, limit hit, alternatives. */
export type ErrorContext = Record<string, unknown>;

/** An error with a type from the contract, safe to hand to a client as it is. */
export class ToolError extends Error {
  constructor(
    readonly type: ErrorType,
    message: string,
    readonly context: ErrorContext = {},
  ) {
    super(message);
    this.name = 'ToolError';
  }
}

/** Shorthand for a VALIDATION_ERROR about one input field. */
export function invalid(field: string, message: string, context: ErrorContext = {}): ToolError {
  return new ToolError('VALIDATION_ERROR', `${field}: ${message}`, { field, ...context });
}

/**
 * A RESOURCE_LIMIT_EXCEEDED in the one shape every tool uses: which
 * `resource`, its `limit`, and the `current_usage` that the call would pass
 * it with (the resource's own count first, other counts that help after).
 */
export function limitExceeded(message: string, resource: string, limit: number, usage: number, context: ErrorContext = {}): ToolError {
  const { current_usage: others, ...rest } = context;
  return new ToolError('RESOURCE_LIMIT_EXCEEDED', message, {
    resource,
    limit,
    current_usage: { [resource]: usage, ...(others as Record<string, number> | undefined) },
    ...rest,
  });
}
