/**
 * Apply failures, typed for the orchestration: retryable (the connection dropped, a serialization
 * failure, a deadlock, the server restarting …) — run the batch again, nothing was committed — or
 * not (a divergence between source and target, a constraint or data error after the consistency
 * point, a missing table, a syntax or privilege error): fail fast with what a DBA needs to act.
 * The retry decision is shared/pg/retryable.ts's one table, plus 55006 for our own stale session
 * still holding the replication origin (it goes away when that backend ends).
 */
import type { Change, RelationRef } from './change';
import { isRetryable, sqlstateOf } from '../pg/retryable';

export type ApplyErrorKind = 'Divergence' | 'ConstraintViolation' | 'DataError' | 'SchemaMismatch' | 'PermissionDenied' | 'Transient' | 'Other';

export interface ApplyErrorContext {
  /** Table the failing statement wrote. */
  table?: RelationRef;
  /** The source change being applied (values included: this goes to a DBA, not to a log line). */
  change?: Change;
  /** Its source transaction id and commit LSN. */
  xid?: string;
  commitLsn?: string;
  /** The key of the row involved, as "col=value, …". */
  key?: string;
}

export class CdcApplyError extends Error {
  readonly sqlstate: string | undefined;
  constructor(
    message: string,
    readonly kind: ApplyErrorKind,
    readonly retryable: boolean,
    readonly context: ApplyErrorContext = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CdcApplyError';
    this.sqlstate = sqlstateOf(options?.cause);
  }
}

/** A replicated table does not exist on the target (the schema migration did not create it). */
export class MissingTargetTableError extends Error {
  constructor(readonly relation: RelationRef) {
    super(`table ${JSON.stringify(relation.schema)}.${JSON.stringify(relation.table)} does not exist on the target`);
    this.name = 'MissingTargetTableError';
  }
}

/** The target does not hold the row a change expects, or already holds the one it inserts. */
export class DivergenceError extends CdcApplyError {
  constructor(message: string, context: ApplyErrorContext) {
    super(message, 'Divergence', false, context);
    this.name = 'DivergenceError';
  }
}

export function describeRelation(r: RelationRef): string {
  return `${JSON.stringify(r.schema)}.${JSON.stringify(r.table)}`;
}

/** "insert into "public"."t" (xid 731, commit 0/15207A0)". */
export function describeChange(change: Change, xid?: string, commitLsn?: string): string {
  const where = change.kind === 'truncate' ? change.relations.map(describeRelation).join(', ') : describeRelation(change.relation);
  const txn = xid !== undefined ? ` (source xid ${xid}${commitLsn ? `, commit ${commitLsn}` : ''})` : '';
  return `${change.kind} ${change.kind === 'insert' ? 'into' : change.kind === 'truncate' ? 'of' : 'on'} ${where}${txn}`;
}

/** Turns anything thrown while applying into a CdcApplyError (unchanged if it already is one). */
export function classifyApplyError(err: unknown, context: ApplyErrorContext = {}): CdcApplyError {
  if (err instanceof CdcApplyError) return err;
  if (err instanceof MissingTargetTableError) {
    return new CdcApplyError(`${err.message}: create it on the target (schema migration) before replaying changes to it`, 'SchemaMismatch', false, context, { cause: err });
  }
  const state = sqlstateOf(err);
  const server = err instanceof Error ? err.message : String(err);
  const detail = typeof (err as { detail?: unknown })?.detail === 'string' ? ` (${(err as { detail: string }).detail})` : '';
  const what = context.change ? `${describeChange(context.change, context.xid, context.commitLsn)}: ` : context.table ? `${describeRelation(context.table)}: ` : '';
  const text = `${what}${server}${detail}${state ? ` [SQLSTATE ${state}]` : ''}`;
  if (state === '55006' || isRetryable(err)) return new CdcApplyError(text, 'Transient', true, context, { cause: err });
  const kind: ApplyErrorKind =
    state === undefined ? 'Other'
    : state.startsWith('23') ? 'ConstraintViolation'
    : state.startsWith('22') ? 'DataError'
    : state === '42501' ? 'PermissionDenied'
    : state.startsWith('42') ? 'SchemaMismatch'
    : 'Other';
  return new CdcApplyError(text, kind, false, context, { cause: err });
}
