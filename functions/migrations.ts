/**
 * The migration routes, ARM-shaped and scoped by target server (DESIGN.md "HTTP API"), each
 * requiring ARM's `?api-version=` (one of shared/model/arm.ts API_VERSIONS):
 *   PUT|GET|PATCH|DELETE /api/flexibleServers/{server}/migrations/{name}
 *   GET                  /api/flexibleServers/{server}/migrations?migrationListFilter=Active|All
 *   POST                 /api/flexibleServers/{server}/checkMigrationNameAvailability
 */
import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import type { DurableClient } from 'durable-functions';
import {
  checkNameAvailability,
  deleteMigrationResource,
  getMigrationResource,
  listMigrationResources,
  patchMigrationResource,
  putMigrationResource,
} from '../shared/api/migrations';
import { requireApiVersion } from '../shared/api/errors';
import { answer, readJson } from './respond';
import { serviceContext } from './service';

export async function migrationItem(req: HttpRequest, client: DurableClient, context: InvocationContext): Promise<HttpResponseInit> {
  return answer(context, async () => {
    requireApiVersion(req.query.get('api-version'));
    const server = req.params.server ?? '';
    const name = req.params.name ?? '';
    const ctx = await serviceContext(client);
    switch (req.method) {
      case 'PUT': {
        const put = await putMigrationResource(ctx, server, name, await readJson(req));
        return { status: put.created ? 201 : 200, jsonBody: put.resource };
      }
      case 'PATCH':
        return { status: 200, jsonBody: await patchMigrationResource(ctx, server, name, await readJson(req)) };
      case 'DELETE': {
        const res = await deleteMigrationResource(ctx, server, name);
        return res ? { status: 200, jsonBody: res } : { status: 204 };
      }
      default:
        return { status: 200, jsonBody: await getMigrationResource(ctx, server, name) };
    }
  });
}

df.app.client.http('migrationItem', {
  route: 'flexibleServers/{server}/migrations/{name}',
  methods: ['GET', 'PUT', 'PATCH', 'DELETE'],
  authLevel: 'function',
  handler: migrationItem,
});

export async function migrationList(req: HttpRequest, _client: DurableClient, context: InvocationContext): Promise<HttpResponseInit> {
  return answer(context, async () => {
    requireApiVersion(req.query.get('api-version'));
    const ctx = await serviceContext(undefined);
    return { status: 200, jsonBody: await listMigrationResources(ctx, req.params.server ?? '', req.query.get('migrationListFilter')) };
  });
}

df.app.client.http('migrationList', {
  route: 'flexibleServers/{server}/migrations',
  methods: ['GET'],
  authLevel: 'function',
  handler: migrationList,
});

export async function checkMigrationName(req: HttpRequest, _client: DurableClient, context: InvocationContext): Promise<HttpResponseInit> {
  return answer(context, async () => {
    requireApiVersion(req.query.get('api-version'));
    const ctx = await serviceContext(undefined);
    return { status: 200, jsonBody: await checkNameAvailability(ctx, req.params.server ?? '', await readJson(req)) };
  });
}

df.app.client.http('checkMigrationNameAvailability', {
  route: 'flexibleServers/{server}/checkMigrationNameAvailability',
  methods: ['POST'],
  authLevel: 'function',
  handler: checkMigrationName,
});
