/**
 * ebpf-mcp, the command-line client: finds the command, parses its flags,
 * connects when the command needs the server, runs it, and ends the session
 * however it ends. Every failure is one line on stderr; the exit code says
 * which kind (see EXIT and the --help text).
 */
import { SERVER_VERSION } from '../version.js';
import { type GlobalFlags, parse, splitCommand } from './args.js';
import type { Command, Context } from './command.js';
import { callCommand } from './commands/call.js';
import { catalogCommand } from './commands/catalog.js';
import { infoCommand } from './commands/info.js';
import { psCommand } from './commands/ps.js';
import { toolsCommand } from './commands/tools.js';
import { traceCommand } from './commands/trace.js';
import { Session } from './connection.js';
import { CliError, EXIT, ToolError, UsageError } from './errors.js';
import { runFleet } from './fleet.js';
import { escapeLine, paint, print, safeJson, styleOf } from './output.js';

/** Every command, in the order --help lists them. */
const COMMANDS: Command[] = [infoCommand, psCommand, catalogCommand, traceCommand, toolsCommand, callCommand];

/** The flags every command takes and the exit codes, for every --help. */
const COMMON = `Connection (every command):
      --url <url>          a server over Streamable HTTP (http(s)://host:port/mcp) instead of
                           spawning the local one (bin/ebpf-mcp-server -t stdio)
      --token-file <file>  the bearer token for --url: the token alone on a line, or a server
                           token-file line "name role token"
      --server-arg <flag>  a flag for the spawned server (repeatable), e.g.
                           --server-arg=--enable-tools=all --server-arg=--role=operator
      --verbose            show the spawned server's log (stderr)
      --json               print the JSON result instead of text
  -h, --help               this help
      --version            the version

Fleet (info, ps, trace of a ring-buffer entry, call of a read-only tool):
      --fleet                  run the command on the server of every node at once; rows
                               merged with their node, a node that fails listed, not fatal
      --nodes <list>           the servers: URLs (or name=URL) separated by commas
      --nodes-file <file>      the servers, one URL (or name=URL) a line; # comments
      --k8s-service <ns/name>  the ready endpoints of this headless Service (its EndpointSlices'
                               port named mcp), with in-cluster credentials or KUBECONFIG
      --node-timeout <s>       longest connecting, or one request, may take on a node (default 10)
  The same --token-file goes to every node. --json prints {nodes: [{node, url, ok, error?}],
  rows: [...]}, each row with its node.

Exit codes: 0 done, 1 unexpected failure, 2 usage error, 3 a tool returned a typed error
(VALIDATION_ERROR, PERMISSION_DENIED, ...), 4 the server could not be reached or the
connection was lost, 5 --fleet: no node answered (0 when at least one did; the failed ones
are listed on stderr and in the JSON), 130 interrupted (SIGINT), 143 terminated (SIGTERM).
`;

const USAGE = `Usage: ebpf-mcp <command> [options]

The command-line client of ebpf-mcp: load, attach, inspect and stream eBPF on a live host,
through the MCP server (spawned locally, or at --url).

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(9)}${c.summary}`).join('\n')}

Run ebpf-mcp <command> --help for a command's options.

${COMMON}`;

/** Writes the one line of an error: `ebpf-mcp: TYPE: message`. */
function report(e: unknown): number {
  if (e instanceof CliError) {
    const style = styleOf(process.stderr);
    const label = e.label ? `${paint(style, 'red', e.label)}: ` : '';
    process.stderr.write(`ebpf-mcp: ${label}${escapeLine(e.message)}${e instanceof UsageError ? ' (--help for usage)' : ''}\n`);
    return e.exitCode;
  }
  process.stderr.write(`ebpf-mcp: ${escapeLine(e instanceof Error ? e.message : String(e))}\n`);
  return EXIT.failure;
}

/** Runs the CLI on `argv` (without node and the script); resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  const controller = new AbortController();
  let received: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    // A second signal while cleaning up: leave at once (a spawned server sees stdin close and releases the session itself).
    if (received) process.exit(signal === 'SIGINT' ? EXIT.interrupted : EXIT.terminated);
    received = signal;
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // A closed pipe (ebpf-mcp trace ... | head): stop as after a signal, without an error.
  process.stdout.on('error', () => controller.abort());

  const { command: name, rest } = splitCommand(argv);
  const command = COMMANDS.find((c) => c.name === name);
  let session: Session | undefined;
  let json = false;
  let code: number;
  try {
    if (!command) {
      const { values } = parse(rest, {}, { min: 0, max: 0 });
      if (values.version) print(`ebpf-mcp ${SERVER_VERSION}`);
      else if (values.help || name === undefined) {
        process.stdout.write(USAGE);
        if (!values.help) return EXIT.usage;
      }
      if (name !== undefined) throw new UsageError(`no command ${JSON.stringify(name)}; commands: ${COMMANDS.map((c) => c.name).join(', ')}`);
      return EXIT.ok;
    }
    const { values, positionals } = parse(rest, command.options, command.positionals);
    json = values.json === true || values.output === 'json';
    if (values.help) {
      process.stdout.write(`${command.usage}\n${COMMON}`);
      return EXIT.ok;
    }
    if (values.version) {
      print(`ebpf-mcp ${SERVER_VERSION}`);
      return EXIT.ok;
    }
    const flags = values as GlobalFlags;
    const style = styleOf(process.stdout);
    if (flags.fleet) {
      code = await runFleet(command, { values, positionals, style, signal: controller.signal });
      return received ? (received === 'SIGINT' ? EXIT.interrupted : EXIT.terminated) : code;
    }
    const fleetOnly = (['nodes', 'nodes-file', 'k8s-service', 'node-timeout'] as const).find((f) => flags[f] !== undefined);
    if (fleetOnly) throw new UsageError(`--${fleetOnly} goes with --fleet`);
    const ctx: Context = {
      values,
      positionals,
      style,
      signal: controller.signal,
      session: async () =>
        (session ??= await Session.open({
          ...(flags.url !== undefined ? { url: flags.url } : {}),
          ...(flags['token-file'] !== undefined ? { tokenFile: flags['token-file'] } : {}),
          serverArgs: flags['server-arg'] ?? [],
          verbose: flags.verbose === true,
          signal: controller.signal,
        })),
    };
    code = await command.run(ctx);
  } catch (e) {
    if (received || controller.signal.aborted) code = EXIT.ok;
    else {
      if (e instanceof ToolError && json) print(safeJson(e.structured ?? null, 2));
      code = report(e);
    }
  } finally {
    await session?.close();
  }
  if (received) return received === 'SIGINT' ? EXIT.interrupted : EXIT.terminated;
  return code;
}
