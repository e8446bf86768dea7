/** Schemas: the first objects of pre-data. `public` exists everywhere: only what the user changed moves. */
import { quoteIdent } from '../../pg/ident';
import type { SchemaRow } from '../catalog/schemas';
import { makeObject } from '../model';
import { ownerAndAcl, sameAcl } from './acl';
import { address, type PlanBuilder } from './builder';
import { schemaExists } from './checks';

/** The default ACL of `public` before 15: owner and PUBLIC both have USAGE and CREATE. */
function isPre15PublicDefault(row: SchemaRow): boolean {
  const items = (grantee: string | null) =>
    ['USAGE', 'CREATE'].map((privilege) => ({ grantor: row.owner, grantee, privilege, grantable: false }));
  return sameAcl(row.acl, [...items(row.owner), ...items(null)]);
}

export function renderSchemas(b: PlanBuilder, rows: SchemaRow[]): void {
  for (const row of rows) {
    const q = quoteIdent(row.name);
    const isPublic = row.name === 'public';
    const comment = b.comment('pg_namespace', row.oid, `SCHEMA ${q}`);
    const obj = b.add(
      makeObject({
        id: `schema:${row.oid}`,
        kind: 'schema',
        name: `schema ${q}`,
        phase: 'pre-data',
        // `public` is created by CREATE DATABASE everywhere; only its comment and privileges move.
        sql: isPublic ? comment : [`CREATE SCHEMA IF NOT EXISTS ${q}`, ...comment],
        ...(isPublic ? {} : { check: schemaExists(row.name) }),
      }),
      address('pg_namespace', row.oid),
    );
    // The initial owner and ACL of `public` differ by version; leave them to the target's own.
    const aclIsInitial =
      row.acl_default || (isPublic && (row.init_acl ? sameAcl(row.acl, row.init_acl) : isPre15PublicDefault(row)));
    const keepOwner = !(isPublic && row.owner_is_default);
    ownerAndAcl(b, obj, keepOwner ? `SCHEMA ${q}` : null, {
      on: `SCHEMA ${q}`,
      owner: row.owner,
      isDefault: aclIsInitial,
      items: row.acl,
    });
  }
}
