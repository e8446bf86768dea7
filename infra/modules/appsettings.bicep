// The Function App's settings. Secrets are Key Vault references, resolved by the app's identity:
// nothing secret is stored in the site configuration or the deployment history.
param appName string
param isElastic bool
param contentShareName string
@description('Versionless Key Vault URI of the storage connection string.')
param storageConnectionRef string
@description('Versionless Key Vault URI of PGFERRY_SECRET_KEY.')
param encryptionKeyRef string
@description('Versionless Key Vault URI of PGFERRY_SECRET_KEY_PREVIOUS; empty: no rotation under way.')
param previousEncryptionKeyRef string
param appInsightsConnectionString string
param maxDatabases int
param connectTimeoutMs int
@description('PGFERRY_SUBSCRIPTION_ID / PGFERRY_RESOURCE_GROUP: the scope of the ARM ids pgferry answers with.')
param subscriptionId string
param targetResourceGroup string
@description('PGFERRY_TARGET_USERNAME; empty: not set (requests name the target login).')
param targetUsername string
@description('PGFERRY_TARGET_HOST_SUFFIX: a migration without target FQDN goes to {server}{suffix}.')
param targetHostSuffix string

resource site 'Microsoft.Web/sites@2023-12-01' existing = {
  name: appName
}

var base = {
  FUNCTIONS_EXTENSION_VERSION: '~4'
  FUNCTIONS_WORKER_RUNTIME: 'node'
  AzureWebJobsStorage: '@Microsoft.KeyVault(SecretUri=${storageConnectionRef})'
  // Runs the zip as deployed (dist/ + node_modules/): no build on the server.
  WEBSITE_RUN_FROM_PACKAGE: '1'
  SCM_DO_BUILD_DURING_DEPLOYMENT: 'false'
  APPLICATIONINSIGHTS_CONNECTION_STRING: appInsightsConnectionString
  PGFERRY_SECRET_KEY: '@Microsoft.KeyVault(SecretUri=${encryptionKeyRef})'
  PGFERRY_MAX_DATABASES: string(maxDatabases)
  PGFERRY_CONNECT_TIMEOUT_MS: string(connectTimeoutMs)
  PGFERRY_SUBSCRIPTION_ID: subscriptionId
  PGFERRY_RESOURCE_GROUP: targetResourceGroup
  PGFERRY_TARGET_HOST_SUFFIX: targetHostSuffix
}

var target = empty(targetUsername) ? {} : {
  PGFERRY_TARGET_USERNAME: targetUsername
}

// Elastic Premium keeps the app's content on an Azure Files share.
var elastic = isElastic ? {
  WEBSITE_CONTENTAZUREFILECONNECTIONSTRING: '@Microsoft.KeyVault(SecretUri=${storageConnectionRef})'
  WEBSITE_CONTENTSHARE: contentShareName
  WEBSITE_SKIP_CONTENTSHARE_VALIDATION: '1'
} : {}

var previous = empty(previousEncryptionKeyRef) ? {} : {
  PGFERRY_SECRET_KEY_PREVIOUS: '@Microsoft.KeyVault(SecretUri=${previousEncryptionKeyRef})'
}

resource appsettings 'Microsoft.Web/sites/config@2023-12-01' = {
  parent: site
  name: 'appsettings'
  properties: union(base, elastic, previous, target)
}
