/**
 * Ownership and privileges. An object's ACL is reproduced item by item in the source's order
 * (REVOKE ALL from PUBLIC and the owner first, then one GRANT per run of items), so the target's
 * aclitem[] equals the source's. Roles missing on the target are reported, never fatal: the
 * object stays owned by the migrating user and the grant is left out.
 */
import { quoteIdent } from '../../pg/ident';
import type { AclItem } from '../catalog/filters';
import { makeObject, type SchemaObject } from '../model';
import type { PlanBuilder } from './builder';

/** `ALTER <what> OWNER TO role`, as its own object after `base`; null when the role is missing. */
export function ownerObject(b: PlanBuilder, base: SchemaObject, alterWhat: string, owner: string): SchemaObject | null {
  if (!b.roleExists(owner, base.name)) return null;
  return b.add(
    makeObject({
      id: `owner:${base.id}`,
      kind: 'owner',
      name: `owner of ${base.name}`,
      phase: base.phase,
      readiness: base.readiness,
      sql: [`ALTER ${alterWhat} OWNER TO ${quoteIdent(owner)}`],
      deps: [base.id],
      ...(base.table ? { table: base.table } : {}),
    }),
  );
}

export interface ColumnAcl {
  column: string;
  acl: AclItem[];
}

export interface AclSpec {
  /** `TABLE app.t`, `FUNCTION app.f(integer)`, `SCHEMA app` … as GRANT … ON wants it. */
  on: string;
  owner: string;
  /** The source ACL is NULL: the built-in default, nothing to do. */
  isDefault: boolean;
  items: AclItem[] | null;
  /** For tables and views: `GRANT SELECT (col) ON TABLE …`. */
  columns?: ColumnAcl[];
}

/** The GRANT/REVOKE statements that turn a fresh object's ACL into the source's. */
export function aclStatements(b: PlanBuilder, spec: AclSpec, objectName: string): string[] {
  const stmts: string[] = [];
  const ownerKnown = b.roleExists(spec.owner, objectName);
  if (!spec.isDefault) {
    stmts.push(`REVOKE ALL ON ${spec.on} FROM PUBLIC`);
    if (ownerKnown) stmts.push(`REVOKE ALL ON ${spec.on} FROM ${quoteIdent(spec.owner)}`);
    stmts.push(...grants(b, spec.items ?? [], spec.on, '', spec.owner, objectName));
  }
  for (const col of spec.columns ?? []) {
    stmts.push(...grants(b, col.acl, spec.on, ` (${quoteIdent(col.column)})`, spec.owner, objectName));
  }
  return stmts;
}

/** The ACL object after `base` (and after its owner object, which rewrites the owner's items). */
export function aclObject(b: PlanBuilder, base: SchemaObject, spec: AclSpec, ownerObj: SchemaObject | null): SchemaObject | null {
  const sql = aclStatements(b, spec, base.name);
  if (sql.length === 0) return null;
  return b.add(
    makeObject({
      id: `acl:${base.id}`,
      kind: 'acl',
      name: `privileges on ${base.name}`,
      phase: base.phase,
      readiness: base.readiness,
      sql,
      deps: ownerObj ? [base.id, ownerObj.id] : [base.id],
      ...(ownerObj ? { orderOnly: [ownerObj.id] } : {}),
      ...(base.table ? { table: base.table } : {}),
    }),
  );
}

/** Owner then ACL, the pair most object families need. */
export function ownerAndAcl(b: PlanBuilder, base: SchemaObject, alterWhat: string | null, spec: AclSpec): void {
  const owner = alterWhat ? ownerObject(b, base, alterWhat, spec.owner) : null;
  aclObject(b, base, spec, owner);
}

function grants(b: PlanBuilder, items: AclItem[], on: string, columns: string, owner: string, objectName: string): string[] {
  const out: string[] = [];
  for (const run of runs(items)) {
    if (run.grantee !== null && !b.roleExists(run.grantee, objectName)) continue;
    // Grants made by the owner are recorded with whoever owns the object on the target.
    if (run.grantor !== owner && !b.roleExists(run.grantor, objectName)) continue;
    const privs = run.privileges.map((p) => `${p}${columns}`).join(', ');
    const grant = `GRANT ${privs} ON ${on} TO ${run.grantee === null ? 'PUBLIC' : quoteIdent(run.grantee)}${run.grantable ? ' WITH GRANT OPTION' : ''}`;
    if (run.grantor === owner) out.push(grant);
    // A grant made by someone holding the grant option is recorded with that grantor.
    else out.push(`SET LOCAL ROLE ${quoteIdent(run.grantor)}`, grant, 'RESET ROLE');
  }
  return out;
}

interface Run {
  grantor: string;
  grantee: string | null;
  grantable: boolean;
  privileges: string[];
}

/** Consecutive items with the same grantor, grantee and grant option, merged. */
export function runs(items: readonly AclItem[]): Run[] {
  const out: Run[] = [];
  for (const item of items) {
    const last = out[out.length - 1];
    if (last && last.grantor === item.grantor && last.grantee === item.grantee && last.grantable === item.grantable) {
      last.privileges.push(item.privilege);
    } else {
      out.push({ grantor: item.grantor, grantee: item.grantee, grantable: item.grantable, privileges: [item.privilege] });
    }
  }
  return out;
}

/** Whether two ACLs hold the same items, in any order. */
export function sameAcl(a: readonly AclItem[] | null, b: readonly AclItem[] | null): boolean {
  const key = (i: AclItem) => `${i.grantor}|${i.grantee ?? ''}|${i.privilege}|${i.grantable}`;
  const ka = (a ?? []).map(key).sort();
  const kb = (b ?? []).map(key).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i]);
}
