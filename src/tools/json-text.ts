/**
 * JSON text made once. A large result is measured against its byte budget
 * (each list, then the whole result) and then written to the wire: each
 * step would encode the same lists again. The text of a part that is done
 * is kept beside it, and whatever contains that part reuses it.
 */

/** The text kept for values that will not change again. */
const kept = new WeakMap<object, string>();

/** How deep plain objects are opened to find kept parts: a message, its result, the result's fields. */
const DEPTH = 2;

/** A plain object without toJSON: its JSON is its own properties' in order, so kept parts can be spliced into it. */
function isPlain(value: object): value is Record<string, unknown> {
  const proto = Object.getPrototypeOf(value);
  return (proto === Object.prototype || proto === null) && !Object.hasOwn(value, 'toJSON');
}

/** JSON text of `value`, as JSON.stringify would make it, reusing what is kept for it or for its parts. */
export function jsonText(value: unknown): string {
  return textOf(value, DEPTH) ?? 'null';
}

/** JSON text of `value`, kept for it from now on: `value` must not change after this. */
export function keepJsonText(value: object, text = jsonText(value)): string {
  kept.set(value, text);
  return text;
}

/** The text of one value (undefined where JSON.stringify leaves a property out); plain objects are opened `depth` levels down. */
function textOf(value: unknown, depth: number): string | undefined {
  if (typeof value !== 'object' || value === null) return JSON.stringify(value);
  const known = kept.get(value);
  if (known !== undefined) return known;
  if (depth === 0 || !isPlain(value)) return JSON.stringify(value);
  const fields: string[] = [];
  for (const key of Object.keys(value)) {
    const text = textOf(value[key], depth - 1);
    if (text !== undefined) fields.push(`${JSON.stringify(key)}:${text}`);
  }
  return `{${fields.join(',')}}`;
}
