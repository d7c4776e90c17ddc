/**
 * The kernel layer's own errors, for what the kernel cannot do or cannot
 * find. They carry facts, not wire formats: the tools turn them into typed
 * results (src/tools/wire-error.ts), adding the input field they concern.
 */

/** Something that works elsewhere, instead, here. */
export interface Alternative {
  /** An attach kind (or program type) that works here. */
  kind: string;
  /** Settings for it, when there is a concrete suggestion. */
  settings?: Record<string, unknown>;
}

/** The kernel lacks a feature the request needs. */
export class NotSupported extends Error {
  constructor(
    message: string,
    /** What is missing, e.g. "kprobe", "fentry", "tcx". */
    readonly feature: string,
    /** What the kernel would need for it, e.g. "CONFIG_KPROBES". */
    readonly requirement: string,
    /** What works here instead. */
    readonly alternatives: Alternative[] = [],
    /** Other facts that help, e.g. the program refused. */
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'NotSupported';
  }
}

/** A target the request names does not exist; `suggestions` are the closest that do. */
export class TargetNotFound extends Error {
  constructor(
    message: string,
    /** What kind of target: tracepoint, interface, function, cgroup, netns, map. */
    readonly kind: string,
    /** The name that was not found. */
    readonly target: string,
    readonly suggestions: string[],
    /** Other facts that help, e.g. whether the tracepoint's category exists. */
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'TargetNotFound';
  }
}

/** What a failed kernel call concerns, when the caller knows better than its errno. */
export type Failure =
  /** The object file is not one libbpf can open. */
  | 'bad_object'
  /** A map cannot be read as asked. */
  | 'map_access'
  /** The verifier rejected a program. */
  | 'verifier'
  /** A handle was used after its release (a closed object, a detached link). */
  | 'released';

/** The addon's error for a failed call: errno with its symbolic code, the operation, what libbpf printed. */
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

/** A kernel call failed, or refused: what was being done, what it concerns, and the addon's error when there was one. */
export class KernelError extends Error {
  constructor(
    message: string,
    readonly failure: Failure | undefined,
    /** Facts that help the next step: ids, the program, the verifier's reading. */
    readonly details: Record<string, unknown> = {},
    /** The addon's error, with errno and libbpf's log. */
    readonly native?: NativeError,
  ) {
    super(message);
    this.name = 'KernelError';
  }
}

/** A KernelError for a failed native call: `what` says what was being done. Other errors pass through. */
export function kernelFailure(e: unknown, what: string, details: Record<string, unknown> = {}, failure?: Failure): Error {
  if (!isNativeError(e)) return e instanceof Error ? e : new Error(String(e));
  return new KernelError(`${what}: ${e.message}`, failure, details, e);
}

/** A request the layers below the tools cannot act on as given: `field`, when known, is relative to the settings it came in. */
export class InvalidRequest extends Error {
  constructor(
    readonly field: string | undefined,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(field === undefined ? message : `${field}: ${message}`);
    this.name = 'InvalidRequest';
  }
}
