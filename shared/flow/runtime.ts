/**
 * The engine's handles, built once per process from the app settings: the state store and the
 * secret keys. Activities and HTTP functions share it; tests build their own.
 */
import { appSettings, type Settings } from '../model/settings';
import { createStoreContext, ensureTables, type StoreContext } from '../store/tables';
import type { SecretKeys } from '../secrets/store';

export interface Runtime {
  settings: Settings;
  store: StoreContext;
  keys: SecretKeys;
}

let cached: Promise<Runtime> | undefined;

/** Table name prefix: production uses the store default; PGFERRY_TABLE_PREFIX isolates test runs. */
function prefix(): string | undefined {
  const p = process.env.PGFERRY_TABLE_PREFIX?.trim();
  return p ? p : undefined;
}

export function runtime(): Promise<Runtime> {
  cached ??= (async () => {
    const settings = appSettings();
    if (!('connectionString' in settings.storage)) {
      throw new Error('Managed-identity Table Storage (AzureWebJobsStorage__accountName) is not wired yet: set AzureWebJobsStorage to a connection string');
    }
    const p = prefix();
    const store = createStoreContext(settings.storage.connectionString, p ? { prefix: p } : {});
    await ensureTables(store);
    const previous = process.env.PGFERRY_SECRET_KEY_PREVIOUS?.trim();
    const keys: SecretKeys = {
      current: settings.secretKey ?? Buffer.alloc(0),
      ...(previous ? { previous: Buffer.from(previous, 'base64') } : {}),
    };
    return { settings, store, keys };
  })().catch((err: unknown) => {
    cached = undefined;
    throw err;
  });
  return cached;
}
