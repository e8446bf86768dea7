/**
 * Opens the connection a check needs and turns a failure into the classified outcome the
 * AuthenticationAndConnectivityValidation item reports; a session cut while it opens or answers
 * its first query is thrown instead (interrupted.ts: the validation is retried).
 */
import type { Client } from 'pg';
import { connectWithInfo } from '../pg/connect';
import { PgConnectionError, type ConnectionErrorKind } from '../pg/classify';
import type { ServerEndpoint } from '../pg/endpoint';
import type { SslMode } from '../model/states';
import { rethrowInterrupted } from './interrupted';

export type ConnectionOutcome =
  | { ok: true; client: Client; serverVersion: string; ssl: boolean }
  | { ok: false; kind: ConnectionErrorKind; message: string; fix: string; sslMode: SslMode };

export async function openForValidation(endpoint: ServerEndpoint, timeoutMs: number): Promise<ConnectionOutcome> {
  try {
    const { client, encrypted } = await connectWithInfo(endpoint, { timeoutMs });
    const { rows } = await client.query<{ v: string }>(`SELECT current_setting('server_version') AS v`);
    return { ok: true, client, serverVersion: (rows[0]?.v ?? '').split(' ')[0] ?? '', ssl: encrypted };
  } catch (err) {
    rethrowInterrupted(err);
    if (err instanceof PgConnectionError) {
      const c = err.classification;
      return { ok: false, kind: c.kind, message: c.message, fix: c.fix, sslMode: endpoint.sslMode };
    }
    const message = err instanceof Error ? err.message : String(err);
    return { ok: false, kind: 'Unknown', message, fix: 'Check the server address and that it accepts connections', sslMode: endpoint.sslMode };
  }
}
