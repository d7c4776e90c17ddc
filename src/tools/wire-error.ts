/**
 * The one place where errors from the layers below become the typed errors
 * of the wire: domain errors (NotSupported, TargetNotFound, InvalidRequest,
 * KernelError, MalformedObject) and the addon's own get their type and a `context` of one
 * shape per type (see docs/TOOL_SPECS.md), with the input field they concern.
 */
import { type ErrorContext, type ErrorType, ToolError } from '../errors.js';
import { MalformedObject } from '../obj/elf-check.js';
import { privilegeAdvice, privilegeText } from './privileges.js';
import { type Failure, InvalidRequest, KernelError, type NativeError, NotSupported, TargetNotFound, isNativeError } from '../kernel/errors.js';

/** The wire type of each failure a kernel call can report. */
const FAILURE_TYPES: Record<Failure, ErrorType> = {
  bad_object: 'VALIDATION_ERROR',
  map_access: 'MAP_ACCESS_ERROR',
  verifier: 'VERIFIER_ERROR',
  released: 'SYSTEM_ERROR',
};

/** The usual error type for an errno by name, when the failure says nothing better. */
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

/** What the kernel said: errno by number and name, the operation, and the last lines libbpf printed. */
function nativeContext(e: NativeError): ErrorContext {
  const lines = (e.libbpfLog ?? '')
    .split('\n')
    .map((l) => l.replace(/^libbpf: /, '').trim())
    .filter((l) => l.length > 0)
    .slice(-20);
  return { syscall_errno: e.errno, errno_name: e.code, operation: e.op, ...(lines.length ? { libbpf_log: lines } : {}) };
}

/** The error with its field given as a path from the input's root: `name` within `attachment.tracepoint` is `attachment.tracepoint.name`. */
function withinField(e: ToolError, field: string): ToolError {
  const own = e.context.field;
  if (typeof own !== 'string') return new ToolError(e.type, e.message, { field, ...e.context });
  const full = `${field}.${own}`;
  const message = e.message.startsWith(`${own}: `) ? `${full}: ${e.message.slice(own.length + 2)}` : e.message;
  return new ToolError(e.type, message, { ...e.context, field: full });
}

/**
 * A kernel refusal with EPERM or EACCES, said as what it is when the server
 * lacks capabilities: which, and how to grant them, in place of libbpf's
 * RLIMIT_MEMLOCK hint. Unchanged when the server holds them all.
 */
function unprivileged(e: ToolError): ToolError {
  const advice = e.type === 'PERMISSION_DENIED' ? privilegeAdvice() : undefined;
  if (!advice) return e;
  const { libbpf_log: log, ...rest } = e.context;
  const kept = Array.isArray(log) ? log.filter((l) => !/RLIMIT_MEMLOCK/.test(String(l))) : [];
  return new ToolError('PERMISSION_DENIED', `${e.message}: ${privilegeText(advice)}`, {
    ...rest,
    ...(kept.length ? { libbpf_log: kept } : {}),
    missing_capabilities: advice.missing,
    grant: advice.grant,
  });
}

/** The wire form of an error from the layers below, before any field path is added. */
function toWire(e: unknown, type?: ErrorType): ToolError {
  if (e instanceof ToolError) return e;
  if (e instanceof NotSupported) {
    return new ToolError('UNSUPPORTED_BPF_FEATURE', e.message, {
      feature: e.feature,
      kernel_requirement: e.requirement,
      alternatives: e.alternatives,
      ...e.details,
    });
  }
  if (e instanceof TargetNotFound) {
    return new ToolError('ATTACHMENT_FAILED', e.message, { target_kind: e.kind, target: e.target, suggestions: e.suggestions, ...e.details });
  }
  if (e instanceof MalformedObject) {
    return new ToolError('VALIDATION_ERROR', `not a loadable BPF object: ${e.message}`, { field: 'source', object_part: e.part, ...(e.section === undefined ? {} : { section: e.section }) });
  }
  if (e instanceof InvalidRequest) return new ToolError('VALIDATION_ERROR', e.message, { ...(e.field === undefined ? {} : { field: e.field }), ...e.details });
  if (e instanceof KernelError) {
    const native = e.native ? nativeContext(e.native) : {};
    const wireType = type ?? (e.failure ? FAILURE_TYPES[e.failure] : e.native ? errorTypeForErrno(e.native.code) : 'SYSTEM_ERROR');
    return unprivileged(new ToolError(wireType, e.message, { ...native, ...e.details }));
  }
  if (isNativeError(e)) return unprivileged(new ToolError(type ?? errorTypeForErrno(e.code), `${e.op}: ${e.message}`, nativeContext(e)));
  return new ToolError('SYSTEM_ERROR', e instanceof Error ? e.message : String(e));
}

/** A ToolError for anything a handler threw; `field` is the input path it concerns, when known. */
export function wireError(e: unknown, field?: string): ToolError {
  const err = toWire(e);
  return field ? withinField(err, field) : err;
}

/** The typed error for a failed attach: the kernel's refusals by errno name, domain errors as they are. */
export function attachError(e: unknown, kind: string): ToolError {
  const field = `attachment.${kind}`;
  const native = e instanceof KernelError ? e.native : isNativeError(e) ? e : undefined;
  if (!native || (e instanceof KernelError && e.failure)) return wireError(e, field);
  const type = ['EOPNOTSUPP', 'ENOTSUPP'].includes(native.code) ? 'UNSUPPORTED_BPF_FEATURE' : ['EPERM', 'EACCES'].includes(native.code) ? 'PERMISSION_DENIED' : 'ATTACHMENT_FAILED';
  const hint = native.code === 'EEXIST' ? { hint: 'this program is already attached there; a program attaches once per hook' } : {};
  const err = toWire(new KernelError(`attaching as ${kind} failed: ${native.message}`, undefined, hint, native), type);
  return withinField(err, field);
}
