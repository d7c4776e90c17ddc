/**
 * The catalog: one manifest per bundled BPF object, named as libbpf-tools
 * names the same tool where there is one. load_program loads an entry by
 * name with its parameters; info, inspect_state and the ebpf://catalog
 * resources describe them.
 */
import { constants } from 'node:os';
import * as z from 'zod';
import { type CatalogEntry, defined, entry } from './manifest.js';

export type { CatalogEntry, CatalogHook, CatalogRead, CatalogVariant } from './manifest.js';
export { DEFAULT_HOOK, objectOf } from './manifest.js';

/** The highest pid Linux gives (PID_MAX_LIMIT). */
export const PID_MAX = 1 << 22;

/** A process id parameter, described as limiting the entry to that process. */
const pid = (description: string) => z.int().min(1).max(PID_MAX).optional().describe(description);

/** A flag parameter. */
const flag = (what: string) => z.boolean().optional().describe(what);

/** A port parameter: the entry keeps sockets with this local or remote port. */
const port = (what: string) => z.int().min(1).max(65535).optional().describe(`Only ${what} with this local or remote port`);

/** Signal names of this host (SIGUSR1 ...), as its kernel numbers them. */
const SIGNALS = constants.signals as Record<string, number>;

/** A signal by name or number: its number. */
const signalNumber = (s: string | number): number => (typeof s === 'number' ? s : (SIGNALS[s] as number));

/** The kernel's dev_t of a disk given as "major:minor" or as a dev_t number (major << 20 | minor). */
const devT = (d: string | number): number => {
  if (typeof d === 'number') return d;
  const [major, minor] = d.split(':').map(Number) as [number, number];
  return major * 2 ** 20 + minor;
};

/** A disk parameter: "major:minor" or a dev_t, limiting the entry to that disk (devT gives the global's value). */
const disk = z
  .union([
    z
      .string()
      .regex(/^\d{1,4}:\d{1,7}$/, 'must be "major:minor"')
      .refine((d) => devT(d) < 2 ** 32 && Number(d.split(':')[1]) < 2 ** 20, 'major must be under 4096 and minor under 1048576'),
    z.int().min(1).max(2 ** 32 - 1),
  ])
  .optional()
  .describe('Only this disk: "major:minor" (as lsblk shows) or its dev_t (major << 20 | minor)');

/** The target_dev global of a disk parameter: its dev_t, or undefined (every disk) when not given. */
const targetDev = (d: string | number | undefined): number | undefined => (d === undefined ? undefined : devT(d));

/** The parameter that chooses an entry's object by hook (its variants say what each gives). */
const hook = z.enum(['tracepoint', 'kprobe']).optional().describe('tracepoint (default) or kprobe');

/**
 * load_program's call of entry `name`, its arguments as JSON: `parameters` is the text of a JSON object (a
 * manifest's how writes a value the caller picks as `<pid>`), or empty for none.
 */
export const loadCall = (name: string, parameters = ''): string =>
  `load_program {"source": {"type": "catalog", "name": "${name}"${parameters ? `, "parameters": ${parameters}` : ''}}}`;

/** The calls that load and attach an entry; `<object_id>` is load_program's object_id. */
const loadAndAttach = (name: string, parameters: string): string[] => [
  loadCall(name, parameters),
  'attach_program {"object_id": "<object_id>", "attachment": {"auto": {}}}',
];

/** The calls that read a ring writer's records. */
const streamed = ['stream_events {"source": {"object_id": "<object_id>", "map": "events"}} (or a background stream)'];

/** The calls that read a map of weights by stack: inspect_state folds it. */
const stacksRead = (what: string): string[] => [
  `wait, then inspect_state {"fields": ["maps"], "maps": {"id": <counts's id>, "entries": false}}: stacks has the top functions and the folded stacks (${what}), symbolized`,
];

/** The calls that read a map's answer: its id is in load_program's maps. */
const mapRead = (map: string, what: string): string[] => [`wait, then inspect_state {"fields": ["maps"], "maps": {"id": <${map}'s id>}}: ${what}`];

/** Every entry, in the order info lists them. */
export const CATALOG = [
  entry({
    name: 'execsnoop',
    object: 'exec_events.bpf.o',
    question: 'Which programs are started: each exec with its pid, parent, uid, command, file, arguments and ret; failed execs too, ret by name (-ENOENT)',
    parameters: z.strictObject({ pid: pid('Only execs by this process (tgid; an exec keeps it)') }),
    globals: (p) => defined({ target_tgid: p.pid }),
    read: { buffer: 'events' },
    attach: 'auto',
    how: [...loadAndAttach('execsnoop', '{"pid": <pid>}'), ...streamed],
  }),
  entry({
    name: 'opensnoop',
    object: 'file_opens.bpf.o',
    question: 'Which files are opened: each openat(2) with who opened what, the flags, and the fd or errno by name',
    parameters: z.strictObject({ pid: pid("Only this process's opens (tgid)"), failed_only: flag('Only opens that failed') }),
    globals: (p) => defined({ target_tgid: p.pid, failed_only: p.failed_only }),
    read: { buffer: 'events' },
    attach: 'auto',
    how: [...loadAndAttach('opensnoop', '{"pid": <pid>}'), ...streamed],
  }),
  entry({
    name: 'tcpstates',
    object: 'tcp_states.bpf.o',
    question: 'Which TCP connections open and close: each socket state change with its process, addresses and ports',
    parameters: z.strictObject({ port: port('sockets') }),
    globals: (p) => defined({ target_port: p.port }),
    read: { buffer: 'events' },
    attach: 'auto',
    how: [...loadAndAttach('tcpstates', '{"port": <port>}'), ...streamed],
  }),
  entry({
    name: 'tcplife',
    object: 'tcp_lifetimes.bpf.o',
    question: 'Which TCP connections ended, after how long, with how many bytes each way, and whose they were',
    parameters: z.strictObject({
      pid: pid('Only connections of this process (tgid)'),
      port: port('connections'),
      family: z.enum(['AF_INET', 'AF_INET6']).optional().describe('Only IPv4 or only IPv6'),
    }),
    globals: (p) => defined({ target_tgid: p.pid, target_port: p.port, target_family: p.family === undefined ? undefined : p.family === 'AF_INET' ? 2 : 10 }),
    read: { buffer: 'events' },
    attach: 'auto',
    how: [...loadAndAttach('tcplife', '{"port": <port>}'), ...streamed],
  }),
  entry({
    name: 'tcpconnect',
    object: 'tcp_connects.bpf.o',
    variants: {
      tracepoint: { object: 'tcp_connects.bpf.o', hooks: 'tracepoint sock:inet_sock_set_state', gives: "a record at each connect's answer: established, refused or failed, and the SYN's round trip" },
      kprobe: {
        object: 'tcp_connects_kprobe.bpf.o',
        hooks: 'kprobe and kretprobe tcp_v4_connect, tcp_v6_connect (as libbpf-tools tcpconnect)',
        gives: "a record at each connect call's return, in the caller's task: ret is its return value (-EADDRNOTAVAIL, ...; 0 when the SYN went, result CONNECT_SENT), latency_ns the call's time; its answer is not awaited",
      },
    },
    question: 'Which TCP connects are made, how long each took to connect, and whether it was refused',
    parameters: z.strictObject({
      pid: pid('Only connects by this process (tgid)'),
      port: port('connects'),
      min_latency_us: z.int().min(1).optional().describe('Only connects slower than this'),
      hook,
    }),
    globals: (p) => defined({ target_tgid: p.pid, target_port: p.port, min_latency_us: p.min_latency_us }),
    read: { buffer: 'events' },
    attach: 'auto',
    how: [...loadAndAttach('tcpconnect', '{"port": <port>}'), ...streamed],
  }),
  entry({
    name: 'exitsnoop',
    object: 'process_exits.bpf.o',
    question: 'Which processes exit, how (code or signal) and after how long',
    parameters: z.strictObject({
      pid: pid("Only this process's exit (tgid)"),
      failed_only: flag('Only exits with a nonzero code or by a signal'),
      threads: flag('A record for every thread that exits, not one per process'),
    }),
    globals: (p) => defined({ target_tgid: p.pid, trace_failed_only: p.failed_only, trace_threads: p.threads }),
    read: { buffer: 'events' },
    attach: 'auto',
    how: [...loadAndAttach('exitsnoop', '{"failed_only": true}'), ...streamed],
  }),
  entry({
    name: 'sigsnoop',
    object: 'signals.bpf.o',
    question: 'Which signals are sent, by whom to whom, and whether they were delivered',
    parameters: z.strictObject({
      pid: pid('Only signals sent to this process (tgid)'),
      signal: z
        .union([z.enum(Object.keys(SIGNALS) as [string, ...string[]]), z.int().min(1).max(64)])
        .optional()
        .describe('Only this signal: a name ("SIGUSR1") or a number'),
      failed_only: flag('Only signals not delivered (ignored, already pending, queue full)'),
    }),
    globals: (p) => defined({ target_tgid: p.pid, target_signal: p.signal === undefined ? undefined : signalNumber(p.signal), failed_only: p.failed_only }),
    read: { buffer: 'events' },
    attach: 'auto',
    how: [...loadAndAttach('sigsnoop', '{"signal": "SIGTERM"}'), ...streamed],
  }),
  entry({
    name: 'oomkill',
    object: 'oom_kills.bpf.o',
    variants: {
      tracepoint: { object: 'oom_kills.bpf.o', hooks: 'tracepoint oom:mark_victim', gives: 'the victim, its memory and the task that triggered it; domain OOM_DOMAIN_UNKNOWN, domain_kb 0' },
      kprobe: {
        object: 'oom_kills_kprobe.bpf.o',
        hooks: 'tracepoint oom:mark_victim, kprobe and kretprobe oom_kill_process (as libbpf-tools oomkill)',
        gives: "the same, and from the oom_control: domain (OOM_DOMAIN_GLOBAL, or OOM_DOMAIN_MEMCG for a memory cgroup's) and domain_kb (its size: a memory cgroup's limit)",
      },
    },
    question: 'Which processes the OOM killer kills, with their memory and the task that triggered it',
    parameters: z.strictObject({ hook }),
    globals: () => ({}),
    read: { buffer: 'events' },
    attach: 'auto',
    how: [...loadAndAttach('oomkill', ''), ...streamed],
  }),
  entry({
    name: 'syscount',
    object: 'syscall_counts.bpf.o',
    question: 'Which system calls are made, and how often, counted by syscall',
    parameters: z.strictObject({ pid: pid("Only this process's system calls (tgid)") }),
    globals: (p) => defined({ target_tgid: p.pid }),
    read: { map: 'counts', shape: 'counts' },
    attach: 'auto',
    how: [...loadAndAttach('syscount', '{"pid": <pid>}'), ...mapRead('counts', 'calls by syscall name')],
  }),
  entry({
    name: 'syscall_latency',
    object: 'syscall_latency.bpf.o',
    question: 'How long system calls take: a log2 histogram of microseconds',
    parameters: z.strictObject({ pid: pid("Only this process's system calls (tgid)") }),
    globals: (p) => defined({ target_tgid: p.pid }),
    read: { map: 'latency_us', shape: 'histogram' },
    attach: 'auto',
    how: [...loadAndAttach('syscall_latency', '{"pid": <pid>}'), ...mapRead('latency_us', 'the histogram, drawn')],
  }),
  entry({
    name: 'runqlat',
    object: 'runq_latency.bpf.o',
    question: 'How long runnable threads wait for a CPU: a log2 histogram of microseconds',
    parameters: z.strictObject({
      pid: pid("Only this process's threads (tgid)"),
      per_process: flag('One histogram per process (keyed by tgid), not one at key 0'),
    }),
    globals: (p) => defined({ target_tgid: p.pid, per_process: p.per_process }),
    read: { map: 'latency_us', shape: 'histogram' },
    attach: 'auto',
    how: [...loadAndAttach('runqlat', '{"per_process": true}'), ...mapRead('latency_us', 'a histogram per key, drawn')],
  }),
  entry({
    name: 'biolatency',
    object: 'block_io_latency.bpf.o',
    question: 'How long block I/O requests take: a log2 histogram of microseconds',
    parameters: z.strictObject({
      disk,
      per_disk: flag('One histogram per disk (keyed by dev_t), not one at key 0'),
      queued: flag('Time from insertion into the I/O scheduler too, not from issue'),
    }),
    globals: (p) => defined({ target_dev: targetDev(p.disk), per_disk: p.per_disk, queued: p.queued }),
    read: { map: 'latency_us', shape: 'histogram' },
    attach: 'auto',
    how: [...loadAndAttach('biolatency', '{"disk": "8:0"}'), ...mapRead('latency_us', 'the histogram, drawn')],
  }),
  entry({
    name: 'biosnoop',
    object: 'block_io_events.bpf.o',
    question: 'Which block I/O requests complete: each with its process, disk, operation, sector, bytes and latency',
    parameters: z.strictObject({
      disk,
      pid: pid('Only requests issued by this process (tgid)'),
      min_latency_us: z.int().min(1).optional().describe('Only requests slower than this, issue to completion'),
      queued: flag('Also the time queued in the I/O scheduler before issue'),
    }),
    globals: (p) => defined({ target_dev: targetDev(p.disk), target_tgid: p.pid, min_latency_us: p.min_latency_us, queued: p.queued }),
    read: { buffer: 'events' },
    attach: 'auto',
    how: [...loadAndAttach('biosnoop', '{"disk": "8:0"}'), ...streamed],
  }),
  entry({
    name: 'profile',
    object: 'cpu_stacks.bpf.o',
    question: 'Where the CPU time goes: on-CPU stacks sampled at a set frequency, kernel and user, per process',
    parameters: z.strictObject({
      pid: pid('Only samples of this process (tgid)'),
      frequency: z.int().min(1).max(1000).optional().describe('Samples per second on each CPU (default 49)'),
      kernel_only: flag('Kernel stacks only'),
      user_only: flag('User stacks only'),
      include_idle: flag('Count idle CPUs too (the idle task)'),
    }),
    globals: (p) => defined({ target_tgid: p.pid, kernel_stacks_only: p.kernel_only, user_stacks_only: p.user_only, include_idle: p.include_idle }),
    frequency: (p) => p.frequency ?? 49,
    read: { map: 'counts', shape: 'stacks' },
    attach: 'auto',
    how: [...loadAndAttach('profile', '{"pid": <pid>, "frequency": 99}'), ...stacksRead('weights are samples')],
  }),
  entry({
    name: 'offcputime',
    object: 'offcpu_stacks.bpf.o',
    question: 'Where threads wait off the CPU (blocked, sleeping, preempted): time by kernel and user stack, per process',
    parameters: z.strictObject({
      pid: pid("Only this process's threads (tgid)"),
      min_block_us: z.int().min(1).optional().describe('Only waits at least this long (default 1)'),
      max_block_us: z.int().min(1).optional().describe('Only waits at most this long'),
      kernel_only: flag('Kernel stacks only'),
    }),
    globals: (p) => defined({ target_tgid: p.pid, min_block_us: p.min_block_us, max_block_us: p.max_block_us, kernel_stacks_only: p.kernel_only }),
    read: { map: 'counts', shape: 'stacks' },
    attach: 'auto',
    how: [...loadAndAttach('offcputime', '{"pid": <pid>}'), ...stacksRead('weights are microseconds off the CPU')],
  }),
] as const satisfies readonly CatalogEntry[];

/** The entries' names, for load_program's enum. */
export const CATALOG_NAMES = CATALOG.map((e) => e.name) as [string, ...string[]];

/** The entry called `name`, if any. */
export function catalogEntry(name: string): CatalogEntry | undefined {
  return CATALOG.find((e) => e.name === name) as CatalogEntry | undefined;
}
