/**
 * The wizard's "Test connection" button: connect, read the server facts, answer in plain words.
 * It never throws and always answers within timeoutMs (plus a few hundred ms of cleanup margin),
 * even when the host blackholes packets or accepts the socket and then says nothing.
 */
import type { Client } from 'pg';
import { classifyError } from './classify';
import { ConnectTimeoutError, type Classification, type ConnectionErrorKind } from './errors';
import { closeQuietly, connectWithInfo } from './connect';
import { hostPort, type ServerEndpoint } from './endpoint';
import { serverFacts, type ServerFacts } from './server-facts';
import { DEFAULT_CONNECT_TIMEOUT_MS } from './ssl';

export interface TestConnectionOptions {
  timeoutMs?: number;
}

export interface TestConnectionSuccess {
  ok: true;
  serverVersion: string;
  serverVersionNum: number;
  /** The session is encrypted (with Prefer, false means the server refused SSL). */
  ssl: boolean;
  durationMs: number;
  currentUser: string;
  isSuperuser: boolean;
  canReplicate: boolean;
  facts: ServerFacts;
}

export interface TestConnectionFailure {
  ok: false;
  kind: ConnectionErrorKind;
  message: string;
  fix: string;
  retryable: boolean;
  sqlstate?: string;
  durationMs: number;
}

export type TestConnectionResult = TestConnectionSuccess | TestConnectionFailure;

/** After the deadline, node-pg gets this long to unwind before we answer regardless. */
const HARD_STOP_MARGIN_MS = 250;

export async function testConnection(endpoint: ServerEndpoint, opts: TestConnectionOptions = {}): Promise<TestConnectionResult> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const fail = (c: Classification): TestConnectionFailure => ({
    ok: false,
    kind: c.kind,
    message: c.message,
    fix: c.fix,
    retryable: c.retryable,
    ...(c.sqlstate !== undefined ? { sqlstate: c.sqlstate } : {}),
    durationMs: elapsed(),
  });

  const invalid = endpointProblem(endpoint);
  if (invalid) return fail({ kind: 'InvalidEndpoint', retryable: false, ...invalid });

  const controller = new AbortController();
  const softStop = setTimeout(() => controller.abort(), timeoutMs);
  let hardStop: NodeJS.Timeout | undefined;
  const hardStopped = new Promise<TestConnectionFailure>((resolve) => {
    hardStop = setTimeout(
      () => resolve(fail(classifyError(new ConnectTimeoutError('startup', timeoutMs), endpoint))),
      timeoutMs + HARD_STOP_MARGIN_MS,
    );
  });

  const attempt = (async (): Promise<TestConnectionResult> => {
    let client: Client | undefined;
    try {
      const connected = await connectWithInfo(endpoint, { timeoutMs, signal: controller.signal, statementTimeoutMs: timeoutMs });
      client = connected.client;
      const facts = await serverFacts(client);
      return {
        ok: true,
        serverVersion: facts.serverVersion,
        serverVersionNum: facts.serverVersionNum,
        ssl: connected.encrypted,
        durationMs: elapsed(),
        currentUser: facts.currentUser,
        isSuperuser: facts.isSuperuser,
        canReplicate: facts.canReplicate,
        facts,
      };
    } catch (err) {
      return fail(classifyError(err, { ...endpoint, timeoutMs }));
    } finally {
      if (client) await closeQuietly(client, HARD_STOP_MARGIN_MS);
    }
  })();

  try {
    return await Promise.race([attempt, hardStopped]);
  } finally {
    clearTimeout(softStop);
    clearTimeout(hardStop);
    // If the hard stop won, make sure the attempt's sockets go away too.
    controller.abort();
  }
}

/** Problems zod would also catch at the HTTP edge; repeated here because this function must never throw. */
function endpointProblem(e: ServerEndpoint): { message: string; fix: string } | undefined {
  if (typeof e.host !== 'string' || e.host.trim() === '') {
    return { message: 'No server name was given.', fix: 'Enter the server’s host name or IP address.' };
  }
  if (!Number.isInteger(e.port) || e.port < 1 || e.port > 65535) {
    return { message: `Port ${String(e.port)} of ${e.host} is not a TCP port.`, fix: 'Use a port between 1 and 65535 (PostgreSQL’s default is 5432).' };
  }
  if (typeof e.user !== 'string' || e.user === '') {
    return { message: `No user name was given for ${hostPort(e)}.`, fix: 'Enter the login role to connect as.' };
  }
  return undefined;
}
