/**
 * Functions and procedures (pg_get_functiondef, created with check_function_bodies off so bodies
 * may name objects created later) and aggregates (assembled from pg_aggregate).
 */
import { quoteIdent, quoteQualified } from '../../pg/ident';
import type { AggregateRow, FunctionRow } from '../catalog/functions';
import { makeObject } from '../model';
import { ownerAndAcl } from './acl';
import { address, type PlanBuilder } from './builder';
import { functionExists } from './checks';

function keyword(kind: string): 'FUNCTION' | 'PROCEDURE' | 'AGGREGATE' {
  return kind === 'p' ? 'PROCEDURE' : kind === 'a' ? 'AGGREGATE' : 'FUNCTION';
}

const MODIFY: Record<string, string> = { r: 'READ_ONLY', s: 'SHAREABLE', w: 'READ_WRITE' };
const PARALLEL: Record<string, string> = { s: 'SAFE', r: 'RESTRICTED' };

/** The parenthesised options of CREATE AGGREGATE, only those that differ from the defaults. */
export function aggregateOptions(a: AggregateRow): string[] {
  const opts = [`SFUNC = ${a.sfunc}`, `STYPE = ${a.stype}`];
  if (a.sspace > 0) opts.push(`SSPACE = ${a.sspace}`);
  if (a.finalfunc) opts.push(`FINALFUNC = ${a.finalfunc}`);
  if (a.final_extra) opts.push('FINALFUNC_EXTRA');
  // READ_ONLY is the default of normal aggregates, READ_WRITE of ordered-set ones.
  const finalDefault = a.agg_kind === 'n' ? 'r' : 'w';
  if (a.finalfunc && a.final_modify && a.final_modify !== finalDefault) opts.push(`FINALFUNC_MODIFY = ${MODIFY[a.final_modify]}`);
  if (a.combinefunc) opts.push(`COMBINEFUNC = ${a.combinefunc}`);
  if (a.serialfunc) opts.push(`SERIALFUNC = ${a.serialfunc}`);
  if (a.deserialfunc) opts.push(`DESERIALFUNC = ${a.deserialfunc}`);
  if (a.initcond !== null) opts.push(`INITCOND = ${a.initcond}`);
  if (a.msfunc) {
    opts.push(`MSFUNC = ${a.msfunc}`, `MINVFUNC = ${a.minvfunc ?? '-'}`, `MSTYPE = ${a.mstype ?? '-'}`);
    if (a.msspace > 0) opts.push(`MSSPACE = ${a.msspace}`);
    if (a.mfinalfunc) opts.push(`MFINALFUNC = ${a.mfinalfunc}`);
    if (a.mfinal_extra) opts.push('MFINALFUNC_EXTRA');
    if (a.mfinalfunc && a.mfinal_modify && a.mfinal_modify !== finalDefault) opts.push(`MFINALFUNC_MODIFY = ${MODIFY[a.mfinal_modify]}`);
    if (a.minitcond !== null) opts.push(`MINITCOND = ${a.minitcond}`);
  }
  if (a.sortop) opts.push(`SORTOP = OPERATOR(${quoteIdent(a.sortop[0])}.${a.sortop[1]})`);
  const parallel = PARALLEL[a.parallel];
  if (parallel) opts.push(`PARALLEL = ${parallel}`);
  if (a.agg_kind === 'h') opts.push('HYPOTHETICAL');
  return opts;
}

export function renderFunctions(b: PlanBuilder, rows: FunctionRow[], aggregates: AggregateRow[]): void {
  const aggs = new Map(aggregates.map((a) => [a.oid, a]));
  for (const row of rows) {
    const kw = keyword(row.kind);
    const q = quoteQualified(row.schema, row.name);
    const signature = `${q}(${row.identity_args})`;
    let create: string;
    if (row.kind === 'a') {
      const agg = aggs.get(row.oid);
      if (!agg) continue;
      create = `CREATE AGGREGATE ${q}(${agg.args}) (${aggregateOptions(agg).join(', ')})`;
    } else {
      create = row.def ?? '';
    }
    const obj = b.add(
      makeObject({
        id: `function:${row.oid}`,
        kind: row.kind === 'a' ? 'aggregate' : 'function',
        name: `${kw.toLowerCase()} ${signature}`,
        phase: 'pre-data',
        sql: [create, ...b.comment('pg_proc', row.oid, `${kw} ${signature}`)],
        check: functionExists(row.schema, row.name, row.identity_args),
      }),
      address('pg_proc', row.oid),
    );
    const grantOn = `${kw === 'PROCEDURE' ? 'PROCEDURE' : 'FUNCTION'} ${signature}`;
    ownerAndAcl(b, obj, `${kw} ${signature}`, { on: grantOn, owner: row.owner, isDefault: row.acl_default, items: row.acl });
  }
}
