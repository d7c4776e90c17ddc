#!/usr/bin/env node
// The MCP conformance suite (@modelcontextprotocol/conformance) against `bin/ebpf-mcp-server -t http`, at each
// protocol version a pinned suite covers: 0.1.16 (the release) at 2025-11-25, 0.2.0-alpha.12 at 2025-11-25 and
// at 2026-07-28 (stateless). The suites and the Node 22 they need are installed into .deps/conformance from
// test/conformance/package.json and its lock file when missing. Every scenario a suite lists for a version is
// run (and must pass), baselined (test/conformance/baseline.yml: it needs the suite's fixture tools; run, never
// counted) or not run because the server does not offer what it tests (NOT_OFFERED below, with the reason).
// Results are read from each run's checks.json, so a scenario the suite skipped is never taken for a pass.
//
//   scripts/conformance.mjs [--keep] [SCENARIO...]   (make conformance; make test runs it)
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';

const root = new URL('..', import.meta.url).pathname;
const manifest = join(root, 'test', 'conformance');
const deps = join(root, '.deps', 'conformance');
const node22 = join(deps, 'node_modules', 'node', 'bin', 'node');

/** Each installed suite (its npm alias in test/conformance/package.json), the protocol versions it runs at, its own flags. */
const LEGS = [
  { alias: 'conformance-0.1', versions: ['2025-11-25'], flags: [] },
  { alias: 'conformance-0.2', versions: ['2025-11-25', '2026-07-28'], flags: ['--timeout', '20000'] },
];

/** What the server does not offer, by scenario or `scenario:check-id`: not run (a check: not counted), with why. */
const NOT_OFFERED = {};
const notOffered = (names, why) => names.forEach((n) => (NOT_OFFERED[n] = why));
notOffered(['logging-set-level', 'tools-call-with-logging'], 'logging is not offered (no logging capability: 2026-07-28 deprecates it)');
notOffered(['completion-complete'], 'completions are not offered (no completions capability)');
notOffered(['resources-subscribe', 'resources-unsubscribe'], 'resource subscriptions are not offered (resources.subscribe is not declared)');
notOffered(
  ['tools-call-sampling', 'tools-call-elicitation', 'elicitation-sep1034-defaults', 'elicitation-sep1330-enums'],
  'the server never sends the client sampling or elicitation requests',
);
notOffered(
  [
    'input-required-result-basic-elicitation',
    'input-required-result-basic-sampling',
    'input-required-result-basic-list-roots',
    'input-required-result-request-state',
    'input-required-result-multiple-input-requests',
    'input-required-result-multi-round',
    'input-required-result-missing-input-response',
    'input-required-result-non-tool-request',
    'input-required-result-result-type',
    'input-required-result-tampered-state',
    'input-required-result-capability-check',
    'input-required-result-ignore-extra-params',
    'input-required-result-validate-input',
  ],
  'no tool asks the client for input mid-call (no input_required results, SEP-2322)',
);
notOffered(['server-sse-polling'], 'SSE resumability is not offered: no event store, so no priming event id, retry or Last-Event-ID replay');
notOffered(['http-custom-header-server-validation'], 'no tool declares x-mcp-header parameters (SEP-2243), so there is nothing to validate');
notOffered(['server-stateless:sep-2575-server-sends-tools-list-changed-on-subscription'], 'tools.listChanged is false: the tool list is fixed at start');
notOffered(['server-stateless:sep-2575-server-sends-prompts-list-changed-on-subscription'], 'prompts.listChanged is false: the prompt list is fixed at start');

const args = process.argv.slice(2);
const keep = args.includes('--keep');
const only = new Set(args.filter((a) => !a.startsWith('--')));

const say = (line) => process.stdout.write(`${line}\n`);
const die = (message) => {
  process.stderr.write(`conformance: ${message}\n`);
  process.exit(1);
};

/** Installs the pinned suites and Node 22 into .deps/conformance unless they are there, from the committed lock file. */
function install() {
  const lock = readFileSync(join(manifest, 'package-lock.json'), 'utf8');
  const entries = LEGS.map((l) => join(deps, 'node_modules', l.alias, 'dist', 'index.js'));
  const installed = () =>
    existsSync(join(deps, 'package-lock.json')) &&
    readFileSync(join(deps, 'package-lock.json'), 'utf8') === lock &&
    existsSync(join(deps, 'node_modules', '.package-lock.json')) &&
    existsSync(node22) &&
    entries.every((e) => existsSync(e));
  if (!installed()) {
    process.stderr.write('conformance: installing the suite and Node 22 into .deps/conformance (npm ci)\n');
    rmSync(join(deps, 'node_modules'), { recursive: true, force: true });
    mkdirSync(deps, { recursive: true });
    for (const f of ['package.json', 'package-lock.json']) copyFileSync(join(manifest, f), join(deps, f));
    const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: deps, encoding: 'utf8' });
    if (r.status !== 0 || !installed()) die(`npm ci in .deps/conformance failed:\n${r.stdout ?? ''}${r.stderr ?? r.error ?? ''}`);
  }
  const v = spawnSync(node22, ['--version'], { encoding: 'utf8' });
  if (!/^v22\./.test(v.stdout ?? '')) die(`${node22} is not Node 22: ${v.stdout || v.stderr || v.error}`);
}

/** The suite's command line: Node 22 on the alias's entry point. */
const suite = (alias, ...rest) => [node22, [join(deps, 'node_modules', alias, 'dist', 'index.js'), ...rest]];

/** The scenarios a suite lists for `version`. */
function scenarios(alias, version) {
  const [cmd, argv] = suite(alias, 'list', '--server', '--spec-version', version);
  const r = spawnSync(cmd, argv, { encoding: 'utf8' });
  if (r.status !== 0) die(`${alias} list failed: ${r.stderr}`);
  return [...r.stdout.matchAll(/^ {2}- (\S+)/gm)].map((m) => m[1]);
}

/** Starts the server on a free loopback port: the child, its URL, and the error lines it logged (filled as it runs). */
async function startServer(dir) {
  const logFile = createWriteStream(join(dir, 'server.log'));
  const child = spawn(join(root, 'bin', 'ebpf-mcp-server'), ['-t', 'http', '--host', '127.0.0.1', '--port', '0'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const errors = [];
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  // Whatever ends this script ends the server too.
  process.once('exit', () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const url = await new Promise((resolve, reject) => {
    let pending = '';
    const timer = setTimeout(() => reject(new Error('no "serving on http" line within 15 s')), 15_000);
    child.stderr.on('data', (chunk) => {
      logFile.write(chunk);
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop();
      for (const line of lines) {
        if (/^\S+ error /.test(line)) errors.push(line);
        const port = /serving on http .*"port":(\d+)/.exec(line)?.[1];
        if (port) {
          clearTimeout(timer);
          resolve(`http://127.0.0.1:${port}/mcp`);
        }
      }
    });
    exited.then(({ code, signal }) => reject(new Error(`the server exited (${signal ?? code}) before serving`)));
  }).catch((e) => die(`${e.message}; its log: ${join(dir, 'server.log')}`));
  const stop = async () => {
    child.kill('SIGTERM');
    const end = await Promise.race([exited, new Promise((r) => setTimeout(() => r(undefined), 5_000).unref())]);
    logFile.end();
    if (end === undefined) {
      child.kill('SIGKILL');
      return 'did not exit within 5 s of SIGTERM (killed)';
    }
    return end.code === 0 ? undefined : `exited with ${end.signal ?? end.code} on SIGTERM`;
  };
  return { url, errors, stop };
}

/** Runs one scenario: its checks (from checks.json), or why there are none. */
function runScenario(leg, version, name, url, dir) {
  const out = join(dir, leg.alias, version, name);
  mkdirSync(out, { recursive: true });
  const [cmd, argv] = suite(leg.alias, 'server', '--url', url, '--scenario', name, '--spec-version', version, ...leg.flags, '-o', out);
  return new Promise((resolve) => {
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (c) => (text += c));
    child.stderr.on('data', (c) => (text += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), 40_000);
    // 'close', not 'exit': the suite's output is read whole (a SKIPPED line) only once its pipes are closed.
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const runDir = readdirSync(out).find((d) => existsSync(join(out, d, 'checks.json')));
      const checks = runDir ? JSON.parse(readFileSync(join(out, runDir, 'checks.json'), 'utf8')) : undefined;
      let problem;
      if (signal || (code !== 0 && code !== 1)) problem = `the suite ended with ${signal ?? `exit ${code}`}`;
      else if (/^SKIPPED: /m.test(text)) problem = `the suite skipped it: ${/^SKIPPED: (.*)$/m.exec(text)[1]}`;
      else if (!checks) problem = `the suite wrote no checks.json: ${text.trim().split('\n').slice(-3).join(' | ').slice(0, 300)}`;
      resolve({ checks: checks ?? [], problem, log: text });
    });
  });
}

/** Judges one run: its line and whether it fails the whole run. */
function judge(name, kind, run, excluded, seenExcluded) {
  const n = { passed: 0, failed: 0, skipped: 0, info: 0, excluded: 0 };
  const bad = [];
  if (run.problem) bad.push(run.problem);
  for (const c of run.checks) {
    const key = `${name}:${c.id}`;
    if (excluded.has(key)) {
      seenExcluded.add(key);
      n.excluded++;
      if (c.status === 'SUCCESS') bad.push(`${c.id} passes but is listed as ${BASELINE.has(key) ? 'baseline' : 'not offered'}: remove the entry`);
      continue;
    }
    if (c.status === 'SUCCESS') n.passed++;
    else if (c.status === 'INFO') n.info++;
    else if (c.status === 'SKIPPED') n.skipped++;
    else n.failed++;
    const wire = c.id === 'wire-schema-valid' && c.status === 'FAILURE';
    if (kind === 'must' ? c.status === 'FAILURE' || c.status === 'WARNING' || c.status === 'SKIPPED' || wire : wire) {
      bad.push(`${c.id} ${c.status}${c.errorMessage ? `: ${String(c.errorMessage).split('\n')[0].slice(0, 300)}` : ''}`);
    }
  }
  if (kind === 'must' && !run.problem && n.passed === 0) bad.push('no check passed');
  const counts = `${n.passed} passed, ${n.failed} failed, ${n.skipped} skipped${n.info ? `, ${n.info} info` : ''}`;
  const aside = n.excluded ? ` (${n.excluded} not counted: baseline or not offered)` : '';
  return { bad, counts: kind === 'must' ? counts + aside : `${counts}; not counted: ${BASELINE.get(name)}` };
}

/** test/conformance/baseline.yml: entry, then its reason (the comment on its line). */
function readBaseline() {
  const file = join(manifest, 'baseline.yml');
  const entries = YAML.parse(readFileSync(file, 'utf8'))?.server ?? [];
  const reasons = new Map();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^\s*-\s*(\S+)\s*#\s*(.+)$/.exec(line);
    if (m) reasons.set(m[1], m[2].trim());
  }
  const map = new Map();
  for (const e of entries) {
    if (!reasons.has(e)) die(`baseline.yml: ${e} has no reason (a # comment on its line)`);
    map.set(e, reasons.get(e));
  }
  return map;
}

const BASELINE = readBaseline();

async function main() {
  const started = Date.now();
  install();
  const dir = mkdtempSync(join(tmpdir(), 'ebpf-mcp-conformance-'));
  const excluded = new Set([...BASELINE.keys(), ...Object.keys(NOT_OFFERED)].filter((k) => k.includes(':')));
  const seenExcluded = new Set();
  const listed = new Set();
  const server = await startServer(dir);
  const totals = { passed: 0, failed: 0, baseline: 0, notRun: 0 };
  let failed = false;
  const fail = (line) => {
    failed = true;
    say(line);
  };
  say(`conformance: ${server.url} (results in ${dir})`);
  for (const leg of LEGS) {
    const version = JSON.parse(readFileSync(join(deps, 'node_modules', leg.alias, 'package.json'), 'utf8')).version;
    for (const protocol of leg.versions) {
      say(`suite ${version} at ${protocol}${protocol >= '2026' ? ' (stateless)' : ' (sessions)'}:`);
      const names = scenarios(leg.alias, protocol);
      names.forEach((s) => listed.add(s));
      const jobs = [];
      for (const name of names) {
        if (only.size && !only.has(name)) continue;
        if (NOT_OFFERED[name]) {
          jobs.push({ name, kind: 'not run' });
          continue;
        }
        jobs.push({ name, kind: BASELINE.has(name) ? 'baseline' : 'must' });
      }
      // Two scenarios at a time (the machines here have two CPUs); lines are printed in the suite's order.
      const done = jobs.map(() => {
        let resolve;
        const promise = new Promise((r) => (resolve = r));
        return { promise, resolve };
      });
      let next = 0;
      const worker = async () => {
        for (let i = next++; i < jobs.length; i = next++) {
          done[i].resolve(jobs[i].kind === 'not run' ? undefined : await runScenario(leg, protocol, jobs[i].name, server.url, dir));
        }
      };
      const workers = Array.from({ length: Math.min(2, availableParallelism()) }, worker);
      for (let i = 0; i < jobs.length; i++) {
        const run = await done[i].promise;
        const { name, kind } = jobs[i];
        const col = `  ${protocol}  ${name.padEnd(44)}`;
        if (kind === 'not run') {
          totals.notRun++;
          say(`${col} not run: ${NOT_OFFERED[name]}`);
          continue;
        }
        const verdict = judge(name, kind, run, excluded, seenExcluded);
        if (verdict.bad.length) {
          totals.failed++;
          fail(`${col} FAILED ${verdict.counts}`);
          for (const b of verdict.bad) say(`      ${b}`);
        } else if (kind === 'must') {
          totals.passed++;
          say(`${col} ok ${verdict.counts}`);
        } else {
          totals.baseline++;
          say(`${col} baseline ${verdict.counts}`);
        }
      }
      await Promise.all(workers);
    }
  }
  say('  extension scenarios (tasks-*, sep-2640-skills-*) belong to no protocol version: not run (the server offers neither extension)');
  // Entries that name nothing the suites have, or a check that no longer appears, are stale.
  if (!only.size) {
    for (const key of [...BASELINE.keys(), ...Object.keys(NOT_OFFERED)]) {
      const [scenario, check] = key.split(':');
      if (!listed.has(scenario)) fail(`  stale entry ${key}: no suite lists ${scenario}`);
      else if (check && !seenExcluded.has(key) && !NOT_OFFERED[scenario]) fail(`  stale entry ${key}: no run of ${scenario} had that check`);
    }
  }
  const stopped = await server.stop();
  if (stopped) fail(`  the server ${stopped}`);
  for (const line of server.errors.slice(0, 10)) fail(`  server logged: ${line.slice(0, 400)}`);
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  say(`conformance: ${totals.baseline} baseline, ${totals.notRun} not run, ${seconds} s${failed ? `; results kept in ${dir}` : ''}`);
  say(`conformance: ${totals.passed} passed, ${totals.failed} failed, ${totals.baseline + totals.notRun} skipped`);
  if (!failed && !keep) rmSync(dir, { recursive: true, force: true });
  process.exit(failed ? 1 : 0);
}

main().catch((e) => die(e instanceof Error ? e.stack : String(e)));
