import type { ServerEndpoint } from '../../shared/pg/endpoint';
import type { SslMode } from '../../shared/model/states';
import type { ServerInfo } from './cluster';

/** The pgferry endpoint for a local server (superuser login unless another is given). */
export function endpointOf(
  server: ServerInfo,
  over: Partial<Pick<ServerEndpoint, 'user' | 'password' | 'database' | 'host' | 'port' | 'sslRootCert'>> & { sslMode?: SslMode } = {},
): ServerEndpoint {
  return {
    host: over.host ?? server.host,
    port: over.port ?? server.port,
    user: over.user ?? server.user,
    password: over.password ?? server.password,
    sslMode: over.sslMode ?? 'Prefer',
    ...(over.database ? { database: over.database } : {}),
    ...(over.sslRootCert ? { sslRootCert: over.sslRootCert } : {}),
  };
}
