/**
 * The HTTP listener: turns Node requests into HostRequest values for the router and writes
 * HostResponse values back. Until the app is loaded it answers 503, so a port can be bound
 * first (port 0 learns its number before the app reads WEBSITE_HOSTNAME). An admission check
 * (function keys) runs on the request line and headers before any body is buffered, so an
 * unauthenticated caller cannot make the host hold 100 MB; a body over the limit is a 413.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';

import type { Logger } from '../log';

export interface HostRequest {
  method: string;
  /** Absolute URL as the caller addressed it (its Host header), so returned links point back. */
  url: URL;
  /** The path exactly as sent, still percent-encoded. */
  rawPath: string;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: Buffer;
}

export interface HostResponse {
  status: number;
  headers?: Record<string, string | string[]>;
  body?: Buffer | string;
}

export type Router = (req: HostRequest) => Promise<HostResponse>;

/** Decides on the request line and headers alone: undefined admits, a response refuses. */
export type Admission = (head: Omit<HostRequest, 'body'>) => HostResponse | undefined;

/** Azure's request size limit for HTTP triggers. */
const MAX_BODY_BYTES = 100 * 1024 * 1024;

export function json(status: number, body: unknown, headers: Record<string, string> = {}): HostResponse {
  return { status, headers: { 'content-type': 'application/json; charset=utf-8', ...headers }, body: JSON.stringify(body) };
}

export function text(status: number, body: string): HostResponse {
  return { status, headers: { 'content-type': 'text/plain; charset=utf-8' }, body };
}

class BodyTooLarge extends Error {}

/** `code`, `sig` and `key` query values blanked, for log lines that quote a URL. */
export function redactUrl(url: string): string {
  return url.replace(/([?&](?:code|sig|key)=)[^&#]*/gi, '$1***');
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? '0');
    if (declared > MAX_BODY_BYTES) {
      req.resume();
      reject(new BodyTooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      // Past the limit the rest is read and dropped, so the caller still gets the 413.
      if (size <= MAX_BODY_BYTES) chunks.push(c);
    });
    req.on('end', () => (size > MAX_BODY_BYTES ? reject(new BodyTooLarge()) : resolve(Buffer.concat(chunks))));
    req.on('error', reject);
  });
}

function headersOf(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined) continue;
    out[k] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

/** How long a connection whose request Node's parser refused keeps draining what the caller still sends. */
const LINGER_MS = 10_000;
const answered = new WeakSet<Duplex>();

/**
 * What Node's parser refuses before a request exists (a method it does not know, headers too
 * large, a malformed request line) gets a JSON error too, instead of Node's bare 400. The answer
 * goes out at once, but the connection lingers (as nginx's lingering_close does): what the caller
 * still sends of its body is read and dropped until it closes or LINGER_MS pass. Closing at once
 * would make a caller still writing a large body fail with EPIPE before it reads the answer. The
 * parser reports every later chunk as another error; those are the drained bytes, not new requests.
 */
function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (answered.has(socket)) return;
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const [status, reason, message] =
    err.code === 'HPE_HEADER_OVERFLOW' ? [431, 'Request Header Fields Too Large', 'The request headers are too large']
    : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 'Request Timeout', 'The request took too long to arrive']
    : err.code === 'HPE_INVALID_METHOD' ? [400, 'Bad Request', 'The HTTP method is not one this host understands']
    : [400, 'Bad Request', 'The request is not valid HTTP/1.1'];
  const body = JSON.stringify({ error: { code: reason.replace(/ /g, ''), message } });
  answered.add(socket);
  socket.write(`HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
  const linger = setTimeout(() => socket.destroy(), LINGER_MS);
  linger.unref();
  socket.once('close', () => clearTimeout(linger));
  // The caller finished sending (or gave up): the host's side closes too.
  if (socket.readableEnded) socket.end();
  else socket.once('end', () => socket.end());
}

export class HttpHost {
  private readonly server: Server;
  private router: Router | undefined;
  private admit: Admission | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(private readonly log: Logger) {
    this.server = createServer((req, res) => void this.handle(req, res));
    // Clients reuse an idle connection until the server's keep-alive hint minus a margin; with
    // Node's 5 s a client slowed by load can send on a connection the host is closing (EPIPE).
    // Azure's front ends keep idle connections for minutes.
    this.server.keepAliveTimeout = 65_000;
    this.server.headersTimeout = 66_000;
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => answerClientError(err, socket));
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
  }

  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve((this.server.address() as AddressInfo).port);
      });
    });
  }

  /** Starts dispatching; before this every request gets 503. */
  serve(router: Router, admit?: Admission): void {
    this.router = router;
    this.admit = admit;
  }

  /**
   * Stops accepting connections and closes idle keep-alive ones; requests in progress may finish
   * until forceClose(). Resolves when the last connection is gone.
   */
  close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    return closed;
  }

  forceClose(): void {
    this.server.closeIdleConnections();
    for (const s of this.sockets) s.destroy();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let out: HostResponse;
    const rawUrl = req.url ?? '/';
    try {
      out = await this.dispatch(req, rawUrl);
    } catch (e) {
      this.log.error(`HTTP ${req.method ?? ''} ${redactUrl(rawUrl)} failed in the host`, e);
      out = text(500, 'Internal Server Error');
    }
    if (res.headersSent) return;
    res.statusCode = out.status;
    for (const [k, v] of Object.entries(out.headers ?? {})) res.setHeader(k, v);
    res.end(out.body ?? '');
  }

  private async dispatch(req: IncomingMessage, rawUrl: string): Promise<HostResponse> {
    let url: URL;
    try {
      url = new URL(rawUrl, `http://${req.headers.host ?? '127.0.0.1'}`);
    } catch {
      req.resume();
      return json(400, { error: { code: 'BadRequest', message: 'The request URL or Host header is not valid' } });
    }
    const head = {
      method: (req.method ?? 'GET').toUpperCase(),
      url,
      rawPath: rawUrl.split('?')[0] ?? '/',
      headers: headersOf(req),
    };
    if (!this.router) {
      req.resume();
      return text(503, 'The host is starting.');
    }
    const refused = this.admit?.(head);
    if (refused) {
      // Not buffered: the body is read and dropped while the answer goes out.
      req.resume();
      return refused;
    }
    let body: Buffer;
    try {
      body = await readBody(req);
    } catch (e) {
      if (!(e instanceof BodyTooLarge)) throw e;
      return json(413, { error: { code: 'RequestEntityTooLarge', message: `The request body is larger than ${MAX_BODY_BYTES / (1024 * 1024)} MB` } });
    }
    return this.router({ ...head, body });
  }
}
