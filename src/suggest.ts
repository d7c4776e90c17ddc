/** "Did you mean": the known names closest to one that was not found. */

/** Levenshtein distance: the fewest single-character insertions, deletions and substitutions turning `a` into `b`. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j] as number;
      row[j] = Math.min(above + 1, (row[j - 1] as number) + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length] as number;
}

/** Up to `max` of `known` nearest to `wanted`: names containing it (or contained in it) first, then by edit distance. */
export function closest(wanted: string, known: Iterable<string>, max = 5): string[] {
  const w = wanted.toLowerCase();
  const scored: [number, string][] = [];
  for (const name of known) {
    const n = name.toLowerCase();
    // Containment ranks first, unless the shorter name is too short to mean anything inside the other ("a" in "nmae").
    const contained = Math.min(n.length, w.length) >= 3 && (n.includes(w) || w.includes(n));
    const score = contained ? Math.abs(n.length - w.length) / 100 : distance(w, n);
    if (score <= Math.max(3, w.length / 2)) scored.push([score, name]);
  }
  return scored
    .sort((a, b) => a[0] - b[0] || a[1].localeCompare(b[1]))
    .slice(0, max)
    .map(([, name]) => name);
}

/**
 * The one name a "did you mean" for a mistyped field points to: the nearest of `known` by edit distance alone (case
 * aside; the first listed wins a tie), or undefined when none is within a third of its length (at least 2 edits).
 * Unlike closest, a name merely containing it does not win: "map_di" means map_id, not map.
 */
export function closestName(wanted: string, known: Iterable<string>): string | undefined {
  const w = wanted.toLowerCase();
  const within = Math.max(2, Math.floor(w.length / 3));
  let best: { name: string; d: number } | undefined;
  for (const name of known) {
    const d = distance(w, name.toLowerCase());
    if (d <= within && (best === undefined || d < best.d)) best = { name, d };
  }
  return best?.name;
}
