/**
 * SSL modes with libpq's meaning, expressed as node-pg client configurations.
 *
 * node-pg has no sslmode: `ssl: false` never encrypts, any `ssl` object always does. libpq's
 * modes therefore become a list of attempts that connect.ts tries in order:
 *   Prefer      SSL without verification, then plaintext if the server refuses SSL
 *   Require     SSL without verification — but with a root certificate libpq verifies the
 *               chain (sslmode=require + sslrootcert behaves as verify-ca), and so do we
 *   VerifyCA    SSL, chain verified against sslRootCert (or the system CAs), any host name
 *   VerifyFull  SSL, chain and host name verified
 */
import type { ClientConfig } from 'pg';
import type { ConnectionOptions } from 'tls';
import type { SslMode } from '../model/states';
import { databaseOf, type ServerEndpoint } from './endpoint';

export const APPLICATION_NAME = 'pgferry';
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
/** Probes on an idle connection, so a NAT or load balancer does not silently drop it (Azure's drops after ~4 min). */
export const KEEPALIVE_INITIAL_DELAY_MS = 30_000;

export interface ClientOptions {
  /** Time allowed for TCP connect + SSL + authentication of one attempt. */
  connectTimeoutMs?: number;
  /** Server-side statement_timeout for the session; off when absent. */
  statementTimeoutMs?: number;
  /** Server-side lock_timeout for the session; off when absent. */
  lockTimeoutMs?: number;
  /** Overrides the endpoint's database (e.g. to list databases from `postgres`). */
  database?: string;
  /** Opens a walsender connection (`replication=database`) for logical replication. */
  replication?: boolean;
}

export interface ConnectAttempt {
  /** Whether this attempt negotiates SSL; connect.ts falls back to the next attempt only from an encrypted one. */
  encrypted: boolean;
  /** The effective verification, after libpq's Require-with-root-cert rule. */
  verification: 'none' | 'chain' | 'chain+hostname' | 'plaintext';
  config: ClientConfig;
}

/** The attempts libpq would make for this endpoint, in order. */
export function buildConnectAttempts(endpoint: ServerEndpoint, opts: ClientOptions = {}): ConnectAttempt[] {
  const mode = effectiveSslMode(endpoint.sslMode, endpoint.sslRootCert);
  switch (mode) {
    case 'Prefer':
      return [
        attempt(endpoint, opts, true, 'none', { rejectUnauthorized: false }),
        attempt(endpoint, opts, false, 'plaintext', false),
      ];
    case 'Require':
      return [attempt(endpoint, opts, true, 'none', { rejectUnauthorized: false })];
    case 'VerifyCA':
      return [
        attempt(endpoint, opts, true, 'chain', {
          ...trustedCa(endpoint.sslRootCert),
          rejectUnauthorized: true,
          // The chain is still verified by OpenSSL; only the name check is skipped.
          checkServerIdentity: () => undefined,
        }),
      ];
    case 'VerifyFull':
      return [attempt(endpoint, opts, true, 'chain+hostname', { ...trustedCa(endpoint.sslRootCert), rejectUnauthorized: true })];
  }
}

/** libpq: "if a root CA file exists, the behavior of sslmode=require will be the same as that of verify-ca". */
export function effectiveSslMode(mode: SslMode, sslRootCert: string | undefined): SslMode {
  return mode === 'Require' && hasText(sslRootCert) ? 'VerifyCA' : mode;
}

function trustedCa(pem: string | undefined): Pick<ConnectionOptions, 'ca'> {
  // Absent `ca` means Node's bundled root store (libpq's sslrootcert=system).
  return hasText(pem) ? { ca: pem } : {};
}

function hasText(s: string | undefined): s is string {
  return s !== undefined && s.trim() !== '';
}

function attempt(
  endpoint: ServerEndpoint,
  opts: ClientOptions,
  encrypted: boolean,
  verification: ConnectAttempt['verification'],
  ssl: ConnectionOptions | false,
): ConnectAttempt {
  const config: ClientConfig = {
    host: endpoint.host,
    port: endpoint.port,
    user: endpoint.user,
    database: opts.database ?? databaseOf(endpoint),
    // Always explicit: `undefined` would make node-pg read PGSSLMODE from the environment.
    ssl,
    application_name: APPLICATION_NAME,
    connectionTimeoutMillis: Math.max(1, opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS),
    keepAlive: true,
    keepAliveInitialDelayMillis: KEEPALIVE_INITIAL_DELAY_MS,
  };
  if (opts.statementTimeoutMs !== undefined) config.statement_timeout = opts.statementTimeoutMs;
  if (opts.lockTimeoutMs !== undefined) config.lock_timeout = opts.lockTimeoutMs;
  if (opts.replication === true) {
    // Not in @types/pg's ClientConfig, but node-pg sends it in the startup packet.
    Object.assign(config, { replication: 'database' });
  }
  // Non-enumerable so a logged or serialised config never shows it; node-pg still reads it.
  Object.defineProperty(config, 'password', { value: endpoint.password, enumerable: false, writable: true });
  return { encrypted, verification, config };
}
