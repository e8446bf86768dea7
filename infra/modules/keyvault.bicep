// Key Vault (RBAC, soft delete, purge protection) with the app's secrets:
//   pgferry-secret-key          PGFERRY_SECRET_KEY (only written when the deployment passes one)
//   storage-connection-string   AzureWebJobsStorage and the content share connection string
// The storage key is read here (listKeys) and goes straight into the vault: it is never a
// deployment parameter, output or plain app setting.
param name string
param location string
param storageAccountName string
@secure()
param secretKey string
param tags object

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource storageSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'storage-connection-string'
  properties: {
    contentType: 'Azure Storage connection string'
    value: 'DefaultEndpointsProtocol=https;AccountName=${account.name};AccountKey=${account.listKeys().keys[0].value};EndpointSuffix=${environment().suffixes.storage}'
  }
}

resource keySecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(secretKey)) {
  parent: vault
  name: 'pgferry-secret-key'
  properties: {
    contentType: 'base64 of 32 bytes (AES-256-GCM key for stored passwords)'
    value: secretKey
  }
}

output name string = vault.name
output id string = vault.id
// Versionless URIs: a new secret version is picked up without a redeployment (docs/deploy.md).
output storageConnectionUri string = '${vault.properties.vaultUri}secrets/storage-connection-string'
output encryptionKeyUri string = '${vault.properties.vaultUri}secrets/pgferry-secret-key'
output previousEncryptionKeyUri string = '${vault.properties.vaultUri}secrets/pgferry-secret-key-previous'
