/**
 * Functions, procedures and aggregates. prokind arrived in 11 (proisagg/proiswindow before).
 * Functions and procedures are defined by pg_get_functiondef; aggregates have no such helper, so
 * their parts are read from pg_aggregate.
 */
import { aclColumns, notExtensionMember, rows, userSchema, type AclFields, type CatalogContext } from './filters';

export interface FunctionRow extends AclFields {
  oid: number;
  schema: string;
  name: string;
  /** f function, p procedure, a aggregate, w window. */
  kind: string;
  /** pg_get_function_identity_arguments: what names the function in COMMENT, GRANT, ALTER. */
  identity_args: string;
  /** pg_get_functiondef (not for aggregates). */
  def: string | null;
}

export async function readFunctions(ctx: CatalogContext): Promise<FunctionRow[]> {
  const kind = ctx.versionNum >= 110000 ? 'p.prokind::text' : `CASE WHEN p.proisagg THEN 'a' WHEN p.proiswindow THEN 'w' ELSE 'f' END`;
  return rows<FunctionRow>(ctx, `
    SELECT p.oid, n.nspname AS schema, p.proname AS name, ${kind} AS kind, ${aclColumns('p.proacl', 'p.proowner')},
           pg_catalog.pg_get_function_identity_arguments(p.oid) AS identity_args,
           CASE WHEN ${kind} <> 'a' THEN pg_catalog.pg_get_functiondef(p.oid) END AS def
      FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
     WHERE ${userSchema('n')} AND ${notExtensionMember('pg_proc', 'p.oid')}
       -- Range and multirange constructors come with their type.
       AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend i WHERE i.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass
                          AND i.objid = p.oid AND i.deptype = 'i')
     ORDER BY 2, 3, 6`);
}

export interface AggregateRow {
  oid: number;
  /** pg_get_function_arguments: with ORDER BY for ordered-set aggregates. */
  args: string;
  /** n normal, o ordered-set, h hypothetical. */
  agg_kind: string;
  sfunc: string;
  stype: string;
  sspace: number;
  finalfunc: string | null;
  final_extra: boolean;
  /** r read-only, s shareable, w read-write (11+). */
  final_modify: string | null;
  combinefunc: string | null;
  serialfunc: string | null;
  deserialfunc: string | null;
  /** quote_literal(agginitval). */
  initcond: string | null;
  msfunc: string | null;
  minvfunc: string | null;
  mstype: string | null;
  msspace: number;
  mfinalfunc: string | null;
  mfinal_extra: boolean;
  mfinal_modify: string | null;
  minitcond: string | null;
  /** [schema, operator name] of the sort operator. */
  sortop: [string, string] | null;
  /** s safe, r restricted, u unsafe. */
  parallel: string;
}

export async function readAggregates(ctx: CatalogContext): Promise<AggregateRow[]> {
  const v = ctx.versionNum;
  const fn = (col: string) => `CASE WHEN a.${col} <> 0 THEN a.${col}::pg_catalog.regproc::text END`;
  return rows<AggregateRow>(ctx, `
    SELECT a.aggfnoid::pg_catalog.oid AS oid, pg_catalog.pg_get_function_arguments(a.aggfnoid) AS args, a.aggkind::text AS agg_kind,
           a.aggtransfn::pg_catalog.regproc::text AS sfunc, pg_catalog.format_type(a.aggtranstype, NULL) AS stype,
           a.aggtransspace AS sspace, ${fn('aggfinalfn')} AS finalfunc, a.aggfinalextra AS final_extra,
           ${v >= 110000 ? 'a.aggfinalmodify::text' : 'NULL'} AS final_modify,
           ${fn('aggcombinefn')} AS combinefunc, ${fn('aggserialfn')} AS serialfunc, ${fn('aggdeserialfn')} AS deserialfunc,
           pg_catalog.quote_literal(a.agginitval) AS initcond,
           ${fn('aggmtransfn')} AS msfunc, ${fn('aggminvtransfn')} AS minvfunc,
           CASE WHEN a.aggmtranstype <> 0 THEN pg_catalog.format_type(a.aggmtranstype, NULL) END AS mstype,
           a.aggmtransspace AS msspace, ${fn('aggmfinalfn')} AS mfinalfunc, a.aggmfinalextra AS mfinal_extra,
           ${v >= 110000 ? 'a.aggmfinalmodify::text' : 'NULL'} AS mfinal_modify,
           pg_catalog.quote_literal(a.aggminitval) AS minitcond,
           (SELECT ARRAY[opn.nspname::text, op.oprname::text] FROM pg_catalog.pg_operator op
              JOIN pg_catalog.pg_namespace opn ON opn.oid = op.oprnamespace WHERE op.oid = a.aggsortop) AS sortop,
           p.proparallel::text AS parallel
      FROM pg_catalog.pg_aggregate a JOIN pg_catalog.pg_proc p ON p.oid = a.aggfnoid
      JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
     WHERE ${userSchema('n')} AND ${notExtensionMember('pg_proc', 'p.oid')}`);
}
