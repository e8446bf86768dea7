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
    expect(loadSettings(STORAGE)).toEqual({ maxDatabases: 8, connectTimeoutMs: 10_000, decoder: 'pgoutput', streamMemoryMb: 64, fallbackMaxWalMb: 10_240, storage: { connectionString: 'UseDevelopmentStorage=true' } });
  });

  it('reads every setting', () => {
    const previous = Buffer.alloc(32, 9).toString('base64');
    const settings = loadSettings({
      ...STORAGE, PGFERRY_MAX_DATABASES: '20', PGFERRY_CONNECT_TIMEOUT_MS: '2500', PGFERRY_SECRET_KEY: KEY, PGFERRY_SECRET_KEY_PREVIOUS: previous,
      PGFERRY_TABLE_PREFIX: 'T1234', PGFERRY_DECODER: 'WAL2JSON', PGFERRY_WEB_DIR: '/srv/web',
      PGFERRY_STREAM_MEMORY_MB: '256', PGFERRY_FALLBACK_MAX_WAL_MB: '512',
    });
    expect(settings.streamMemoryMb).toBe(256);
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
