/** Target sessions of a schema phase (apply.ts): opened on demand, set up once each, reused. */
import type { Client } from 'pg';
import { closeQuietly } from '../pg/connect';

export type ConnectTarget = () => Promise<Client>;

/** Idle target sessions, opened on demand and set up once each. */
export class Sessions {
  private idle: Client[] = [];
  private all = new Set<Client>();

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
    await client.query(this.setup);
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

  async closeAll(): Promise<void> {
    const all = [...this.all];
    this.all.clear();
    this.idle = [];
    await Promise.all(all.map((c) => closeQuietly(c)));
  }
}
