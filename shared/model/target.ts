/**
 * The target of a migration when the request does not name it. In ARM the target is the server
 * in the route (`…/flexibleServers/{server}/migrations/{name}`) and its admin login, so the az CLI
 * properties file carries neither an FQDN nor (always) a target login. pgferry resolves the route's
 * server the way Azure names it — `{server}.postgres.database.azure.com` — unless the app settings
 * say otherwise (another DNS suffix, or one explicit host for targets outside Azure), and takes
 * the login from a setting, since it cannot ask Azure's control plane for the admin's name.
 */
import { DEFAULT_PORT, parseHostPort } from './endpoints';

/** Azure Database for PostgreSQL flexible servers are `{name}.postgres.database.azure.com`. */
export const AZURE_HOST_SUFFIX = '.postgres.database.azure.com';

/** Placeholder for the route's server name in PGFERRY_TARGET_HOST. */
export const SERVER_PLACEHOLDER = '{server}';

/** How the app settings place targets (PGFERRY_TARGET_HOST, PGFERRY_TARGET_HOST_SUFFIX, PGFERRY_TARGET_USERNAME). */
export interface TargetSettings {
  /** `host[:port]` of every target; `{server}` in it is replaced by the route's server name. */
  host?: string;
  /** DNS suffix after the route's server name when no host is set; default AZURE_HOST_SUFFIX. */
  hostSuffix: string;
  /** The target login when a request names none (ARM would use the server's admin login). */
  username?: string;
}

/** TargetSettings with the route's server: everything needed to default a request's target. */
export interface TargetDefaults extends TargetSettings {
  /** The `{server}` of the route: the target flexible server's name. */
  server: string;
}

export type TargetAddress = { ok: true; host: string; port: number } | { ok: false; message: string };

/** Where the route's server is, by the settings. */
export function defaultTargetAddress(d: TargetDefaults): TargetAddress {
  const text = d.host !== undefined ? d.host.split(SERVER_PLACEHOLDER).join(d.server) : `${d.server}${d.hostSuffix}`;
  const parsed = parseHostPort(text, `${d.server}${AZURE_HOST_SUFFIX}`, true);
  if (!parsed.ok) return { ok: false, message: `the target address "${text}" made from the route's server and the app settings ${parsed.message}` };
  return { ok: true, host: parsed.value.host, port: parsed.value.port ?? DEFAULT_PORT };
}

/** Checks PGFERRY_TARGET_HOST at start-up (with a sample server name); a problem or undefined. */
export function targetHostProblem(host: string): string | undefined {
  const parsed = parseHostPort(host.split(SERVER_PLACEHOLDER).join('server'), 'pg.contoso.com:5432', true);
  return parsed.ok ? undefined : parsed.message;
}

/** Checks PGFERRY_TARGET_HOST_SUFFIX: a DNS suffix starting with a dot. */
export function hostSuffixProblem(suffix: string): string | undefined {
  if (!suffix.startsWith('.')) return 'does not start with a dot';
  const parsed = parseHostPort(`server${suffix}`, `server${AZURE_HOST_SUFFIX}`, false);
  return parsed.ok && parsed.value.port === undefined ? undefined : 'is not a DNS suffix';
}

export type TargetOutcome = { ok: true; host: string; port: number; defaulted: boolean } | { ok: false; message: string; fix: string };

/** The target as given, else the route's server placed by the settings. */
export function targetAddressOf(given: { host: string; port?: number } | undefined, defaults: TargetDefaults | undefined): TargetOutcome {
  if (given !== undefined) return { ok: true, host: given.host, port: given.port ?? DEFAULT_PORT, defaulted: false };
  if (defaults === undefined) {
    return {
      ok: false,
      message: 'is required when the request names no target server',
      fix: 'Set it to the target server\'s host name, e.g. "myserver.postgres.database.azure.com": pgferry runs outside Azure\'s control plane and takes the target from the server name of the route, which this request did not come with.',
    };
  }
  const address = defaultTargetAddress(defaults);
  if (!address.ok) return { ok: false, message: `is not given, and ${address.message}`, fix: 'Set targetDbServerFullyQualifiedDomainName, or correct PGFERRY_TARGET_HOST / PGFERRY_TARGET_HOST_SUFFIX.' };
  return { ok: true, host: address.host, port: address.port, defaulted: true };
}
