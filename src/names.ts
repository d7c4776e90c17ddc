/** The one name a "did you mean" points to. */
import { closest } from './suggest.js';

/** The name in `known` closest to `wanted` (names containing it first, then by edit distance), or undefined when none is near. */
export function closestName(wanted: string, known: readonly string[]): string | undefined {
  return closest(wanted, known, 1)[0];
}
