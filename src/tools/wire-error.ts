/**
 * The one place where errors from the layers below become the typed errors
 * of the wire: domain errors (NotSupported, TargetNotFound) and errors from
 * the addon get their type and a `context` of one shape per type (see
 * docs/TOOL_SPECS.md), with the input field they concern.
 */
import { ToolError } from '../errors.js';
import { isNativeError, kernelError } from '../kernel/errno.js';
import { NotSupported, TargetNotFound } from '../kernel/errors.js';

/** The error with its field given as a path from the input's root: `name` within `attachment.tracepoint` is `attachment.tracepoint.name`. */
function withinField(e: ToolError, field: string): ToolError {
  const own = e.context.field;
  if (typeof own !== 'string') return new ToolError(e.type, e.message, { field, ...e.context });
  const full = `${field}.${own}`;
  const message = e.message.startsWith(`${own}: `) ? `${full}: ${e.message.slice(own.length + 2)}` : e.message;
  return new ToolError(e.type, message, { ...e.context, field: full });
}

/** A ToolError for anything a handler threw; `field` is the input path it concerns, when known. */
export function wireError(e: unknown, field?: string): ToolError {
  const at = field ? { field } : {};
  if (e instanceof ToolError) return field ? withinField(e, field) : e;
  if (e instanceof NotSupported) {
    return new ToolError('UNSUPPORTED_BPF_FEATURE', e.message, {
      ...at,
      feature: e.feature,
      kernel_requirement: e.requirement,
      alternatives: e.alternatives,
      ...e.details,
    });
  }
  if (e instanceof TargetNotFound) {
    return new ToolError('ATTACHMENT_FAILED', e.message, {
      ...at,
      target_kind: e.kind,
      target: e.target,
      suggestions: e.suggestions,
      ...e.details,
    });
  }
  if (isNativeError(e)) return kernelError(e, e.op, at);
  return new ToolError('SYSTEM_ERROR', e instanceof Error ? e.message : String(e), at);
}

/** The typed error for a failed attach: the kernel's refusals by errno name, domain errors as they are. */
export function attachError(e: unknown, kind: string): ToolError {
  const field = `attachment.${kind}`;
  if (!isNativeError(e)) return wireError(e, field);
  const type = ['EOPNOTSUPP', 'ENOTSUPP'].includes(e.code) ? 'UNSUPPORTED_BPF_FEATURE' : ['EPERM', 'EACCES'].includes(e.code) ? 'PERMISSION_DENIED' : 'ATTACHMENT_FAILED';
  const hint = e.code === 'EEXIST' ? { hint: 'this program is already attached there; a program attaches once per hook' } : {};
  return kernelError(e, `attaching as ${kind} failed`, { field, ...hint }, type);
}
