/** The one name a "did you mean" points to. */
import { distance } from './suggest.js';

/**
 * The name in `known` nearest to `wanted` by edit distance (case aside; the
 * first listed wins a tie), or undefined when none is within a third of its
 * length (at least 2 edits).
 */
export function closestName(wanted: string, known: readonly string[]): string | undefined {
  const w = wanted.toLowerCase();
  const within = Math.max(2, Math.floor(w.length / 3));
  let best: { name: string; d: number } | undefined;
  for (const name of known) {
    const d = distance(w, name.toLowerCase());
    if (d <= within && (best === undefined || d < best.d)) best = { name, d };
  }
  return best?.name;
}
