/**
 * Where the servers are, from the forms ARM accepts: `sourceDbServerResourceId` as
 * `host:port@user` or a Single Server resource id, and the `…FullyQualifiedDomainName` fields as
 * `host` or `host:port`. IPv6 literals are written in brackets and stored without them (as
 * shared/pg's `hostPort` expects).
 */
import { isIPv4, isIPv6 } from 'node:net';

export const DEFAULT_PORT = 5432;

/** A parsed server address; `port` and `user` only when the text named them. */
export interface ServerAddress {
  /** Host name or IP address; IPv6 without brackets. */
  host: string;
  port?: number;
  user?: string;
  /** Set when the source was given as an ARM resource id of an Azure server. */
  azureServerName?: string;
}

export type AddressResult = { ok: true; value: ServerAddress } | { ok: false; message: string; fix: string };

const AZURE_SERVER_ID =
  /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.DBforPostgreSQL\/(servers|flexibleServers)\/([^/]+)\/?$/i;
const AZURE_SERVER_NAME = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;
const HOST_LABEL = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;
const DOTTED_NUMBERS = /^[0-9.]+$/;

const fail = (message: string, fix: string): AddressResult => ({ ok: false, message, fix });

/** Checks a host name or IP (IPv6 without brackets); returns a problem or undefined. */
export function hostProblem(host: string): string | undefined {
  if (host === '') return 'has an empty host';
  if (isIPv4(host) || isIPv6(host)) return undefined;
  if (DOTTED_NUMBERS.test(host)) return 'has an IPv4 address that is not four numbers from 0 to 255';
  if (host.length > 253) return 'has a host name longer than 253 characters';
  const labels = host.endsWith('.') ? host.slice(0, -1).split('.') : host.split('.');
  if (labels.every((label) => HOST_LABEL.test(label))) return undefined;
  return 'has a host name that is not valid: use letters, digits and hyphens between dots';
}

function parsePort(text: string): number | undefined {
  if (!/^\d{1,5}$/.test(text)) return undefined;
  const port = Number(text);
  return port >= 1 && port <= 65535 ? port : undefined;
}

/**
 * `host`, `host:port`, `[ipv6]` or `[ipv6]:port`. A bare IPv6 literal is accepted only where
 * no port can follow (`allowBareIPv6`), since `2001:db8::1:5432` is itself an address.
 */
export function parseHostPort(text: string, example: string, allowBareIPv6: boolean): AddressResult {
  const trimmed = text.trim();
  if (trimmed !== text) return fail('has spaces around it', `Remove the spaces, e.g. "${example}".`);
  let host: string;
  let portText: string | undefined;
  const bracketed = /^\[([^\]]*)\](?::(.*))?$/.exec(text);
  if (bracketed) {
    host = bracketed[1] ?? '';
    portText = bracketed[2];
    if (!isIPv6(host)) return fail('has brackets around something that is not an IPv6 address', `Use brackets only for IPv6, e.g. "${example}".`);
  } else if ((text.match(/:/g) ?? []).length > 1) {
    if (allowBareIPv6 && isIPv6(text)) return { ok: true, value: { host: text } };
    return fail('has an IPv6 address without brackets', 'Write IPv6 addresses in brackets, e.g. "[2001:db8::4]:5432".');
  } else {
    const colon = text.lastIndexOf(':');
    host = colon < 0 ? text : text.slice(0, colon);
    portText = colon < 0 ? undefined : text.slice(colon + 1);
  }
  const problem = hostProblem(host);
  if (problem !== undefined) return fail(problem, `Use a host name or IP address, e.g. "${example}".`);
  if (portText === undefined) return { ok: true, value: { host } };
  const port = parsePort(portText);
  if (port === undefined) return fail('has a port that is not a number from 1 to 65535', `Use a port such as 5432, e.g. "${example}".`);
  return { ok: true, value: { host, port } };
}

/** `host:port@user`, `host@user`, `host:port`, or an Azure PostgreSQL server's resource id. */
export function parseSourceResourceId(text: string): AddressResult {
  if (text.startsWith('/')) return parseAzureServerId(text);
  const at = text.indexOf('@');
  // Split at the first "@": hosts never contain one, Single Server user names (`user@server`) do.
  const hostPart = at < 0 ? text : text.slice(0, at);
  const user = at < 0 ? undefined : text.slice(at + 1);
  if (user !== undefined && user === '') {
    return fail('ends with "@" but names no user', 'Put the source login after the "@", e.g. "10.0.0.4:5432@migrator", or drop the "@".');
  }
  const address = parseHostPort(hostPart, '10.0.0.4:5432@migrator', false);
  if (!address.ok) return address;
  return { ok: true, value: user === undefined ? address.value : { ...address.value, user } };
}

function parseAzureServerId(text: string): AddressResult {
  const match = AZURE_SERVER_ID.exec(text);
  const name = match?.[2];
  if (name === undefined) {
    return fail(
      'is a resource id but not one of an Azure Database for PostgreSQL server',
      'Use "/subscriptions/<id>/resourceGroups/<rg>/providers/Microsoft.DBforPostgreSQL/servers/<name>", or "host:port@user" for any other server.',
    );
  }
  if (!AZURE_SERVER_NAME.test(name)) {
    return fail('names a server that is not a valid Azure server name', 'Check the last segment: 3–63 lowercase letters, digits and hyphens.');
  }
  return { ok: true, value: { host: `${name}.postgres.database.azure.com`, port: DEFAULT_PORT, azureServerName: name } };
}

/** True when both addresses denote the same server as far as the text can tell. */
export function sameServer(a: { host: string; port: number }, b: { host: string; port: number }): boolean {
  const fold = (host: string) => host.toLowerCase().replace(/\.$/, '');
  return fold(a.host) === fold(b.host) && a.port === b.port;
}
