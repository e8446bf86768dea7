/**
 * The durableClient binding value (spec §4), which `df.getClient(context)` turns into a
 * DurableClient. `rpcBaseUrl` is set, so the v3 client sends every call to this host's webhook
 * routes; the URL templates are what createCheckStatusResponse hands to callers and scripts.
 */

export const WEBHOOK_PATH = '/runtime/webhooks/durabletask';

export interface ClientBindingValue {
  taskHubName: string;
  creationUrls: Record<string, string>;
  managementUrls: Record<string, string>;
  baseUrl: string;
  requiredQueryStringParameters: string;
  rpcBaseUrl: string;
}

const ID = 'INSTANCEID';

function managementUrls(base: string, hub: string, id: string): Record<string, string> {
  const q = `taskHub=${encodeURIComponent(hub)}&connection=Storage`;
  const inst = `${base}/instances/${id}`;
  return {
    id,
    statusQueryGetUri: `${inst}?${q}`,
    sendEventPostUri: `${inst}/raiseEvent/{eventName}?${q}`,
    terminatePostUri: `${inst}/terminate?reason={text}&${q}`,
    rewindPostUri: `${inst}/rewind?reason={text}&${q}`,
    purgeHistoryDeleteUri: `${inst}?${q}`,
    restartPostUri: `${inst}/restart?${q}`,
    suspendPostUri: `${inst}/suspend?reason={text}&${q}`,
    resumePostUri: `${inst}/resume?reason={text}&${q}`,
  };
}

/** @param origin e.g. `http://127.0.0.1:7071` */
export function clientBindingValue(origin: string, hub: string): ClientBindingValue {
  const base = `${origin}${WEBHOOK_PATH}`;
  const q = `taskHub=${encodeURIComponent(hub)}&connection=Storage`;
  return {
    taskHubName: hub,
    creationUrls: {
      createNewInstancePostUri: `${base}/orchestrators/{functionName}[/{instanceId}]?${q}`,
      createAndWaitOnNewInstancePostUri: `${base}/orchestrators/{functionName}[/{instanceId}]?timeout={timeoutInSeconds}&pollingInterval={intervalInSeconds}&${q}`,
    },
    managementUrls: managementUrls(base, hub, ID),
    baseUrl: base,
    requiredQueryStringParameters: '',
    rpcBaseUrl: `${base}/`,
  };
}

/** The check-status payload of one instance (what startNew over HTTP answers). */
export function managementPayload(origin: string, hub: string, instanceId: string): Record<string, string> {
  const urls = managementUrls(`${origin}${WEBHOOK_PATH}`, hub, encodeURIComponent(instanceId));
  return { ...urls, id: instanceId };
}
