/**
 * What one principal may do: its role's grants under the server's policy.
 * Every denial goes through here, so each is PERMISSION_DENIED naming the
 * rule, the role in force and the lowest role that would allow it.
 */
import { ToolError } from '../errors.js';
import type { Policy } from './policy.js';
import { GRANTS, type Grant, type Role, grantsOf, lowestRoleWith } from './roles.js';

/** A principal's role and grants, and the policy in force. */
export class Access {
  readonly grants: ReadonlySet<Grant>;

  constructor(
    readonly role: Role,
    readonly policy: Policy,
  ) {
    const grants = new Set(grantsOf(role));
    if (role === 'operator' && policy.sources.allowInline) grants.add('inline');
    this.grants = grants;
  }

  /** Whether the role holds `grant`. */
  has(grant: Grant): boolean {
    return this.grants.has(grant);
  }

  /** Throws the denial of `what` (input `field`) unless the role holds `grant`. */
  require(grant: Grant, field: string, what: string): void {
    if (!this.has(grant)) throw this.denial(grant, field, what);
  }

  /**
   * PERMISSION_DENIED for `what` (asked for in input `field`) under `rule`: a grant, named with what it
   * allows and the lowest role holding it, or a policy setting (`policy.<setting>`); `next` says what
   * the caller can do instead.
   */
  denial(rule: Grant | `policy.${string}`, field: string, what: string, context: Record<string, unknown> = {}, next?: string): ToolError {
    if (rule === 'inline' && this.role === 'operator') rule = 'policy.sources.allow_inline';
    const grant = rule.startsWith('policy.') ? undefined : (rule as Grant);
    const allowedFor = grant && lowestRoleWith(grant);
    const why = grant
      ? `role ${this.role} lacks grant ${grant} (${GRANTS[grant]}), which role ${allowedFor} has`
      : `the policy's ${rule.slice('policy.'.length)} does not allow it (policy ${this.policy.file ?? 'defaults'})`;
    return new ToolError('PERMISSION_DENIED', `${what} is denied: ${why}${next ? `. ${next}` : ''}`, {
      field,
      rule,
      role: this.role,
      ...(allowedFor ? { allowed_for: allowedFor } : {}),
      ...context,
    });
  }
}
