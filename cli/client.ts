/**
 * pgferry's HTTP API (docs/api.md) over Node's fetch. Two failures a script must tell apart:
 * the service answered with an error (ApiFailure: status, code, per-field details) or it could
 * not be reached at all (Unreachable).
 */
import type { MigrationResource } from '../shared/model/migration-resource';
import { withApiVersion } from '../shared/model/arm';

export interface ErrorDetail {
  field: string;
  message: string;
  fix?: string;
}

export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: ErrorDetail[],
  ) {
    super(message);
    this.name = 'ApiFailure';
  }
}

export class Unreachable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Unreachable';
  }
}

export interface NameAvailability {
  name: string;
  type: string;
  nameAvailable: boolean;
  reason?: 'Invalid' | 'AlreadyExists';
  message?: string;
}

export const REQUEST_TIMEOUT_MS = 60_000;

/** The service root as given (`http://host:7071`), or already ending in the route prefix `/api`. */
export function apiBase(url: string): string {
  return /\/api$/i.test(url) ? url : `${url}/api`;
}

function causeOf(e: unknown): string {
  const cause = e instanceof Error ? (e.cause as { code?: string; message?: string } | undefined) : undefined;
  return cause?.code ?? cause?.message ?? (e instanceof Error ? e.message : String(e));
}

export class PgferryClient {
  private readonly base: string;

  constructor(
    url: string,
    private readonly key?: string,
    private readonly timeoutMs = REQUEST_TIMEOUT_MS,
  ) {
    this.base = apiBase(url);
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.key) headers['x-functions-key'] = this.key;
    // Every ARM route takes ?api-version= (the version pgferry implements now).
    const url = withApiVersion(`${this.base}/${path}`);
    let res: Response;
    try {
      res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (e) {
      if (e instanceof Error && e.name === 'TimeoutError') throw new Unreachable(`pgferry at ${this.base} did not answer within ${Math.round(this.timeoutMs / 1000)} s`);
      throw new Unreachable(`cannot reach pgferry at ${this.base} (${causeOf(e)}); is it running? Set --url or PGFERRY_URL`);
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (res.ok) return json as T;
    const err = (json as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined)?.error;
    const code = typeof err?.code === 'string' ? err.code : `Http${res.status}`;
    let message = typeof err?.message === 'string' ? err.message : text.trim().slice(0, 300) || res.statusText;
    if (res.status === 401 && !this.key) message += ' (pass the function key with --key or PGFERRY_KEY)';
    const details = Array.isArray(err?.details) ? (err.details as ErrorDetail[]).filter((d) => typeof d?.field === 'string') : [];
    throw new ApiFailure(res.status, code, message, details);
  }

  private static migrations(server: string): string {
    return `flexibleServers/${encodeURIComponent(server)}/migrations`;
  }

  list(server: string, filter: string): Promise<{ value: MigrationResource[] }> {
    return this.call('GET', `${PgferryClient.migrations(server)}?migrationListFilter=${encodeURIComponent(filter)}`);
  }

  get(server: string, name: string): Promise<MigrationResource> {
    return this.call('GET', `${PgferryClient.migrations(server)}/${encodeURIComponent(name)}`);
  }

  create(server: string, name: string, body: unknown): Promise<MigrationResource> {
    return this.call('PUT', `${PgferryClient.migrations(server)}/${encodeURIComponent(name)}`, body);
  }

  patch(server: string, name: string, properties: Record<string, unknown>): Promise<MigrationResource> {
    return this.call('PATCH', `${PgferryClient.migrations(server)}/${encodeURIComponent(name)}`, { properties });
  }

  checkName(server: string, name: string): Promise<NameAvailability> {
    return this.call('POST', `flexibleServers/${encodeURIComponent(server)}/checkMigrationNameAvailability`, {
      name,
      type: 'Microsoft.DBforPostgreSQL/flexibleServers/migrations',
    });
  }
}
