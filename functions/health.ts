/**
 * GET /api/health — liveness for load balancers and the offline host: answers without touching
 * any database, so it says only that the app's functions are loaded.
 */
import { app, type HttpRequest, type HttpResponseInit } from '@azure/functions';

export async function health(_req: HttpRequest): Promise<HttpResponseInit> {
  return { status: 200, jsonBody: { status: 'ok', service: 'pgferry' } };
}

app.http('health', { methods: ['GET'], authLevel: 'anonymous', route: 'health', handler: health });
