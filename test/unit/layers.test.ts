/**
 * The layers of DESIGN.md, checked on the import graph of src/: the addon is
 * private to src/kernel/, and every import points down the stack.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { PACKAGE_ROOT } from '../../src/paths.js';

const SRC = join(PACKAGE_ROOT, 'src');

/** Each layer's height from the top; a file may import its own folder and folders of greater rank (folders of one rank stay apart). */
const RANK: Record<string, number> = { cli: 0, client: 0, server: 1, tools: 2, session: 3, policy: 3, hooks: 4, stream: 4, catalog: 4, symbolize: 4, kernel: 5, obj: 6, btf: 7 };

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Every relative import of a file, as a path under src/. */
function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/^import[^'"]*['"](\.[^'"]+)['"]/gm)].map((m) => relative(SRC, resolve(dirname(file), (m[1] as string).replace(/\.js$/, '.ts'))));
}

const folder = (path: string) => (path.includes('/') ? (path.split('/')[0] as string) : '');

test('only src/kernel/ imports the native addon', () => {
  const offenders = sources(SRC).flatMap((f) => {
    const from = relative(SRC, f);
    return folder(from) !== 'kernel' && imports(f).includes('kernel/native.ts') ? [from] : [];
  });
  assert.deepEqual(offenders, []);
});

test('every import points down the layers of DESIGN.md', () => {
  const offenders = sources(SRC).flatMap((f) => {
    const from = relative(SRC, f);
    const mine = RANK[folder(from)];
    if (mine === undefined) return [];
    return imports(f)
      .filter((to) => {
        const theirs = RANK[folder(to)];
        return theirs !== undefined && folder(to) !== folder(from) && theirs <= mine;
      })
      .map((to) => `${from} -> ${to}`);
  });
  assert.deepEqual(offenders, []);
});

test('below the tools, errors are domain errors: no layer under src/tools/ imports the wire ToolError', () => {
  const below = new Set(['hooks', 'stream', 'catalog', 'symbolize', 'kernel', 'obj', 'btf']);
  const offenders = sources(SRC).flatMap((f) => {
    const from = relative(SRC, f);
    return below.has(folder(from)) && imports(f).includes('errors.ts') ? [from] : [];
  });
  assert.deepEqual(offenders, []);
});
