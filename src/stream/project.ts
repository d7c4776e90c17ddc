/**
 * `fields`: a stream's records cut down to the fields named (dotted paths),
 * and the record schema cut the same way, so the schema describes exactly
 * what the events hold. Pure: no kernel.
 */

/** Which parts of a record to keep: `true` for a whole field, else the parts of a struct to keep. */
type Tree = Map<string, Tree | true>;

/** The paths as a tree; a whole field named wins over parts of it named too. */
function treeOf(paths: readonly string[]): Tree {
  const root: Tree = new Map();
  for (const path of paths) {
    const steps = path.split('.');
    let node = root;
    for (const [i, step] of steps.entries()) {
      const have = node.get(step);
      if (have === true) break;
      if (i === steps.length - 1) {
        node.set(step, true);
        break;
      }
      const next: Tree = have ?? new Map();
      node.set(step, next);
      node = next;
    }
  }
  return root;
}

function pick(value: unknown, tree: Tree): Record<string, unknown> | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, sub] of tree) out[k] = sub === true ? v[k] : pick(v[k], sub);
  return out;
}

/** A function keeping only the fields at `paths` of a decoded record, nested as in the record. */
export function projector(paths: readonly string[]): (data: Record<string, unknown>) => Record<string, unknown> {
  const tree = treeOf(paths);
  return (data) => pick(data, tree) as Record<string, unknown>;
}

/** The JSON Schema of records cut down by {@link projector} to `paths`. */
export function projectSchema(schema: Record<string, unknown>, paths: readonly string[]): Record<string, unknown> {
  const cut = (s: Record<string, unknown>, tree: Tree): Record<string, unknown> => {
    const props = (s.properties ?? {}) as Record<string, Record<string, unknown>>;
    const properties = Object.fromEntries([...tree].map(([k, sub]) => [k, sub === true ? props[k] : cut(props[k] ?? {}, sub)]));
    return { ...s, properties, required: Object.keys(properties) };
  };
  return cut(schema, treeOf(paths));
}
