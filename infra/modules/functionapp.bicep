// The plan and the Function App: Linux, Node 20, Functions v4, system-assigned identity, HTTPS
// only, TLS 1.2, FTP off. App settings are written by appsettings.bicep once the identity holds
// its roles. Function logs also go to the Log Analytics workspace (diagnostic setting).
param appName string
param location string
param planSku string
param maximumElasticWorkerCount int
param subnetId string
param workspaceId string
param tags object

var isElastic = startsWith(planSku, 'EP')

resource plan 'Microsoft.Web/serverfarms@2023-12-01' = {
  name: 'plan-${appName}'
  location: location
  tags: tags
  kind: isElastic ? 'elastic' : 'linux'
  sku: {
    name: planSku
    tier: isElastic ? 'ElasticPremium' : 'PremiumV3'
  }
  properties: union({ reserved: true }, isElastic ? { maximumElasticWorkerCount: maximumElasticWorkerCount } : {})
}

resource site 'Microsoft.Web/sites@2023-12-01' = {
  name: appName
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    serverFarmId: plan.id
    reserved: true
    httpsOnly: true
    clientAffinityEnabled: false
    keyVaultReferenceIdentity: 'SystemAssigned'
    virtualNetworkSubnetId: empty(subnetId) ? null : subnetId
    siteConfig: {
      linuxFxVersion: 'NODE|20'
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      // Durable Functions needs the host running to pick up work: always on (Dedicated), or at
      // least one warm instance (Elastic Premium).
      alwaysOn: !isElastic
      minimumElasticInstanceCount: isElastic ? 1 : 0
      vnetRouteAllEnabled: !empty(subnetId)
      cors: {
        allowedOrigins: []
      }
    }
  }
}

resource ftpBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2023-12-01' = {
  parent: site
  name: 'ftp'
  properties: {
    allow: false
  }
}

// Zip deploy authenticates with Microsoft Entra ID (az CLI); no publishing passwords.
resource scmBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2023-12-01' = {
  parent: site
  name: 'scm'
  properties: {
    allow: false
  }
}

resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: site
  properties: {
    workspaceId: workspaceId
    logs: [
      {
        category: 'FunctionAppLogs'
        enabled: true
      }
    ]
  }
}

output name string = site.name
output id string = site.id
output defaultHostName string = site.properties.defaultHostName
output principalId string = site.identity.principalId
