/**
 * Role migration (`migrateRoles`), once per migration and before any schema, so ownership and
 * grants land on roles that exist:
 *
 *   1. read both clusters' roles (and the source's verifiers when the login may)   catalog.ts
 *   2. decide per role: create / leave alone / skip, and what the target refuses     plan.ts, policy.ts
 *   3. run it in one transaction, statement by statement                             apply.ts
 *   4. report per role                                                              report.ts → store.ts
 *
 * After each database is created on the target: its owner, privileges and role settings
 * (database.ts). Default privileges and object grants belong to the schema phase.
 */
import type { ClientBase } from 'pg';
import { quoteIdent } from '../pg/ident';
import { readClusterRoles, readVerifiers } from './catalog';
import { applyRolePlan, type StatementOutcome } from './apply';
import { planRoles, type RolePlan } from './plan';
import { ROLE_CODES, roleMessages, rolesItem, type RolesItem } from './report';

export { applyDatabaseRoles } from './database';
export { saveRolesItem, loadRolesItem } from './store';
export { ROLE_CODES, ROLES_ITEM_TYPE, type RolesItem, type RoleMessage } from './report';
export { reservedReason, refusalOf } from './policy';
export { planRoles, type RolePlan, type RoleDecision } from './plan';

export interface RolesOutcome {
  item: RolesItem;
  plan: RolePlan;
  outcomes: StatementOutcome[];
  /** Set when roles had to be created and the target login may not: nothing was done. */
  fatal?: string;
  /** For the orchestration history: counts only. */
  summary: RolesSummary;
}

export interface RolesSummary {
  created: number;
  existing: number;
  /** Reserved roles left to the target (pg_*, provider roles, the logins). */
  reserved: number;
  warnings: number;
}

/** Migrates the source's roles to the target; `source` and `target` are sessions on any database. */
export async function migrateRoles(source: ClientBase, target: ClientBase): Promise<RolesOutcome> {
  const src = await readClusterRoles(source);
  const tgt = await readClusterRoles(target);
  const verifiers = await readVerifiers(source);
  const targetVerifiers = tgt.login.superuser ? await readVerifiers(target) : null;
  const plan = planRoles({ source: src, target: tgt, verifiers, targetVerifiers });
  if (plan.cannotCreate) {
    const missing = plan.decisions.filter((d) => d.action === 'create').map((d) => quoteIdent(d.name));
    const fatal = `The target login ${quoteIdent(tgt.login.name)} can neither create roles (no CREATEROLE) nor is a superuser, so the ${missing.length} role(s) to migrate cannot be created: ${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ' …' : ''}`;
    const item = rolesItem([{ state: 'Failed', code: ROLE_CODES.noCreateRole, message: fatal, fix: `ALTER ROLE ${quoteIdent(tgt.login.name)} CREATEROLE; (on Azure, use the server admin login), or set migrateRoles to False` }]);
    return { item, plan, outcomes: [], fatal, summary: summarize(plan, [], item) };
  }
  const outcomes = await applyRolePlan(target, plan, verifiers);
  const item = rolesItem(roleMessages(plan, outcomes, tgt));
  return { item, plan, outcomes, summary: summarize(plan, outcomes, item) };
}

function summarize(plan: RolePlan, outcomes: readonly StatementOutcome[], item: RolesItem): RolesSummary {
  const failed = new Set(outcomes.filter((o) => o.statement.kind === 'create' && o.status === 'failed').map((o) => o.statement.role));
  const count = (a: string) => plan.decisions.filter((d) => d.action === a).length;
  return {
    created: count('create') - failed.size,
    existing: count('exists'),
    reserved: count('skip'),
    warnings: item.messages.filter((m) => m.state !== 'Succeeded').length,
  };
}
