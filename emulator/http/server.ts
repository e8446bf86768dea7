/**
 * The HTTP listener: turns Node requests into HostRequest values for the router and writes
 * HostResponse values back. Until the app is loaded it answers 503, so a port can be bound
 * first (port 0 learns its number before the app reads WEBSITE_HOSTNAME).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

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

/** Azure's request size limit for HTTP triggers. */
const MAX_BODY_BYTES = 100 * 1024 * 1024;

export function json(status: number, body: unknown, headers: Record<string, string> = {}): HostResponse {
  return { status, headers: { 'content-type': 'application/json; charset=utf-8', ...headers }, body: JSON.stringify(body) };
}

export function text(status: number, body: string): HostResponse {
  return { status, headers: { 'content-type': 'text/plain; charset=utf-8' }, body };
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error('request body too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
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

export class HttpHost {
  private readonly server: Server;
  private router: Router | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(private readonly log: Logger) {
    this.server = createServer((req, res) => void this.handle(req, res));
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
  serve(router: Router): void {
    this.router = router;
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
    try {
      const host = req.headers.host ?? '127.0.0.1';
      const rawUrl = req.url ?? '/';
      const body = await readBody(req);
      const request: HostRequest = {
        method: (req.method ?? 'GET').toUpperCase(),
        url: new URL(rawUrl, `http://${host}`),
        rawPath: rawUrl.split('?')[0] ?? '/',
        headers: headersOf(req),
        body,
      };
      out = this.router ? await this.router(request) : text(503, 'The host is starting.');
    } catch (e) {
      this.log.error(`HTTP ${req.method ?? ''} ${req.url ?? ''} failed in the host`, e);
      out = text(500, 'Internal Server Error');
    }
    if (res.headersSent) return;
    res.statusCode = out.status;
    for (const [k, v] of Object.entries(out.headers ?? {})) res.setHeader(k, v);
    res.end(out.body ?? '');
  }
}
