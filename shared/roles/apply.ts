/**
 * Runs a role plan on the target in ONE transaction, each statement under its own savepoint: a
 * refused statement is rolled back alone and reported, and the whole either commits or leaves no
 * trace — so a crash or a retry finds either nothing or everything, and a re-run converges (the
 * roles then exist and are left alone). Verifiers are spliced into their statement here and only
 * here; neither the text nor the verifier reaches an outcome, a log line or an error message.
 */
import type { ClientBase } from 'pg';
import { isRetryable, sqlstateOf } from '../pg/retryable';
import { quoteIdent } from '../pg/ident';
import type { RolePlan, Statement } from './plan';
import { isMd5Verifier, isScramVerifier } from './plan';
import { quoteLiteral } from './sql';

export interface StatementOutcome {
  statement: Statement;
  status: 'done' | 'failed' | 'skipped';
  /** The server's message (a verifier never appears: it is redacted). */
  error?: string;
  sqlstate?: string;
  /** For a skipped statement: the role whose creation failed. */
  because?: string;
}

/** Another session created the same role meanwhile: the whole step is retried and then finds it. */
const RACE_SQLSTATES = new Set(['42710', '23505']);

export async function applyRolePlan(target: ClientBase, plan: RolePlan, verifiers: ReadonlyMap<string, string> | null): Promise<StatementOutcome[]> {
  const outcomes: StatementOutcome[] = [];
  if (plan.statements.length === 0) return outcomes;
  const failedRoles = new Set<string>();
  await target.query('BEGIN');
  try {
    await target.query(`SELECT pg_catalog.set_config('datestyle', 'ISO, YMD', true), pg_catalog.set_config('standard_conforming_strings', 'on', true)`);
    if (plan.quietLogs) await quietLogs(target);
    for (const s of plan.setup) await target.query(s);
    for (const st of plan.statements) {
      const blocked = st.needs.find((r) => failedRoles.has(r));
      if (blocked !== undefined) {
        outcomes.push({ statement: st, status: 'skipped', because: blocked });
        continue;
      }
      const secret = st.kind === 'password' ? verifierOf(st.role, verifiers) : undefined;
      const text = st.kind === 'password' ? `ALTER ROLE ${quoteIdent(st.role)} PASSWORD ${quoteLiteral(secret ?? '')}` : st.sql;
      await target.query('SAVEPOINT pgferry_role');
      try {
        await target.query(text);
        await target.query('RELEASE SAVEPOINT pgferry_role');
        outcomes.push({ statement: st, status: 'done' });
      } catch (err) {
        const code = sqlstateOf(err);
        if (isRetryable(err) || (st.kind === 'create' && code !== undefined && RACE_SQLSTATES.has(code))) throw err;
        await target.query('ROLLBACK TO SAVEPOINT pgferry_role');
        if (st.kind === 'create') failedRoles.add(st.role);
        outcomes.push({ statement: st, status: 'failed', error: redact(err, secret), ...(code ? { sqlstate: code } : {}) });
      }
    }
    await target.query('COMMIT');
  } catch (err) {
    await target.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
  return outcomes;
}

/**
 * A superuser keeps verifiers out of the target's log and pg_stat_statements for this transaction
 * (a failing statement is otherwise logged with its text). Other logins cannot: docs/roles-and-parameters.md.
 */
async function quietLogs(target: ClientBase): Promise<void> {
  await target.query(`SELECT pg_catalog.set_config('log_statement', 'none', true), pg_catalog.set_config('log_min_error_statement', 'panic', true),
                             pg_catalog.set_config('log_min_duration_statement', '-1', true)`);
  await target.query(`SELECT pg_catalog.set_config('pg_stat_statements.track_utility', 'off', true)
                       WHERE pg_catalog.current_setting('pg_stat_statements.track_utility', true) IS NOT NULL`);
}

function verifierOf(role: string, verifiers: ReadonlyMap<string, string> | null): string {
  const v = verifiers?.get(role);
  // The plan only asks for verifiers it saw; anything else is refused rather than sent as a password.
  if (v === undefined || !(isScramVerifier(v) || isMd5Verifier(v))) throw new Error(`no password verifier for role ${quoteIdent(role)}`);
  return v;
}

function redact(err: unknown, secret: string | undefined): string {
  const message = err instanceof Error ? err.message : String(err);
  return secret ? message.split(secret).join('[verifier]') : message;
}
