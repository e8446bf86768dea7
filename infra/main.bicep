// pgferry in Azure: a Linux Function App (Node 20) on a plan that allows long activities, its
// Storage account (AzureWebJobsStorage: Durable task hub + pgferry's state tables), a Key Vault
// holding the secret-encryption key and the storage connection string, Application Insights on a
// Log Analytics workspace, and the app's system-assigned identity with the roles it needs.
//
//   az deployment group create -g <rg> -f infra/main.bicep -p @infra/main.parameters.json
//
// See docs/deploy.md for the whole procedure (keys, zip deploy, function key, rotation).
targetScope = 'resourceGroup'

@description('Short name used in resource names (letters, digits, hyphens).')
@minLength(3)
@maxLength(20)
param baseName string = 'pgferry'

@description('Region of every resource.')
param location string = resourceGroup().location

@description('Function App name (globally unique: <name>.azurewebsites.net).')
param appName string = '${baseName}-${uniqueString(resourceGroup().id)}'

@description('''Hosting plan. Elastic Premium (EP*) or Dedicated (P*v3): pgferry's activities (a copy
chunk, a CDC batch, index builds) can run for many minutes and the host.json functionTimeout is
2 hours. The Consumption plan stops every execution at 10 minutes, so it is not offered.''')
@allowed([ 'EP1', 'EP2', 'EP3', 'P1v3', 'P2v3', 'P3v3' ])
param planSku string = 'EP1'

@description('Elastic Premium: most instances the plan may scale out to.')
@minValue(1)
@maxValue(100)
param maximumElasticWorkerCount int = 5

@description('Storage redundancy of the state account.')
@allowed([ 'Standard_LRS', 'Standard_ZRS', 'Standard_GRS', 'Standard_GZRS' ])
param storageSku string = 'Standard_ZRS'

@description('''PGFERRY_SECRET_KEY: base64 of 32 random bytes (`openssl rand -base64 32`). Stored only
in Key Vault as secret "pgferry-secret-key". Leave empty on later deployments to keep the
secret that is there (and rotate it with az keyvault secret set, docs/deploy.md).''')
@secure()
param secretKey string = ''

@description('''Set to true while a key rotation is under way: the app then also reads Key Vault
secret "pgferry-secret-key-previous" as PGFERRY_SECRET_KEY_PREVIOUS (the secret must exist).''')
param keyRotationInProgress bool = false

@description('PGFERRY_MAX_DATABASES: most databases one migration may list (1–50).')
@minValue(1)
@maxValue(50)
param maxDatabases int = 8

@description('PGFERRY_CONNECT_TIMEOUT_MS: connect timeout of every PostgreSQL connection.')
@minValue(100)
@maxValue(600000)
param connectTimeoutMs int = 10000

@description('''PGFERRY_RESOURCE_GROUP: the resource group of the target flexible servers, in the ARM ids
pgferry answers with (the subscription is this deployment's).''')
param targetResourceGroup string = resourceGroup().name

@description('PGFERRY_TARGET_USERNAME: the target login when a migration names none (ARM would use the server admin). Empty: requests must name it.')
param targetUsername string = ''

@description('PGFERRY_TARGET_HOST_SUFFIX: the target of a migration that names no FQDN is {server}{suffix}.')
param targetHostSuffix string = '.postgres.database.azure.com'

@description('''Optional VNet integration: the resource id of a subnet delegated to
Microsoft.Web/serverFarms, for reaching source and target servers on private addresses. Empty: none.''')
param subnetId string = ''

@description('Log Analytics retention in days.')
@minValue(30)
@maxValue(730)
param logRetentionDays int = 30

@description('Tags on every resource.')
param tags object = {
  app: 'pgferry'
}

var suffix = uniqueString(resourceGroup().id, baseName)
var storageAccountName = take('st${toLower(replace(baseName, '-', ''))}${suffix}', 24)
var keyVaultName = take('kv${toLower(replace(baseName, '-', ''))}${suffix}', 24)
var isElastic = startsWith(planSku, 'EP')
var contentShareName = toLower(take(replace(appName, '_', '-'), 63))

module monitoring 'modules/monitoring.bicep' = {
  name: 'pgferry-monitoring'
  params: {
    baseName: baseName
    location: location
    retentionInDays: logRetentionDays
    tags: tags
  }
}

module storage 'modules/storage.bicep' = {
  name: 'pgferry-storage'
  params: {
    name: storageAccountName
    location: location
    sku: storageSku
    contentShareName: isElastic ? contentShareName : ''
    tags: tags
  }
}

module vault 'modules/keyvault.bicep' = {
  name: 'pgferry-keyvault'
  params: {
    name: keyVaultName
    location: location
    storageAccountName: storage.outputs.name
    secretKey: secretKey
    tags: tags
  }
}

module app 'modules/functionapp.bicep' = {
  name: 'pgferry-functionapp'
  params: {
    appName: appName
    location: location
    planSku: planSku
    maximumElasticWorkerCount: maximumElasticWorkerCount
    subnetId: subnetId
    workspaceId: monitoring.outputs.workspaceId
    tags: tags
  }
}

module roles 'modules/roles.bicep' = {
  name: 'pgferry-roles'
  params: {
    principalId: app.outputs.principalId
    storageAccountName: storage.outputs.name
    keyVaultName: vault.outputs.name
  }
}

// App settings last: the Key Vault references resolve only once the identity may read the vault,
// and writing the settings restarts the app, which resolves them again.
module settings 'modules/appsettings.bicep' = {
  name: 'pgferry-appsettings'
  dependsOn: [ roles ]
  params: {
    appName: app.outputs.name
    isElastic: isElastic
    contentShareName: contentShareName
    storageConnectionRef: vault.outputs.storageConnectionUri
    encryptionKeyRef: vault.outputs.encryptionKeyUri
    previousEncryptionKeyRef: keyRotationInProgress ? vault.outputs.previousEncryptionKeyUri : ''
    appInsightsConnectionString: monitoring.outputs.appInsightsConnectionString
    maxDatabases: maxDatabases
    connectTimeoutMs: connectTimeoutMs
    subscriptionId: subscription().subscriptionId
    targetResourceGroup: targetResourceGroup
    targetUsername: targetUsername
    targetHostSuffix: targetHostSuffix
  }
}

output functionAppName string = app.outputs.name
output apiBaseUrl string = 'https://${app.outputs.defaultHostName}/api'
output keyVaultName string = vault.outputs.name
output storageAccountName string = storage.outputs.name
output appInsightsName string = monitoring.outputs.appInsightsName
output principalId string = app.outputs.principalId
