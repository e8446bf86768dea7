/**
 * Opens a connected pg.Client for an endpoint, following the SSL attempt list of ssl.ts the way
 * libpq does (Prefer falls back to plaintext when the server refuses SSL).
 *
 * Every client gets an 'error' listener before it connects: node-pg emits 'error' when an idle
 * connection drops, and an unhandled 'error' event would crash the whole Functions worker.
 * The next query on such a client fails with a normal, classifiable error instead.
 *
 * Every session, walsender sessions included, starts with pgferry's value formats (formats.ts)
 * set, so no code path can read or write values in a source's own DateStyle or TimeZone.
 */
import { Socket, isIP } from 'net';
import { Client } from 'pg';
import { classifyError } from './classify';
import { ConnectTimeoutError, PgConnectionError, type TimeoutPhase } from './errors';
import { hostPort, type ServerEndpoint } from './endpoint';
import { sqlstateOf } from './retryable';
import { VALUE_FORMATS_SQL } from './formats';
import { DEFAULT_CONNECT_TIMEOUT_MS, buildConnectAttempts, type ClientOptions, type ConnectAttempt } from './ssl';

export interface ConnectOptions extends Omit<ClientOptions, 'connectTimeoutMs'> {
  /** Budget for all attempts together (DNS, TCP, SSL, login). */
  timeoutMs?: number;
  /** Aborting destroys the socket, during the connect or at any time after it. */
  signal?: AbortSignal;
  /** Called when an established connection fails (server restart, network drop). */
  onError?: (err: Error) => void;
  /**
   * Leaves the session in the server's own DateStyle, TimeZone … (formats.ts). Only for reading
   * the server's settings themselves (the parameter report); such a session must not move values.
   */
  keepServerFormats?: boolean;
}

export interface ConnectedClient {
  client: Client;
  /** Whether the session is encrypted (the attempt that succeeded). */
  encrypted: boolean;
}

/** The sockets behind each client we opened, so they can be destroyed without node-pg's help. */
const socketsOf = new WeakMap<Client, Socket>();

/** Connects, or throws a PgConnectionError whose message and fix are ready for a user. */
export async function connect(endpoint: ServerEndpoint, opts: ConnectOptions = {}): Promise<Client> {
  return (await connectWithInfo(endpoint, opts)).client;
}

export async function connectWithInfo(endpoint: ServerEndpoint, opts: ConnectOptions = {}): Promise<ConnectedClient> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const deadline = Date.now() + timeoutMs;
  const ctx = { ...endpoint, timeoutMs };
  const attempts = buildConnectAttempts(endpoint, { ...opts, connectTimeoutMs: timeoutMs });
  let earlier: unknown;
  for (const [i, attempt] of attempts.entries()) {
    const remaining = deadline - Date.now();
    try {
      if (remaining <= 0) throw new ConnectTimeoutError('startup', timeoutMs);
      const client = await connectOnce(attempt, remaining, timeoutMs, opts);
      return { client, encrypted: attempt.encrypted };
    } catch (err) {
      if (i + 1 < attempts.length && attempt.encrypted && isWorthPlaintextRetry(err)) {
        earlier = err;
        continue;
      }
      const known = isSslRefusal(earlier) ? { serverSupportsSsl: false } : {};
      throw new PgConnectionError(classifyError(pickReported(earlier, err), { ...ctx, ...known }), { cause: err });
    }
  }
  // buildConnectAttempts never returns an empty list.
  throw new Error(`no connection attempt for ${hostPort(endpoint)}`);
}

/**
 * libpq's prefer mode retries without SSL when the SSL attempt failed at negotiation, or when the
 * server answered the encrypted login with an error — pg_hba.conf may allow only `hostnossl`.
 */
function isWorthPlaintextRetry(err: unknown): boolean {
  if (sqlstateOf(err) === '28000') return true;
  if (!(err instanceof Error)) return false;
  const code = (err as NodeJS.ErrnoException).code ?? '';
  return (
    isSslRefusal(err) ||
    err.message === 'There was an error establishing an SSL connection' ||
    code === 'EPROTO' ||
    code.startsWith('ERR_SSL_')
  );
}

function isSslRefusal(err: unknown): boolean {
  return err instanceof Error && err.message === 'The server does not support SSL connections';
}

/** When both attempts failed, the plaintext error explains more — unless SSL got as far as the server's verdict. */
function pickReported(sslError: unknown, lastError: unknown): unknown {
  return sslError !== undefined && sqlstateOf(sslError) !== undefined ? sslError : lastError;
}

async function connectOnce(attempt: ConnectAttempt, remainingMs: number, budgetMs: number, opts: ConnectOptions): Promise<Client> {
  const socket = new Socket();
  const host = attempt.config.host ?? '';
  // Which stage the socket reached, so a timeout can say whether packets were dropped or the server stalled.
  let phase: TimeoutPhase = isIP(host) === 0 && !host.startsWith('/') ? 'dns' : 'tcp';
  socket.once('lookup', () => (phase = 'tcp'));
  socket.once('connect', () => (phase = 'startup'));

  const client = new Client({ ...withPassword(attempt), connectionTimeoutMillis: Math.max(1, remainingMs), stream: () => socket });
  socketsOf.set(client, socket);
  client.on('error', (err) => opts.onError?.(err));

  const signal = opts.signal;
  const onAbort = () => destroyClient(client, new ConnectTimeoutError(phase, budgetMs));
  if (signal?.aborted) onAbort();
  signal?.addEventListener('abort', onAbort, { once: true });
  client.once('end', () => signal?.removeEventListener('abort', onAbort));

  try {
    await client.connect();
    phase = 'query';
    // Right after the login, before anything else can run on the session: a query, unlike startup
    // `options`, fails loudly where a pooler would drop the parameter, and it works on walsenders.
    if (opts.keepServerFormats !== true) await client.query(VALUE_FORMATS_SQL);
    return client;
  } catch (err) {
    destroyClient(client);
    signal?.removeEventListener('abort', onAbort);
    if (err instanceof Error && err.message === 'timeout expired') throw new ConnectTimeoutError(phase, budgetMs);
    throw err;
  }
}

/** The password is a non-enumerable property of the config; a spread would drop it. */
function withPassword(attempt: ConnectAttempt): ConnectAttempt['config'] {
  return { ...attempt.config, password: attempt.config.password };
}

/** Tears the connection down now, whatever state it is in; for timeouts and aborts. */
export function destroyClient(client: Client, reason?: Error): void {
  client.connection.stream.destroy(reason);
  socketsOf.get(client)?.destroy(reason);
}

/**
 * Ends the session politely (Terminate message), but never waits more than `graceMs` for a server
 * that does not answer: then the socket is destroyed. Never throws.
 */
export async function closeQuietly(client: Client, graceMs = 1000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const ended = client.end().catch(() => undefined);
  const gaveUp = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      destroyClient(client);
      resolve();
    }, graceMs);
  });
  await Promise.race([ended, gaveUp]);
  clearTimeout(timer);
}

/** Connects, runs fn, and always closes the client: the one short-lived-connection helper. */
export async function withClient<T>(endpoint: ServerEndpoint, timeoutMs: number, fn: (c: Client) => Promise<T>): Promise<T> {
  const c = await connect(endpoint, { timeoutMs });
  try {
    return await fn(c);
  } finally {
    await closeQuietly(c);
  }
}

/** Connects to both sides (source first), runs fn, and always closes both: the one two-server helper. */
export async function withPair<T>(source: ServerEndpoint, target: ServerEndpoint, timeoutMs: number, fn: (s: Client, t: Client) => Promise<T>): Promise<T> {
  return withClient(source, timeoutMs, (s) => withClient(target, timeoutMs, (t) => fn(s, t)));
}
