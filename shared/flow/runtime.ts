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
  /** Decoding plugin to prefer (PGFERRY_DECODER=wal2json|pgoutput; default pgoutput). */
  decoder: 'wal2json' | 'pgoutput';
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
    const keys: SecretKeys = {
      current: settings.secretKey ?? Buffer.alloc(0),
      ...previousKey(process.env.PGFERRY_SECRET_KEY_PREVIOUS),
    };
    return { settings, store, keys, decoder: decoderSetting(process.env.PGFERRY_DECODER) };
  })().catch((err: unknown) => {
    cached = undefined;
    throw err;
  });
  return cached;
}

/** The key before a rotation: validated like PGFERRY_SECRET_KEY, so a typo fails at start, not at the first open. */
function previousKey(raw: string | undefined): { previous?: Buffer } {
  const text = raw?.trim() ?? '';
  if (text === '') return {};
  if (/^@Microsoft\.KeyVault\(/i.test(text)) throw new Error('PGFERRY_SECRET_KEY_PREVIOUS is an unresolved Key Vault reference: grant the app identity "Key Vault Secrets User" and check the reference');
  const key = /^[A-Za-z0-9+/]+={0,2}$/.test(text) ? Buffer.from(text, 'base64') : undefined;
  if (key?.length !== 32) throw new Error('PGFERRY_SECRET_KEY_PREVIOUS is not the base64 encoding of 32 bytes');
  return { previous: key };
}

function decoderSetting(raw: string | undefined): 'wal2json' | 'pgoutput' {
  const v = (raw ?? '').trim().toLowerCase();
  if (v === '' || v === 'auto' || v === 'pgoutput') return 'pgoutput';
  if (v === 'wal2json') return 'wal2json';
  throw new Error(`PGFERRY_DECODER is "${raw}"; use pgoutput (default) or wal2json`);
}
