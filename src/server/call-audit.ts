/**
 * A session's audit trail: every tool call as one line of the audit log,
 * with the kernel objects it created or released (told by the session, and
 * attributed to the call in whose async context they happened, so calls
 * running at once are kept apart), and the releases no call made: a lease
 * running out, the session ending.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { CallToolResult } from '@modelcontextprotocol/server';
import { type AuditLog, type AuditObjects, type AuditPrincipal, type AuditRecord, auditArguments } from '../policy/audit-log.js';
import type { Session, SessionChange } from '../session/session.js';

/** What one call or release changed. */
interface Changes {
  created: AuditObjects;
  released: AuditObjects;
}

const none = (): AuditObjects => ({ programs: [], maps: [], links: [] });

function add(into: AuditObjects, c: SessionChange): void {
  into.programs.push(...c.programs);
  into.maps.push(...c.maps);
  into.links.push(...c.links);
}

/** The outcome of a result as the log keeps it: ok, or the error type and the rule that denied it. */
function outcome(result: CallToolResult): AuditRecord['outcome'] {
  const content = result.structuredContent as { success?: boolean; error?: { type?: string; context?: { rule?: unknown } } } | undefined;
  if (content?.success !== false) return { ok: true };
  const rule = content.error?.context?.rule;
  return { ok: false, error: String(content.error?.type), ...(typeof rule === 'string' ? { rule } : {}) };
}

/** Writes a session's calls and releases to the audit log. */
export class CallAudit {
  private readonly current = new AsyncLocalStorage<Changes>();
  private readonly ending: Changes = { created: none(), released: none() };

  constructor(
    private readonly log: AuditLog,
    private readonly session: Session,
    private readonly role: string,
    private readonly principal: AuditPrincipal,
  ) {
    session.watch((c) => this.changed(c));
  }

  /** Files a change under its call, the session's end, or (a lease's timer runs in the context of the call that set it) a line of its own. */
  private changed(c: SessionChange): void {
    const call = this.current.getStore();
    if (c.cause === 'close') return add(this.ending.released, c);
    if (call && c.cause === 'call') return add(c.change === 'created' ? call.created : call.released, c);
    const lease = { created: none(), released: none() };
    add(lease.released, c);
    this.write('lease_expired', new Date(), performance.now(), lease, { ok: true });
  }

  private write(event: AuditRecord['event'], time: Date, started: number, changes: Changes, result: AuditRecord['outcome'], call?: { tool: string; args: unknown; client: AuditPrincipal['client'] }): void {
    this.log.write({
      time: time.toISOString(),
      session: this.session.id,
      principal: { ...this.principal, ...(call?.client ? { client: call.client } : {}) },
      role: this.role,
      event,
      ...(call ? { tool: call.tool, arguments: auditArguments(call.args) } : {}),
      outcome: result,
      ...changes,
      duration_ms: Math.round((performance.now() - started) * 1000) / 1000,
    });
  }

  /** Runs a call by `client` (its name from initialize or the request) and writes its line before the answer goes out. */
  async call(tool: string, args: unknown, client: AuditPrincipal['client'], run: () => Promise<CallToolResult>): Promise<CallToolResult> {
    const time = new Date();
    const started = performance.now();
    const changes = { created: none(), released: none() };
    const result = await this.current.run(changes, run);
    this.write('call', time, started, changes, outcome(result), { tool, args, client });
    return result;
  }

  /** Writes the session's end, with everything it released then; call after the session closed. */
  ended(): void {
    this.write('session_end', new Date(), performance.now(), this.ending, { ok: true });
  }
}
