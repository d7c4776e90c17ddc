/**
 * What a VALIDATION_ERROR says about a field the input schema does not have:
 * the fields allowed at that level of the input and the closest of them, so
 * a misspelt `ttl_second` leads straight to `ttl_seconds`.
 */
import type { z } from 'zod';
import { closestName } from '../suggest.js';

/** The part of zod's schema definition the walk reads. */
interface Def {
  type: string;
  innerType?: z.ZodType;
  in?: z.ZodType;
  element?: z.ZodType;
  options?: readonly z.ZodType[];
  shape?: Record<string, z.ZodType>;
}

const defOf = (s: z.ZodType): Def => (s as unknown as { _zod: { def: Def } })._zod.def;

/** The object schemas `path` leads to from `schema`, through wrappers, arrays and every branch of a union. */
function objectsAt(schema: z.ZodType, path: readonly PropertyKey[]): Record<string, z.ZodType>[] {
  const def = defOf(schema);
  if (def.innerType) return objectsAt(def.innerType, path);
  if (def.type === 'pipe' && def.in) return objectsAt(def.in, path);
  if (def.type === 'union') return (def.options ?? []).flatMap((o) => objectsAt(o, path));
  if (def.type === 'array' && def.element) return typeof path[0] === 'number' ? objectsAt(def.element, path.slice(1)) : [];
  if (def.type !== 'object' || !def.shape) return [];
  if (path.length === 0) return [def.shape];
  const child = def.shape[String(path[0])];
  return child ? objectsAt(child, path.slice(1)) : [];
}

/** The field names an input takes at `path` (every branch's, for a union), in their declared order. */
export function fieldsAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  return [...new Set(objectsAt(schema, path).flatMap((shape) => Object.keys(shape)))];
}

/** One refused unknown field set: where, which keys, what is allowed there, and the closest allowed name of each key. */
export interface UnknownFields {
  path: PropertyKey[];
  keys: string[];
  allowed: string[];
  didYouMean: Record<string, string>;
}

/** The unknown keys zod reported, unions' branches included (each once), with what is allowed where they were found. */
export function unknownFields(schema: z.ZodType, issues: readonly z.core.$ZodIssue[], base: PropertyKey[] = []): UnknownFields[] {
  const found = new Map<string, UnknownFields>();
  const visit = (list: readonly z.core.$ZodIssue[], prefix: PropertyKey[]) => {
    for (const issue of list) {
      const path = [...prefix, ...issue.path];
      if (issue.code === 'invalid_union') for (const branch of issue.errors) visit(branch, path);
      if (issue.code !== 'unrecognized_keys') continue;
      const at = found.get(path.join('.')) ?? { path, keys: [], allowed: fieldsAt(schema, path), didYouMean: {} };
      for (const key of issue.keys.filter((k) => !at.keys.includes(k))) {
        at.keys.push(key);
        const near = closestName(key, at.allowed);
        if (near !== undefined) at.didYouMean[key] = near;
      }
      found.set(path.join('.'), at);
    }
  };
  visit(issues, base);
  return [...found.values()];
}

/** One line for a model: `unknown field \`ttl_second\` (did you mean \`ttl_seconds\`?); fields here: ...`. */
export function unknownFieldsText(u: UnknownFields): string {
  const named = u.keys.map((k) => `\`${k}\`${u.didYouMean[k] ? ` (did you mean \`${u.didYouMean[k]}\`?)` : ''}`).join(', ');
  return `unknown field${u.keys.length > 1 ? 's' : ''} ${named}; fields here: ${u.allowed.join(', ') || 'none'}`;
}
