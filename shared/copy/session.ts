/**
 * The sessions a chunk copy runs on: one source client and one target client, dedicated (COPY
 * takes over the connection), prepared once and reused chunk after chunk.
 *
 * Text COPY renders values with the session's settings, so both sides use the same ones:
 * DateStyle ISO, IntervalStyle postgres, UTC, every float digit, hex bytea, and lc_monetary C
 * (money's text depends on it; the same locale on both sides keeps its int64 exact). The source
 * sees only pg_catalog on its search_path, so reg* values come out schema-qualified.
 */
import type { Client, ClientBase } from 'pg';
import { closeQuietly, connect, destroyClient, type ConnectOptions } from '../pg/connect';
import type { ServerEndpoint } from '../pg/endpoint';
import { VALUE_FORMATS, setStatements } from '../pg/formats';
import { sqlstateOf } from '../pg/retryable';
import { ensureBookkeeping } from './bookkeeping';

/**
 * Settings that make text output identical on two servers (also used by shared/verify): every
 * connection already starts with them (pg/connect.ts); set again here so a session handed in
 * from elsewhere renders the same.
 */
export const RENDER_SETTINGS = VALUE_FORMATS;

export interface CopySession {
  source: Client;
  target: Client;
  sourceMajor: number;
  targetMajor: number;
  /** server_encoding of the source; COPY runs in it on both sides when it is not UTF8. */
  sourceEncoding: string;
  /** Whether session_replication_role = replica took (needs superuser, or SET privilege on 15+). */
  replicaRole: boolean;
  /** Set when a failure left a connection in an unknown state: open a new session. */
  broken: boolean;
}

export interface SessionOptions {
  /** maintenance_work_mem for the target session (index builds after the load). */
  maintenanceWorkMem?: string;
  /** application_name, so a DBA (or a fault test) can find the copy sessions. */
  applicationName?: string;
  connect?: ConnectOptions;
}

export const COPY_APPLICATION_NAME = 'pgferry-copy';

async function versionOf(client: ClientBase): Promise<{ num: number; major: number; encoding: string }> {
  const { rows } = await client.query<{ num: string; enc: string }>(
    `SELECT current_setting('server_version_num') AS num, current_setting('server_encoding') AS enc`,
  );
  const num = Number(rows[0]?.num);
  return { num, major: Math.floor(num / 10000), encoding: rows[0]?.enc ?? 'UTF8' };
}

/** Source session: read-only settings for COPY TO; no statement or idle timeouts. */
export async function prepareSourceSession(client: ClientBase, versionNum: number, applicationName = COPY_APPLICATION_NAME): Promise<void> {
  const settings: Array<readonly [string, string]> = [
    ['application_name', applicationName],
    ['statement_timeout', '0'],
    ['lock_timeout', '0'],
    ['search_path', 'pg_catalog'],
    // As pg_dump: a policy that would hide rows makes the COPY fail instead of losing them.
    ['row_security', 'off'],
    ...RENDER_SETTINGS,
  ];
  if (versionNum >= 90600) settings.push(['idle_in_transaction_session_timeout', '0']);
  await client.query(setStatements(settings));
}

/**
 * Target session for loading: asynchronous commit (each chunk's own commit is made synchronous,
 * copy-chunk.ts), no triggers or FK checks firing (replica role, best effort), big
 * maintenance_work_mem for the index builds that follow.
 */
export async function prepareTargetSession(client: ClientBase, opts: SessionOptions = {}): Promise<{ replicaRole: boolean }> {
  await client.query(
    setStatements([
      ['application_name', opts.applicationName ?? COPY_APPLICATION_NAME],
      ['synchronous_commit', 'off'],
      ['statement_timeout', '0'],
      ['lock_timeout', '0'],
      ['idle_in_transaction_session_timeout', '0'],
      ['maintenance_work_mem', opts.maintenanceWorkMem ?? '512MB'],
      ['xmloption', 'content'],
      ['row_security', 'off'],
      ...RENDER_SETTINGS,
    ]),
  );
  return { replicaRole: await trySetReplicaRole(client) };
}

/** session_replication_role needs superuser (or a SET grant on 15+); without it, load anyway. */
export async function trySetReplicaRole(client: ClientBase): Promise<boolean> {
  try {
    await client.query(`SET session_replication_role = replica`);
    return true;
  } catch (err) {
    if (sqlstateOf(err) === '42501') return false;
    throw err;
  }
}

/** Prepares two connected clients for chunk copies (and creates the target's bookkeeping table). */
export async function prepareCopySession(source: Client, target: Client, opts: SessionOptions = {}): Promise<CopySession> {
  const [src, tgt] = await Promise.all([versionOf(source), versionOf(target)]);
  await prepareSourceSession(source, src.num, opts.applicationName);
  const { replicaRole } = await prepareTargetSession(target, opts);
  await ensureBookkeeping(target);
  return { source, target, sourceMajor: src.major, targetMajor: tgt.major, sourceEncoding: src.encoding, replicaRole, broken: false };
}

export async function openCopySession(source: ServerEndpoint, target: ServerEndpoint, opts: SessionOptions = {}): Promise<CopySession> {
  const [s, t] = await Promise.allSettled([connect(source, opts.connect), connect(target, opts.connect)]);
  if (s.status === 'rejected' || t.status === 'rejected') {
    for (const r of [s, t]) if (r.status === 'fulfilled') destroyClient(r.value);
    throw s.status === 'rejected' ? s.reason : (t as PromiseRejectedResult).reason;
  }
  try {
    return await prepareCopySession(s.value, t.value, opts);
  } catch (err) {
    destroyClient(s.value);
    destroyClient(t.value);
    throw err;
  }
}

/** Closes both connections; a broken session is torn down without waiting for the servers. */
export async function closeCopySession(session: CopySession): Promise<void> {
  if (session.broken) {
    destroyClient(session.source);
    destroyClient(session.target);
    return;
  }
  await Promise.all([closeQuietly(session.source), closeQuietly(session.target)]);
}
