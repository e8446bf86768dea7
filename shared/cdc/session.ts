/**
 * Session settings of pgferry's own connections, so text values mean the same on both sides:
 * the source prints values in these styles (output functions run in the decoding backend) and
 * the target parses them back. lc_monetary matters for money; extra_float_digits = 3 makes float
 * output exact before PostgreSQL 12 (later versions print the shortest exact form anyway).
 */
import type { ClientBase } from 'pg';
import { VALUE_FORMATS_SQL } from '../pg/formats';
import { sqlstateOf } from '../pg/retryable';

/** Every connection starts with these (pg/connect.ts); repeated for clients made elsewhere. */
const TEXT_FORMAT_SETTINGS = [VALUE_FORMATS_SQL];

/** The session that reads the slot: value formats, and no statement timeout on long decodes. */
export async function prepareSourceSession(client: ClientBase): Promise<void> {
  await client.query([...TEXT_FORMAT_SETTINGS, `SET statement_timeout = 0`, `SET idle_in_transaction_session_timeout = 0`].join('; '));
}

/** The same value formats on the apply session (prepareApplySession adds the applier's own). */
export async function prepareTargetFormats(client: ClientBase): Promise<void> {
  await client.query([...TEXT_FORMAT_SETTINGS, `SET statement_timeout = 0`].join('; '));
}

/** Settings of the apply session; returns whether replica mode (no triggers, no FK checks) is on. */
export async function prepareApplySession(target: ClientBase): Promise<boolean> {
  await prepareTargetFormats(target);
  // Qualified names everywhere: format_type() qualifies every non-catalog type, and user search
  // paths cannot redirect a statement.
  await target.query(`SET search_path = pg_catalog; SET synchronous_commit = off`);
  try {
    await target.query(`SET session_replication_role = replica`);
    return true;
  } catch (err) {
    if (sqlstateOf(err) !== '42501') throw err;
    return false;
  }
}
