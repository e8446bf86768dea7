/**
 * Where role reports live: as a `RolesMigration` item in the migration's validation rows (the
 * server-level scope for roles, a database's scope for its privileges), so the API shows them in
 * validationDetails with no change to the resource shape. Other items of a scope are kept.
 */
import type { JsonValue } from '../store/entity-codec';
import type { MigrationRef } from '../store/migrations';
import type { StoreContext } from '../store/tables';
import { loadValidation, saveValidationScope, type ValidationScopeRecord } from '../store/validation';
import type { ValidationState } from '../model/states';
import { ROLES_ITEM_TYPE, type RolesItem } from './report';

const RANK: Record<ValidationState, number> = { Succeeded: 0, Warning: 1, Failed: 2 };

interface StoredItem {
  type?: unknown;
  state?: unknown;
}

/** Replaces the scope's RolesMigration item (a re-run replaces, never appends). */
export async function saveRolesItem(ctx: StoreContext, ref: MigrationRef, item: RolesItem, databaseName?: string): Promise<void> {
  const stored = await loadValidation(ctx, ref);
  const scope: ValidationScopeRecord | undefined = databaseName === undefined ? stored.server : stored.databases.find((d) => d.databaseName === databaseName);
  const others = (Array.isArray(scope?.items) ? scope.items : []).filter((i) => (i as StoredItem | null)?.type !== ROLES_ITEM_TYPE);
  const items = [...others, JSON.parse(JSON.stringify(item)) as JsonValue];
  const state = items.reduce<ValidationState>((w, i) => {
    const s = (i as StoredItem | null)?.state;
    return typeof s === 'string' && s in RANK && RANK[s as ValidationState] > RANK[w] ? (s as ValidationState) : w;
  }, 'Succeeded');
  const now = new Date().toISOString();
  await saveValidationScope(ctx, ref, {
    ...(scope ?? { startedOn: now, endedOn: now }),
    ...(databaseName !== undefined ? { databaseName } : {}),
    state,
    items,
  });
}

/** The stored RolesMigration item of a scope, if any (tests, CLI). */
export async function loadRolesItem(ctx: StoreContext, ref: MigrationRef, databaseName?: string): Promise<RolesItem | undefined> {
  const stored = await loadValidation(ctx, ref);
  const scope = databaseName === undefined ? stored.server : stored.databases.find((d) => d.databaseName === databaseName);
  const items = Array.isArray(scope?.items) ? scope.items : [];
  return items.find((i) => (i as StoredItem | null)?.type === ROLES_ITEM_TYPE) as RolesItem | undefined;
}
