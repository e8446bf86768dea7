/**
 * Function keys, enforced as the Functions host enforces them: an HTTP trigger registered with
 * authLevel `function` needs a function key, `admin` (and the Durable webhooks under
 * /runtime/webhooks/durabletask) the system key, `anonymous` nothing. The key comes in the
 * `x-functions-key` header or the `code` query parameter; without a valid one the answer is 401.
 *
 * The app's own Durable client reaches the webhooks through the binding's rpcBaseUrl, which the
 * v3 client resolves relative URLs against (dropping any query string), so it cannot carry
 * `code=`. As Azure serves that client on an in-process endpoint, this host gives it a path with a
 * random per-host token that never leaves the host (its activity workers get it over IPC); the
 * binding's public URL templates carry `code=<system key>` (requiredQueryStringParameters), as in
 * Azure.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

import type { ClientBindingValue } from '../durable/client-binding';
import { WEBHOOK_PATH } from '../durable/client-binding';
import type { HttpFunction } from '../registry';
import { json, type HostRequest, type HostResponse } from './server';

export type AuthLevel = 'anonymous' | 'function' | 'admin';
/** `auto`: enforce when a key is configured; `on`: a key must be configured; `off`: never enforce. */
export type AuthMode = 'auto' | 'on' | 'off';

export const AUTH_MODES: readonly AuthMode[] = ['auto', 'on', 'off'];

export interface KeySettings {
  enforce: boolean;
  /** Accepted on authLevel `function` routes. */
  functionKeys: string[];
  /** Accepted on the Durable webhooks and on `admin` routes (Azure's durabletask_extension / master key). */
  systemKeys: string[];
  /** One line for the start-up log: why keys are, or are not, checked. */
  summary: string;
}

/** Azure's generated keys are longer; shorter ones are guessable. */
export const MIN_KEY_LENGTH = 16;
const KEY_PATTERN = /^[\x21-\x2b\x2d-\x7e]+$/;

/** Header and query parameter the Functions host reads a key from. */
export const KEY_HEADER = 'x-functions-key';
export const KEY_QUERY = 'code';

/** A fresh key: 32 random bytes, URL-safe, so it can go in `?code=` unescaped. */
export function newKey(): string {
  return randomBytes(32).toString('base64url');
}

/** `KEY1,KEY2` (several keys allow rotation without downtime); empty or unset → none. */
export function parseKeyList(raw: string | undefined, setting: string): string[] {
  if (raw === undefined) return [];
  const keys = raw.split(',').map((k) => k.trim()).filter((k) => k !== '');
  for (const k of keys) {
    if (k.length < MIN_KEY_LENGTH) throw new Error(`${setting}: a key must be at least ${MIN_KEY_LENGTH} characters (e.g. \`openssl rand -base64 32\`)`);
    if (!KEY_PATTERN.test(k)) throw new Error(`${setting}: a key may hold printable ASCII characters except spaces and commas (commas separate keys)`);
  }
  return keys;
}

export function parseAuthMode(raw: string | undefined, source: string): AuthMode | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  const v = raw.trim().toLowerCase();
  if ((AUTH_MODES as readonly string[]).includes(v)) return v as AuthMode;
  throw new Error(`${source} must be on, off or auto, got ${JSON.stringify(raw)}`);
}

export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/**
 * The keys this host enforces, from PGFERRY_FUNCTION_KEY / PGFERRY_SYSTEM_KEY (local.settings.json
 * Values are already in `env`) and the mode (`--auth`, else PGFERRY_AUTH, else auto). Without any
 * key, auto leaves routes open like Core Tools' `func start`, but only on a loopback address.
 */
export function resolveKeySettings(mode: AuthMode | undefined, env: NodeJS.ProcessEnv, bindHost: string): KeySettings {
  const m = mode ?? parseAuthMode(env.PGFERRY_AUTH, 'PGFERRY_AUTH') ?? 'auto';
  const functionKeys = parseKeyList(env.PGFERRY_FUNCTION_KEY, 'PGFERRY_FUNCTION_KEY');
  const ownSystemKeys = parseKeyList(env.PGFERRY_SYSTEM_KEY, 'PGFERRY_SYSTEM_KEY');
  if (m === 'off') {
    return { enforce: false, functionKeys: [], systemKeys: [], summary: 'function keys are NOT enforced (auth off): anyone who can reach this address can use every route' };
  }
  if (functionKeys.length === 0) {
    if (ownSystemKeys.length > 0) throw new Error('PGFERRY_SYSTEM_KEY is set but PGFERRY_FUNCTION_KEY is not: set both, or only PGFERRY_FUNCTION_KEY');
    if (m === 'on') throw new Error('auth is on but no function key is configured: set PGFERRY_FUNCTION_KEY (env or local.settings.json Values)');
    if (!isLoopback(bindHost)) {
      throw new Error(`refusing to listen on ${bindHost} without function keys: set PGFERRY_FUNCTION_KEY, or pass --auth off (PGFERRY_AUTH=off) to let anyone who can reach it use the API`);
    }
    return { enforce: false, functionKeys: [], systemKeys: [], summary: 'function keys are not enforced: no PGFERRY_FUNCTION_KEY is configured (loopback only, as with Core Tools)' };
  }
  const systemKeys = ownSystemKeys.length > 0 ? ownSystemKeys : functionKeys;
  return {
    enforce: true,
    functionKeys,
    systemKeys,
    summary: `function keys are enforced (${KEY_HEADER} header or ?${KEY_QUERY}=); Durable webhooks need the ${ownSystemKeys.length > 0 ? 'system key (PGFERRY_SYSTEM_KEY)' : 'same key'}`,
  };
}

/** The authLevel an HTTP trigger was registered with; anything unknown is treated as `function`. */
export function authLevelOf(fn: HttpFunction): AuthLevel {
  const raw = fn.fn.metadata.bindings[fn.triggerName]?.authLevel;
  const v = typeof raw === 'string' ? raw.toLowerCase() : 'anonymous';
  return v === 'anonymous' || v === 'admin' ? v : 'function';
}

/** Request parts the gate decides on; the body is not needed (and not read before admission). */
export type RequestHead = Pick<HostRequest, 'method' | 'url' | 'rawPath' | 'headers'>;

export function presentedKey(req: RequestHead): string | undefined {
  const header = req.headers[KEY_HEADER];
  if (header !== undefined && header !== '') return header;
  const q = req.url.searchParams.get(KEY_QUERY);
  return q === null || q === '' ? undefined : q;
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** Constant-time in the key's content and length (compares digests). */
function keyMatches(given: string, allowed: readonly string[]): boolean {
  const g = digest(given);
  let ok = false;
  for (const k of allowed) ok = timingSafeEqual(g, digest(k)) || ok;
  return ok;
}

export function unauthorized(message: string): HostResponse {
  return json(401, { error: { code: 'Unauthorized', message } });
}

export class KeyGate {
  private readonly rpcToken: string;

  constructor(readonly keys: KeySettings, rpcToken = randomBytes(24).toString('base64url')) {
    this.rpcToken = rpcToken;
  }

  get enforced(): boolean {
    return this.keys.enforce;
  }

  /** Path prefix of the in-process Durable client endpoint (only when keys are enforced). */
  get rpcPath(): string {
    return `${WEBHOOK_PATH}/rpc-${this.rpcToken}`;
  }

  /** An HTTP trigger's request: undefined when admitted, else the 401. */
  admitFunction(level: AuthLevel, req: RequestHead): HostResponse | undefined {
    if (!this.keys.enforce || level === 'anonymous') return undefined;
    const key = presentedKey(req);
    const allowed = level === 'admin' ? this.keys.systemKeys : this.keys.functionKeys;
    if (key !== undefined && keyMatches(key, allowed)) return undefined;
    const which = level === 'admin' ? 'the system key (PGFERRY_SYSTEM_KEY, else PGFERRY_FUNCTION_KEY)' : 'a function key';
    return unauthorized(`${key === undefined ? 'This route needs' : 'The key sent is not valid; this route needs'} ${which}: send it in the ${KEY_HEADER} header or as ?${KEY_QUERY}=<key>`);
  }

  /** A request to the Durable HTTP API from outside the process: needs the system key. */
  admitWebhook(req: RequestHead): HostResponse | undefined {
    if (!this.keys.enforce) return undefined;
    const key = presentedKey(req);
    if (key !== undefined && keyMatches(key, this.keys.systemKeys)) return undefined;
    return unauthorized(`The Durable Functions HTTP API needs the system key (PGFERRY_SYSTEM_KEY, else PGFERRY_FUNCTION_KEY): send it as ?${KEY_QUERY}=<key> or in the ${KEY_HEADER} header`);
  }

  /** Whether `rawPath` is on the in-process client endpoint (the token compared in constant time). */
  isRpc(rawPath: string): boolean {
    if (!this.keys.enforce) return false;
    const prefix = `${WEBHOOK_PATH}/rpc-`;
    if (!rawPath.startsWith(prefix)) return false;
    const rest = rawPath.slice(prefix.length);
    const slash = rest.indexOf('/');
    const token = slash < 0 ? rest : rest.slice(0, slash);
    return timingSafeEqual(digest(token), digest(this.rpcToken));
  }

  /** The same request addressed to the public webhook path, for the Durable client API handler. */
  fromRpc<T extends RequestHead>(req: T): T {
    const rest = req.rawPath.slice(this.rpcPath.length);
    return { ...req, rawPath: `${WEBHOOK_PATH}${rest}` };
  }

  /**
   * The durableClient binding value as Azure hands it out: URL templates with `code=<system key>`
   * and requiredQueryStringParameters; rpcBaseUrl on the in-process endpoint.
   */
  secureBinding(value: ClientBindingValue, origin: string): ClientBindingValue {
    const key = this.keys.systemKeys[0];
    if (!this.keys.enforce || key === undefined) return value;
    const code = `${KEY_QUERY}=${encodeURIComponent(key)}`;
    const withCode = (urls: Record<string, string>) =>
      Object.fromEntries(Object.entries(urls).map(([k, u]) => [k, k === 'id' ? u : `${u}${u.includes('?') ? '&' : '?'}${code}`]));
    return {
      ...value,
      creationUrls: withCode(value.creationUrls),
      managementUrls: withCode(value.managementUrls),
      requiredQueryStringParameters: code,
      rpcBaseUrl: `${origin}${this.rpcPath}/`,
    };
  }
}

