/**
 * The engine's handles, built once per process from the app settings: the state store and the
 * secret keys. Activities and HTTP functions share it; tests build their own. Every setting comes
 * from model/settings.ts, which names the variable that is wrong.
 */
import { appSettings, type Decoder, type Settings } from '../model/settings';
import { createStoreContext, ensureTables, type StoreContext } from '../store/tables';
import type { SecretKeys } from '../secrets/store';

export interface Runtime {
  settings: Settings;
  store: StoreContext;
  keys: SecretKeys;
  /** Decoding plugin to prefer (PGFERRY_DECODER; default pgoutput). */
  decoder: Decoder;
}

let cached: Promise<Runtime> | undefined;

export function runtime(): Promise<Runtime> {
  cached ??= (async () => {
    const settings = appSettings();
    if (!('connectionString' in settings.storage)) {
      throw new Error('Managed-identity Table Storage (AzureWebJobsStorage__accountName) is not wired yet: set AzureWebJobsStorage to a connection string');
    }
    const store = createStoreContext(settings.storage.connectionString, settings.tablePrefix ? { prefix: settings.tablePrefix } : {});
    await ensureTables(store);
    const keys: SecretKeys = {
      current: settings.secretKey ?? Buffer.alloc(0),
      ...(settings.previousSecretKey ? { previous: settings.previousSecretKey } : {}),
    };
    return { settings, store, keys, decoder: settings.decoder };
  })().catch((err: unknown) => {
    cached = undefined;
    throw err;
  });
  return cached;
}
