/**
 * Crash isolation for untrusted objects: libbpf opens the object first in a
 * throwaway process and runs its load in loader-generation mode there
 * (relocations, BTF, map definitions, nothing created), so a parser crash
 * kills that process, never the server. The throwaway processes are forked
 * by one long-lived probe (native/probe/open-probe.c, the same static libbpf
 * as the addon), started on first use: forking it costs a fraction of a
 * millisecond, where spawning a process from the server costs 10 ms and more.
 */
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { constants } from 'node:os';
import { dirname } from 'node:path';
import type { Socket } from 'node:net';
import type { Writable } from 'node:stream';
import { OPEN_PROBE, PREBUILD_DIR, PREBUILT_OPEN_PROBE } from '../paths.js';
import { KernelError } from './errors.js';
import { addonFile } from './native.js';

/** The probe built with the addon that loaded: the prebuilt one beside a prebuilt addon, else the one built here. */
const matchingProbe = (): string => (dirname(addonFile()) === PREBUILD_DIR ? PREBUILT_OPEN_PROBE : OPEN_PROBE);

/** How long the probe may take before it is killed and the object refused. */
const PROBE_TIMEOUT_MS = 10_000;

/** The name of a signal by number ("SIG<n>" for one Node does not name). */
const signalName = (n: number): string => Object.entries(constants.signals).find(([, v]) => v === n)?.[0] ?? `SIG${n}`;

/** The refusal of an object whose throwaway process died of `signal`. */
const crashed = (signal: string): KernelError =>
  new KernelError(`the object crashed libbpf's parser (${signal}) in a throwaway process; it was not opened in the server`, 'bad_object', { parser_signal: signal });

/** One running probe: objects go in one at a time, each answered by a line. */
class ProbeProcess {
  private readonly child: ChildProcessByStdio<Writable, Socket, null>;
  private out = '';
  private pending: { resolve: () => void; reject: (e: Error) => void; timer: NodeJS.Timeout } | undefined;
  /** Set once the process exited or could not start: the next object starts a new one. */
  dead = false;

  constructor(path: string) {
    // A piped stdio stream of a child process is a socket.
    this.child = spawn(path, [], { stdio: ['pipe', 'pipe', 'ignore'] }) as ChildProcessByStdio<Writable, Socket, null>;
    // Idle, the probe does not keep Node running; while an object is out, its timeout does.
    this.child.unref();
    this.child.stdout.unref();
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (d: string) => this.answer(d));
    this.child.on('error', (e) => this.end(new KernelError(`cannot run the object probe ${path}: ${e.message}`, undefined)));
    this.child.on('exit', (code, signal) => this.end(signal ? crashed(signal) : new KernelError(`the object probe failed (exit status ${code})`, undefined)));
    // The process may exit before reading everything (e.g. killed): a broken pipe is its exit's to report.
    this.child.stdin.on('error', () => {});
  }

  /** Opens `elf` in a throwaway process of this probe; one object at a time. */
  send(elf: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.end(new KernelError(`opening the object took over ${PROBE_TIMEOUT_MS / 1000} s in a throwaway process; it was not opened in the server`, 'bad_object', { parser_timeout_ms: PROBE_TIMEOUT_MS }));
        this.child.kill('SIGKILL');
      }, PROBE_TIMEOUT_MS);
      this.pending = { resolve, reject, timer };
      const head = Buffer.alloc(4);
      head.writeUInt32LE(elf.length);
      this.child.stdin.write(head);
      this.child.stdin.write(elf);
    });
  }

  /** Output of the probe: a line answers the pending object ("exit <status>" or "signal <number>"). */
  private answer(d: string): void {
    this.out += d;
    const nl = this.out.indexOf('\n');
    if (nl < 0) return;
    const [what, n] = this.out.slice(0, nl).split(' ');
    this.out = this.out.slice(nl + 1);
    const p = this.pending;
    if (!p) return;
    this.settle();
    if (what === 'signal') p.reject(crashed(signalName(Number(n))));
    else if (n === '0' || n === '1') p.resolve();
    else p.reject(new KernelError(`the object probe failed (exit status ${n})`, undefined));
  }

  /** The process is gone (or is being killed): the pending object gets `error`. */
  private end(error: KernelError): void {
    this.dead = true;
    const p = this.pending;
    this.settle();
    p?.reject(error);
  }

  private settle(): void {
    if (this.pending) clearTimeout(this.pending.timer);
    this.pending = undefined;
  }
}

/** Idle running probes of each probe program: an object takes one, or starts one when all are busy. */
const idle = new Map<string, ProbeProcess[]>();

/**
 * Opens `elf` with libbpf in a throwaway process. Resolves when libbpf opened
 * or refused it there (the caller opens it again in-process for the real
 * answer); throws KernelError 'bad_object' when that process died of a signal
 * or ran past the timeout, and a plain KernelError when the probe could not run.
 * Objects of concurrent loads go to probes of their own, so a slow object
 * delays no other load. `probe` is the probe program to run (tests pass one that crashes).
 */
export async function probeOpen(elf: Uint8Array, probe = matchingProbe()): Promise<void> {
  const free = idle.get(probe) ?? [];
  idle.set(probe, free);
  let running = free.pop();
  while (running?.dead) running = free.pop();
  running ??= new ProbeProcess(probe);
  try {
    await running.send(elf);
  } finally {
    if (!running.dead) free.push(running);
  }
}
