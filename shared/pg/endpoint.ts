/**
 * The one shape pgferry connects with. It is deliberately small and free of the ARM model so the
 * connection layer can be used (and tested) before the model is parsed.
 */
import type { SslMode } from '../model/states';

export interface ServerEndpoint {
  /** Host name or IP address, as the user typed it; VerifyFull checks the certificate against it. */
  host: string;
  port: number;
  user: string;
  /** Never logged, never part of an error message (see classify.ts, which redacts it). */
  password: string;
  /** Database to connect to; DEFAULT_DATABASE when absent. */
  database?: string;
  sslMode: SslMode;
  /** PEM text of the CA (bundle) to trust instead of the system CAs. */
  sslRootCert?: string;
}

/** libpq defaults to the user name; every managed service has a `postgres` database, so we use that. */
export const DEFAULT_DATABASE = 'postgres';

/** The same endpoint, connected to a given database. */
export function onDatabase(endpoint: ServerEndpoint, database: string): ServerEndpoint {
  return { ...endpoint, database };
}

export function databaseOf(endpoint: ServerEndpoint): string {
  return endpoint.database ?? DEFAULT_DATABASE;
}

/** `host:port`, with IPv6 literals bracketed so the port stays readable. */
export function hostPort(endpoint: Pick<ServerEndpoint, 'host' | 'port'>): string {
  const host = endpoint.host.includes(':') ? `[${endpoint.host}]` : endpoint.host;
  return `${host}:${endpoint.port}`;
}
