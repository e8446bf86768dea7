/** Target sessions of a schema phase (apply.ts): opened on demand, set up once each, reused. */
import type { Client } from 'pg';
import { closeQuietly } from '../pg/connect';

export type ConnectTarget = () => Promise<Client>;

/**
 * Thousands of small DDL commits each waiting for a WAL flush cost more than the DDL itself, so a
 * session commits asynchronously when flushCommits can make its commits durable at the end: when
 * the login may create temporary tables in the database.
 */
const ASYNC_WHEN_FLUSHABLE = `SELECT CASE WHEN pg_catalog.has_database_privilege(pg_catalog.current_database(), 'TEMPORARY')
  THEN pg_catalog.set_config('synchronous_commit', 'off', false) = 'off' ELSE false END AS async`;

/** Idle target sessions, opened on demand and set up once each. */
export class Sessions {
  private idle: Client[] = [];
  private all = new Set<Client>();
  private anyAsync = false;

  constructor(
    private readonly connect: ConnectTarget,
    private readonly setup: string,
  ) {}

  async acquire(): Promise<Client> {
    const reused = this.idle.pop();
    if (reused) return reused;
    const client = await this.connect();
    // A dropped idle session must not crash the process (node-pg emits 'error').
    client.on('error', () => undefined);
    this.all.add(client);
    const results = [await client.query(`${this.setup};\n${ASYNC_WHEN_FLUSHABLE}`)].flat();
    if (results.at(-1)?.rows[0]?.async === true) this.anyAsync = true;
    return client;
  }

  release(client: Client): void {
    this.idle.push(client);
  }

  /** After a failure: roll back and keep the session, or drop it when it is gone. */
  async afterError(client: Client, inTransaction: boolean): Promise<void> {
    try {
      if (inTransaction) await client.query('ROLLBACK');
      this.idle.push(client);
    } catch {
      this.all.delete(client);
      await closeQuietly(client);
    }
  }

  /**
   * Makes every commit of these sessions durable. Sessions that may (see ASYNC_WHEN_FLUSHABLE)
   * commit without waiting for the WAL flush; a synchronous commit that writes WAL waits for the
   * flush up to its own record, which lies after every earlier commit of any session. A temporary
   * table created and dropped in one transaction is such a commit for any login with TEMPORARY on
   * the database (the only one that needs no privilege on a user object).
   */
  async flushCommits(): Promise<void> {
    if (!this.anyAsync) return;
    const client = await this.acquire();
    await client.query('BEGIN; SET LOCAL synchronous_commit = on; CREATE TEMPORARY TABLE pgferry_wal_flush () ON COMMIT DROP; COMMIT');
    this.release(client);
  }

  async closeAll(): Promise<void> {
    const all = [...this.all];
    this.all.clear();
    this.idle = [];
    await Promise.all(all.map((c) => closeQuietly(c)));
  }
}
