/**
 * Where a request goes, and whether it may: the in-process Durable client endpoint, the Durable
 * HTTP API (system key), the app's HTTP triggers (their authLevel), else a JSON 404. The same
 * admission runs twice: on the head before the body is read (HttpHost), and again here, so the
 * router is safe on its own.
 */
import { authLevelOf, type KeyGate } from './auth';
import type { HttpFunctions } from './functions';
import { json, type Admission, type HostRequest, type HostResponse, type Router } from './server';

export interface WebhookApi {
  owns(rawPath: string): boolean;
  handle(req: HostRequest): Promise<HostResponse>;
}

export function notFound(method: string, rawPath: string): HostResponse {
  const path = rawPath.length > 200 ? `${rawPath.slice(0, 200)}…` : rawPath;
  return json(404, { error: { code: 'NotFound', message: `No function answers ${method} ${path}` } });
}

export function createDispatch(functions: HttpFunctions, webhooks: WebhookApi, gate: KeyGate): { router: Router; admit: Admission } {
  const admit: Admission = (head) => {
    if (gate.isRpc(head.rawPath)) return undefined;
    if (webhooks.owns(head.rawPath)) return gate.admitWebhook(head);
    const match = functions.match(head);
    return match ? gate.admitFunction(authLevelOf(match.target), head) : undefined;
  };
  const router: Router = async (req) => {
    const refused = admit(req);
    if (refused) return refused;
    if (gate.isRpc(req.rawPath)) return webhooks.handle(gate.fromRpc(req));
    if (webhooks.owns(req.rawPath)) return webhooks.handle(req);
    const match = functions.match(req);
    return match ? functions.invoke(match, req) : notFound(req.method, req.rawPath);
  };
  return { router, admit };
}
