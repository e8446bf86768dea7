/**
 * ALTER DEFAULT PRIVILEGES, last in post-data: they shape objects created later on the target,
 * never the ones this migration creates (those get the source's ACLs explicitly).
 */
import { quoteIdent } from '../../pg/ident';
import type { DefaultAclRow } from '../catalog/acl';
import { makeObject } from '../model';
import { runs } from './acl';
import type { PlanBuilder } from './builder';

const OBJECTS: Record<string, string> = { r: 'TABLES', S: 'SEQUENCES', f: 'FUNCTIONS', T: 'TYPES', n: 'SCHEMAS' };

export function renderDefaultAcls(b: PlanBuilder, rows: DefaultAclRow[]): void {
  for (const d of rows) {
    const what = OBJECTS[d.objtype];
    const label = `default privileges of ${quoteIdent(d.role)} on ${what?.toLowerCase() ?? d.objtype}${d.schema ? ` in schema ${quoteIdent(d.schema)}` : ''}`;
    if (!what || !b.roleExists(d.role, label)) continue;
    const head = `ALTER DEFAULT PRIVILEGES FOR ROLE ${quoteIdent(d.role)}${d.schema ? ` IN SCHEMA ${quoteIdent(d.schema)}` : ''}`;
    const sql: string[] = [];
    if (!d.schema) {
      // A global entry replaces the built-in default: start from nothing, then grant what it holds.
      sql.push(`${head} REVOKE ALL ON ${what} FROM PUBLIC`, `${head} REVOKE ALL ON ${what} FROM ${quoteIdent(d.role)}`);
    }
    for (const run of runs(d.acl)) {
      if (run.grantee !== null && !b.roleExists(run.grantee, label)) continue;
      const to = run.grantee === null ? 'PUBLIC' : quoteIdent(run.grantee);
      sql.push(`${head} GRANT ${run.privileges.join(', ')} ON ${what} TO ${to}${run.grantable ? ' WITH GRANT OPTION' : ''}`);
    }
    b.add(makeObject({ id: `default-acl:${d.oid}`, kind: 'default-acl', name: label, phase: 'post-data', sql }));
  }
}
