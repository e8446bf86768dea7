/**
 * What makes pgferry's API answer like Azure Resource Manager beyond the resource's own shape:
 * the `api-version` query parameter every ARM request carries (checked against the versions whose
 * migration resource pgferry implements, with ARM's error codes), and full resource ids under a
 * subscription and resource group (from the app settings, with local defaults).
 */

/**
 * API versions of Microsoft.DBforPostgreSQL/flexibleServers/migrations whose properties pgferry
 * implements. Since 2023-12-01-preview (migrateRoles, migrationInstanceResourceId) no version added,
 * removed or changed a migration property (ARM's change log); 2025-08-01 is the current stable one.
 */
export const API_VERSIONS = [
  '2023-12-01-preview',
  '2024-03-01-preview',
  '2024-08-01',
  '2024-11-01-preview',
  '2025-01-01-preview',
  '2025-06-01-preview',
  '2025-08-01',
] as const;

/** The version pgferry's own clients (CLI, portal) send. */
export const CURRENT_API_VERSION = '2025-08-01';

/** Used when no setting names a subscription: the all-zero id, as Azure's own samples use. */
export const DEFAULT_SUBSCRIPTION_ID = '00000000-0000-0000-0000-000000000000';
export const DEFAULT_RESOURCE_GROUP = 'pgferry';

/** The subscription and resource group of the target servers (PGFERRY_SUBSCRIPTION_ID, PGFERRY_RESOURCE_GROUP). */
export interface ArmScope {
  subscriptionId: string;
  resourceGroup: string;
}

export function serverResourceId(scope: ArmScope, server: string): string {
  return `/subscriptions/${scope.subscriptionId}/resourceGroups/${scope.resourceGroup}/providers/Microsoft.DBforPostgreSQL/flexibleServers/${server}`;
}

export function migrationResourceId(scope: ArmScope, server: string, name: string): string {
  return `${serverResourceId(scope, server)}/migrations/${name}`;
}

/** An ARM error: `{"error": {"code", "message"}}` with HTTP 400. */
export interface ApiVersionProblem {
  code: 'MissingApiVersionParameter' | 'InvalidApiVersionParameter';
  message: string;
}

/** Undefined when `raw` (the api-version query value, null when absent) names an implemented version. */
export function apiVersionProblem(raw: string | null): ApiVersionProblem | undefined {
  const supported = `The supported api-versions are '${API_VERSIONS.join(', ')}'`;
  if (raw === null || raw === '') {
    return { code: 'MissingApiVersionParameter', message: `The api-version query parameter (?api-version=) is required for all requests. ${supported}.` };
  }
  if ((API_VERSIONS as readonly string[]).includes(raw)) return undefined;
  const shown = JSON.stringify(raw.length > 40 ? `${raw.slice(0, 40)}…` : raw);
  return { code: 'InvalidApiVersionParameter', message: `The api-version ${shown} is invalid for type 'Microsoft.DBforPostgreSQL/flexibleServers/migrations'. ${supported}.` };
}

/** Matches an ARM subscription id (a GUID). */
export const SUBSCRIPTION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Matches an ARM resource group name. */
export const RESOURCE_GROUP = /^[-\w._()]{1,89}[-\w_()]$/u;

/**
 * The scope from the app settings; on Azure App Service WEBSITE_OWNER_NAME starts with the
 * subscription id and WEBSITE_RESOURCE_GROUP names the app's group (a sane default for servers
 * in the same group).
 */
export function armScopeFrom(env: { PGFERRY_SUBSCRIPTION_ID?: string | undefined; PGFERRY_RESOURCE_GROUP?: string | undefined; WEBSITE_OWNER_NAME?: string | undefined; WEBSITE_RESOURCE_GROUP?: string | undefined }): ArmScope {
  const owner = env.WEBSITE_OWNER_NAME?.split('+')[0] ?? '';
  return {
    subscriptionId: env.PGFERRY_SUBSCRIPTION_ID?.trim() || (SUBSCRIPTION_ID.test(owner) ? owner : DEFAULT_SUBSCRIPTION_ID),
    resourceGroup: env.PGFERRY_RESOURCE_GROUP?.trim() || env.WEBSITE_RESOURCE_GROUP?.trim() || DEFAULT_RESOURCE_GROUP,
  };
}

/**
 * `url` (absolute, or a path with its query) with `api-version=CURRENT_API_VERSION` added when it
 * addresses an ARM route (…/flexibleServers/…) and names no version: how pgferry's own clients
 * (CLI, benchmarks, demo, tests) call the API as ARM clients do.
 */
export function withApiVersion(url: string, version: string = CURRENT_API_VERSION): string {
  if (!/\/flexibleServers\//.test(url) || /[?&]api-version=/.test(url)) return url;
  return `${url}${url.includes('?') ? '&' : '?'}api-version=${encodeURIComponent(version)}`;
}
