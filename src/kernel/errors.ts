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
