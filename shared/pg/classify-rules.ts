/**
 * The rules of the classification table (classify.ts): each recognises one failure by SQLSTATE,
 * Node error code or text, and explains it as a message and a fix a DBA can act on. First
 * matching rule wins.
 */
import { ConnectTimeoutError, type ClassifyContext, type ConnectionErrorKind } from './errors';

/** What the rules look at, normalised once. */
export interface ErrorFacts {
  sqlstate: string | undefined;
  code: string | undefined;
  text: string;
  error: unknown;
}

interface Rule {
  kind: ConnectionErrorKind;
  retryable: boolean;
  when: (f: ErrorFacts, ctx: ClassifyContext) => boolean;
  explain: (f: ErrorFacts, c: Said) => { message: string; fix: string };
}

/** Helpers the explanations use, bound to one context. */
export interface Said {
  at: string;
  ctx: ClassifyContext;
  db: string;
  echo: (text: string) => string;
}

const TLS_CERT_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'CERT_CHAIN_TOO_LONG',
  'INVALID_CA',
  'INVALID_PURPOSE',
  'CERT_REVOKED',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

const code = (...codes: string[]) => (f: ErrorFacts) => f.code !== undefined && codes.includes(f.code);
const state = (...states: string[]) => (f: ErrorFacts) => f.sqlstate !== undefined && states.includes(f.sqlstate);
const text = (re: RegExp) => (f: ErrorFacts) => f.sqlstate === undefined && re.test(f.text);
const any =
  (...tests: ((f: ErrorFacts) => boolean)[]) =>
  (f: ErrorFacts) =>
    tests.some((t) => t(f));

/** First matching rule wins; order matters only where tests overlap (SSL before authentication). */
export const RULES: Rule[] = [
  {
    kind: 'Timeout',
    retryable: true,
    when: (f) => f.error instanceof ConnectTimeoutError || code('ETIMEDOUT')(f) || text(/^timeout expired$|connection timeout|^Query read timeout$/)(f),
    explain: (f, s) => explainTimeout(f.error instanceof ConnectTimeoutError ? f.error : undefined, s),
  },
  {
    kind: 'DnsFailure',
    retryable: false,
    when: code('ENOTFOUND', 'EAI_NONAME', 'EAI_FAIL', 'EAI_NODATA'),
    explain: (f, s) => ({
      message: `The host name "${s.ctx.host}" does not resolve in DNS (${f.code}).`,
      fix: 'Check the server name for typos; for a private endpoint, make sure its private DNS zone is linked to the network pgferry runs in.',
    }),
  },
  {
    kind: 'DnsFailure',
    retryable: true,
    when: code('EAI_AGAIN'),
    explain: (_f, s) => ({
      message: `DNS lookup of "${s.ctx.host}" failed temporarily (EAI_AGAIN).`,
      fix: 'Retry; if it persists, check the DNS servers configured for the network pgferry runs in.',
    }),
  },
  {
    kind: 'ConnectionRefused',
    retryable: true,
    when: code('ECONNREFUSED'),
    explain: (_f, s) => ({
      message: `Connection refused by ${s.at}: nothing is listening on that port, or a firewall actively rejected it.`,
      fix: 'Check the port (PostgreSQL uses 5432, PgBouncer on Azure 6432), that the server is running, and that listen_addresses covers this interface.',
    }),
  },
  {
    kind: 'NetworkUnreachable',
    retryable: true,
    when: code('EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN', 'EHOSTDOWN'),
    explain: (f, s) => ({
      message: `No network route to ${s.at} (${f.code}).`,
      fix: 'Check routing between pgferry and the server: VNet peering, VPN or the server’s public access setting.',
    }),
  },
  {
    kind: 'SslNotSupported',
    retryable: false,
    when: text(/^The server does not support SSL connections$/),
    explain: (_f, s) => ({
      message: `${s.at} does not accept SSL connections (ssl = off), but SSL mode ${s.ctx.sslMode} requires SSL.`,
      fix: 'Use SSL mode Prefer, or enable ssl on the server (ssl = on with ssl_cert_file and ssl_key_file in postgresql.conf, then reload).',
    }),
  },
  {
    kind: 'ProtocolError',
    retryable: false,
    when: any(text(/error establishing an SSL connection|Unknown message code|unsupported frontend protocol/i), state('08P01')),
    explain: (f, s) => ({
      message: `${s.at} did not answer like a PostgreSQL server (${s.echo(f.text)}).`,
      fix: 'Check that host and port point at PostgreSQL itself (not SSH, HTTP or a pooler’s admin port).',
    }),
  },
  {
    kind: 'SslCertificateInvalid',
    retryable: false,
    when: (f) => f.code !== undefined && TLS_CERT_CODES.has(f.code),
    explain: explainCertificate,
  },
  {
    kind: 'SslHandshakeFailed',
    retryable: false,
    when: (f) => f.sqlstate === undefined && (f.code === 'EPROTO' || (f.code ?? '').startsWith('ERR_SSL_') || /SSL routines|handshake/i.test(f.text)),
    explain: (f, s) => ({
      message: `The SSL handshake with ${s.at} failed (${s.echo(f.text)}).`,
      fix: 'Check the server’s ssl_min_protocol_version and ciphers (pgferry needs TLS 1.2 or later), or that the port is PostgreSQL.',
    }),
  },
  {
    kind: 'SslRequiredByServer',
    retryable: false,
    when: (f, ctx) =>
      f.sqlstate === '28000' &&
      (/SSL connection is required/i.test(f.text) || (/no encryption|SSL off/i.test(f.text) && ctx.serverSupportsSsl !== false)),
    explain: (_f, s) => ({
      message: `${s.at} accepts user "${s.ctx.user}" only over SSL, and this connection was not encrypted.`,
      fix: 'Use SSL mode Require (or Prefer with SSL enabled on the server); on Azure this is require_secure_transport = on.',
    }),
  },
  {
    kind: 'AuthenticationFailed',
    retryable: false,
    when: any(state('28P01'), text(/^SASL: |password authentication failed/)),
    explain: (f, s) => ({
      message: /non-empty string|must be a string/.test(f.text)
        ? `No password was given for user "${s.ctx.user}" at ${s.at}.`
        : `Password authentication failed for user "${s.ctx.user}" at ${s.at}.`,
      fix: 'Check the user name and password (both are case-sensitive); the server log tells whether the role exists or its password has expired.',
    }),
  },
  {
    kind: 'AuthenticationFailed',
    retryable: false,
    when: (f) => f.sqlstate === '28000' && /no pg_hba\.conf entry/i.test(f.text),
    explain: (f, s) => {
      const encrypted = /SSL encryption|SSL on/i.test(f.text);
      return {
        message: `${s.at} has no pg_hba.conf entry allowing user "${s.ctx.user}" to reach database "${s.db}" from pgferry's address (${encrypted ? 'SSL' : 'unencrypted'} connection).`,
        fix: `Add a line such as "${encrypted ? 'hostssl' : 'host'} all ${s.ctx.user} <pgferry address>/32 scram-sha-256" to pg_hba.conf and reload; on a managed server, allow pgferry's IP in its firewall rules.`,
      };
    },
  },
  {
    kind: 'AuthenticationFailed',
    retryable: false,
    when: state('28000'),
    explain: (f, s) => ({
      message: `${s.at} rejected user "${s.ctx.user}": ${s.echo(f.text)}.`,
      fix: 'Check that the role exists and may log in (LOGIN), and that pg_hba.conf permits it for this database and address.',
    }),
  },
  {
    kind: 'DatabaseMissing',
    retryable: false,
    when: state('3D000'),
    explain: (_f, s) => ({
      message: `Database "${s.db}" does not exist on ${s.at}.`,
      fix: 'Check the database name (names are case-sensitive) or create it first.',
    }),
  },
  {
    kind: 'PermissionDenied',
    retryable: false,
    when: state('42501'),
    explain: (f, s) => ({
      message: `User "${s.ctx.user}" lacks a privilege on ${s.at}: ${s.echo(f.text)}.`,
      fix: `Grant what is missing, e.g. GRANT CONNECT ON DATABASE "${s.db}" TO "${s.ctx.user}".`,
    }),
  },
  {
    kind: 'TooManyConnections',
    retryable: true,
    when: state('53300'),
    explain: (f, s) => ({
      message: `${s.at} has no free connection slot: ${s.echo(f.text)}.`,
      fix: 'Close idle sessions or raise max_connections; the last slots may be reserved for superusers or replication.',
    }),
  },
  {
    kind: 'ServerStarting',
    retryable: true,
    when: state('57P03'),
    explain: (f, s) => ({
      message: `${s.at} is not accepting connections right now: ${s.echo(f.text)}.`,
      fix: 'Wait until the server has finished starting (or recovering) and retry; a standby needs hot_standby = on.',
    }),
  },
  {
    kind: 'ServerShuttingDown',
    retryable: true,
    when: state('57P01', '57P02'),
    explain: (f, s) => ({
      message: `${s.at} ended the session: ${s.echo(f.text)}.`,
      fix: 'The server was shut down, restarted or the session was terminated by an administrator; retry once it is back.',
    }),
  },
  {
    kind: 'ConnectionLost',
    retryable: true,
    when: any(code('ECONNRESET', 'EPIPE', 'ECONNABORTED'), text(/^Connection terminated|not queryable/), (f) => (f.sqlstate ?? '').startsWith('08')),
    explain: (f, s) => ({
      message: `${s.at} closed the connection unexpectedly (${s.echo(f.text)}).`,
      fix: 'Check the server log; a proxy, pooler or firewall idle timeout may be cutting connections.',
    }),
  },
];

function explainTimeout(timeout: ConnectTimeoutError | undefined, s: Said): { message: string; fix: string } {
  const within = timeout ? ` within ${formatMs(timeout.timeoutMs)}` : s.ctx.timeoutMs ? ` within ${formatMs(s.ctx.timeoutMs)}` : '';
  switch (timeout?.phase) {
    case 'dns':
      return {
        message: `DNS lookup of "${s.ctx.host}" did not answer${within}.`,
        fix: 'Check the DNS servers of the network pgferry runs in, or use the server’s IP address.',
      };
    case 'startup':
    case 'query':
      return {
        message: `${s.at} accepted the TCP connection but did not complete the PostgreSQL ${timeout.phase === 'query' ? 'checks' : 'handshake'}${within}.`,
        fix: 'Check that the port is PostgreSQL and that the server is not overloaded or blocked on authentication (LDAP/RADIUS); a TLS-inspecting proxy can also stall it.',
      };
    default:
      return {
        message: `No TCP answer from ${s.at}${within}: the packets are probably dropped on the way.`,
        fix: `Allow inbound TCP ${s.ctx.port} from pgferry's outbound address in the server's firewall or network security group, and check the host and port.`,
      };
  }
}

function explainCertificate(f: ErrorFacts, s: Said): { message: string; fix: string } {
  const cert = `The SSL certificate of ${s.at}`;
  switch (f.code) {
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return {
        message: `${cert} is not issued for the name "${s.ctx.host}" (${s.echo(f.text)}).`,
        fix: 'Connect with a host name the certificate lists (usually the server’s FQDN rather than its IP), or use SSL mode VerifyCA to check the chain only.',
      };
    case 'CERT_HAS_EXPIRED':
    case 'CERT_NOT_YET_VALID':
      return {
        message: `${cert} is outside its validity period (${f.code}).`,
        fix: 'Renew the server certificate, or correct the clock of the server or of pgferry’s host.',
      };
    default:
      return {
        message: `${cert} is not signed by a trusted CA (${f.code}).`,
        fix: 'Provide the CA certificate that signed it as the root certificate (PEM), or use SSL mode Require to encrypt without verifying; Azure servers chain to DigiCert Global Root G2 / Microsoft RSA Root 2017.',
      };
  }
}

function formatMs(ms: number): string {
  return ms >= 1000 && ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
