/**
 * Command-line parsing on node:util parseArgs: the global flags, finding the
 * command among them, and the `key=value` assignments of --arg and --param
 * (dotted keys build nested objects; a value is JSON when it parses as JSON,
 * else a string).
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { UsageError } from './errors.js';

/** Options as parseArgs takes them. */
export type Options = NonNullable<ParseArgsConfig['options']>;

/** Flags every command takes. */
export const GLOBAL_OPTIONS = {
  url: { type: 'string' },
  'token-file': { type: 'string' },
  'server-arg': { type: 'string', multiple: true },
  json: { type: 'boolean' },
  verbose: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
  fleet: { type: 'boolean' },
  nodes: { type: 'string' },
  'nodes-file': { type: 'string' },
  'k8s-service': { type: 'string' },
  'node-timeout': { type: 'string' },
} as const satisfies Options;

/** The global flags as parsed. */
export interface GlobalFlags {
  url?: string;
  'token-file'?: string;
  'server-arg'?: string[];
  json?: boolean;
  verbose?: boolean;
  help?: boolean;
  version?: boolean;
  fleet?: boolean;
  nodes?: string;
  'nodes-file'?: string;
  'k8s-service'?: string;
  'node-timeout'?: string;
}

/** The command's name (the first argument that is neither a flag nor a global flag's value) and the rest of argv. */
export function splitCommand(argv: string[]): { command: string | undefined; rest: string[] } {
  const takesValue = new Set(['--url', '--token-file', '--server-arg', '--nodes', '--nodes-file', '--k8s-service', '--node-timeout']);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--') break;
    if (takesValue.has(a)) {
      i++;
      continue;
    }
    if (!a.startsWith('-')) return { command: a, rest: [...argv.slice(0, i), ...argv.slice(i + 1)] };
  }
  return { command: undefined, rest: argv };
}

/** Parses `argv` against the global flags and `options`, strictly: an unknown flag is a usage error. */
export function parse(argv: string[], options: Options, positionals: { min: number; max: number }): { values: Record<string, unknown>; positionals: string[] } {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { ...GLOBAL_OPTIONS, ...options }, strict: true, allowPositionals: true });
  } catch (e) {
    throw new UsageError((e as Error).message.split('\n')[0] as string);
  }
  const n = parsed.positionals.length;
  if (!parsed.values.help && (n < positionals.min || n > positionals.max)) {
    throw new UsageError(n < positionals.min ? 'missing argument' : `unexpected argument ${JSON.stringify(parsed.positionals[positionals.max])}`);
  }
  return { values: parsed.values as Record<string, unknown>, positionals: parsed.positionals };
}

/** A value from the command line: JSON when it parses as JSON, else the string itself. */
export function jsonish(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** Keys that would reach an object's prototype. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'prototype', 'constructor']);

/** Sets `path` (dotted: a.b.c) in `into` to `value`, making the objects on the way. */
export function setPath(into: Record<string, unknown>, path: string, value: unknown, flag: string): void {
  const keys = path.split('.');
  if (keys.some((k) => k === '' || FORBIDDEN_KEYS.has(k))) throw new UsageError(`${flag} ${JSON.stringify(path)}: a key is empty or not allowed`);
  let at = into;
  for (const k of keys.slice(0, -1)) {
    const next = at[k];
    if (next === undefined) at = at[k] = {};
    else if (typeof next === 'object' && next !== null && !Array.isArray(next)) at = next as Record<string, unknown>;
    else throw new UsageError(`${flag} ${JSON.stringify(path)}: ${k} is already a ${Array.isArray(next) ? 'list' : typeof next}, not an object`);
  }
  at[keys[keys.length - 1] as string] = value;
}

/** `key=value` assignments (of `flag`) into an object, in order, onto `into`. */
export function assignments(list: string[] | undefined, flag: string, into: Record<string, unknown> = {}): Record<string, unknown> {
  for (const a of list ?? []) {
    const eq = a.indexOf('=');
    if (eq <= 0) throw new UsageError(`${flag} takes key=value, not ${JSON.stringify(a)}`);
    setPath(into, a.slice(0, eq), jsonish(a.slice(eq + 1)), flag);
  }
  return into;
}

/** A whole number from `min` to `max` given to `flag`. */
export function integer(flag: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < min || n > max) throw new UsageError(`${flag} must be a whole number from ${min} to ${max}, not ${JSON.stringify(value)}`);
  return n;
}

/** Seconds given to `flag` (a positive number, fractions allowed), in milliseconds. */
export function seconds(flag: string, value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0 || n > 86_400 * 365) throw new UsageError(`${flag} must be a positive number of seconds, not ${JSON.stringify(value)}`);
  return Math.round(n * 1000);
}

/** One of `allowed` given to `flag`. */
export function oneOf<T extends string>(flag: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`${flag} must be one of ${allowed.join(', ')}, not ${JSON.stringify(value)}`);
  return value as T;
}
