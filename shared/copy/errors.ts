/**
 * Typed copy failures with what a DBA needs: which chunk of which table, on which side, the
 * SQLSTATE, and whether trying again can help (one decision, from shared/pg/retryable.ts).
 */
import { isRetryable, sqlstateOf } from '../pg/retryable';

export type CopySide = 'source' | 'target';

export interface CopyErrorContext {
  table: string;
  chunkId?: string;
  side?: CopySide;
  sqlstate?: string;
}

export class CopyError extends Error {
  constructor(
    message: string,
    readonly context: CopyErrorContext,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CopyError';
  }
}

/** The target has no table of that name: the schema phase did not run or was changed. */
export class TargetTableMissingError extends CopyError {
  constructor(table: string, chunkId: string) {
    super(`table ${table} does not exist on the target: create the schema (pre-data) before copying`, { table, chunkId, side: 'target' }, false);
    this.name = 'TargetTableMissingError';
  }
}

/** A ctid-range chunk found the source table rewritten (VACUUM FULL, CLUSTER, ALTER TABLE …) since planning. */
export class TableRewrittenError extends CopyError {
  constructor(table: string, chunkId: string) {
    super(
      `table ${table} was rewritten on the source since the copy was planned (VACUUM FULL, CLUSTER or a rewriting ALTER TABLE): its heap page ranges no longer hold the same rows; truncate it on the target, delete its chunk marks and plan it again`,
      { table, chunkId, side: 'source' },
      false,
    );
    this.name = 'TableRewrittenError';
  }
}

/** Wraps a driver or server error with the chunk's context; keeps the original as `cause`. */
export function copyErrorOf(err: unknown, context: CopyErrorContext): CopyError {
  if (err instanceof CopyError) return err;
  const sqlstate = sqlstateOf(err);
  const reason = err instanceof Error ? err.message : String(err);
  const where = `${context.side ? `${context.side} side, ` : ''}table ${context.table}${context.chunkId ? `, chunk ${context.chunkId}` : ''}`;
  return new CopyError(`copy failed (${where}): ${reason}${sqlstate ? ` [SQLSTATE ${sqlstate}]` : ''}`, { ...context, ...(sqlstate ? { sqlstate } : {}) }, isRetryable(err), {
    cause: err,
  });
}
