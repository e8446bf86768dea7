/**
 * Views (pre-data) and materialized views (pre-data WITH NO DATA; refreshed in post-data when the
 * source's is populated, after the materialized views it reads).
 */
import { quoteIdent, quoteQualified } from '../../pg/ident';
import type { ViewRow } from '../catalog/views';
import { makeObject } from '../model';
import { ownerAndAcl } from './acl';
import { address, type PlanBuilder } from './builder';
import { matviewPopulated, relationExists } from './checks';

export function viewId(oid: number): string {
  return `view:${oid}`;
}

export function renderViews(b: PlanBuilder, rows: ViewRow[]): void {
  for (const v of rows) {
    const q = quoteQualified(v.schema, v.name);
    const mat = v.relkind === 'm';
    const what = mat ? 'MATERIALIZED VIEW' : 'VIEW';
    const withOpts = v.options?.length ? ` WITH (${v.options.join(', ')})` : '';
    const body = v.def.trim().replace(/;$/, '');
    const create = mat ? `CREATE MATERIALIZED VIEW ${q}${withOpts} AS\n${body}\nWITH NO DATA` : `CREATE VIEW ${q}${withOpts} AS\n${body}`;
    const comments = [
      ...b.comment('pg_class', v.oid, `${what} ${q}`),
      ...v.columns.flatMap((c, i) => b.comment('pg_class', v.oid, `COLUMN ${q}.${quoteIdent(c)}`, i + 1)),
    ];
    const id = viewId(v.oid);
    const obj = b.add(
      makeObject({
        id,
        kind: mat ? 'materialized-view' : 'view',
        name: `${what.toLowerCase()} ${q}`,
        phase: 'pre-data',
        sql: [create, ...comments],
        check: relationExists(q),
        ...(mat ? { table: id } : {}),
      }),
      address('pg_class', v.oid),
    );
    ownerAndAcl(b, obj, `${mat ? 'MATERIALIZED VIEW' : 'VIEW'} ${q}`, {
      on: `TABLE ${q}`,
      owner: v.owner,
      isDefault: v.acl_default,
      items: v.acl,
      columns: v.column_acls,
    });
    if (mat && v.populated) {
      b.add(
        makeObject({
          id: `refresh:${v.oid}`,
          kind: 'refresh',
          name: `refresh materialized view ${q}`,
          phase: 'post-data',
          sql: [`REFRESH MATERIALIZED VIEW ${q}`],
          check: matviewPopulated(q),
          deps: [id],
          table: id,
        }),
      );
    }
  }
}
