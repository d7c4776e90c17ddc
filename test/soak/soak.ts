/**
 * The soak's parts share one shape: a part runs at a scale (`test`, the
 * bounded run inside `make test`; `soak`, the long run of `make soak`),
 * reports each figure it measured, and throws when a figure is wrong (a
 * crash, an untyped error, a leak, a hang).
 */

/** How hard a part pushes: `test` fits in make test (seconds); `soak` is the long run (minutes). */
export type Scale = 'test' | 'soak';

/** Records one measured figure, e.g. report('objects mutated', 1000). */
export type Report = (figure: string, value: number | string) => void;

/** One part of the soak. */
export interface SoakPart {
  /** What it attacks, in a few words. */
  name: string;
  run(scale: Scale, report: Report): Promise<void>;
}
