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

/** The soak's seed: SOAK_SEED when set, else random. Parts print it, so a failure can be made again. */
export function soakSeed(): number {
  return process.env.SOAK_SEED ? Number(process.env.SOAK_SEED) >>> 0 : Math.floor(Math.random() * 0x1_0000_0000);
}

/** mulberry32: a small, fast, seeded generator of floats in [0, 1). */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 0x1_0000_0000;
  };
}
