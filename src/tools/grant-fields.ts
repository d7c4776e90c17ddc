/**
 * Input fields a role needs a grant for, marked in the zod schema itself, so
 * the schema a role lists and the fields it is refused cannot disagree: a
 * marked field (or union branch) is dropped from the JSON Schema of a role
 * without the grant, and a call that sends it anyway is refused naming the
 * field and the grant.
 */
import type { z } from 'zod';
import type { Grant } from '../policy/roles.js';

/** The JSON Schema keyword carrying the mark; it never leaves the server. */
const GRANT_KEY = 'x-grant';

type Node = Record<string, unknown>;

const isObject = (v: unknown): v is Node => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Marks `schema` (a field, or a branch of a union) as needing `grant`. */
export function granted<T extends z.ZodType>(schema: T, grant: Grant): T {
  return schema.meta({ [GRANT_KEY]: grant }) as T;
}

/** Whether a node is kept for `grants`: unmarked, or marked with a grant held. */
const kept = (node: unknown, grants: ReadonlySet<Grant>): boolean => !isObject(node) || node[GRANT_KEY] === undefined || grants.has(node[GRANT_KEY] as Grant);

/** A JSON Schema without the fields and branches `grants` do not reach, and without the marks. */
export function withoutUngranted(node: unknown, grants: ReadonlySet<Grant>): unknown {
  if (Array.isArray(node)) return node.filter((n) => kept(n, grants)).map((n) => withoutUngranted(n, grants));
  if (!isObject(node)) return node;
  const out: Node = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === GRANT_KEY) continue;
    if (key === 'properties' && isObject(value)) {
      const props = Object.entries(value).filter(([, v]) => kept(v, grants));
      out[key] = Object.fromEntries(props.map(([k, v]) => [k, withoutUngranted(v, grants)]));
    } else if (key === 'required' && Array.isArray(value) && isObject(node.properties)) {
      const props = node.properties;
      out[key] = value.filter((k) => kept(props[k as string], grants));
    } else {
      out[key] = withoutUngranted(value, grants);
    }
  }
  return out;
}

/** Whether a union branch is the one `value` takes: every `const` property it has matches. */
function branchOf(branch: unknown, value: Node): boolean {
  if (!isObject(branch) || !isObject(branch.properties)) return false;
  const consts = Object.entries(branch.properties).filter(([, p]) => isObject(p) && 'const' in p);
  return consts.length > 0 && consts.every(([k, p]) => (p as Node).const === value[k]);
}

/** The first field of `value` (raw input) that the marked JSON Schema `node` keeps from `grants`, with its grant. */
export function ungrantedField(node: unknown, value: unknown, grants: ReadonlySet<Grant>, path = ''): { field: string; grant: Grant } | undefined {
  if (!isObject(node)) return undefined;
  if (!kept(node, grants)) return { field: path || '(input)', grant: node[GRANT_KEY] as Grant };
  if (isObject(value)) {
    if (isObject(node.properties)) {
      for (const [k, v] of Object.entries(value)) {
        const hit = ungrantedField(node.properties[k], v, grants, path ? `${path}.${k}` : k);
        if (hit) return hit;
      }
    }
    for (const union of [node.anyOf, node.oneOf]) {
      const branch = Array.isArray(union) ? union.find((b) => branchOf(b, value)) : undefined;
      const hit = branch && ungrantedField(branch, value, grants, path);
      if (hit) return hit;
    }
  }
  if (Array.isArray(value) && isObject(node.items)) {
    for (const [i, v] of value.entries()) {
      const hit = ungrantedField(node.items, v, grants, `${path}[${i}]`);
      if (hit) return hit;
    }
  }
  return undefined;
}
