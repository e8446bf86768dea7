/** Builds the service context for an HTTP invocation: the runtime plus the durable client as the orchestration port. */
import type { DurableClient } from 'durable-functions';
import type { ServiceContext } from '../shared/api/context';
import { ORCHESTRATORS } from '../shared/steps/names';
import { runtime } from '../shared/steps/runtime';

export async function serviceContext(client: DurableClient | undefined): Promise<ServiceContext> {
  const rt = await runtime();
  return {
    ...rt,
    now: () => new Date(),
    orchestration: {
      async startMigration(instanceId, input) {
        if (!client) throw new Error('no durable client binding');
        await client.startNew(ORCHESTRATORS.migration, { instanceId, input });
      },
      async raiseEvent(instanceId, event, data) {
        if (!client) return;
        await client.raiseEvent(instanceId, event, data).catch(() => undefined);
      },
    },
  };
}
