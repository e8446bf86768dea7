/**
 * Wizard helpers: POST /api/wizard/testConnection and POST /api/wizard/listDatabases with
 * { host, port, user, password, sslMode, database? }. A failed connection is a 200 with
 * ok:false, kind, message and fix — it is an answer, not a server error.
 */
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { wizardListDatabases, wizardTestConnection } from '../shared/api/wizard';
import { runtime } from '../shared/steps/runtime';
import { answer, readJson } from './respond';

export async function testConnectionRoute(req: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return answer(context, async () => {
    const body = await readJson(req);
    const { settings } = await runtime();
    return { status: 200, jsonBody: await wizardTestConnection(body, settings.connectTimeoutMs) };
  });
}

app.http('wizardTestConnection', { route: 'wizard/testConnection', methods: ['POST'], authLevel: 'function', handler: testConnectionRoute });

export async function listDatabasesRoute(req: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return answer(context, async () => {
    const body = await readJson(req);
    const { settings } = await runtime();
    return { status: 200, jsonBody: await wizardListDatabases(body, settings.connectTimeoutMs) };
  });
}

app.http('wizardListDatabases', { route: 'wizard/listDatabases', methods: ['POST'], authLevel: 'function', handler: listDatabasesRoute });
