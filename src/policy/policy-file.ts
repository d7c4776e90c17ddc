/**
 * Policy files (`--policy FILE`): YAML or JSON (JSON is YAML), checked
 * strictly before the server starts and applied over a base policy. Every
 * problem names its line and field, so a sysadmin fixes the file without
 * guessing; a file others may write is refused, since whoever can edit it
 * can make themselves admin.
 */
import { realpathSync, statSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { type Document, LineCounter, isMap, isNode, isScalar, isSeq, parseDocument, visit } from 'yaml';
import * as z from 'zod';
import { helperId, helperName, knownHelperNames } from '../kernel/helpers.js';
import { canonicalProgramType, programTypeNames } from '../kernel/types.js';
import { closestName } from '../suggest.js';
import type { Policy } from './policy.js';
import { ROLES } from './roles.js';
import { type StartFileRules, readStartFile, unreadable } from './start-file.js';

/** A policy file that cannot be used: `message` is `FILE:LINE: field: what is wrong` (LINE omitted when the file as a whole is bad). */
export class PolicyFileError extends Error {
  constructor(
    /** The file as it was named. */
    readonly file: string,
    /** The line (from 1) of the offending setting; undefined when the file as a whole is bad. */
    readonly line: number | undefined,
    /** The setting at fault, as a path (`sources.allowed_dirs[1]`); undefined for the file itself or its syntax. */
    readonly field: string | undefined,
    /** What is wrong, without the location. */
    readonly reason: string,
  ) {
    super(`${file}${line === undefined ? '' : `:${line}`}: ${field === undefined ? '' : `${field}: `}${reason}`);
    this.name = 'PolicyFileError';
  }
}

/** Bytes in a MiB, the unit of the file's sizes. */
const MIB = 1 << 20;

/** Where pins may go (bpffs). */
const BPFFS = '/sys/fs/bpf/';

/** An optional integer setting, its range in the message. */
const integer = (min: number, max: number) => {
  const range = `must be an integer from ${min} to ${max}`;
  return z.int(range).min(min, range).max(max, range).optional();
};

/** Why `prefix` cannot be the pin prefix, or undefined when it can. */
function pinPrefixProblem(prefix: string): string | undefined {
  const trimmed = prefix.replace(/\/+$/, '');
  if (!trimmed.startsWith(BPFFS)) return `must be a directory under ${BPFFS}`;
  const parts = trimmed.slice(BPFFS.length).split('/');
  return parts.some((p) => p === '' || p === '.' || p === '..') ? 'must not have empty, "." or ".." parts' : undefined;
}

/** What a section (or the whole file) must be. */
const MAPPING = 'must be a mapping of settings (key: value lines, or a JSON object)';

const Sources = z.strictObject(
  {
    allowed_dirs: z
      .array(z.string('must be a path').refine(isAbsolute, 'must be an absolute path'), 'must be a list of directories')
      .max(64, 'must list at most 64 directories')
      .optional(),
    allow_inline: z.boolean('must be true or false').optional(),
    allowed_sha256: z
      .array(z.string('must be a sha256 digest').regex(/^(sha256:)?[0-9a-fA-F]{64}$/, 'must be 64 hex digits, bare or after "sha256:"'), 'must be a list of sha256 digests')
      .nullable()
      .optional(),
  },
  MAPPING,
);

const Quotas = z.strictObject(
  {
    objects: integer(1, 100_000),
    programs: integer(1, 100_000),
    maps: integer(1, 100_000),
    map_mb: integer(1, 1 << 20),
    links: integer(1, 100_000),
  },
  MAPPING,
);

const RateLimits = z.strictObject(
  {
    calls_per_second: integer(0, 100_000),
    concurrent_streams: integer(1, 1000),
  },
  MAPPING,
);

/** A section left empty (`quotas:` with every line commented out) is null in YAML: the same as absent. */
const section = <T extends z.ZodType>(schema: T) => schema.nullable().optional();

/** The whole file; every key optional, none unknown. */
const PolicyFileSchema = z.strictObject({
  role: z.enum(ROLES, `must be one of ${ROLES.join(', ')}`).optional(),
  sources: section(Sources),
  max_object_mb: integer(1, 1024),
  denied_helpers: z.array(z.string('must be a helper name'), 'must be a list of helper names ([] for none)').optional(),
  allowed_program_types: z.array(z.string('must be a program type name'), 'must be a list of program type names, or null for any').nullable().optional(),
  quotas: section(Quotas),
  rate_limits: section(RateLimits),
  max_lease_seconds: integer(1, 31_536_000),
  pin_prefix: z
    .string('must be a path')
    .superRefine((prefix, ctx) => {
      const problem = pinPrefixProblem(prefix);
      if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
    })
    .optional(),
});

type PolicyFile = z.infer<typeof PolicyFileSchema>;

/** The keys each mapping of the file takes, by the section it is (the top level is ''). */
const KEYS: Record<string, string[]> = {
  '': Object.keys(PolicyFileSchema.shape),
  sources: Object.keys(Sources.shape),
  quotas: Object.keys(Quotas.shape),
  rate_limits: Object.keys(RateLimits.shape),
};

/** One thing wrong with a setting: where it is in the file's data and what is wrong. */
interface Problem {
  path: (string | number)[];
  message: string;
}

/** A setting's path as a person reads it: `sources.allowed_dirs[1]`. */
function fieldName(path: readonly (string | number)[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

/** The line of the setting at `path`: its key's in a mapping, its own in a list; else the nearest enclosing one's. */
function lineOf(doc: Document, lines: LineCounter, path: readonly (string | number)[]): number {
  for (let n = path.length; n > 0; n--) {
    const parent = n === 1 ? doc.contents : doc.getIn(path.slice(0, n - 1), true);
    const last = path[n - 1];
    const node = isMap(parent) ? parent.items.find((p) => isScalar(p.key) && p.key.value === last)?.key : isSeq(parent) && typeof last === 'number' ? parent.items[last] : undefined;
    if (isNode(node) && node.range) return lines.linePos(node.range[0]).line;
  }
  return isNode(doc.contents) && doc.contents.range ? lines.linePos(doc.contents.range[0]).line : 1;
}

/** The zod issues as problems, an unknown key each with what is allowed at its level and the closest of that. */
function problemsOf(issues: readonly z.core.$ZodIssue[]): Problem[] {
  return issues.flatMap((issue): Problem[] => {
    const path = issue.path.map((p) => (typeof p === 'number' ? p : String(p)));
    if (issue.code !== 'unrecognized_keys') return [{ path, message: issue.message }];
    const allowed = KEYS[path.length === 0 ? '' : String(path[0])] ?? [];
    return issue.keys.map((key) => {
      const near = closestName(key, allowed);
      return { path: [...path, key], message: `unknown key${near === undefined ? '' : ` (did you mean ${near}?)`}; keys here: ${allowed.join(', ')}` };
    });
  });
}

/** A did-you-mean suffix for an unknown name. */
const suggestion = (near: string | undefined): string => (near === undefined ? '' : ` (did you mean ${near}?)`);

/** The helpers, program types and directories named, checked against this kernel and filesystem; their canonical forms. */
function resolveNames(f: PolicyFile, problems: Problem[]): { helpers?: string[]; programTypes?: string[] | null; dirs?: string[] } {
  const out: { helpers?: string[]; programTypes?: string[] | null; dirs?: string[] } = {};
  if (f.denied_helpers) {
    const known = knownHelperNames();
    out.helpers = f.denied_helpers.flatMap((name, i) => {
      const id = helperId(name);
      if (id !== undefined && known.includes(helperName(id))) return [helperName(id)];
      const why = known.length === 0 ? ': this kernel has no BTF to name its helpers by' : suggestion(closestName(name.startsWith('bpf_') ? name : `bpf_${name}`, known));
      problems.push({ path: ['denied_helpers', i], message: `unknown helper ${JSON.stringify(name)}${why}` });
      return [];
    });
  }
  if (f.allowed_program_types !== undefined) {
    out.programTypes = f.allowed_program_types?.flatMap((name, i) => {
      const type = canonicalProgramType(name);
      if (type !== undefined && type !== 'unspec') return [type];
      const known = programTypeNames().filter((n) => n !== 'unspec');
      problems.push({ path: ['allowed_program_types', i], message: `unknown program type ${JSON.stringify(name)}${suggestion(closestName(name, known))}` });
      return [];
    }) ?? null;
  }
  if (f.sources?.allowed_dirs) {
    out.dirs = f.sources.allowed_dirs.flatMap((dir, i) => {
      const problem = (message: string): [] => (problems.push({ path: ['sources', 'allowed_dirs', i], message }), []);
      try {
        if (!statSync(dir).isDirectory()) return problem(`${dir} is not a directory`);
        return [realpathSync(dir)];
      } catch (e) {
        return problem(`${dir} ${unreadable(e)}`);
      }
    });
  }
  return out;
}

/** Each value once, in first-seen order. */
const unique = (values: readonly string[]): string[] => [...new Set(values)];

/** `base` with the file's settings applied. */
function applyFile(base: Policy, f: PolicyFile, names: ReturnType<typeof resolveNames>, file: string): Policy {
  const mib = (n: number | undefined) => (n === undefined ? undefined : n * MIB);
  const sha256 = f.sources?.allowed_sha256;
  return {
    role: f.role ?? base.role,
    sources: {
      allowedDirs: names.dirs ? unique(names.dirs) : [...base.sources.allowedDirs],
      allowInline: f.sources?.allow_inline ?? base.sources.allowInline,
      allowedSha256:
        sha256 === undefined ? (base.sources.allowedSha256 && [...base.sources.allowedSha256]) : sha256 && unique(sha256.map((d) => d.replace(/^sha256:/, '').toLowerCase())),
    },
    deniedHelpers: names.helpers ? unique(names.helpers) : [...base.deniedHelpers],
    allowedProgramTypes:
      names.programTypes === undefined ? (base.allowedProgramTypes && [...base.allowedProgramTypes]) : names.programTypes && unique(names.programTypes),
    callsPerSecond: f.rate_limits?.calls_per_second ?? base.callsPerSecond,
    limits: {
      ...base.limits,
      maxObjectBytes: mib(f.max_object_mb) ?? base.limits.maxObjectBytes,
      maxObjectsPerSession: f.quotas?.objects ?? base.limits.maxObjectsPerSession,
      maxProgramsPerSession: f.quotas?.programs ?? base.limits.maxProgramsPerSession,
      maxMapsPerSession: f.quotas?.maps ?? base.limits.maxMapsPerSession,
      maxMapBytesPerSession: mib(f.quotas?.map_mb) ?? base.limits.maxMapBytesPerSession,
      maxLinksPerSession: f.quotas?.links ?? base.limits.maxLinksPerSession,
      maxReadersPerSession: f.rate_limits?.concurrent_streams ?? base.limits.maxReadersPerSession,
      maxLeaseSeconds: f.max_lease_seconds ?? base.limits.maxLeaseSeconds,
    },
    pinPrefix: f.pin_prefix?.replace(/\/+$/, '') ?? base.pinPrefix,
    auditLog: base.auditLog,
    file,
  };
}

/** How a policy file is checked before it is read: others may read it, but only its owner may write it. */
const POLICY_FILE_RULES: StartFileRules = {
  deniedMode: 0o022,
  modeReason: (mode) => `is writable by group or others (mode ${mode}), and whoever can write it can make themselves admin: chmod go-w it`,
  ownerReason: (uid) => `is owned by uid ${uid}, who can make themselves admin: it must be owned by root or by the server's user`,
  kind: 'a policy',
};

/** The problem first in the file, as the error to throw. */
function firstProblem(path: string, doc: Document, lines: LineCounter, problems: readonly Problem[]): PolicyFileError {
  const located = problems.map((p) => ({ ...p, line: lineOf(doc, lines, p.path) }));
  const first = located.reduce((a, b) => (b.line < a.line ? b : a));
  return new PolicyFileError(path, first.line, first.path.length ? fieldName(first.path) : undefined, first.message);
}

/** The line of the first key that is not a string (`? [a, b]: x`, `: x`), which no setting is named by. */
function badKeyLine(doc: Document, lines: LineCounter): number | undefined {
  let line: number | undefined;
  visit(doc, {
    Pair(_, pair) {
      if (isScalar(pair.key) && typeof pair.key.value === 'string') return undefined;
      const at = (isNode(pair.key) && pair.key.range?.[0]) || (isNode(pair.value) && pair.value.range?.[0]) || 0;
      line = lines.linePos(at).line;
      return visit.BREAK;
    },
  });
  return line;
}

/** Reads and checks a policy file, returning `base` with the file's settings applied (and `file` set to its resolved path). */
export function readPolicyFile(path: string, base: Policy): Policy {
  const { text, real } = readStartFile(path, POLICY_FILE_RULES, (reason) => new PolicyFileError(path, undefined, undefined, reason));
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const syntax = doc.errors[0] ?? doc.warnings[0];
  if (syntax) throw new PolicyFileError(path, lines.linePos(syntax.pos[0]).line, undefined, syntax.message);
  const top = doc.contents;
  if (top === null || (isScalar(top) && top.value === null)) return applyFile(base, {}, {}, real);
  if (!isMap(top)) throw firstProblem(path, doc, lines, [{ path: [], message: MAPPING }]);
  const badKey = badKeyLine(doc, lines);
  if (badKey !== undefined) throw new PolicyFileError(path, badKey, undefined, 'keys must be names (text)');
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    throw new PolicyFileError(path, undefined, undefined, e instanceof Error ? e.message : String(e));
  }
  const parsed = PolicyFileSchema.safeParse(data);
  if (!parsed.success) throw firstProblem(path, doc, lines, problemsOf(parsed.error.issues));
  const problems: Problem[] = [];
  const names = resolveNames(parsed.data, problems);
  if (problems.length) throw firstProblem(path, doc, lines, problems);
  return applyFile(base, parsed.data, names, real);
}
