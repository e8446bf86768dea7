import { describe, it, expect } from 'vitest';
import { loadSettings, SettingsError } from '../../shared/model';

const STORAGE = { AzureWebJobsStorage: 'UseDevelopmentStorage=true' };
const KEY = Buffer.alloc(32, 7).toString('base64');

function problemsOf(env: Record<string, string>): SettingsError {
  try {
    loadSettings(env);
  } catch (error) {
    if (error instanceof SettingsError) return error;
    throw error;
  }
  throw new Error('expected a SettingsError');
}

describe('app settings', () => {
  it('fills defaults', () => {
    expect(loadSettings(STORAGE)).toEqual({
      maxDatabases: 8, connectTimeoutMs: 10_000, decoder: 'pgoutput', streamMemoryMb: 64, copySplitMb: 1024, copyLanes: 4, fallbackMaxWalMb: 10_240, storage: { connectionString: 'UseDevelopmentStorage=true' },
      target: { hostSuffix: '.postgres.database.azure.com' },
      arm: { subscriptionId: '00000000-0000-0000-0000-000000000000', resourceGroup: 'pgferry' },
    });
  });

  it('reads where targets are and the ARM scope of ids', () => {
    const settings = loadSettings({
      ...STORAGE, PGFERRY_TARGET_HOST: '{server}.internal.contoso.com:6432', PGFERRY_TARGET_HOST_SUFFIX: '.privatelink.postgres.database.azure.com',
      PGFERRY_TARGET_USERNAME: 'azureadmin', PGFERRY_SUBSCRIPTION_ID: '11111111-2222-3333-4444-555555555555', PGFERRY_RESOURCE_GROUP: 'rg-db',
    });
    expect(settings.target).toEqual({ host: '{server}.internal.contoso.com:6432', hostSuffix: '.privatelink.postgres.database.azure.com', username: 'azureadmin' });
    expect(settings.arm).toEqual({ subscriptionId: '11111111-2222-3333-4444-555555555555', resourceGroup: 'rg-db' });
  });

  it('takes the ARM scope from App Service when no setting names it', () => {
    const settings = loadSettings({ ...STORAGE, WEBSITE_OWNER_NAME: '11111111-2222-3333-4444-555555555555+rg-app-westeuropewebspace', WEBSITE_RESOURCE_GROUP: 'rg-app' });
    expect(settings.arm).toEqual({ subscriptionId: '11111111-2222-3333-4444-555555555555', resourceGroup: 'rg-app' });
  });

  it('reads every setting', () => {
    const previous = Buffer.alloc(32, 9).toString('base64');
    const settings = loadSettings({
      ...STORAGE, PGFERRY_MAX_DATABASES: '20', PGFERRY_CONNECT_TIMEOUT_MS: '2500', PGFERRY_SECRET_KEY: KEY, PGFERRY_SECRET_KEY_PREVIOUS: previous,
      PGFERRY_TABLE_PREFIX: 'T1234', PGFERRY_DECODER: 'WAL2JSON', PGFERRY_WEB_DIR: '/srv/web',
      PGFERRY_STREAM_MEMORY_MB: '256', PGFERRY_COPY_SPLIT_MB: '3', PGFERRY_COPY_LANES: '12', PGFERRY_FALLBACK_MAX_WAL_MB: '512',
    });
    expect(settings.streamMemoryMb).toBe(256);
    expect(settings.copySplitMb).toBe(3);
    expect(settings.copyLanes).toBe(12);
    expect(settings.fallbackMaxWalMb).toBe(512);
    expect(settings.maxDatabases).toBe(20);
    expect(settings.connectTimeoutMs).toBe(2500);
    expect(settings.secretKey?.length).toBe(32);
    expect(settings.previousSecretKey?.toString('base64')).toBe(previous);
    expect(settings.tablePrefix).toBe('T1234');
    expect(settings.decoder).toBe('wal2json');
    expect(settings.webDir).toBe('/srv/web');
  });

  it('uses a managed identity when only the account name is set', () => {
    expect(loadSettings({ AzureWebJobsStorage__accountName: 'pgferrystore' }).storage).toEqual({ tableServiceUri: 'https://pgferrystore.table.core.windows.net' });
  });

  it.each([
    [{ ...STORAGE, PGFERRY_MAX_DATABASES: '51' }, 'PGFERRY_MAX_DATABASES', 'from 1 to 50'],
    [{ ...STORAGE, PGFERRY_MAX_DATABASES: 'eight' }, 'PGFERRY_MAX_DATABASES', 'whole number'],
    [{ ...STORAGE, PGFERRY_CONNECT_TIMEOUT_MS: '5s' }, 'PGFERRY_CONNECT_TIMEOUT_MS', 'whole number'],
    [{ ...STORAGE, PGFERRY_SECRET_KEY: 'c2hvcnQ=' }, 'PGFERRY_SECRET_KEY', 'base64 encoding of 32 bytes'],
    [{ ...STORAGE, PGFERRY_SECRET_KEY: '@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/k)' }, 'PGFERRY_SECRET_KEY', 'unresolved Key Vault reference'],
    [{ ...STORAGE, PGFERRY_SECRET_KEY_PREVIOUS: 'c2hvcnQ=' }, 'PGFERRY_SECRET_KEY_PREVIOUS', 'base64 encoding of 32 bytes'],
    [{ ...STORAGE, PGFERRY_SECRET_KEY_PREVIOUS: '@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/k)' }, 'PGFERRY_SECRET_KEY_PREVIOUS', 'unresolved Key Vault reference'],
    [{ ...STORAGE, PGFERRY_DECODER: 'test_decoding' }, 'PGFERRY_DECODER', 'is "test_decoding"'],
    [{ ...STORAGE, PGFERRY_STREAM_MEMORY_MB: '4' }, 'PGFERRY_STREAM_MEMORY_MB', 'from 8 to 4096'],
    [{ ...STORAGE, PGFERRY_TABLE_PREFIX: 'bad-prefix' }, 'PGFERRY_TABLE_PREFIX', 'not a table name prefix'],
    [{ ...STORAGE, PGFERRY_TARGET_HOST: 'a b:5432' }, 'PGFERRY_TARGET_HOST', 'host name that is not valid'],
    [{ ...STORAGE, PGFERRY_TARGET_HOST: 'pg.contoso.com:99999' }, 'PGFERRY_TARGET_HOST', 'port that is not a number'],
    [{ ...STORAGE, PGFERRY_TARGET_HOST_SUFFIX: 'postgres.database.azure.com' }, 'PGFERRY_TARGET_HOST_SUFFIX', 'does not start with a dot'],
    [{ ...STORAGE, PGFERRY_TARGET_HOST_SUFFIX: '.bad suffix' }, 'PGFERRY_TARGET_HOST_SUFFIX', 'is not a DNS suffix'],
    [{ ...STORAGE, PGFERRY_SUBSCRIPTION_ID: 'my-subscription' }, 'PGFERRY_SUBSCRIPTION_ID', 'is not a subscription id'],
    [{ ...STORAGE, PGFERRY_RESOURCE_GROUP: 'rg/with/slashes' }, 'PGFERRY_RESOURCE_GROUP', 'is not a resource group name'],
    [{}, 'AzureWebJobsStorage', 'is not set'],
    [{ AzureWebJobsStorage: 'secretaccountkeywithoutequals' }, 'AzureWebJobsStorage', 'not a storage connection string'],
    [{ AzureWebJobsStorage__accountName: 'Bad_Name' }, 'AzureWebJobsStorage__accountName', 'not a storage account name'],
  ])('refuses %j, naming %s', (env, variable, message) => {
    const error = problemsOf(env);
    expect(error.problems.some((p) => p.variable === variable && p.message.includes(message))).toBe(true);
    expect(error.message).toContain(variable);
  });

  it('never echoes secret values', () => {
    const badKey = 'bm90LWEtMzItYnl0ZS1rZXktYnV0LXNlY3JldA==';
    const error = problemsOf({ AzureWebJobsStorage: 'accountkeysecretvalue', PGFERRY_SECRET_KEY: badKey });
    expect(error.message).not.toContain('accountkeysecretvalue');
    expect(error.message).not.toContain(badKey);
  });
});
