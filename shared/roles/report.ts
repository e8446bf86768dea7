/**
 * The role migration as users read it: a `RolesMigration` validation item (ARM item shape, with
 * pgferry's code and fix per message), one or more messages per role. No verifier, no statement
 * holding one, ever appears here: the item is stored in Table Storage and served by the API.
 */
import type { ValidationState } from '../model/states';
import { quoteIdent } from '../pg/ident';
import type { StatementOutcome } from './apply';
import type { RoleDecision, RolePlan } from './plan';

export const ROLES_ITEM_TYPE = 'RolesMigration';

export interface RoleMessage {
  state: ValidationState;
  message: string;
  code: string;
  fix: string;
}

export interface RolesItem {
  type: typeof ROLES_ITEM_TYPE;
  state: ValidationState;
  messages: RoleMessage[];
}

/** Messages kept per item: thousands of roles must not outgrow a Table Storage entity. */
export const MAX_MESSAGES = 1000;

/** pgferry's own codes for role migration (603116 is Azure's "no CREATEROLE"). */
export const ROLE_CODES = {
  noCreateRole: '603116',
  created: '603940',
  refused: '603941',
  noPassword: '603942',
  md5: '603943',
  exists: '603944',
  reserved: '603945',
  failed: '603946',
  membershipSkipped: '603947',
  selfGrant: '603948',
  database: '603950',
  databaseFailed: '603951',
} as const;

const RANK: Record<ValidationState, number> = { Succeeded: 0, Warning: 1, Failed: 2 };

export function rolesItem(messages: RoleMessage[]): RolesItem {
  const state = messages.reduce<ValidationState>((w, m) => (RANK[m.state] > RANK[w] ? m.state : w), 'Succeeded');
  if (messages.length <= MAX_MESSAGES) return { type: ROLES_ITEM_TYPE, state, messages };
  const kept = messages.slice(0, MAX_MESSAGES - 1);
  const rest = messages.length - kept.length;
  return { type: ROLES_ITEM_TYPE, state, messages: [...kept, { state: 'Warning', code: ROLE_CODES.failed, message: `${rest} more message(s) left out`, fix: 'Compare pg_dumpall --globals-only of both servers for the rest' }] };
}

const setPassword = (role: string) => `ALTER ROLE ${quoteIdent(role)} PASSWORD '…';`;

export function roleMessages(plan: RolePlan, outcomes: readonly StatementOutcome[], target: { passwordEncryption: string }): RoleMessage[] {
  const out: RoleMessage[] = [];
  const failedCreate = new Set(outcomes.filter((o) => o.statement.kind === 'create' && o.status === 'failed').map((o) => o.statement.role));
  const passwordFailed = new Set(outcomes.filter((o) => o.statement.kind === 'password' && o.status !== 'done').map((o) => o.statement.role));
  const skipped: string[] = [];
  for (const d of plan.decisions) {
    if (d.action === 'skip') {
      skipped.push(`${quoteIdent(d.name)} (${d.reason ?? 'reserved'})`);
      continue;
    }
    if (failedCreate.has(d.name)) continue;
    out.push(...decisionMessages(d, passwordFailed.has(d.name), target.passwordEncryption));
  }
  for (const o of outcomes) {
    if (o.status === 'done') continue;
    const st = o.statement;
    const why = o.status === 'skipped' ? `skipped: creating ${quoteIdent(o.because ?? '')} failed` : `${o.error ?? 'failed'}${o.sqlstate ? ` (${o.sqlstate})` : ''}`;
    const fix = st.kind === 'password' ? `Set a password on the target: ${setPassword(st.role)}` : `Run on the target once the cause is fixed: ${st.sql};`;
    out.push({ state: 'Warning', code: ROLE_CODES.failed, message: `Could not ${st.what}: ${why}`, fix });
  }
  for (const m of plan.skippedMemberships) {
    out.push({
      state: 'Warning', code: ROLE_CODES.membershipSkipped,
      message: `Membership of ${quoteIdent(m.member)} in ${quoteIdent(m.role)} was not migrated: ${quoteIdent(m.role)} is ${m.why}`,
      fix: `Grant ${quoteIdent(m.member)} the target's equivalent, if it needs one`,
    });
  }
  if (plan.selfGrants.length > 0) {
    const roles = plan.selfGrants.map(quoteIdent).join(', ');
    out.push({
      state: 'Succeeded', code: ROLE_CODES.selfGrant,
      message: `The target login ${quoteIdent(plan.targetLogin)} was made a member of the ${plan.selfGrants.length} role(s) it created, so that ownership and default privileges can be given to them`,
      fix: `After the migration, if the login should not act as these roles: REVOKE ${roles} FROM ${quoteIdent(plan.targetLogin)};`,
    });
  }
  if (skipped.length > 0) {
    out.push({ state: 'Succeeded', code: ROLE_CODES.reserved, message: `Roles left to the target: ${skipped.join(', ')}`, fix: '' });
  }
  return out;
}

function decisionMessages(d: RoleDecision, passwordFailed: boolean, passwordEncryption: string): RoleMessage[] {
  const q = quoteIdent(d.name);
  const out: RoleMessage[] = [];
  if (d.action === 'exists') {
    out.push(d.differences.length === 0
      ? { state: 'Succeeded', code: ROLE_CODES.exists, message: `Role ${q} already exists on the target and matches the source; left as it is`, fix: '' }
      : { state: 'Warning', code: ROLE_CODES.exists, message: `Role ${q} already exists on the target and was left as it is; it differs: ${d.differences.join('; ')}`, fix: d.align ?? `Review role ${q} on the target` });
  } else {
    const password = d.password === 'copy' || d.password === 'copy-md5' ? (passwordFailed ? ', password not set' : ', password copied') : '';
    out.push({ state: 'Succeeded', code: ROLE_CODES.created, message: `Role ${q} created${d.login ? ' (LOGIN)' : ''}${password}`, fix: '' });
  }
  for (const r of d.refused) {
    out.push({ state: 'Warning', code: ROLE_CODES.refused, message: `Role ${q} ${d.action === 'create' ? 'was created' : 'is'} without ${r.attribute}: ${r.why}`, fix: r.fix });
  }
  if (d.action !== 'create') return out;
  if (d.login && (d.password === 'unreadable' || d.password === 'unsupported')) {
    const why = d.password === 'unreadable'
      ? 'the source login cannot read password verifiers (pg_authid is readable by superusers only)'
      : 'the source stores it in a form that is not a SCRAM or MD5 verifier';
    out.push({ state: 'Warning', code: ROLE_CODES.noPassword, message: `Role ${q} was created without a password: ${why}`, fix: `Set one on the target: ${setPassword(d.name)}` });
  }
  if (d.password === 'copy-md5' && !passwordFailed && passwordEncryption === 'scram-sha-256') {
    out.push({
      state: 'Warning', code: ROLE_CODES.md5,
      message: `Role ${q} has an MD5 password verifier; the target uses SCRAM-SHA-256 and refuses MD5 logins where pg_hba.conf asks for scram-sha-256`,
      fix: `Set the password again on the target to store a SCRAM verifier: ${setPassword(d.name)}`,
    });
  }
  return out;
}
