/** Row-level security policies (post-data: COPY and replay run before them). */
import { quoteIdent } from '../../pg/ident';
import type { PolicyRow } from '../catalog/policies';
import { makeObject } from '../model';
import { address, type PlanBuilder } from './builder';
import { policyExists } from './checks';
import type { RelationNames } from './indexes';

const COMMAND: Record<string, string> = { r: 'SELECT', a: 'INSERT', w: 'UPDATE', d: 'DELETE', '*': 'ALL' };

/** CREATE POLICY from its parts. A role missing on the target fails the policy (never widened to PUBLIC). */
export function policySql(p: PolicyRow, table: string): string {
  const roles = p.roles.map((r) => (r === null ? 'PUBLIC' : quoteIdent(r))).join(', ');
  let sql = `CREATE POLICY ${quoteIdent(p.name)} ON ${table} AS ${p.permissive ? 'PERMISSIVE' : 'RESTRICTIVE'} FOR ${COMMAND[p.command] ?? 'ALL'} TO ${roles || 'PUBLIC'}`;
  if (p.using_expr !== null) sql += ` USING (${p.using_expr})`;
  if (p.check_expr !== null) sql += ` WITH CHECK (${p.check_expr})`;
  return sql;
}

export function renderPolicies(b: PlanBuilder, rows: PolicyRow[], relations: RelationNames): void {
  for (const p of rows) {
    const rel = relations.get(p.relid);
    if (!rel) continue;
    b.add(
      makeObject({
        id: `policy:${p.oid}`,
        kind: 'policy',
        name: `policy ${quoteIdent(p.name)} on ${rel.qualified}`,
        phase: 'post-data',
        sql: [policySql(p, rel.qualified), ...b.comment('pg_policy', p.oid, `POLICY ${quoteIdent(p.name)} ON ${rel.qualified}`)],
        check: policyExists(rel.qualified, p.name),
        deps: [rel.id],
        table: rel.id,
      }),
      address('pg_policy', p.oid),
    );
  }
}
