/**
 * Table constraints that are not backed by an index: CHECK (inline in CREATE TABLE or separate)
 * and FOREIGN KEY. Primary-key, unique and exclusion constraints come with their index
 * (indexes.ts). FKs cloned onto partitions (conparentid, 11+) are left out: the parent's FK
 * recreates them.
 */
import { notExtensionMember, rows, userSchema, type CatalogContext } from './filters';

export interface CheckRow {
  oid: number;
  relid: number;
  name: string;
  /** pg_get_constraintdef, e.g. `CHECK ((qty > 0))` or `… NOT VALID`. */
  def: string;
  validated: boolean;
  is_local: boolean;
  inh_count: number;
}

const userTable = `${userSchema('n')} AND ${notExtensionMember('pg_class', 'c.oid')}`;

export async function readChecks(ctx: CatalogContext): Promise<CheckRow[]> {
  return rows<CheckRow>(ctx, `
    SELECT co.oid, co.conrelid AS relid, co.conname AS name, pg_catalog.pg_get_constraintdef(co.oid) AS def,
           co.convalidated AS validated, co.conislocal AS is_local, co.coninhcount AS inh_count
      FROM pg_catalog.pg_constraint co
      JOIN pg_catalog.pg_class c ON c.oid = co.conrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE co.contype = 'c' AND c.relkind IN ('r', 'p') AND ${userTable}
     ORDER BY co.conrelid, co.conname`);
}

export interface ForeignKeyRow {
  oid: number;
  relid: number;
  name: string;
  def: string;
  /** Referenced table. */
  ref_relid: number;
}

export async function readForeignKeys(ctx: CatalogContext): Promise<ForeignKeyRow[]> {
  const notClone = ctx.versionNum >= 110000 ? 'AND co.conparentid = 0' : '';
  return rows<ForeignKeyRow>(ctx, `
    SELECT co.oid, co.conrelid AS relid, co.conname AS name, pg_catalog.pg_get_constraintdef(co.oid) AS def,
           co.confrelid AS ref_relid
      FROM pg_catalog.pg_constraint co
      JOIN pg_catalog.pg_class c ON c.oid = co.conrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE co.contype = 'f' ${notClone} AND ${userTable}
     ORDER BY co.conrelid, co.conname`);
}
