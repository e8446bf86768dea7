/**
 * GET /api/flexibleServers/{server}/migrations/{name}/parameters — the server parameters of the
 * source that the target does not share and that an application can feel, each with the command
 * that would align the target (shared/params). It reads both servers and changes nothing.
 */
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { migrationParameters } from '../shared/params';
import { runtime } from '../shared/steps/runtime';
import { answer } from './respond';

export async function migrationParametersRoute(req: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return answer(context, async () => ({
    status: 200,
    jsonBody: await migrationParameters(await runtime(), req.params.server ?? '', req.params.name ?? ''),
  }));
}

app.http('migrationParameters', {
  route: 'flexibleServers/{server}/migrations/{name}/parameters',
  methods: ['GET'],
  authLevel: 'function',
  handler: migrationParametersRoute,
});
