/**
 * The vocabulary of connection failures: the kinds, the classification record, and the two error
 * classes the connection layer throws. classify.ts decides which kind an error is.
 */
import type { ServerEndpoint } from './endpoint';

export const CONNECTION_ERROR_KINDS = [
  'DnsFailure',
  'ConnectionRefused',
  'NetworkUnreachable',
  'Timeout',
  'ConnectionLost',
  'ProtocolError',
  'SslNotSupported',
  'SslRequiredByServer',
  'SslCertificateInvalid',
  'SslHandshakeFailed',
  'AuthenticationFailed',
  'DatabaseMissing',
  'PermissionDenied',
  'TooManyConnections',
  'ServerStarting',
  'ServerShuttingDown',
  'InvalidEndpoint',
  'Unknown',
] as const;
export type ConnectionErrorKind = (typeof CONNECTION_ERROR_KINDS)[number];

export interface Classification {
  kind: ConnectionErrorKind;
  retryable: boolean;
  /** One line: what happened, where. */
  message: string;
  /** One line: what to change. */
  fix: string;
  /** Server SQLSTATE when the server answered with an error. */
  sqlstate?: string;
  /** Node error code (ECONNREFUSED, DEPTH_ZERO_SELF_SIGNED_CERT …) when there was one. */
  code?: string;
}

/** What a classification may mention about the connection. `password` is only used to redact. */
export type ClassifyContext = Pick<ServerEndpoint, 'host' | 'port' | 'user' | 'sslMode'> &
  Partial<Pick<ServerEndpoint, 'database' | 'password'>> & {
    timeoutMs?: number;
    /** False once the server answered an SSLRequest with "no": it then cannot be requiring SSL. */
    serverSupportsSsl?: boolean;
  };

/** The phase a connect attempt had reached when its time ran out. */
export type TimeoutPhase = 'dns' | 'tcp' | 'startup' | 'query';

/** Thrown by connect.ts (and testConnection's overall timer) when time runs out. */
export class ConnectTimeoutError extends Error {
  readonly retryable = true;
  constructor(
    readonly phase: TimeoutPhase,
    readonly timeoutMs: number,
  ) {
    super(`timed out after ${timeoutMs} ms during ${phase}`);
    this.name = 'ConnectTimeoutError';
  }
}

/** A classified connection failure; `cause` keeps the original error for logs that want the stack. */
export class PgConnectionError extends Error {
  constructor(
    readonly classification: Classification,
    options?: { cause?: unknown },
  ) {
    super(classification.message, options);
    this.name = 'PgConnectionError';
  }
  get kind(): ConnectionErrorKind {
    return this.classification.kind;
  }
  get retryable(): boolean {
    return this.classification.retryable;
  }
}

/** Below this length a password is masked in the ingredients only, not in our own fixed wording. */
export const MIN_REDACTED_IN_PROSE = 4;

/** Replaces every occurrence of the secret with ***. */
export function redact(s: string, secret: string | undefined): string {
  return secret ? s.split(secret).join('***') : s;
}
