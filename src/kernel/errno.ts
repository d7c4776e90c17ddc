/**
 * Errors thrown by the addon carry errno, its symbolic code, the operation
 * and what libbpf printed. This file turns them into typed ToolErrors.
 */
import { constants } from 'node:os';
import { type ErrorContext, type ErrorType, ToolError } from '../errors.js';

/** The shape of an error thrown by the native addon. */
export interface NativeError extends Error {
  code: string;
  errno: number;
  op: string;
  libbpfLog: string;
}

/** Whether `e` came from the addon with an errno. */
export function isNativeError(e: unknown): e is NativeError {
  return e instanceof Error && typeof (e as NativeError).errno === 'number' && typeof (e as NativeError).op === 'string';
}

/** ENOTSUPP, the kernel-internal "not supported" (524) that leaks to user space; os.constants.errno lacks it. */
const ENOTSUPP = 524;

const NAMES = new Map<number, string>([...Object.entries(constants.errno).map(([name, n]) => [n, name] as const), [ENOTSUPP, 'ENOTSUPP']]);

/** The symbolic name of an errno ("EPERM"), from os.constants.errno. */
export function errnoName(errno: number): string {
  return NAMES.get(errno) ?? `errno ${errno}`;
}

/** The usual error type for an errno by name, when the operation gives no better one. */
function errorTypeForErrno(code: string): ErrorType {
  switch (code) {
    case 'EPERM':
    case 'EACCES':
      return 'PERMISSION_DENIED';
    case 'E2BIG':
    case 'ENOMEM':
    case 'EMFILE':
    case 'ENOSPC':
      return 'RESOURCE_LIMIT_EXCEEDED';
    case 'EOPNOTSUPP':
    case 'ENOTSUPP':
      return 'UNSUPPORTED_BPF_FEATURE';
    default:
      return 'SYSTEM_ERROR';
  }
}

/** The lines libbpf printed, without its "libbpf: " prefixes, for a context. */
function libbpfLines(text: string, max = 20): string[] {
  return text
    .split('\n')
    .map((l) => l.replace(/^libbpf: /, '').trim())
    .filter((l) => l.length > 0)
    .slice(-max);
}

/**
 * A ToolError for a failed native call: `what` says what was being done, and
 * `type` overrides the errno's default mapping when the caller knows better.
 */
export function kernelError(e: unknown, what: string, extra: ErrorContext = {}, type?: ErrorType): ToolError {
  if (e instanceof ToolError) return e;
  if (!isNativeError(e)) {
    return new ToolError('SYSTEM_ERROR', `${what}: ${e instanceof Error ? e.message : String(e)}`, extra);
  }
  const context: ErrorContext = { syscall_errno: e.errno, errno_name: e.code, operation: e.op, ...extra };
  const lines = libbpfLines(e.libbpfLog ?? '');
  if (lines.length) context.libbpf_log = lines;
  return new ToolError(type ?? errorTypeForErrno(e.code), `${what}: ${e.message}`, context);
}
