/**
 * HTTP-triggered functions: routing under host.json's routePrefix, the RPC request the worker
 * would receive, and the RPC response turned back into an HTTP answer. A function that throws
 * gets a bare 500, as in Azure, and the error goes to the log only.
 */
import type { RpcHttpCookie, RpcHttpData, RpcParameterBinding, RpcTypedData } from '../core-types';
import { InvocationError, type Invoker } from '../invoker';
import type { Logger } from '../log';
import type { HttpFunction } from '../registry';
import { RouteTable, type RouteMatch } from './routes';
import { text, type HostRequest, type HostResponse } from './server';

/** Supplies the durableClient binding value for client functions. */
export type ClientBindingValue = () => unknown;

export class HttpFunctions {
  private readonly table = new RouteTable<HttpFunction>();

  constructor(
    functions: HttpFunction[],
    routePrefix: string,
    private readonly invoker: Invoker,
    private readonly log: Logger,
    private readonly clientBinding: ClientBindingValue,
  ) {
    for (const fn of functions) {
      const route = fn.route.replace(/^\/+/, '');
      this.table.add(routePrefix === '' ? route : `${routePrefix}/${route}`, fn.methods, fn);
    }
  }

  match(req: Pick<HostRequest, 'method' | 'rawPath'>): RouteMatch<HttpFunction> | undefined {
    return this.table.match(req.method, req.rawPath);
  }

  async invoke(match: RouteMatch<HttpFunction>, req: HostRequest): Promise<HostResponse> {
    const { target: fn, params } = match;
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD' && req.body.length > 0;
    const http: RpcHttpData = {
      method: req.method,
      url: req.url.href,
      headers: req.headers,
      params,
      body: hasBody ? { bytes: req.body } : undefined,
    };
    const inputData: RpcParameterBinding[] = [{ name: fn.triggerName, data: { http } }];
    for (const name of fn.clientBindings) inputData.push({ name, data: { json: JSON.stringify(this.clientBinding()) } });
    try {
      const out = await this.invoker.invoke({ fn, inputData, withResponse: true });
      const res = toHostResponse(out.response?.returnValue ?? undefined);
      this.log.invocation({ name: fn.name, invocationId: out.invocationId, ms: out.ms, ok: true, detail: `Status=${res.status}` });
      return res;
    } catch (e) {
      if (e instanceof InvocationError) {
        this.log.invocation({ name: fn.name, invocationId: e.invocationId, ms: e.ms, ok: false, detail: 'Status=500' });
        this.log.error(`Function '${fn.name}' threw`, e.cause);
      } else {
        this.log.error(`Function '${fn.name}' could not be invoked`, e);
      }
      return text(500, 'Internal Server Error');
    }
  }
}

function bodyOf(data: RpcTypedData | null | undefined): Buffer | string {
  if (!data) return '';
  if (data.bytes) return Buffer.from(data.bytes.buffer, data.bytes.byteOffset, data.bytes.byteLength);
  if (typeof data.string === 'string') return data.string;
  if (typeof data.json === 'string') return data.json;
  if (typeof data.int === 'number') return String(data.int);
  if (typeof data.double === 'number') return String(data.double);
  return '';
}

export function cookieHeader(c: RpcHttpCookie): string {
  const parts = [`${c.name ?? ''}=${c.value ?? ''}`];
  if (c.domain?.value) parts.push(`Domain=${c.domain.value}`);
  if (c.path?.value) parts.push(`Path=${c.path.value}`);
  const seconds = c.expires?.value?.seconds;
  if (seconds !== undefined && seconds !== null) parts.push(`Expires=${new Date(Number(seconds) * 1000).toUTCString()}`);
  if (typeof c.maxAge?.value === 'number') parts.push(`Max-Age=${c.maxAge.value}`);
  if (c.secure?.value) parts.push('Secure');
  if (c.httpOnly?.value) parts.push('HttpOnly');
  if (c.sameSite === 'lax') parts.push('SameSite=Lax');
  else if (c.sameSite === 'strict') parts.push('SameSite=Strict');
  else if (c.sameSite === 'explicitNone') parts.push('SameSite=None');
  return parts.join('; ');
}

/** The worker's RPC HTTP result as an HTTP answer; no result at all is 204. */
export function toHostResponse(ret: RpcTypedData | undefined): HostResponse {
  const http = ret?.http;
  if (!http) return { status: 204 };
  const headers: Record<string, string | string[]> = { ...(http.headers ?? {}) };
  const cookies = (http.cookies ?? []).map(cookieHeader);
  if (cookies.length > 0) headers['set-cookie'] = cookies;
  const status = Number(http.statusCode ?? 200);
  return { status: Number.isInteger(status) && status >= 100 && status <= 999 ? status : 200, headers, body: bodyOf(http.body) };
}
