/**
 * Crash isolation for untrusted objects: libbpf opens the object first in a
 * throwaway process (native/probe/open-probe.c, the same static libbpf as
 * the addon) and runs its load in loader-generation mode there (relocations,
 * BTF, map definitions, nothing created), so a parser crash kills that
 * process, never the server.
 */
import { spawn } from 'node:child_process';
import { dirname } from 'node:path';
import { OPEN_PROBE, PREBUILD_DIR, PREBUILT_OPEN_PROBE } from '../paths.js';
import { KernelError } from './errors.js';
import { addonFile } from './native.js';

/** The probe built with the addon that loaded: the prebuilt one beside a prebuilt addon, else the one built here. */
const matchingProbe = (): string => (dirname(addonFile()) === PREBUILD_DIR ? PREBUILT_OPEN_PROBE : OPEN_PROBE);

/** How long the probe may take before it is killed and the object refused. */
const PROBE_TIMEOUT_MS = 10_000;

/**
 * Opens `elf` with libbpf in a child process. Resolves when libbpf opened or
 * refused it there (the caller opens it again in-process for the real
 * answer); throws KernelError 'bad_object' when the child died of a signal
 * or ran past the timeout, and a plain KernelError when the probe could not run.
 * `probe` is the program to run (tests pass one that crashes).
 */
export function probeOpen(elf: Uint8Array, probe = matchingProbe()): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(probe, [], { stdio: ['pipe', 'ignore', 'ignore'] });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, PROBE_TIMEOUT_MS);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new KernelError(`cannot run the object probe ${probe}: ${e.message}`, undefined));
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) reject(new KernelError(`opening the object took over ${PROBE_TIMEOUT_MS / 1000} s in a throwaway process; it was not opened in the server`, 'bad_object', { parser_timeout_ms: PROBE_TIMEOUT_MS }));
      else if (signal) reject(new KernelError(`the object crashed libbpf's parser (${signal}) in a throwaway process; it was not opened in the server`, 'bad_object', { parser_signal: signal }));
      else if (code === 0 || code === 1) resolve();
      else reject(new KernelError(`the object probe failed (exit status ${code})`, undefined));
    });
    // The child may exit before reading everything (e.g. killed): a broken pipe is its exit's to report.
    child.stdin.on('error', () => {});
    child.stdin.end(elf);
  });
}
