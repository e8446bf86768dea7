/**
 * The one classification table (its rules in classify-rules.ts): any error met while connecting (or talking) to PostgreSQL →
 * `{ kind, retryable, message, fix }`, where message and fix are single lines a DBA can act on.
 *
 * Messages name host:port, user and database but never the password: every ingredient (echoed
 * server or Node text, host, user, database) is passed through `redact`, and so is the finished
 * sentence unless the password is so short that masking it would mangle ordinary words.
 */
import { hostPort } from './endpoint';
import { MIN_REDACTED_IN_PROSE, PgConnectionError, redact, type Classification, type ClassifyContext } from './errors';
import { isRecord, networkCodeOf, sqlstateOf } from './retryable';
import { RULES, type ErrorFacts, type Said } from './classify-rules';

// Callers think of the error vocabulary as part of classification; it lives in errors.ts.
export {
  CONNECTION_ERROR_KINDS,
  ConnectTimeoutError,
  PgConnectionError,
  type Classification,
  type ClassifyContext,
  type ConnectionErrorKind,
  type TimeoutPhase,
} from './errors';
/** Classifies any thrown value. Never throws; unknown errors echo their (redacted) text. */
export function classifyError(error: unknown, ctx: ClassifyContext): Classification {
  if (error instanceof PgConnectionError) return error.classification;
  const facts: ErrorFacts = {
    sqlstate: sqlstateOf(error),
    code: networkCodeOf(error),
    text: textOf(error),
    error,
  };
  const hide = (t: string) => redact(t, ctx.password);
  const shown: ClassifyContext = { ...ctx, host: hide(ctx.host), user: hide(ctx.user) };
  const said: Said = {
    at: hostPort(shown),
    ctx: shown,
    db: hide(ctx.database ?? 'postgres'),
    echo: (t) => hide(oneLine(t)),
  };
  const rule = RULES.find((r) => r.when(facts, ctx));
  const { message, fix } = rule
    ? rule.explain(facts, said)
    : {
        message: `Could not connect to ${said.at}: ${said.echo(facts.text)}${facts.sqlstate ? ` (SQLSTATE ${facts.sqlstate})` : ''}.`,
        fix: 'Check the server log at the time of the attempt for the reason.',
      };
  const result: Classification = {
    kind: rule?.kind ?? 'Unknown',
    retryable: rule?.retryable ?? false,
    message: (ctx.password ?? '').length >= MIN_REDACTED_IN_PROSE ? hide(message) : message,
    fix: (ctx.password ?? '').length >= MIN_REDACTED_IN_PROSE ? hide(fix) : fix,
  };
  if (facts.sqlstate !== undefined) result.sqlstate = facts.sqlstate;
  if (facts.code !== undefined) result.code = facts.code;
  return result;
}

function textOf(error: unknown): string {
  if (error instanceof Error && error.message !== '') return error.message;
  if (isRecord(error) && Array.isArray(error['errors'])) return textOf(error['errors'][0]);
  if (isRecord(error) && typeof error['message'] === 'string') return error['message'];
  return String(error);
}

function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').trim().replace(/[.]$/, '');
}
