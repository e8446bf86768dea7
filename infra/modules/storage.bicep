// The app's storage account: AzureWebJobsStorage (Durable task hub queues, tables and leases) and
// pgferry's state tables (Pgf*). HTTPS and TLS 1.2 only, no anonymous blob access. Shared-key
// access stays on because pgferry's state store and the Elastic Premium content share use the
// connection string (kept in Key Vault, never in a plain app setting).
param name string
param location string
param sku string
@description('Azure Files share for the Elastic Premium plan\'s content; empty: none (Dedicated plans).')
param contentShareName string
param tags object

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  sku: {
    name: sku
  }
  kind: 'StorageV2'
  properties: {
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    allowBlobPublicAccess: false
    allowSharedKeyAccess: true
    allowCrossTenantReplication: false
    defaultToOAuthAuthentication: true
    publicNetworkAccess: 'Enabled'
    encryption: {
      keySource: 'Microsoft.Storage'
      services: {
        blob: { enabled: true }
        file: { enabled: true }
        table: { enabled: true }
        queue: { enabled: true }
      }
    }
  }
}

resource files 'Microsoft.Storage/storageAccounts/fileServices@2023-05-01' = if (!empty(contentShareName)) {
  parent: account
  name: 'default'
}

// Created here because the app reads its connection string through a Key Vault reference, which
// the platform does not use to create the share itself (WEBSITE_SKIP_CONTENTSHARE_VALIDATION=1).
resource share 'Microsoft.Storage/storageAccounts/fileServices/shares@2023-05-01' = if (!empty(contentShareName)) {
  parent: files
  name: empty(contentShareName) ? 'unused' : contentShareName
  properties: {
    shareQuota: 100
  }
}

output name string = account.name
output id string = account.id
