// Log Analytics workspace and a workspace-based Application Insights. The Functions host ships
// its own logs and every context.log line (pgferry's JSON lines) to it through the
// APPLICATIONINSIGHTS_CONNECTION_STRING app setting; the app needs no SDK.
param baseName string
param location string
param retentionInDays int
param tags object

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: 'log-${baseName}-${uniqueString(resourceGroup().id, baseName)}'
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: retentionInDays
    features: {
      enableLogAccessUsingOnlyResourcePermissions: true
    }
  }
}

resource insights 'Microsoft.Insights/components@2020-02-02' = {
  name: 'appi-${baseName}-${uniqueString(resourceGroup().id, baseName)}'
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    IngestionMode: 'LogAnalytics'
    publicNetworkAccessForIngestion: 'Enabled'
    publicNetworkAccessForQuery: 'Enabled'
  }
}

output workspaceId string = workspace.id
output appInsightsName string = insights.name
output appInsightsConnectionString string = insights.properties.ConnectionString
