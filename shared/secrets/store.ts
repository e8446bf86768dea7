/**
 * Migration passwords at rest: one Table Storage row per migration holding the sealed JSON of
 * both passwords. Nothing else in pgferry stores a password; the orchestration carries only the
 * migration key and activities read the passwords here when they connect.
 */
import type { StoreContext } from '../store/tables';
import { keyOf, partsOf } from '../store/keys';
import { statusOf } from '../store/errors';
import { keyId, open, seal, type Sealed } from './crypto';

export interface MigrationSecrets {
  sourcePassword: string;
  targetPassword: string;
}

export interface SecretKeys {
  /** Seals new values and opens values sealed with it. */
  current: Buffer;
  /** Still opens values sealed before a rotation. */
  previous?: Buffer;
}

const aadOf = (server: string, migration: string) => `pgferry/migration/${server}/${migration}`;

export async function putSecrets(ctx: StoreContext, server: string, migration: string, secrets: MigrationSecrets, keys: SecretKeys): Promise<void> {
  const sealed = seal(JSON.stringify(secrets), keys.current, aadOf(server, migration));
  await ctx.tables.secrets.upsertEntity({ partitionKey: keyOf(server), rowKey: keyOf(migration), ...sealed }, 'Replace');
}

export async function getSecrets(ctx: StoreContext, server: string, migration: string, keys: SecretKeys): Promise<MigrationSecrets> {
  let row: Sealed;
  try {
    row = await ctx.tables.secrets.getEntity<Sealed>(keyOf(server), keyOf(migration));
  } catch (err) {
    if (statusOf(err) === 404) throw new Error(`no stored credentials for migration ${server}/${migration}`);
    throw err;
  }
  const all = keys.previous ? [keys.current, keys.previous] : [keys.current];
  const parsed = JSON.parse(open(row, all, aadOf(server, migration))) as MigrationSecrets;
  return { sourcePassword: parsed.sourcePassword, targetPassword: parsed.targetPassword };
}

export async function deleteSecrets(ctx: StoreContext, server: string, migration: string): Promise<void> {
  try {
    await ctx.tables.secrets.deleteEntity(keyOf(server), keyOf(migration));
  } catch (err) {
    if (statusOf(err) !== 404) throw err;
  }
}

/** Reseals every row with the current key (after a rotation); returns how many rows changed. */
export async function resealAll(ctx: StoreContext, keys: SecretKeys): Promise<number> {
  let changed = 0;
  const all = keys.previous ? [keys.current, keys.previous] : [keys.current];
  for await (const row of ctx.tables.secrets.listEntities<Sealed>()) {
    const pk = row.partitionKey ?? '';
    const rk = row.rowKey ?? '';
    if (row.kid === keyId(keys.current)) continue;
    // Keys are keyOf(server) / keyOf(migration): safe names, so the AAD is rebuilt from the decoded parts.
    const server = partsOf(pk)[0] ?? '';
    const migration = partsOf(rk)[0] ?? '';
    const plain = open(row, all, aadOf(server, migration));
    await ctx.tables.secrets.upsertEntity({ partitionKey: pk, rowKey: rk, ...seal(plain, keys.current, aadOf(server, migration)) }, 'Replace');
    changed++;
  }
  return changed;
}
