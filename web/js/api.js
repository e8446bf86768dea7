/* global fetch, sessionStorage, location, URL, window, CustomEvent */
/**
 * pgferry's HTTP API (docs/api.md), same origin: the page is served at <base>/portal/, so the
 * API base is the folder above it whatever the host's routePrefix is. Every call carries the
 * optional function key (x-functions-key), kept in sessionStorage for this browser tab only.
 */

const KEY_STORAGE = 'pgferry.functionKey';
/** The ARM api-version every migration route requires (shared/model/arm.ts CURRENT_API_VERSION). */
export const API_VERSION = '2025-08-01';
/** Event fired on window when the service refused a request for want of a (valid) function key. */
export const KEY_REFUSED = 'pgferry:key-refused';
const API_BASE = new URL('../', location.href);

/** A non-2xx answer: status, ARM error code, message and the 400's per-field details. */
export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    /** @type {{ field: string, message: string, fix: string }[]} */
    this.details = details;
  }
}

export function functionKey() {
  try {
    return sessionStorage.getItem(KEY_STORAGE) ?? '';
  } catch {
    return '';
  }
}

export function setFunctionKey(key) {
  try {
    if (key) sessionStorage.setItem(KEY_STORAGE, key);
    else sessionStorage.removeItem(KEY_STORAGE);
  } catch {
    // Storage can be disabled; the key then lasts only until the page reloads.
  }
}

const seg = (s) => encodeURIComponent(s);

async function call(method, path, body) {
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const key = functionKey();
  if (key) headers['x-functions-key'] = key;
  const url = new URL(path, API_BASE);
  if (path.startsWith('flexibleServers/')) url.searchParams.set('api-version', API_VERSION);
  let res;
  try {
    res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
  } catch {
    throw new ApiError(0, 'ServiceUnreachable', 'pgferry did not answer. Check that the service is running and reachable, then retry.', []);
  }
  const text = await res.text();
  let json;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (res.ok) return json;
  const err = json && typeof json === 'object' && json.error ? json.error : {};
  let message = typeof err.message === 'string' ? err.message : `pgferry answered ${res.status} ${res.statusText}`.trim();
  if (res.status === 401 || res.status === 403) {
    message = `pgferry refused the request (${res.status}): enter the function key at the top of the page.`;
    // The page learns that this service enforces keys (app.js marks the key field required).
    window.dispatchEvent(new CustomEvent(KEY_REFUSED));
  }
  throw new ApiError(res.status, typeof err.code === 'string' ? err.code : `Http${res.status}`, message, Array.isArray(err.details) ? err.details : []);
}

const migrationsPath = (server) => `flexibleServers/${seg(server)}/migrations`;

export const api = {
  listMigrations: (server, filter) => call('GET', `${migrationsPath(server)}?migrationListFilter=${seg(filter)}`),
  getMigration: (server, name) => call('GET', `${migrationsPath(server)}/${seg(name)}`),
  createMigration: (server, name, body) => call('PUT', `${migrationsPath(server)}/${seg(name)}`, body),
  patchMigration: (server, name, properties) => call('PATCH', `${migrationsPath(server)}/${seg(name)}`, { properties }),
  checkName: (server, name) =>
    call('POST', `flexibleServers/${seg(server)}/checkMigrationNameAvailability`, { name, type: 'Microsoft.DBforPostgreSQL/flexibleServers/migrations' }),
  testConnection: (conn) => call('POST', 'wizard/testConnection', conn),
  listDatabases: (conn) => call('POST', 'wizard/listDatabases', conn),
};
